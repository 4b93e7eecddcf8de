//! Configuration: TOML text plus environment overrides, validated into [`ValidConfig`].
//!
//! Precedence, lowest first: built-in defaults < the file < environment < command-line flags.
//! The core does no ambient IO: the binary hands in the file text and an [`Environment`], which
//! tests replace with a map. Errors name the file, key and a hint, never a value or the file text,
//! because a misplaced secret must not end up on a terminal or in a log.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::ledger::Durability;
use crate::limits::{OperationClass, QuotaSettings, Rate};
use crate::model::{ClientToken, Credentials, Frontend, Operation};
use crate::policy::{FrontendPolicy, Policy, RecentSource};

/// Prefix of the generic override scheme: `OTS_GATEWAY__<SECTION>__<KEY>=value`.
pub const ENV_OVERRIDE_PREFIX: &str = "OTS_GATEWAY__";
pub const ENV_USERNAME: &str = "OTS_GATEWAY_USERNAME";
pub const ENV_API_KEY: &str = "OTS_GATEWAY_API_KEY";
pub const ENV_BEARER_TOKEN: &str = "OTS_GATEWAY_BEARER_TOKEN";
pub const ENV_CONFIG_PATH: &str = "OTS_GATEWAY_CONFIG";
pub const ENV_DISCORD_TOKEN: &str = "OTS_GATEWAY_DISCORD_TOKEN";
pub const ENV_DISCORD_API_BASE: &str = "OTS_GATEWAY_DISCORD_API_BASE";

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7143";
pub const DEFAULT_UPSTREAM: &str = "https://onetimesecret.com";

/// Where configuration values come from besides the file. The binary reads the process
/// environment and the filesystem; tests use a map.
pub trait Environment {
    fn var(&self, name: &str) -> Option<String>;
    /// Every variable whose name starts with `prefix`.
    fn vars_with_prefix(&self, prefix: &str) -> Vec<(String, String)>;
    /// Reads a secret from a `*_file` path. Errors must not include the file's content.
    fn read_secret_file(&self, path: &str) -> Result<String, String>;
}

/// The file's shape. Unknown keys are errors: a typo must not silently fall back to a default.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    server: ServerSection,
    upstream: UpstreamSection,
    ledger: LedgerSection,
    audit: AuditSection,
    log: LogSection,
    rest: FrontendSection,
    mcp: McpSection,
    discord: DiscordSection,
}

/// The frontends that have a section in the file. Validation, policy, quotas, `check-config`
/// and `/gateway/status` all walk this one list, so a frontend configured in the file cannot be
/// left out of any of them.
pub const CONFIGURED_FRONTENDS: [Frontend; 3] = [Frontend::Rest, Frontend::Mcp, Frontend::Discord];

impl FileConfig {
    /// The policy and quota keys of `frontend`'s section. Exhaustive, so a new frontend must say
    /// where its section is (or that it has none).
    fn frontend_section(&self, frontend: Frontend) -> Option<&FrontendSection> {
        match frontend {
            Frontend::Rest => Some(&self.rest),
            Frontend::Mcp => Some(&self.mcp.policy),
            Frontend::Discord => Some(&self.discord.policy),
            // The command line acts for the operator, who needs no quota against themselves.
            Frontend::Cli => None,
        }
    }
}

impl Default for FileConfig {
    fn default() -> Self {
        FileConfig {
            server: ServerSection::default(),
            upstream: UpstreamSection::default(),
            ledger: LedgerSection::default(),
            audit: AuditSection::default(),
            log: LogSection::default(),
            rest: FrontendSection::defaults_for(Frontend::Rest),
            mcp: McpSection {
                policy: FrontendSection::defaults_for(Frontend::Mcp),
                return_generated_value: false,
            },
            discord: DiscordSection {
                enabled: false,
                api_base: String::new(),
                token_file: String::new(),
                guild_id: String::new(),
                allowed_guilds: Vec::new(),
                allowed_roles: Vec::new(),
                default_member_permissions: String::new(),
                policy: FrontendSection::defaults_for(Frontend::Discord),
            },
        }
    }
}

