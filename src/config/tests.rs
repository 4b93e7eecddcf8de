use super::*;
use crate::limits::OperationClass;
use crate::model::{Frontend, Operation};

const SHIPPED: &str = include_str!("../../config/ots-gateway.toml");

fn load_text(text: &str, env: &MapEnvironment) -> Result<ValidConfig, ConfigError> {
    load(
        Some(("test.toml", text)),
        env,
        &CommandLineOverrides::default(),
    )
}

fn keys_of(error: &ConfigError) -> Vec<&str> {
    error.problems.iter().map(|p| p.key.as_str()).collect()
}

#[test]
fn shipped_config_parses_and_matches_the_defaults() {
    let shipped = load_text(SHIPPED, &MapEnvironment::default()).expect("shipped config is valid");
    let defaults = load(
        None,
        &MapEnvironment::default(),
        &CommandLineOverrides::default(),
    )
    .expect("defaults are valid");
    assert_eq!(shipped.listen.to_string(), DEFAULT_LISTEN);
    assert_eq!(format!("{shipped:?}"), format!("{defaults:?}"));
}

#[test]
fn shipped_config_lists_every_key() {
    let shipped: toml::Table = SHIPPED.parse().expect("valid TOML");
    let defaults = toml::Table::try_from(file::FileConfig::default()).expect("serialisable");
    for (section, keys) in defaults {
        let shipped_section = shipped
            .get(&section)
            .and_then(|v| v.as_table())
            .unwrap_or_else(|| panic!("section [{section}] missing from the shipped file"));
        let keys = keys.as_table().expect("section is a table");
        assert!(!keys.is_empty());
        for key in keys.keys() {
            assert!(
                shipped_section.contains_key(key),
                "{section}.{key} missing from the shipped file"
            );
        }
    }
}

#[test]
fn unknown_keys_are_rejected_by_name_with_a_hint() {
    let error = load_text(
        "[server]\nlisten = \"127.0.0.1:1\"\nlisen = \"x\"\n",
        &MapEnvironment::default(),
    )
    .expect_err("typo must fail");
    assert_eq!(keys_of(&error), ["server.lisen"]);
    let text = error.to_string();
    assert!(
        text.starts_with("test.toml: server.lisen: unknown key"),
        "{text}"
    );
    assert!(text.contains("listen"), "hint lists valid keys: {text}");

    let env = MapEnvironment::default().with_var("OTS_GATEWAY__UPSTREAM__URLL", "x");
    let error = load_text(
        "[nonsense]
",
        &env,
    )
    .expect_err("unknown section and env key");
    assert_eq!(keys_of(&error), ["nonsense", "upstream.urll"]);
    assert_eq!(error.problems[1].source, "environment");
}

#[test]
fn errors_never_quote_values_from_the_file() {
    let error = load_text(
        "[upstream]\napi_key = \"canary-key-in-file\"\n",
        &MapEnvironment::default(),
    )
    .expect_err("api_key is not a file key");
    assert!(!error.to_string().contains("canary-key-in-file"), "{error}");
    let error = load_text(
        "[upstream]\nurl = canary-unquoted\n",
        &MapEnvironment::default(),
    )
    .expect_err("invalid TOML");
    assert!(!error.to_string().contains("canary-unquoted"), "{error}");
    assert!(error.to_string().contains("line 2"), "{error}");
}

#[test]
fn precedence_is_defaults_then_file_then_env_then_command_line() {
    let file = "[server]\nlisten = \"127.0.0.1:1111\"\nmax_concurrent_requests = 7\n[upstream]\nread_retries = 5\n";
    let env = MapEnvironment::default()
        .with_var("OTS_GATEWAY__SERVER__LISTEN", "127.0.0.1:2222")
        .with_var("OTS_GATEWAY__UPSTREAM__READ_RETRIES", "1");
    let from_env = load_text(file, &env).expect("valid");
    assert_eq!(from_env.listen.port(), 2222, "env beats file");
    assert_eq!(
        from_env.upstream.read_retries, 1,
        "env beats file, typed as a number"
    );
    assert_eq!(from_env.max_concurrent_requests, 7, "file beats default");
    assert_eq!(
        from_env.request_timeout,
        Duration::from_secs(30),
        "default kept"
    );

    let cli = CommandLineOverrides {
        listen: Some("127.0.0.1:3333".into()),
        upstream: Some("http://127.0.0.1:9".into()),
    };
    let from_cli = load(Some(("test.toml", file)), &env, &cli).expect("valid");
    assert_eq!(from_cli.listen.port(), 3333, "command line beats env");
    assert_eq!(from_cli.upstream.base_url.as_str(), "http://127.0.0.1:9/");
}

