//! From the file model to [`ValidConfig`]: one function per rule, every problem collected.
//! `check-config` and `serve` both run exactly this, so they refuse exactly the same things.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::discord::discord_settings;
use super::file::{CONFIGURED_FRONTENDS, FileConfig, FrontendSection, RateSection};
use super::problems::Problems;
use super::secrets::{client_tokens, resolve_secret};
use super::{ENV_API_KEY, ENV_BEARER_TOKEN, ENV_USERNAME, Environment, LogFormat, ValidConfig};
use crate::base_url::BaseUrl;
use crate::ledger::Durability;
use crate::limits::{OperationClass, QuotaSettings, Rate};
use crate::model::{ClientToken, Credentials, Operation, check_token_strength};
use crate::ots::OtsClientConfig;
use crate::policy::{FrontendPolicy, Policy, RecentSource};

/// Smallest request body that still fits OTS's largest secret with its encoding overhead.
const MIN_BODY_BYTES: usize = 16 * 1024;

pub(super) fn validate(
    file: FileConfig,
    env: &dyn Environment,
    problems: &mut Problems<'_>,
) -> Option<ValidConfig> {
    let listen = listen_address(&file.server.listen, problems);
    let base_url = upstream_url(&file.upstream.url, problems);
    if file.server.max_body_bytes < MIN_BODY_BYTES {
        problems.at(
            "server.max_body_bytes",
            format!(
                "must be at least {MIN_BODY_BYTES}: a 10 000-byte secret plus encoding overhead must fit"
            ),
        );
    }
    for (key, count) in [
        (
            "server.max_concurrent_requests",
            file.server.max_concurrent_requests,
        ),
        ("server.max_connections", file.server.max_connections),
    ] {
        if count == 0 {
            problems.at(key, "must be at least 1");
        }
    }
    for (key, duration) in [
        ("server.request_timeout", file.server.request_timeout),
        ("server.header_timeout", file.server.header_timeout),
        ("server.body_timeout", file.server.body_timeout),
        ("upstream.connect_timeout", file.upstream.connect_timeout),
        ("upstream.request_timeout", file.upstream.request_timeout),
    ] {
        positive_duration(key, duration, problems);
    }
    let log_format = log_format(&file.log.format, problems);

    let bearer_token = resolve_secret(
        env,
        ENV_BEARER_TOKEN,
        "server.bearer_token_file",
        &file.server.bearer_token_file,
        problems,
    );
    let api_key = resolve_secret(
        env,
        ENV_API_KEY,
        "upstream.api_key_file",
        &file.upstream.api_key_file,
        problems,
    );
    if let Some(token) = &bearer_token
        && let Err(weakness) = check_token_strength(token.expose_secret())
    {
        problems.at(
            "server.bearer_token_file",
            format!(
                "the bearer token (from {ENV_BEARER_TOKEN} or this file) is too weak: {weakness}"
            ),
        );
    }
    let client_tokens = client_tokens(env, &file.server.client_tokens_file, problems);
    let credentials = team_credentials(&file.upstream.username, api_key, problems);
    if let Some(addr) = listen {
        exposed_listener_needs_a_token(addr, bearer_token.as_ref(), &client_tokens, problems);
    }

    let ledger_durability = ledger_durability(&file.ledger.durability, problems);
    positive_duration(
        "ledger.maintenance_interval",
        file.ledger.maintenance_interval,
        problems,
    );
    let mut quotas = QuotaSettings {
        upstream: rate_of(file.upstream.budget, "upstream.budget", problems),
        ..QuotaSettings::default()
    };
    let mut policy = Policy::default();
    for frontend in CONFIGURED_FRONTENDS {
        let Some(section) = file.frontend_section(frontend) else {
            continue;
        };
        let name = frontend.as_str();
        policy
            .frontends
            .insert(frontend, frontend_policy_of(section, name, problems));
        for (class, rate) in [
            (OperationClass::Create, section.quota_create),
            (OperationClass::Reveal, section.quota_reveal),
            (OperationClass::Manage, section.quota_manage),
        ] {
            let key = format!("{name}.quota_{}", class.as_str());
            if let Some(rate) = rate_of(rate, &key, problems) {
                quotas.callers.insert((frontend, class), rate);
            }
        }
    }
    let discord = discord_settings(&file.discord, env, problems);
    let non_empty_path = |path: &str| (!path.is_empty()).then(|| PathBuf::from(path));

    let upstream = OtsClientConfig {
        credentials,
        connect_timeout: file.upstream.connect_timeout,
        request_timeout: file.upstream.request_timeout,
        read_retries: file.upstream.read_retries,
        retry_backoff: file.upstream.retry_backoff,
        api: file.upstream.api,
        ..OtsClientConfig::new(base_url?.into_url())
    };
    Some(ValidConfig {
        ledger_path: non_empty_path(&file.ledger.path),
        ledger_durability: ledger_durability?,
        maintenance_interval: file.ledger.maintenance_interval,
        audit_file: non_empty_path(&file.audit.file),
        policy,
        quotas,
        mcp_return_generated_value: file.mcp.return_generated_value,
        mcp_out_of_band_only: file.mcp.out_of_band_only,
        discord,
        listen: listen?,
        allowed_hosts: file.server.allowed_hosts,
        bearer_token,
        client_tokens,
        max_body_bytes: file.server.max_body_bytes,
        request_timeout: file.server.request_timeout,
        max_concurrent_requests: file.server.max_concurrent_requests,
        max_connections: file.server.max_connections,
        header_timeout: file.server.header_timeout,
        body_timeout: file.server.body_timeout,
        shutdown_grace: file.server.shutdown_grace,
        upstream,
        log_level: file.log.level,
        log_format: log_format?,
    })
}

