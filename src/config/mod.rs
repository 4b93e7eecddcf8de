//! Configuration: TOML text plus environment and command-line overrides, validated into
//! [`ValidConfig`].
//!
//! Precedence, lowest first: built-in defaults < the file < environment < command-line flags.
//! The core does no ambient IO: the binary hands in the file text and an [`Environment`], which
//! tests replace with a map. Every problem names its key (`server.listen`), where the value came
//! from (the file and line, the environment variable, the flag), what was expected and, where
//! it helps, an example; never a value or the file's text, because a misplaced secret must not
//! end up on a terminal or in a log.
//!
//! One job per module: `file` (the file's shape and defaults), `sources` (file, environment,
//! flags, and where each key came from), `secrets`, `discord`, `validate` (one function per
//! rule), `problems` (the one collector).

mod discord;
mod file;
mod problems;
mod secrets;
mod sources;
mod validate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

pub use self::discord::DISCORD_KNOWN_PERMISSION_BITS;
pub use self::file::CONFIGURED_FRONTENDS;
use self::problems::Problems;
pub use self::problems::{ConfigError, ConfigProblem};
use self::sources::{Origin, Origins};
use crate::ledger::Durability;
use crate::limits::QuotaSettings;
use crate::model::ClientToken;
pub use crate::ots::OtsClientConfig;
use crate::policy::Policy;

/// Prefix of the generic override scheme: `OTS_GATEWAY__<SECTION>__<KEY>=value`.
pub const ENV_OVERRIDE_PREFIX: &str = "OTS_GATEWAY__";
pub const ENV_USERNAME: &str = "OTS_GATEWAY_USERNAME";
pub const ENV_API_KEY: &str = "OTS_GATEWAY_API_KEY";
pub const ENV_BEARER_TOKEN: &str = "OTS_GATEWAY_BEARER_TOKEN";
pub const ENV_CONFIG_PATH: &str = "OTS_GATEWAY_CONFIG";
pub const ENV_DISCORD_TOKEN: &str = "OTS_GATEWAY_DISCORD_TOKEN";
pub const ENV_DISCORD_API_BASE: &str = "OTS_GATEWAY_DISCORD_API_BASE";

/// Largest request body a listener accepts by default. A v1 secret is at most 10 000 bytes; JSON
/// escaping can multiply its size (`\u00e9` is six bytes for one character), so 64 KiB leaves
/// room and still stops a memory-filling upload. The one default for REST, `/mcp` and the file.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// How long one request may take in total. Longer than the OTS client's own timeout, so an
/// upstream timeout is reported as such rather than cut short by the listener.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests handled at once before the listener sheds load with 503.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 256;
/// Open connections at most. 1 024 is the usual soft descriptor limit; the binary raises it and
/// lowers this cap to fit what it got, but a cap below it keeps the gateway working even where
/// it cannot raise it.
pub const DEFAULT_MAX_CONNECTIONS: usize = 768;
/// How long a connection may take to send a request head, and may sit idle between requests.
/// Real clients send a head in one packet; 10 s tolerates a slow link and a paused debugger,
/// and makes a slowloris socket cost at most that long.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request body may take to arrive in full. A body is at most 64 KiB by default:
/// seconds on any link a client would use.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
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
    /// Only bits in [`DISCORD_KNOWN_PERMISSION_BITS`].
    pub default_member_permissions: Option<u64>,
    /// Lifetimes (seconds) the bot offers, in order, and the one used when none is chosen. The
    /// bot's `TtlChoices` holds the rules for these; `check-config` and `serve` both apply them.
    pub ttl_choices: Vec<u32>,
    pub default_ttl: u32,
    /// Whether the receipt watcher tells senders when their secrets are opened, burned or expire.
    pub read_receipts: bool,
    pub read_receipt_watch: crate::watcher::WatcherSettings,
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
    /// The listener's connection cap, before the binary fits it to the open-file limit.
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub shutdown_grace: Duration,
    /// The OTS client's own settings, held directly so the two cannot disagree.
    pub upstream: OtsClientConfig,
    pub log_level: String,
    pub log_format: LogFormat,
    /// Where the ledger lives; `None` means the binary's default (the user's data directory).
    pub ledger_path: Option<PathBuf>,
    pub ledger_durability: Durability,
    pub maintenance_interval: Duration,
    /// JSON-lines file for audit events; `None` sends them to the main log.
    pub audit_file: Option<PathBuf>,
    pub policy: Policy,
    pub quotas: QuotaSettings,
    /// Whether MCP's `generate_secret` returns the generated value to the agent.
    pub mcp_return_generated_value: bool,
    /// Whether MCP takes secrets only through the out-of-band entry page (`secret` refused).
    pub mcp_out_of_band_only: bool,
    pub discord: DiscordSettings,
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Clone, Default)]
pub struct CommandLineOverrides {
    pub listen: Option<String>,
    pub upstream: Option<String>,
}

/// Loads configuration. `file` is `(name for messages, text)`; `None` means defaults only.
pub fn load(
    file: Option<(&str, &str)>,
    env: &dyn Environment,
    overrides: &CommandLineOverrides,
) -> Result<ValidConfig, ConfigError> {
    let (file_name, text) = file.unwrap_or(("defaults", ""));
    let mut origins = Origins::new(file_name);
    let file_table = match sources::read_file(text, &mut origins) {
        Ok(table) => table,
        Err(reason) => {
            return Err(ConfigError {
                problems: vec![ConfigProblem::new(file_name, "", reason)],
            });
        }
    };
    let (env_table, malformed_env) = sources::read_environment(env, &mut origins);
    let mut merged = file::config_schema();
    sources::merge_tables(&mut merged, file_table.clone());
    sources::merge_tables(&mut merged, env_table.clone());
    sources::apply_flags(&mut merged, overrides, &mut origins);

    let mut problems = Problems::new(&origins);
    for (variable, reason) in malformed_env {
        problems.at_variable(&variable, &variable, reason);
    }
    let schema = file::config_schema();
    for key in sources::unknown_keys(&file_table, &schema) {
        let origin = match origins.of(&key) {
            origin @ Origin::File { .. } => origin,
            _ => Origin::Default,
        };
        problems.in_source(&origin, &key, sources::hint_for_unknown_key(&key, &schema));
    }
    for key in sources::unknown_keys(&env_table, &schema) {
        let origin = origins.of(&key);
        problems.in_source(&origin, &key, sources::hint_for_unknown_key(&key, &schema));
    }
    if !problems.is_empty() {
        return Err(problems.into_error());
    }

    let parsed = file::deserialize(merged, &mut problems);
    let config = parsed.and_then(|parsed| validate::validate(parsed, env, &mut problems));
    match config {
        Some(config) if problems.is_empty() => Ok(config),
        _ => Err(problems.into_error()),
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