#[test]
fn env_overrides_reject_malformed_names() {
    let env = MapEnvironment::default().with_var("OTS_GATEWAY__LISTEN", "127.0.0.1:1");
    let error = load_text("", &env).expect_err("needs a section");
    assert_eq!(keys_of(&error), ["OTS_GATEWAY__LISTEN"]);
}

#[test]
fn credentials_come_from_env_or_file_and_must_be_complete() {
    let env = MapEnvironment::default()
        .with_var(ENV_USERNAME, "team@example.com")
        .with_var(ENV_API_KEY, "key-from-env");
    let config = load_text("", &env).expect("valid");
    let creds = config.upstream.credentials.expect("credentials set");
    assert_eq!(creds.username, "team@example.com");

    let env = MapEnvironment::default()
        .with_var(ENV_USERNAME, "team@example.com")
        .with_file("/run/key", "key-from-file\n");
    let config = load_text("[upstream]\napi_key_file = \"/run/key\"\n", &env).expect("valid");
    use secrecy::ExposeSecret;
    assert_eq!(
        config
            .upstream
            .credentials
            .expect("set")
            .api_key
            .expose_secret(),
        "key-from-file",
        "trailing newline trimmed"
    );

    let env = MapEnvironment::default().with_var(ENV_USERNAME, "team@example.com");
    let error = load_text("", &env).expect_err("username without key");
    assert_eq!(keys_of(&error), ["upstream.api_key_file"]);

    let env = MapEnvironment::default().with_var(ENV_API_KEY, "canary-lonely-key");
    let error = load_text("", &env).expect_err("key without username");
    assert_eq!(keys_of(&error), ["upstream.username"]);
    assert!(!error.to_string().contains("canary-lonely-key"));
}

#[test]
fn unreadable_secret_files_are_reported_by_key() {
    let error = load_text(
        "[server]\nbearer_token_file = \"/missing\"\n",
        &MapEnvironment::default(),
    )
    .expect_err("missing file");
    assert_eq!(keys_of(&error), ["server.bearer_token_file"]);
}

#[test]
fn non_loopback_bind_needs_a_bearer_token() {
    let error = load_text(
        "[server]\nlisten = \"0.0.0.0:7143\"\n",
        &MapEnvironment::default(),
    )
    .expect_err("public bind without token");
    assert_eq!(keys_of(&error), ["server.listen"]);
    assert!(error.to_string().contains(ENV_BEARER_TOKEN));

    let env = MapEnvironment::default().with_var(ENV_BEARER_TOKEN, "a-long-enough-t0ken");
    let config = load_text("[server]\nlisten = \"0.0.0.0:7143\"\n", &env).expect("token given");
    assert!(config.bearer_token.is_some());
}

