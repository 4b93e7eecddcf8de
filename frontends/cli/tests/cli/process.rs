//! The binary's fixed interface: the listening line, exit codes, signals, config checks.

use std::process::Stdio;

use tokio::process::Command;

use crate::support::{self, BIN};

fn shipped_config() -> String {
    format!(
        "{}/../../config/ots-gateway.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

async fn run(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .stdin(Stdio::null())
        .env("XDG_DATA_HOME", support::isolated_data_home())
        .env_remove("OTS_GATEWAY_CONFIG");
    for (key, value) in envs {
        command.env(key, value);
    }
    command.output().await.expect("run ots-gateway")
}

#[tokio::test]
async fn serve_dev_announces_its_address_and_answers_status() {
    let gateway = support::start(&["serve", "--dev", "--listen", "127.0.0.1:0"], &[]).await;
    assert!(
        gateway.base_url.starts_with("http://127.0.0.1:"),
        "{}",
        gateway.base_url
    );
    let body: serde_json::Value = reqwest::get(format!("{}/api/v1/status", gateway.base_url))
        .await
        .expect("status request")
        .json()
        .await
        .expect("json");
    assert_eq!(body["status"], "nominal");
    let health = reqwest::get(format!("{}/healthz", gateway.base_url))
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);

    // Dev-mode share links point at the gateway itself and open as a reveal page.
    let shared: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v1/share", gateway.base_url))
        .form(&[("secret", "dev-link")])
        .send()
        .await
        .expect("share")
        .json()
        .await
        .expect("json");
    let link = shared["share_url"].as_str().expect("share_url");
    assert!(link.starts_with(&gateway.base_url), "{link}");
    let page = reqwest::get(link).await.expect("open the link");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("Reveal the secret")
    );
}

/// On one CPU the binary runs every task on one thread (`runtime.rs`); REST, MCP and the file
/// ledger's writer must all still make progress there.
#[tokio::test]
async fn serve_dev_pinned_to_one_cpu_runs_on_one_thread_and_serves_rest_and_mcp() {
    let gateway =
        support::start_on_one_cpu(&["serve", "--dev", "--listen", "127.0.0.1:0"], &[]).await;
    let http = reqwest::Client::new();
    let shared: serde_json::Value = http
        .post(format!("{}/api/v1/share", gateway.base_url))
        .form(&[("secret", "one-cpu-secret")])
        .send()
        .await
        .expect("share")
        .json()
        .await
        .expect("share json");
    let secret_key = shared["secret_key"].as_str().expect("secret_key");
    let revealed: serde_json::Value = http
        .post(format!("{}/api/v1/secret/{secret_key}", gateway.base_url))
        .send()
        .await
        .expect("retrieve")
        .json()
        .await
        .expect("retrieve json");
    assert_eq!(revealed["value"], "one-cpu-secret");

    let shared_by_mcp: serde_json::Value = support::mcp_tool_call(
        &http,
        &gateway.base_url,
        1,
        "share_secret",
        serde_json::json!({"secret": "one-cpu-mcp"}),
    )
    .send()
    .await
    .expect("mcp call")
    .json()
    .await
    .expect("mcp json");
    let result = &shared_by_mcp["result"];
    assert_eq!(result["isError"], false, "{shared_by_mcp}");
    assert!(
        result["structuredContent"]["metadata_key"].is_string(),
        "{shared_by_mcp}"
    );

    let output = gateway.output();
    assert!(output.contains("scheduler=CurrentThread"), "{output}");
}

#[tokio::test]
async fn sigterm_stops_the_gateway_cleanly() {
    let gateway = support::start(&["serve", "--dev", "--listen", "127.0.0.1:0"], &[]).await;
    let base_url = gateway.base_url.clone();
    let status = gateway.terminate().await;
    assert!(status.success(), "exit status {status}");
    assert!(
        reqwest::get(format!("{base_url}/healthz")).await.is_err(),
        "still serving"
    );
}

#[tokio::test]
async fn simulate_serves_an_ots_v1_api() {
    let simulator = support::start(
        &[
            "simulate",
            "--listen",
            "127.0.0.1:0",
            "--account",
            "team@example.com:sim-token",
        ],
        &[],
    )
    .await;
    let client = reqwest::Client::new();
    let anonymous = client
        .get(format!("{}/api/v1/authcheck", simulator.base_url))
        .send()
        .await
        .expect("authcheck");
    assert_eq!(anonymous.status(), 404, "authcheck needs an account");
    let authed = client
        .get(format!("{}/api/v1/authcheck", simulator.base_url))
        .basic_auth("team@example.com", Some("sim-token"))
        .send()
        .await
        .expect("authcheck");
    assert_eq!(authed.status(), 200);
}