fn listen_address(raw: &str, problems: &mut Problems<'_>) -> Option<SocketAddr> {
    match raw.parse::<SocketAddr>() {
        Ok(addr) => Some(addr),
        Err(_) => {
            problems.at(
                "server.listen",
                "expected an IP address and port, e.g. 127.0.0.1:7143 (a port alone is not enough)",
            );
            None
        }
    }
}

fn upstream_url(raw: &str, problems: &mut Problems<'_>) -> Option<BaseUrl> {
    match BaseUrl::parse(raw) {
        Ok(url) => Some(url),
        Err(problem) => {
            problems.at(
                "upstream.url",
                format!(
                    "{problem}; expected an http(s) URL such as https://eu.onetimesecret.com \
                     (credentials go in upstream.username and {ENV_API_KEY})"
                ),
            );
            None
        }
    }
}

fn positive_duration(key: &str, duration: Duration, problems: &mut Problems<'_>) {
    if duration.is_zero() {
        problems.at(key, "must be longer than zero, e.g. \"10s\"");
    }
}

fn log_format(raw: &str, problems: &mut Problems<'_>) -> Option<LogFormat> {
    match raw {
        "text" => Some(LogFormat::Text),
        "json" => Some(LogFormat::Json),
        _ => {
            problems.at("log.format", "expected \"text\" or \"json\"");
            None
        }
    }
}

fn ledger_durability(raw: &str, problems: &mut Problems<'_>) -> Option<Durability> {
    match raw {
        "normal" => Some(Durability::Normal),
        "full" => Some(Durability::Full),
        _ => {
            problems.at("ledger.durability", "expected \"normal\" or \"full\"");
            None
        }
    }
}

/// Both halves of the team account, or neither.
fn team_credentials(
    username: &str,
    api_key: Option<SecretString>,
    problems: &mut Problems<'_>,
) -> Option<Credentials> {
    let username = username.trim().to_owned();
    match (username.is_empty(), api_key) {
        (true, None) => None,
        (false, Some(api_key)) => Some(Credentials { username, api_key }),
        (true, Some(_)) => {
            problems.at(
                "upstream.username",
                format!("an API key is set but no username: set {ENV_USERNAME}"),
            );
            None
        }
        (false, None) => {
            problems.at(
                "upstream.api_key_file",
                format!(
                    "a username is set but no API key: set {ENV_API_KEY} or upstream.api_key_file"
                ),
            );
            None
        }
    }
}

/// Anyone who can reach a non-loopback listener could use the team's account.
fn exposed_listener_needs_a_token(
    addr: SocketAddr,
    bearer_token: Option<&SecretString>,
    client_tokens: &[ClientToken],
    problems: &mut Problems<'_>,
) {
    if !addr.ip().is_loopback() && bearer_token.is_none() && client_tokens.is_empty() {
        problems.at(
            "server.listen",
            format!(
                "{} is not a loopback address; anyone who can reach it could use the team's \
                 OTS account, so a bearer token is required ({ENV_BEARER_TOKEN} or \
                 server.bearer_token_file)",
                addr.ip()
            ),
        );
    }
}

/// `per_minute = 0` switches a quota off; otherwise the burst must be at least 1.
fn rate_of(rate: RateSection, key: &str, problems: &mut Problems<'_>) -> Option<Rate> {
    let per_minute = NonZeroU32::new(rate.per_minute)?;
    match NonZeroU32::new(rate.burst) {
        Some(burst) => Some(Rate { per_minute, burst }),
        None => {
            problems.at(
                &format!("{key}.burst"),
                "must be at least 1 (set per_minute = 0 to switch the quota off)",
            );
            None
        }
    }
}

fn frontend_policy_of(
    section: &FrontendSection,
    name: &str,
    problems: &mut Problems<'_>,
) -> FrontendPolicy {
    let mut allowed = BTreeSet::new();
    for raw in &section.allowed_operations {
        match Operation::parse(raw) {
            Some(op) => {
                allowed.insert(op);
            }
            None => problems.at(
                &format!("{name}.allowed_operations"),
                format!(
                    "unknown operation {raw:?}; expected some of: {}",
                    Operation::ALL.map(Operation::as_str).join(", ")
                ),
            ),
        }
    }
    let recent_source = match section.recent_source.as_str() {
        "upstream" => RecentSource::UpstreamAccount,
        "ledger" => RecentSource::CallerLedger,
        _ => {
            problems.at(
                &format!("{name}.recent_source"),
                "expected \"upstream\" or \"ledger\"",
            );
            RecentSource::CallerLedger
        }
    };
    FrontendPolicy {
        allowed_operations: allowed,
        enforce_ownership: section.enforce_ownership,
        recent_source,
    }
}