#[test]
fn a_weak_bearer_token_is_refused_by_validation_without_quoting_it() {
    let env = MapEnvironment::default().with_var(ENV_BEARER_TOKEN, "t0ken-canary");
    let error = load_text("", &env).expect_err("too short");
    assert_eq!(keys_of(&error), ["server.bearer_token_file"]);
    assert!(error.to_string().contains("16 characters"), "{error}");
    assert!(!error.to_string().contains("t0ken-canary"), "{error}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = "[server]\nlisten = \"nowhere\"\nmax_body_bytes = 10\n[upstream]\nurl = \"ftp://x\"\n[log]\nformat = \"xml\"\n";
    let error = load_text(text, &MapEnvironment::default()).expect_err("four problems");
    assert_eq!(
        keys_of(&error),
        [
            "server.listen",
            "upstream.url",
            "server.max_body_bytes",
            "log.format"
        ]
    );
}

#[test]
fn frontend_sections_have_their_own_defaults_and_quotas() {
    let config = load_text("", &MapEnvironment::default()).expect("defaults");
    assert!(
        config
            .policy
            .for_frontend(Frontend::Rest)
            .allows(Operation::Retrieve)
    );
    assert!(
        !config
            .policy
            .for_frontend(Frontend::Mcp)
            .allows(Operation::Retrieve)
    );
    assert!(config.policy.for_frontend(Frontend::Mcp).enforce_ownership);
    let rate = config.quotas.callers[&(Frontend::Rest, OperationClass::Create)];
    assert_eq!((rate.per_minute.get(), rate.burst.get()), (50, 2000));
    assert_eq!(
        config.quotas.upstream.map(|r| r.per_minute.get()),
        Some(600)
    );

    // Setting one key of [mcp] keeps the other mcp defaults, not rest's.
    let config = load_text(
        "[mcp]\nreturn_generated_value = true\n",
        &MapEnvironment::default(),
    )
    .expect("valid");
    assert!(config.mcp_return_generated_value);
    assert!(
        !config
            .policy
            .for_frontend(Frontend::Mcp)
            .allows(Operation::Retrieve)
    );
}

#[test]
fn quotas_can_be_tuned_from_the_environment_or_switched_off() {
    let env = MapEnvironment::default()
        .with_var(
            "OTS_GATEWAY__REST__QUOTA_CREATE",
            "{ per_minute = 2, burst = 1 }",
        )
        .with_var(
            "OTS_GATEWAY__UPSTREAM__BUDGET",
            "{ per_minute = 0, burst = 0 }",
        );
    let config = load_text("", &env).expect("valid");
    let rate = config.quotas.callers[&(Frontend::Rest, OperationClass::Create)];
    assert_eq!((rate.per_minute.get(), rate.burst.get()), (2, 1));
    assert_eq!(
        config.quotas.upstream, None,
        "per_minute = 0 switches the budget off"
    );

    let error = load_text(
        "[rest]\nquota_reveal = { per_minute = 5, burst = 0 }\n",
        &MapEnvironment::default(),
    )
    .expect_err("burst 0 with a rate");
    assert_eq!(keys_of(&error), ["rest.quota_reveal.burst"]);
}

#[test]
fn policy_values_are_checked() {
    let text = "[rest]\nallowed_operations = [\"share\", \"teleport\"]\nrecent_source = \"mailbox\"\n[ledger]\ndurability = \"maybe\"\n";
    let error = load_text(text, &MapEnvironment::default()).expect_err("three problems");
    assert_eq!(
        keys_of(&error),
        [
            "ledger.durability",
            "rest.allowed_operations",
            "rest.recent_source"
        ]
    );
}

#[test]
fn discord_needs_a_token_when_enabled_and_reads_ids() {
    let error =
        load_text("[discord]\nenabled = true\n", &MapEnvironment::default()).expect_err("no token");
    assert_eq!(keys_of(&error), ["discord.enabled"]);

    let env = MapEnvironment::default()
        .with_var(ENV_DISCORD_TOKEN, "canary-discord-token")
        .with_var(ENV_DISCORD_API_BASE, "http://127.0.0.1:9/");
    let text = "[discord]\nenabled = true\nguild_id = \"42\"\nallowed_roles = [\"7\", \"x\"]\n";
    let error = load_text(text, &env).expect_err("bad role id");
    assert_eq!(keys_of(&error), ["discord.allowed_roles"]);
    assert!(!error.to_string().contains("canary-discord-token"));

    let text = "[discord]\nenabled = true\nguild_id = \"42\"\nallowed_roles = [\"7\"]\n";
    let config = load_text(text, &env).expect("valid");
    assert_eq!(config.discord.guild_id, Some(42));
    assert_eq!(config.discord.allowed_roles, [7]);
    assert_eq!(
        config.discord.api_base.map(|u| u.to_string()).as_deref(),
        Some("http://127.0.0.1:9/")
    );
    assert!(config.discord.token.is_some());
}

#[test]
fn client_tokens_are_read_as_labelled_lines_and_checked() {
    let file = "# agents\nalice:alice-token-0123456789\n\nci.nightly:ci-token-0123456789ab\n";
    let env = MapEnvironment::default().with_file("/run/tokens", file);
    let text = "[server]\nclient_tokens_file = \"/run/tokens\"\nlisten = \"0.0.0.0:7143\"\n";
    let config = load_text(text, &env).expect("client tokens allow a non-loopback bind");
    let labels: Vec<&str> = config
        .client_tokens
        .iter()
        .map(|t| t.label.as_str())
        .collect();
    assert_eq!(labels, ["alice", "ci.nightly"]);
    assert!(
        !format!("{config:?}").contains("alice-token-0123456789"),
        "Debug is redacted"
    );

    let bad = "alice:short\nbad label:canary-token-0123456789\nbob:bob-token-0123456789\nbob:bob-token-9876543210\nnocolon\n";
    let env = MapEnvironment::default().with_file("/run/tokens", bad);
    let error = load_text("[server]\nclient_tokens_file = \"/run/tokens\"\n", &env)
        .expect_err("four bad lines");
    let text = error.to_string();
    for line in ["line 1", "line 2", "line 4", "line 5"] {
        assert!(text.contains(line), "{line} missing: {text}");
    }
    assert!(
        !text.contains("canary-token") && !text.contains("short"),
        "{text}"
    );
}

/// Fails when a section with policy keys is added to the file without being wired into policy
/// and quotas: every such section in the schema must reach both.
#[test]
fn every_frontend_section_in_the_file_takes_effect() {
    let schema = file::config_schema();
    let frontend_sections: Vec<&String> = schema
        .iter()
        .filter(|(_, keys)| {
            keys.as_table()
                .is_some_and(|t| t.contains_key("quota_create"))
        })
        .map(|(section, _)| section)
        .collect();
    assert_eq!(frontend_sections.len(), CONFIGURED_FRONTENDS.len());
    for section in frontend_sections {
        let frontend = Frontend::ALL
            .into_iter()
            .find(|f| f.as_str() == section)
            .unwrap_or_else(|| panic!("[{section}] names no frontend"));
        assert!(CONFIGURED_FRONTENDS.contains(&frontend), "{section}");
        let text = format!(
            "[{section}]\nallowed_operations = [\"status\"]\nenforce_ownership = true\n\
             quota_create = {{ per_minute = 7, burst = 1 }}\n\
             quota_reveal = {{ per_minute = 8, burst = 2 }}\n\
             quota_manage = {{ per_minute = 9, burst = 3 }}\n"
        );
        let config = load_text(&text, &MapEnvironment::default())
            .unwrap_or_else(|e| panic!("[{section}]: {e}"));
        let policy = config.policy.for_frontend(frontend);
        assert_eq!(
            policy.allowed_operations,
            [Operation::Status].into_iter().collect(),
            "[{section}] allowed_operations ignored"
        );
        for (class, per_minute) in [
            (OperationClass::Create, 7),
            (OperationClass::Reveal, 8),
            (OperationClass::Manage, 9),
        ] {
            let rate = config.quotas.callers.get(&(frontend, class));
            assert_eq!(
                rate.map(|r| r.per_minute.get()),
                Some(per_minute),
                "[{section}] quota_{} ignored",
                class.as_str()
            );
        }
    }
}

fn problem_for<'a>(error: &'a ConfigError, key: &str) -> &'a ConfigProblem {
    error
        .problems
        .iter()
        .find(|p| p.key == key)
        .unwrap_or_else(|| panic!("no problem for {key}: {error}"))
}