/// A rate as written in the file: `{ per_minute = 60, burst = 10 }`; `per_minute = 0` means
/// unlimited.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RateSection {
    per_minute: u32,
    burst: u32,
}

impl RateSection {
    const fn new(per_minute: u32, burst: u32) -> Self {
        RateSection { per_minute, burst }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct LedgerSection {
    path: String,
    durability: String,
    #[serde(with = "humantime_serde")]
    maintenance_interval: Duration,
}

impl Default for LedgerSection {
    fn default() -> Self {
        LedgerSection {
            path: String::new(),
            durability: "normal".to_owned(),
            maintenance_interval: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct AuditSection {
    file: String,
}

/// Policy keys every frontend section has.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct FrontendSection {
    allowed_operations: Vec<String>,
    enforce_ownership: bool,
    recent_source: String,
    quota_create: RateSection,
    quota_reveal: RateSection,
    quota_manage: RateSection,
}

impl FrontendSection {
    fn defaults_for(frontend: Frontend) -> Self {
        let policy = FrontendPolicy::default_for(frontend);
        FrontendSection {
            allowed_operations: policy
                .allowed_operations
                .iter()
                .map(|op| op.as_str().to_owned())
                .collect(),
            enforce_ownership: policy.enforce_ownership,
            recent_source: match policy.recent_source {
                RecentSource::UpstreamAccount => "upstream".to_owned(),
                RecentSource::CallerLedger => "ledger".to_owned(),
            },
            quota_create: RateSection::new(50, 2000),
            quota_reveal: RateSection::new(50, 2000),
            quota_manage: RateSection::new(500, 20000),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct DiscordSection {
    enabled: bool,
    api_base: String,
    token_file: String,
    guild_id: String,
    allowed_guilds: Vec<String>,
    allowed_roles: Vec<String>,
    default_member_permissions: String,
    #[serde(flatten)]
    policy: FrontendSection,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct McpSection {
    #[serde(flatten)]
    policy: FrontendSection,
    return_generated_value: bool,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
struct ServerSection {
    listen: String,
    allowed_hosts: Vec<String>,
    bearer_token_file: String,
    client_tokens_file: String,
    max_body_bytes: usize,
    #[serde(with = "humantime_serde")]
    request_timeout: Duration,
    max_concurrent_requests: usize,
    #[serde(with = "humantime_serde")]
    shutdown_grace: Duration,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: DEFAULT_LISTEN.to_owned(),
            allowed_hosts: Vec::new(),
            bearer_token_file: String::new(),
            client_tokens_file: String::new(),
            max_body_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 256,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
struct UpstreamSection {
    url: String,
    username: String,
    api_key_file: String,
    #[serde(with = "humantime_serde")]
    connect_timeout: Duration,
    #[serde(with = "humantime_serde")]
    request_timeout: Duration,
    read_retries: u32,
    #[serde(with = "humantime_serde")]
    retry_backoff: Duration,
    budget: RateSection,
}

impl Default for UpstreamSection {
    fn default() -> Self {
        UpstreamSection {
            url: DEFAULT_UPSTREAM.to_owned(),
            username: String::new(),
            api_key_file: String::new(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
            read_retries: 2,
            retry_backoff: Duration::from_millis(200),
            budget: RateSection::new(600, 24000),
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
struct LogSection {
    level: String,
    format: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            level: "info".to_owned(),
            format: "text".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Settings for the connection to the OTS server.
#[derive(Debug, Clone)]
pub struct UpstreamSettings {
    pub url: Url,
    pub credentials: Option<Credentials>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub read_retries: u32,
    pub retry_backoff: Duration,
}

/// The Discord bot's settings.
#[derive(Debug, Clone, Default)]
pub struct DiscordSettings {
    pub enabled: bool,
    /// A Discord-compatible REST base (a proxy, or a fake in tests). When set, serenity's own
    /// rate limiter is off, because the proxy does that job.
    pub api_base: Option<Url>,
    pub token: Option<SecretString>,
    /// Register commands in this guild (instant, for development); `None` registers globally.
    pub guild_id: Option<u64>,
    /// Guilds the bot answers in; empty means any.
    pub allowed_guilds: Vec<u64>,
    /// Role ids a member needs one of; empty means any member.
    pub allowed_roles: Vec<u64>,
    /// Permission bits a member needs to see the command by default; `None` means everyone.
    pub default_member_permissions: Option<u64>,
}

/// Configuration that has passed every check; what the rest of the program runs on.
#[derive(Debug, Clone)]
pub struct ValidConfig {
    pub listen: SocketAddr,
    pub allowed_hosts: Vec<String>,
    pub bearer_token: Option<SecretString>,
    /// Per-client tokens; a request authenticated by one is attributed to its label.
    pub client_tokens: Vec<ClientToken>,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub max_concurrent_requests: usize,
    pub shutdown_grace: Duration,
    pub upstream: UpstreamSettings,
    pub log_level: String,
    pub log_format: LogFormat,
    /// Where the ledger lives; `None` means the binary's default (the user's data directory).
    pub ledger_path: Option<std::path::PathBuf>,
    pub ledger_durability: Durability,
    pub maintenance_interval: Duration,
    /// JSON-lines file for audit events; `None` sends them to the main log.
    pub audit_file: Option<std::path::PathBuf>,
    pub policy: Policy,
    pub quotas: QuotaSettings,
    /// Whether MCP's `generate_secret` returns the generated value to the agent.
    pub mcp_return_generated_value: bool,
    pub discord: DiscordSettings,
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Clone, Default)]
pub struct CommandLineOverrides {
    pub listen: Option<String>,
    pub upstream: Option<String>,
}

/// One thing wrong with the configuration: where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The file, `environment` or `command line`.
    pub source: String,
    /// Dotted key, e.g. `server.listen`, or empty when the problem is not about one key.
    pub key: String,
    pub reason: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.source, self.reason)
        } else {
            write!(f, "{}: {}: {}", self.source, self.key, self.reason)
        }
    }
}

/// Every problem found; loading does not stop at the first one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Loads configuration. `file` is `(name for messages, text)`; `None` means defaults only.
pub fn load(
    file: Option<(&str, &str)>,
    env: &dyn Environment,
    overrides: &CommandLineOverrides,
) -> Result<ValidConfig, ConfigError> {
    let mut problems = Vec::new();
    let (file_name, text) = file.unwrap_or(("defaults", ""));

    let table = match text.parse::<toml::Table>() {
        Ok(table) => table,
        Err(error) => {
            problems.push(ConfigProblem {
                source: file_name.to_owned(),
                key: String::new(),
                reason: describe_toml_error(&error, text),
            });
            return Err(ConfigError { problems });
        }
    };

    let schema = config_schema();
    for key in unknown_keys(&table, &schema) {
        problems.push(ConfigProblem {
            source: file_name.to_owned(),
            key: key.clone(),
            reason: hint_for_unknown_key(&key, &schema),
        });
    }
    let mut env_table = toml::Table::new();
    apply_env_overrides(&mut env_table, env, &mut problems);
    for key in unknown_keys(&env_table, &schema) {
        problems.push(ConfigProblem {
            source: "environment".to_owned(),
            key: key.clone(),
            reason: hint_for_unknown_key(&key, &schema),
        });
    }
    if !problems.is_empty() {
        return Err(ConfigError { problems });
    }
    // Each section's defaults come from `FileConfig::default()`, so frontends can have
    // different defaults for the same key; the file, then the environment, then the command
    // line are laid over them.
    let mut merged = schema;
    merge_tables(&mut merged, table);
    merge_tables(&mut merged, env_table);
    apply_command_line(&mut merged, overrides);

    let parsed: FileConfig = match FileConfig::deserialize(toml::Value::Table(merged)) {
        Ok(parsed) => parsed,
        Err(error) => {
            problems.push(ConfigProblem {
                source: file_name.to_owned(),
                key: String::new(),
                reason: describe_toml_error(&error, ""),
            });
            return Err(ConfigError { problems });
        }
    };

    let config = validate(parsed, file_name, env, &mut problems);
    match config {
        Some(config) if problems.is_empty() => Ok(config),
        _ => Err(ConfigError { problems }),
    }
}

/// Every section and key the file may have, taken from the defaults so it cannot drift.
fn config_schema() -> toml::Table {
    toml::Table::try_from(FileConfig::default()).unwrap_or_default()
}

/// Dotted names of keys in `table` that the schema does not know.
fn unknown_keys(table: &toml::Table, schema: &toml::Table) -> Vec<String> {
    let mut unknown = Vec::new();
    for (section, value) in table {
        match (schema.get(section), value) {
            (Some(toml::Value::Table(known)), toml::Value::Table(keys)) => {
                unknown.extend(
                    keys.keys()
                        .filter(|key| !known.contains_key(*key))
                        .map(|key| format!("{section}.{key}")),
                );
            }
            // A known section given as a plain value is left to the deserializer's type error.
            (Some(_), _) => {}
            (None, _) => unknown.push(section.clone()),
        }
    }
    unknown
}

fn hint_for_unknown_key(key: &str, schema: &toml::Table) -> String {
    let known: Vec<String> = match key.split_once('.') {
        Some((section, _)) => schema
            .get(section)
            .and_then(toml::Value::as_table)
            .map(|keys| keys.keys().cloned().collect())
            .unwrap_or_default(),
        None => schema.keys().map(|s| format!("[{s}]")).collect(),
    };
    format!("unknown key; expected one of: {}", known.join(", "))
}

fn merge_tables(base: &mut toml::Table, overlay: toml::Table) {
    for (section, value) in overlay {
        match (base.get_mut(&section), value) {
            (Some(toml::Value::Table(existing)), toml::Value::Table(keys)) => existing.extend(keys),
            (_, value) => {
                base.insert(section, value);
            }
        }
    }
}

/// TOML's own `Display` quotes the offending source line, which could hold a misplaced secret,
/// so only its message and a line number are kept.
fn describe_toml_error(error: &toml::de::Error, text: &str) -> String {
    let message = error.message().trim_end();
    match error.span() {
        Some(span) if !text.is_empty() => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        _ => message.to_owned(),
    }
}

fn apply_env_overrides(
    table: &mut toml::Table,
    env: &dyn Environment,
    problems: &mut Vec<ConfigProblem>,
) {
    let mut overrides = env.vars_with_prefix(ENV_OVERRIDE_PREFIX);
    // Deterministic order, so the same environment always yields the same result and messages.
    overrides.sort();
    for (name, value) in overrides {
        let path: Vec<String> = name[ENV_OVERRIDE_PREFIX.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        let [section, key] = path.as_slice() else {
            problems.push(ConfigProblem {
                source: "environment".to_owned(),
                key: name.clone(),
                reason: format!("expected {ENV_OVERRIDE_PREFIX}<SECTION>__<KEY>"),
            });
            continue;
        };
        let entry = table
            .entry(section.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        match entry {
            toml::Value::Table(section_table) => {
                section_table.insert(key.clone(), env_value(&value));
            }
            _ => problems.push(ConfigProblem {
                source: "environment".to_owned(),
                key: name.clone(),
                reason: format!("`{section}` is not a section"),
            }),
        }
    }
    if let Some(username) = env.var(ENV_USERNAME) {
        set_key(table, "upstream", "username", toml::Value::String(username));
    }
}

/// Environment values are typed the way TOML would read them (`8080`, `true`, `["a", "b"]`),
/// and anything that is not valid TOML is taken as a plain string.
fn env_value(raw: &str) -> toml::Value {
    let document = format!("value = {raw}");
    match document.parse::<toml::Table>() {
        Ok(mut parsed) => parsed
            .remove("value")
            .unwrap_or_else(|| toml::Value::String(raw.to_owned())),
        Err(_) => toml::Value::String(raw.to_owned()),
    }
}

fn set_key(table: &mut toml::Table, section: &str, key: &str, value: toml::Value) {
    let entry = table
        .entry(section.to_owned())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(section_table) = entry {
        section_table.insert(key.to_owned(), value);
    }
}

fn apply_command_line(table: &mut toml::Table, overrides: &CommandLineOverrides) {
    if let Some(listen) = &overrides.listen {
        set_key(
            table,
            "server",
            "listen",
            toml::Value::String(listen.clone()),
        );
    }
    if let Some(upstream) = &overrides.upstream {
        set_key(
            table,
            "upstream",
            "url",
            toml::Value::String(upstream.clone()),
        );
    }
}

/// A secret comes from its fixed environment variable, else from the `*_file` key.
fn resolve_secret(
    env: &dyn Environment,
    env_name: &str,
    file_key: &str,
    file_path: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<SecretString> {
    if let Some(value) = env.var(env_name).filter(|v| !v.is_empty()) {
        return Some(SecretString::from(value));
    }
    if file_path.is_empty() {
        return None;
    }
    match env.read_secret_file(file_path) {
        Ok(content) => {
            // Files written by editors and `echo` end in a newline that is not part of the secret.
            let trimmed = content.trim_end_matches(['\n', '\r']);
            if trimmed.is_empty() {
                problems.push(ConfigProblem {
                    source: "config".to_owned(),
                    key: file_key.to_owned(),
                    reason: format!("{file_path} is empty"),
                });
                None
            } else {
                Some(SecretString::from(trimmed.to_owned()))
            }
        }
        Err(reason) => {
            problems.push(ConfigProblem {
                source: "config".to_owned(),
                key: file_key.to_owned(),
                reason,
            });
            None
        }
    }
}

fn validate(
    file: FileConfig,
    file_name: &str,
    env: &dyn Environment,
    problems: &mut Vec<ConfigProblem>,
) -> Option<ValidConfig> {
    let mut problem = |key: &str, reason: String| {
        problems.push(ConfigProblem {
            source: file_name.to_owned(),
            key: key.to_owned(),
            reason,
        })
    };

    let listen = match file.server.listen.parse::<SocketAddr>() {
        Ok(addr) => Some(addr),
        Err(_) => {
            problem(
                "server.listen",
                "expected an IP address and port, e.g. 127.0.0.1:7143".to_owned(),
            );
            None
        }
    };
    let upstream_url = match Url::parse(&file.upstream.url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Some(url),
        _ => {
            problem(
                "upstream.url",
                "expected an http(s) URL such as https://eu.onetimesecret.com".to_owned(),
            );
            None
        }
    };
    if file.server.max_body_bytes < 16 * 1024 {
        problem(
            "server.max_body_bytes",
            "must be at least 16384: a 10 000-byte secret plus encoding overhead must fit"
                .to_owned(),
        );
    }
    if file.server.max_concurrent_requests == 0 {
        problem(
            "server.max_concurrent_requests",
            "must be at least 1".to_owned(),
        );
    }
    for (key, duration) in [
        ("server.request_timeout", file.server.request_timeout),
        ("upstream.connect_timeout", file.upstream.connect_timeout),
        ("upstream.request_timeout", file.upstream.request_timeout),
    ] {
        if duration.is_zero() {
            problem(key, "must be longer than zero".to_owned());
        }
    }
    let log_format = match file.log.format.as_str() {
        "text" => Some(LogFormat::Text),
        "json" => Some(LogFormat::Json),
        _ => {
            problem("log.format", "expected \"text\" or \"json\"".to_owned());
            None
        }
    };

    let mut secret_problems = Vec::new();
    let bearer_token = resolve_secret(
        env,
        ENV_BEARER_TOKEN,
        "server.bearer_token_file",
        &file.server.bearer_token_file,
        &mut secret_problems,
    );
    let api_key = resolve_secret(
        env,
        ENV_API_KEY,
        "upstream.api_key_file",
        &file.upstream.api_key_file,
        &mut secret_problems,
    );
    problems.extend(secret_problems);
    let client_tokens = client_tokens(env, &file.server.client_tokens_file, problems);

    let username = file.upstream.username.trim().to_owned();
    let credentials = match (username.is_empty(), api_key) {
        (true, None) => None,
        (false, Some(api_key)) => Some(Credentials { username, api_key }),
        (true, Some(_)) => {
            problems.push(ConfigProblem {
                source: file_name.to_owned(),
                key: "upstream.username".to_owned(),
                reason: format!("an API key is set but no username: set {ENV_USERNAME}"),
            });
            None
        }
        (false, None) => {
            problems.push(ConfigProblem {
                source: file_name.to_owned(),
                key: "upstream.api_key_file".to_owned(),
                reason: format!(
                    "a username is set but no API key: set {ENV_API_KEY} or upstream.api_key_file"
                ),
            });
            None
        }
    };

    if let Some(addr) = listen
        && !addr.ip().is_loopback()
        && bearer_token.is_none()
        && client_tokens.is_empty()
    {
        problems.push(ConfigProblem {
            source: file_name.to_owned(),
            key: "server.listen".to_owned(),
            reason: format!(
                "{} is not a loopback address; anyone who can reach it could use the team's \
                     OTS account, so a bearer token is required ({ENV_BEARER_TOKEN} or \
                     server.bearer_token_file)",
                addr.ip()
            ),
        });
    }

    let ledger_durability = match file.ledger.durability.as_str() {
        "normal" => Some(Durability::Normal),
        "full" => Some(Durability::Full),
        _ => {
            problems.push(ConfigProblem {
                source: file_name.to_owned(),
                key: "ledger.durability".to_owned(),
                reason: "expected \"normal\" or \"full\"".to_owned(),
            });
            None
        }
    };
    if file.ledger.maintenance_interval.is_zero() {
        problems.push(ConfigProblem {
            source: file_name.to_owned(),
            key: "ledger.maintenance_interval".to_owned(),
            reason: "must be longer than zero".to_owned(),
        });
    }
    let mut quotas = QuotaSettings {
        upstream: rate_of(file.upstream.budget, "upstream.budget", file_name, problems),
        ..QuotaSettings::default()
    };
    let mut policy = Policy::default();
    for frontend in CONFIGURED_FRONTENDS {
        let Some(section) = file.frontend_section(frontend) else {
            continue;
        };
        let name = frontend.as_str();
        let frontend_policy = frontend_policy_of(section, name, file_name, problems);
        policy.frontends.insert(frontend, frontend_policy);
        for (class, rate, key) in [
            (OperationClass::Create, section.quota_create, "quota_create"),
            (OperationClass::Reveal, section.quota_reveal, "quota_reveal"),
            (OperationClass::Manage, section.quota_manage, "quota_manage"),
        ] {
            if let Some(rate) = rate_of(rate, &format!("{name}.{key}"), file_name, problems) {
                quotas.callers.insert((frontend, class), rate);
            }
        }
    }
    let discord = discord_settings(&file.discord, file_name, env, problems);
    let non_empty_path = |path: &str| (!path.is_empty()).then(|| std::path::PathBuf::from(path));

    Some(ValidConfig {
        ledger_path: non_empty_path(&file.ledger.path),
        ledger_durability: ledger_durability?,
        maintenance_interval: file.ledger.maintenance_interval,
        audit_file: non_empty_path(&file.audit.file),
        policy,
        quotas,
        mcp_return_generated_value: file.mcp.return_generated_value,
        discord,
        listen: listen?,
        allowed_hosts: file.server.allowed_hosts,
        bearer_token,
        client_tokens,
        max_body_bytes: file.server.max_body_bytes,
        request_timeout: file.server.request_timeout,
        max_concurrent_requests: file.server.max_concurrent_requests,
        shutdown_grace: file.server.shutdown_grace,
        upstream: UpstreamSettings {
            url: upstream_url?,
            credentials,
            connect_timeout: file.upstream.connect_timeout,
            request_timeout: file.upstream.request_timeout,
            read_retries: file.upstream.read_retries,
            retry_backoff: file.upstream.retry_backoff,
        },
        log_level: file.log.level,
        log_format: log_format?,
    })
}

/// Shortest client token accepted: long enough that guessing is hopeless.
const MIN_CLIENT_TOKEN_CHARS: usize = 16;

/// Reads `label:token` lines (blank lines and `#` comments skipped). Problems name the line,
/// never its content.
fn client_tokens(
    env: &dyn Environment,
    path: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Vec<ClientToken> {
    if path.is_empty() {
        return Vec::new();
    }
    let key = "server.client_tokens_file";
    let mut problem = |reason: String| {
        problems.push(ConfigProblem {
            source: "config".to_owned(),
            key: key.to_owned(),
            reason,
        })
    };
    let text = match env.read_secret_file(path) {
        Ok(text) => text,
        Err(reason) => {
            problem(reason);
            return Vec::new();
        }
    };
    let mut tokens: Vec<ClientToken> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let number = index + 1;
        let Some((label, token)) = line.split_once(':') else {
            problem(format!("{path} line {number}: expected LABEL:TOKEN"));
            continue;
        };
        let label_ok = (1..=64).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !label_ok {
            problem(format!(
                "{path} line {number}: the label must be 1-64 characters of A-Z a-z 0-9 . _ -"
            ));
        } else if token.chars().count() < MIN_CLIENT_TOKEN_CHARS {
            problem(format!(
                "{path} line {number}: the token must be at least {MIN_CLIENT_TOKEN_CHARS} characters"
            ));
        } else if tokens.iter().any(|t| t.label == label) {
            problem(format!(
                "{path} line {number}: the label {label} appears twice"
            ));
        } else {
            tokens.push(ClientToken {
                label: label.to_owned(),
                token: SecretString::from(token.to_owned()),
            });
        }
    }
    tokens
}

fn discord_settings(
    section: &DiscordSection,
    file_name: &str,
    env: &dyn Environment,
    problems: &mut Vec<ConfigProblem>,
) -> DiscordSettings {
    let mut problem = |key: &str, reason: String| {
        problems.push(ConfigProblem {
            source: file_name.to_owned(),
            key: format!("discord.{key}"),
            reason,
        })
    };
    let mut snowflake = |key: &str, raw: &str| -> Option<u64> {
        match raw.trim().parse::<u64>() {
            Ok(id) if id > 0 => Some(id),
            _ => {
                problem(
                    key,
                    format!("{raw:?} is not a Discord id (a number, as a string)"),
                );
                None
            }
        }
    };
    let guild_id = (!section.guild_id.is_empty())
        .then(|| snowflake("guild_id", &section.guild_id))
        .flatten();
    let allowed_guilds = section
        .allowed_guilds
        .iter()
        .filter_map(|raw| snowflake("allowed_guilds", raw))
        .collect();
    let allowed_roles = section
        .allowed_roles
        .iter()
        .filter_map(|raw| snowflake("allowed_roles", raw))
        .collect();
    let default_member_permissions = if section.default_member_permissions.is_empty() {
        None
    } else {
        match section.default_member_permissions.trim().parse::<u64>() {
            Ok(bits) => Some(bits),
            Err(_) => {
                problem(
                    "default_member_permissions",
                    "expected permission bits as a decimal string, e.g. \"8192\"".to_owned(),
                );
                None
            }
        }
    };
    let api_base_raw = env
        .var(ENV_DISCORD_API_BASE)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| section.api_base.clone());
    let api_base = if api_base_raw.is_empty() {
        None
    } else {
        match Url::parse(&api_base_raw) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Some(url)
            }
            _ => {
                problem("api_base", "expected an http(s) URL".to_owned());
                None
            }
        }
    };
    let mut secret_problems = Vec::new();
    let token = resolve_secret(
        env,
        ENV_DISCORD_TOKEN,
        "discord.token_file",
        &section.token_file,
        &mut secret_problems,
    );
    problems.extend(secret_problems);
    if section.enabled && token.is_none() {
        problems.push(ConfigProblem {
            source: file_name.to_owned(),
            key: "discord.enabled".to_owned(),
            reason: format!(
                "the bot is enabled but has no token: set {ENV_DISCORD_TOKEN} or discord.token_file"
            ),
        });
    }
    DiscordSettings {
        enabled: section.enabled,
        api_base,
        token,
        guild_id,
        allowed_guilds,
        allowed_roles,
        default_member_permissions,
    }
}

/// `per_minute = 0` switches a quota off; otherwise the burst must be at least 1.
fn rate_of(
    rate: RateSection,
    key: &str,
    file_name: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<Rate> {
    let per_minute = std::num::NonZeroU32::new(rate.per_minute)?;
    match std::num::NonZeroU32::new(rate.burst) {
        Some(burst) => Some(Rate { per_minute, burst }),
        None => {
            problems.push(ConfigProblem {
                source: file_name.to_owned(),
                key: format!("{key}.burst"),
                reason: "must be at least 1 (set per_minute = 0 to switch the quota off)"
                    .to_owned(),
            });
            None
        }
    }
}

fn frontend_policy_of(
    section: &FrontendSection,
    name: &str,
    file_name: &str,
    problems: &mut Vec<ConfigProblem>,
) -> FrontendPolicy {
    let mut allowed = std::collections::BTreeSet::new();
    for raw in &section.allowed_operations {
        match Operation::parse(raw) {
            Some(op) => {
                allowed.insert(op);
            }
            None => problems.push(ConfigProblem {
                source: file_name.to_owned(),
                key: format!("{name}.allowed_operations"),
                reason: format!(
                    "unknown operation {raw:?}; expected some of: {}",
                    Operation::ALL.map(Operation::as_str).join(", ")
                ),
            }),
        }
    }
    let recent_source = match section.recent_source.as_str() {
        "upstream" => RecentSource::UpstreamAccount,
        "ledger" => RecentSource::CallerLedger,
        _ => {
            problems.push(ConfigProblem {
                source: file_name.to_owned(),
                key: format!("{name}.recent_source"),
                reason: "expected \"upstream\" or \"ledger\"".to_owned(),
            });
            RecentSource::CallerLedger
        }
    };
    FrontendPolicy {
        allowed_operations: allowed,
        enforce_ownership: section.enforce_ownership,
        recent_source,
    }
}

/// An [`Environment`] backed by a map, for tests and for callers that have no process env.
#[derive(Debug, Default, Clone)]
pub struct MapEnvironment {
    pub vars: BTreeMap<String, String>,
    pub files: BTreeMap<String, String>,
}

impl MapEnvironment {
    pub fn with_var(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }
    pub fn with_file(mut self, path: &str, content: &str) -> Self {
        self.files.insert(path.to_owned(), content.to_owned());
        self
    }
}

impl Environment for MapEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
    fn vars_with_prefix(&self, prefix: &str) -> Vec<(String, String)> {
        self.vars
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    }
    fn read_secret_file(&self, path: &str) -> Result<String, String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| format!("cannot read {path}: no such file"))
    }
}

#[cfg(test)]
mod tests;