#[tokio::test]
async fn check_config_accepts_the_shipped_file() {
    let output = run(&["check-config", "--config", &shipped_config()], &[]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("configuration OK"), "{stdout}");
    assert!(stdout.contains("127.0.0.1:7143"), "{stdout}");
}

#[tokio::test]
async fn check_config_explains_the_discord_policy_and_quotas() {
    let dir = support::scratch_root().join(format!("ots-gateway-discord-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("discord.toml");
    std::fs::write(
        &path,
        "[discord]\nallowed_operations = [\"share\", \"status\"]\n\
         quota_create = { per_minute = 1, burst = 1 }\n\
         guild_id = 1310000000000000100\nallowed_roles = [\"1310000000000000200\"]\n",
    )
    .expect("write config");
    let output = run(&["check-config", "--config", &path.to_string_lossy()], &[]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let discord = stdout
        .split_once("[discord]")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no [discord] section explained:\n{stdout}"));
    assert!(discord.contains("allows status, share\n"), "{stdout}");
    assert!(discord.contains("quota create  1/min, burst 1"), "{stdout}");
    assert!(
        stdout.contains("registered in guild 1310000000000000100"),
        "{stdout}"
    );
    assert!(stdout.contains("any / 1310000000000000200"), "{stdout}");
}

#[tokio::test]
async fn check_config_shows_secrets_only_as_set() {
    let output = run(
        &["check-config"],
        &[
            ("OTS_GATEWAY_USERNAME", "team@example.com"),
            ("OTS_GATEWAY_API_KEY", "canary-api-key-7f3a"),
            ("OTS_GATEWAY_BEARER_TOKEN", "canary-bearer-9c1d"),
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("team@example.com (API key set)"),
        "{stdout}"
    );
    assert!(!stdout.contains("canary-api-key-7f3a") && !stdout.contains("canary-bearer-9c1d"));
}

#[tokio::test]
async fn bad_configuration_exits_with_ex_config_and_names_the_key() {
    let dir = support::scratch_root().join(format!("ots-gateway-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.toml");
    std::fs::write(&path, "[server]\nlisen = \"127.0.0.1:1\"\n").expect("write config");
    let output = run(&["check-config", "--config", &path.to_string_lossy()], &[]).await;
    assert_eq!(output.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("server.lisen: unknown key"), "{stderr}");

    let output = run(&["serve", "--config", &path.to_string_lossy()], &[]).await;
    assert_eq!(
        output.status.code(),
        Some(78),
        "serve refuses the same file"
    );
}

/// One validator per rule: `check-config` refuses exactly what `serve` refuses, and `serve`
/// refuses before it binds anything.
#[tokio::test]
async fn check_config_and_serve_refuse_the_same_configs_naming_key_and_line() {
    let dir = support::scratch_root().join(format!("ots-gateway-invalid-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cases = [
        ("[server]\nlisten = 7150\n", "server.listen", "line 2"),
        (
            "[upstream]\nurl = \"https://user:canary-pw@eu.onetimesecret.com\"\n",
            "upstream.url",
            "line 2",
        ),
        (
            "[rest]\n\nquota_create = { per_minute = 5 }\n",
            "rest.quota_create",
            "line 3",
        ),
        (
            "[discord]\ndefault_member_permissions = \"2251799813685248\"\n",
            "discord.default_member_permissions",
            "line 2",
        ),
        (
            "[discord]\nquota_reveal = { per_minute = 5, burst = 0 }\n",
            "discord.quota_reveal.burst",
            "line 2",
        ),
        (
            "[discord]\nallowed_roles = [\"x\"]\n",
            "discord.allowed_roles",
            "line 2",
        ),
        (
            "[discord]\nread_receipt_batch = 0\n",
            "discord.read_receipt_batch",
            "line 2",
        ),
    ];
    for (index, (text, key, line)) in cases.into_iter().enumerate() {
        let path = dir.join(format!("invalid-{index}.toml"));
        std::fs::write(&path, text).expect("write config");
        let path = path.to_string_lossy().into_owned();
        for command in ["check-config", "serve"] {
            let output = run(&[command, "--config", &path], &[]).await;
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(78), "{command} {text}: {stderr}");
            assert!(stderr.contains(key), "{command} names {key}: {stderr}");
            assert!(stderr.contains(line), "{command} names {line}: {stderr}");
            assert!(!stderr.contains("canary-pw"), "{stderr}");
            assert!(
                !String::from_utf8_lossy(&output.stdout).contains("listening on")
                    && !stderr.contains("listening on"),
                "{command} must refuse before binding"
            );
        }
    }
}

/// The lifetimes the bot offers follow the bot's own rule (`TtlChoices`); both commands apply it
/// before anything binds.
#[tokio::test]
async fn check_config_and_serve_refuse_the_same_discord_lifetimes() {
    let dir = support::scratch_root().join(format!("ots-gateway-ttl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cases = [
        (
            "[discord]\nttl_choices = [60, 60]\ndefault_ttl = 60\n",
            "discord.ttl_choices",
        ),
        (
            "[discord]\nttl_choices = [60, 120]\ndefault_ttl = 300\n",
            "discord.default_ttl",
        ),
    ];
    for (index, (text, key)) in cases.into_iter().enumerate() {
        let path = dir.join(format!("ttl-{index}.toml"));
        std::fs::write(&path, text).expect("write config");
        let path = path.to_string_lossy().into_owned();
        for command in ["check-config", "serve"] {
            let output = run(&[command, "--config", &path], &[]).await;
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(78), "{command} {text}: {stderr}");
            assert!(stderr.contains(key), "{command} names {key}: {stderr}");
            assert!(
                !String::from_utf8_lossy(&output.stdout).contains("listening on"),
                "{command} must refuse before binding"
            );
        }
    }
    let path = dir.join("ttl-ok.toml");
    std::fs::write(
        &path,
        "[discord]\nttl_choices = [600, 7200]\ndefault_ttl = 7200\n",
    )
    .expect("write config");
    let output = run(&["check-config", "--config", &path.to_string_lossy()], &[]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("10 minutes, 2 hours (default 2 hours)"),
        "{stdout}"
    );
}

#[tokio::test]
async fn non_loopback_listen_without_a_token_is_refused() {
    let output = run(&["serve", "--dev", "--listen", "0.0.0.0:0"], &[]).await;
    assert_eq!(output.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bearer token"), "{stderr}");
}

#[tokio::test]
async fn status_reports_readiness_upstream_and_quotas() {
    let gateway = support::start(&["serve", "--dev", "--listen", "127.0.0.1:0"], &[]).await;
    let output = run(&["status", "--url", &gateway.base_url], &[]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(": ready"), "{stdout}");
    assert!(stdout.contains("(nominal)"), "{stdout}");
    assert!(
        stdout.contains("account       team credentials"),
        "{stdout}"
    );
    assert!(
        stdout.contains("OTS budget    600/min, burst 24000"),
        "{stdout}"
    );
    assert!(
        stdout.contains("quota         rest create: 50/min, burst 2000 per caller"),
        "{stdout}"
    );

    // A gateway that cannot reach its upstream is reported as not ready, with a non-zero exit.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let broken = support::start(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &format!("http://{closed}"),
        ],
        &[(
            "OTS_GATEWAY__LEDGER__PATH",
            &support::scratch_root()
                .join(format!("ots-status-{}.sqlite3", std::process::id()))
                .to_string_lossy(),
        )],
    )
    .await;
    let output = run(&["status", "--url", &broken.base_url], &[]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(stdout.contains("NOT ready"), "{stdout}");
    assert!(stdout.contains("could not be reached"), "{stdout}");
}

#[tokio::test]
async fn a_rejected_discord_token_stops_serve_with_a_clear_error() {
    // A Discord stand-in that rejects every token, as Discord does after a token reset.
    let fake = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api_base = format!("http://{}", fake.local_addr().expect("addr"));
    let rejecting = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"message": "401: Unauthorized", "code": 0})),
        )
    });
    tokio::spawn(async move { axum::serve(fake, rejecting).await });

    let mut gateway = support::start(
        &["serve", "--dev", "--listen", "127.0.0.1:0"],
        &[
            ("OTS_GATEWAY__DISCORD__ENABLED", "true"),
            ("OTS_GATEWAY_DISCORD_TOKEN", "canary-discord-token-55"),
            ("OTS_GATEWAY_DISCORD_API_BASE", &api_base),
        ],
    )
    .await;
    let status = tokio::time::timeout(std::time::Duration::from_secs(60), gateway.child.wait())
        .await
        .expect("serve exits when Discord rejects the token")
        .expect("wait");
    assert!(!status.success(), "{status}");
    let output = gateway.final_output().await;
    assert!(output.contains("rejected the bot token"), "{output}");
    assert!(
        !output.contains("canary-discord-token-55"),
        "the token leaked: {output}"
    );
}