#[test]
fn a_wrong_type_in_the_file_names_the_key_line_and_expectation() {
    let error = load_text(
        "# listener\n[server]\nlisten = 7150\n",
        &MapEnvironment::default(),
    )
    .expect_err("an integer is not an address");
    let problem = problem_for(&error, "server.listen");
    assert_eq!(problem.source, "test.toml");
    assert_eq!(problem.location.as_deref(), Some("at line 3"));
    let text = error.to_string();
    assert!(
        text.contains("expected a string, found an integer"),
        "{text}"
    );
    assert!(text.contains("e.g. listen = \"127.0.0.1:7143\""), "{text}");
    assert!(!text.contains("7150"), "values are not quoted: {text}");
}

#[test]
fn a_quota_missing_its_burst_names_the_quota_in_every_frontend_section() {
    for section in ["rest", "mcp", "discord"] {
        let text = format!("[{section}]\nquota_create = {{ per_minute = 5 }}\n");
        let error = load_text(&text, &MapEnvironment::default()).expect_err("no burst");
        let message = error.to_string();
        assert!(
            message.contains(&format!("{section}.quota_create")) && message.contains("burst"),
            "{message}"
        );
        assert!(message.contains("at line 2"), "{message}");
    }
}

#[test]
fn a_wrong_value_from_the_environment_names_the_variable() {
    let env = MapEnvironment::default().with_var("OTS_GATEWAY__UPSTREAM__READ_RETRIES", "abc");
    let error = load_text("", &env).expect_err("not a number");
    let problem = problem_for(&error, "upstream.read_retries");
    assert_eq!(problem.source, "environment");
    assert_eq!(
        problem.location.as_deref(),
        Some("by OTS_GATEWAY__UPSTREAM__READ_RETRIES")
    );
    assert!(!error.to_string().contains("abc"), "{error}");
}

#[test]
fn a_wrong_value_from_a_flag_names_the_flag() {
    let flags = CommandLineOverrides {
        listen: Some("7150".into()),
        upstream: Some("eu.onetimesecret.com".into()),
    };
    let error = load(None, &MapEnvironment::default(), &flags).expect_err("two bad flags");
    for (key, flag) in [
        ("server.listen", "--listen"),
        ("upstream.url", "--upstream"),
    ] {
        let problem = problem_for(&error, key);
        assert_eq!(problem.source, "command line", "{error}");
        assert_eq!(problem.location.as_deref(), Some(&*format!("by {flag}")));
    }
    let flags = CommandLineOverrides {
        listen: Some("0.0.0.0:7143".into()),
        upstream: None,
    };
    let error = load(None, &MapEnvironment::default(), &flags).expect_err("exposed");
    assert_eq!(
        problem_for(&error, "server.listen").location.as_deref(),
        Some("by --listen")
    );
}

#[test]
fn an_upstream_url_with_credentials_is_refused_without_echoing_them() {
    let error = load_text(
        "[upstream]\nurl = \"https://user:canary-pw@eu.onetimesecret.com\"\n",
        &MapEnvironment::default(),
    )
    .expect_err("credentials in the URL");
    assert_eq!(keys_of(&error), ["upstream.url"]);
    let text = error.to_string();
    assert!(text.contains("credentials"), "{text}");
    assert!(!text.contains("canary-pw"), "{text}");
}

#[test]
fn discord_ids_may_be_integers_or_strings() {
    let text = "[discord]\nguild_id = 1310000000000000100\n\
                allowed_guilds = [1310000000000000101, \"1310000000000000102\"]\n\
                allowed_roles = [7]\ndefault_member_permissions = 8192\n";
    let config = load_text(text, &MapEnvironment::default()).expect("integer ids");
    assert_eq!(config.discord.guild_id, Some(1_310_000_000_000_000_100));
    assert_eq!(
        config.discord.allowed_guilds,
        [1_310_000_000_000_000_101, 1_310_000_000_000_000_102]
    );
    assert_eq!(config.discord.allowed_roles, [7]);
    assert_eq!(config.discord.default_member_permissions, Some(8192));

    let error = load_text(
        "[discord]\nguild_id = -5\nallowed_roles = [true]\n",
        &MapEnvironment::default(),
    )
    .expect_err("not ids");
    let text = error.to_string();
    assert!(text.contains("discord.allowed_roles"), "{text}");
}

#[test]
fn unknown_permission_bits_are_refused() {
    let error = load_text(
        "[discord]\ndefault_member_permissions = \"2251799813685248\"\n",
        &MapEnvironment::default(),
    )
    .expect_err("a bit serenity does not know");
    let problem = problem_for(&error, "discord.default_member_permissions");
    assert_eq!(problem.location.as_deref(), Some("at line 2"));
    assert!(problem.reason.contains("administrators"), "{error}");
}

#[test]
fn the_upstream_api_choice_comes_from_the_file_or_the_environment_and_defaults_to_auto() {
    use crate::ots::ApiChoice;
    let defaults = load_text("", &MapEnvironment::default()).expect("valid");
    assert_eq!(defaults.upstream.api, ApiChoice::Auto);
    let from_file =
        load_text("[upstream]\napi = \"v1\"\n", &MapEnvironment::default()).expect("valid");
    assert_eq!(from_file.upstream.api, ApiChoice::V1);
    let env = MapEnvironment::default().with_var("OTS_GATEWAY__UPSTREAM__API", "v2");
    let from_env = load_text("[upstream]\napi = \"v1\"\n", &env).expect("valid");
    assert_eq!(from_env.upstream.api, ApiChoice::V2, "env beats file");
    let error = load_text("[upstream]\napi = \"v3\"\n", &MapEnvironment::default())
        .expect_err("no such API");
    let problem = problem_for(&error, "upstream.api");
    assert_eq!(problem.location.as_deref(), Some("at line 2"));
}

#[test]
fn mcp_out_of_band_only_is_off_by_default_and_read_from_the_mcp_section() {
    let defaults = load_text("", &MapEnvironment::default()).expect("valid");
    assert!(!defaults.mcp_out_of_band_only);
    let config = load_text(
        "[mcp]\nout_of_band_only = true\n",
        &MapEnvironment::default(),
    )
    .expect("valid");
    assert!(config.mcp_out_of_band_only);
    assert!(
        !config.mcp_return_generated_value,
        "other [mcp] keys keep their defaults"
    );
}

#[test]
fn listener_bounds_are_read_as_users_write_them() {
    let file =
        "[server]\nmax_connections = 5\nheader_timeout = \"30s\"\nbody_timeout = \"1m 30s\"\n";
    let config = load_text(file, &MapEnvironment::default()).expect("valid");
    assert_eq!(config.max_connections, 5);
    assert_eq!(config.header_timeout, Duration::from_secs(30));
    assert_eq!(config.body_timeout, Duration::from_secs(90));

    let env = MapEnvironment::default()
        .with_var("OTS_GATEWAY__SERVER__MAX_CONNECTIONS", "9")
        .with_var("OTS_GATEWAY__SERVER__BODY_TIMEOUT", "2s");
    let overridden = load_text(file, &env).expect("valid");
    assert_eq!(overridden.max_connections, 9, "typed as a number");
    assert_eq!(overridden.body_timeout, Duration::from_secs(2));
    assert_eq!(overridden.header_timeout, Duration::from_secs(30));

    let defaults = load_text("", &MapEnvironment::default()).expect("valid");
    assert_eq!(
        (
            defaults.max_connections,
            defaults.header_timeout,
            defaults.body_timeout
        ),
        (
            DEFAULT_MAX_CONNECTIONS,
            DEFAULT_HEADER_TIMEOUT,
            DEFAULT_BODY_TIMEOUT
        )
    );
}

#[test]
fn listener_bounds_that_would_refuse_everyone_are_refused_by_key() {
    let error = load_text(
        "[server]\nmax_connections = 0\nheader_timeout = \"0s\"\nbody_timeout = \"0s\"\n",
        &MapEnvironment::default(),
    )
    .expect_err("zero bounds");
    assert!(
        problem_for(&error, "server.max_connections")
            .reason
            .contains("at least 1")
    );
    for key in ["server.header_timeout", "server.body_timeout"] {
        assert!(
            problem_for(&error, key).reason.contains("longer than zero"),
            "{error}"
        );
    }
    let error = load_text(
        "[server]\nheader_timeout = 10\n",
        &MapEnvironment::default(),
    )
    .expect_err("a bare number has no unit");
    assert_eq!(
        problem_for(&error, "server.header_timeout")
            .location
            .as_deref(),
        Some("at line 2")
    );
}
