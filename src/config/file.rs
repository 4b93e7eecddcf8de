//! The file's shape, section by section, with every default. The same types read the
//! environment and flags once those are laid over the file (see `sources`).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

use super::problems::Problems;
use super::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_MAX_CONNECTIONS, DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_UPSTREAM,
};
use crate::model::Frontend;
use crate::ots::{ApiChoice, OtsClientConfig};
use crate::policy::{FrontendPolicy, RecentSource};
use crate::watcher::WatcherSettings;

/// The frontends that have a section in the file. Validation, policy, quotas, `check-config`
/// and `/gateway/status` all walk this one list, so a frontend configured in the file cannot be
/// left out of any of them.
pub const CONFIGURED_FRONTENDS: [Frontend; 3] = [Frontend::Rest, Frontend::Mcp, Frontend::Discord];

/// Unknown keys are errors: a typo must not silently fall back to a default.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) server: ServerSection,
    pub(super) upstream: UpstreamSection,
    pub(super) ledger: LedgerSection,
    pub(super) audit: AuditSection,
    pub(super) log: LogSection,
    pub(super) rest: FrontendSection,
    pub(super) mcp: McpSection,
    pub(super) discord: DiscordSection,
}

impl FileConfig {
    /// The policy and quota keys of `frontend`'s section. Exhaustive, so a new frontend must say
    /// where its section is (or that it has none).
    pub(super) fn frontend_section(&self, frontend: Frontend) -> Option<&FrontendSection> {
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
                out_of_band_only: false,
            },
            discord: DiscordSection {
                enabled: false,
                api_base: String::new(),
                token_file: String::new(),
                guild_id: DiscordId::Unset,
                allowed_guilds: Vec::new(),
                allowed_roles: Vec::new(),
                default_member_permissions: PermissionBits::Unset,
                ttl_choices: DEFAULT_DISCORD_TTL_CHOICES.to_vec(),
                default_ttl: DEFAULT_DISCORD_TTL,
                read_receipts: true,
                read_receipt_interval: WatcherSettings::default().interval,
                read_receipt_batch: WatcherSettings::default().batch,
                read_receipt_max_backoff: WatcherSettings::default().max_backoff,
                policy: FrontendSection::defaults_for(Frontend::Discord),
            },
        }
    }
}

/// Every section and key the file may have, with its default, taken from [`FileConfig`]'s
/// defaults so it cannot drift.
pub(super) fn config_schema() -> toml::Table {
    toml::Table::try_from(FileConfig::default()).unwrap_or_default()
}

/// A rate as written in the file: `{ per_minute = 60, burst = 10 }`; `per_minute = 0` means
/// unlimited.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RateSection {
    pub(super) per_minute: u32,
    pub(super) burst: u32,
}

impl RateSection {
    const fn new(per_minute: u32, burst: u32) -> Self {
        RateSection { per_minute, burst }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LedgerSection {
    pub(super) path: String,
    pub(super) durability: String,
    #[serde(with = "humantime_serde")]
    pub(super) maintenance_interval: Duration,
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
pub(super) struct AuditSection {
    pub(super) file: String,
}

/// Policy keys every frontend section has.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FrontendSection {
    pub(super) allowed_operations: Vec<String>,
    pub(super) enforce_ownership: bool,
    pub(super) recent_source: String,
    pub(super) quota_create: RateSection,
    pub(super) quota_reveal: RateSection,
    pub(super) quota_manage: RateSection,
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

/// A Discord id (a "snowflake") as written: Discord's "Copy ID" gives a number, which people
/// write as a TOML integer or as a string; both are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DiscordId {
    Unset,
    Number(i64),
    Text(String),
}

impl DiscordId {
    /// The number written, `Ok(None)` when unset (or an empty string), `Err` when it is not a
    /// non-negative number.
    pub(super) fn number(&self) -> Result<Option<u64>, ()> {
        match self {
            DiscordId::Unset => Ok(None),
            DiscordId::Text(text) if text.trim().is_empty() => Ok(None),
            DiscordId::Number(number) => u64::try_from(*number).map(Some).map_err(drop),
            DiscordId::Text(text) => text.trim().parse::<u64>().map(Some).map_err(drop),
        }
    }

    /// The id, or why it is not one.
    pub(super) fn resolve(&self) -> Result<Option<u64>, &'static str> {
        match self.number() {
            Ok(None) => Ok(None),
            Ok(Some(id)) if id > 0 => Ok(Some(id)),
            Ok(Some(_)) | Err(()) => {
                Err("expected a Discord id: a positive number, as an integer or a string")
            }
        }
    }
}

impl Serialize for DiscordId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            DiscordId::Unset => serializer.serialize_str(""),
            DiscordId::Number(number) => serializer.serialize_i64(*number),
            DiscordId::Text(text) => serializer.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for DiscordId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl serde::de::Visitor<'_> for IdVisitor {
            type Value = DiscordId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Discord id, as an integer or a string")
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<DiscordId, E> {
                Ok(DiscordId::Number(value))
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<DiscordId, E> {
                Ok(i64::try_from(value).map_or(DiscordId::Number(-1), DiscordId::Number))
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<DiscordId, E> {
                Ok(DiscordId::Text(value.to_owned()))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// Discord permission bits as written: a decimal string (how Discord's API carries them, since
/// they outgrow JSON numbers) or a TOML integer.
pub(super) type PermissionBits = DiscordId;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DiscordSection {
    pub(super) enabled: bool,
    pub(super) api_base: String,
    pub(super) token_file: String,
    pub(super) guild_id: DiscordId,
    pub(super) allowed_guilds: Vec<DiscordId>,
    pub(super) allowed_roles: Vec<DiscordId>,
    pub(super) default_member_permissions: PermissionBits,
    /// Lifetimes, in seconds, that `/ots share` and `/ots generate` offer.
    pub(super) ttl_choices: Vec<u32>,
    /// The lifetime used when `ttl` is left out; one of `ttl_choices`.
    pub(super) default_ttl: u32,
    /// Whether senders are told when their secrets are opened, burned or expire.
    pub(super) read_receipts: bool,
    #[serde(with = "humantime_serde")]
    pub(super) read_receipt_interval: Duration,
    pub(super) read_receipt_batch: usize,
    #[serde(with = "humantime_serde")]
    pub(super) read_receipt_max_backoff: Duration,
    #[serde(flatten)]
    pub(super) policy: FrontendSection,
}

/// 5 minutes, 1 hour, 1 day and 7 days.
const DEFAULT_DISCORD_TTL_CHOICES: [u32; 4] = [300, 3_600, 86_400, 604_800];
/// A day: long enough to reach someone in another time zone.
const DEFAULT_DISCORD_TTL: u32 = 86_400;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct McpSection {
    #[serde(flatten)]
    pub(super) policy: FrontendSection,
    pub(super) return_generated_value: bool,
    /// Secrets reach MCP only through the gateway's entry page; `share_secret` refuses `secret`.
    #[serde(default)]
    pub(super) out_of_band_only: bool,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct ServerSection {
    pub(super) listen: String,
    pub(super) allowed_hosts: Vec<String>,
    pub(super) bearer_token_file: String,
    pub(super) client_tokens_file: String,
    pub(super) max_body_bytes: usize,
    #[serde(with = "humantime_serde")]
    pub(super) request_timeout: Duration,
    pub(super) max_concurrent_requests: usize,
    pub(super) max_connections: usize,
    #[serde(with = "humantime_serde")]
    pub(super) header_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub(super) body_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub(super) shutdown_grace: Duration,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: DEFAULT_LISTEN.to_owned(),
            allowed_hosts: Vec::new(),
            bearer_token_file: String::new(),
            client_tokens_file: String::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct UpstreamSection {
    pub(super) url: String,
    pub(super) username: String,
    pub(super) api_key_file: String,
    #[serde(with = "humantime_serde")]
    pub(super) connect_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub(super) request_timeout: Duration,
    pub(super) read_retries: u32,
    #[serde(with = "humantime_serde")]
    pub(super) retry_backoff: Duration,
    /// Which OTS API to speak: `auto` (v2 where the server offers it), `v2` or `v1`.
    pub(super) api: ApiChoice,
    pub(super) budget: RateSection,
}

impl Default for UpstreamSection {
    /// The OTS client's own defaults, so the two cannot disagree.
    fn default() -> Self {
        let client = Url::parse(DEFAULT_UPSTREAM).map(OtsClientConfig::new).ok();
        let client_default =
            |pick: fn(&OtsClientConfig) -> Duration| client.as_ref().map(pick).unwrap_or_default();
        UpstreamSection {
            url: DEFAULT_UPSTREAM.to_owned(),
            username: String::new(),
            api_key_file: String::new(),
            connect_timeout: client_default(|c| c.connect_timeout),
            request_timeout: client_default(|c| c.request_timeout),
            read_retries: client.as_ref().map_or(0, |c| c.read_retries),
            retry_backoff: client_default(|c| c.retry_backoff),
            api: ApiChoice::default(),
            budget: RateSection::new(600, 24000),
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct LogSection {
    pub(super) level: String,
    pub(super) format: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            level: "info".to_owned(),
            format: "text".to_owned(),
        }
    }
}

/// Reads the merged sources into the model. Each section is tried on its own first, over the
/// defaults, so one wrong section does not hide the next; every type error names its key.
pub(super) fn deserialize(merged: toml::Table, problems: &mut Problems<'_>) -> Option<FileConfig> {
    let schema = config_schema();
    let mut clean = true;
    for (section, value) in &merged {
        let Err((mut key, mut message)) = try_section(&schema, section, value.clone()) else {
            continue;
        };
        clean = false;
        // Flattened sections ([mcp], [discord]) lose the path below the section; trying their
        // keys one at a time finds the one at fault.
        if key == *section
            && let (Some(toml::Value::Table(defaults)), toml::Value::Table(keys)) =
                (schema.get(section), value)
        {
            let culprit = keys.iter().find_map(|(name, one)| {
                let mut probe = defaults.clone();
                probe.insert(name.clone(), one.clone());
                try_section(&schema, section, toml::Value::Table(probe))
                    .err()
                    .map(|(_, message)| (format!("{section}.{name}"), message))
            });
            if let Some(found) = culprit {
                (key, message) = found;
            }
        }
        let reason = describe_serde_error(&message);
        problems.at(&key, with_example(reason, &key, &schema));
    }
    if !clean {
        return None;
    }
    match serde_path_to_error::deserialize::<_, FileConfig>(toml::Value::Table(merged)) {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            let key = error.path().to_string();
            problems.at(&key, describe_serde_error(error.inner().message()));
            None
        }
    }
}

/// Deserializes the defaults with one section replaced: the key path and message on failure.
fn try_section(
    schema: &toml::Table,
    section: &str,
    value: toml::Value,
) -> Result<(), (String, String)> {
    let mut probe = schema.clone();
    probe.insert(section.to_owned(), value);
    serde_path_to_error::deserialize::<_, FileConfig>(toml::Value::Table(probe))
        .map(drop)
        .map_err(|error| (error.path().to_string(), error.inner().message().to_owned()))
}

/// serde's wording, minus the offending value (which could be a misplaced secret): `invalid
/// type: string "x", expected u32` becomes `expected u32, found a string`.
fn describe_serde_error(message: &str) -> String {
    let message = message.trim();
    let expected = |rest: &str| {
        rest.split_once(", expected ")
            .map(|(_, expected)| expected.to_owned())
    };
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let found = rest.split_whitespace().next().unwrap_or("value");
        let found = found.trim_end_matches(',');
        return match expected(rest) {
            Some(expected) => format!(
                "expected {}, found {}",
                plain_type(&expected),
                with_article(found)
            ),
            None => format!("wrong type: found {}", with_article(found)),
        };
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        return match expected(rest) {
            Some(expected) => format!("invalid value: expected {expected}"),
            None => "invalid value".to_owned(),
        };
    }
    if let Some(field) = message.strip_prefix("missing field ") {
        return format!("missing key {field}");
    }
    if let Some(rest) = message.strip_prefix("invalid length ") {
        return format!("invalid length {rest}");
    }
    // Anything else (humantime's "unknown time unit", ...) quotes at most a fragment.
    message.to_owned()
}

/// serde names Rust types; the file's readers think in TOML.
fn plain_type(expected: &str) -> &str {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number (0 or more)",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "a boolean" | "bool" => "true or false",
        other => other,
    }
}

fn with_article(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {noun}")
}

/// Adds the default as an example where the default shows the shape (`{ per_minute = 60,
/// burst = 20 }`, `"127.0.0.1:7143"`), not where it is empty.
fn with_example(reason: String, key: &str, schema: &toml::Table) -> String {
    let mut value: Option<&toml::Value> = None;
    let mut table = Some(schema);
    for part in key.split('.') {
        value = table.and_then(|t| t.get(part));
        table = value.and_then(toml::Value::as_table);
    }
    let example = match value {
        Some(toml::Value::String(text)) if !text.is_empty() => format!("{text:?}"),
        // Small tables only (a rate), never a whole section.
        Some(toml::Value::Table(fields))
            if key.contains('.') && fields.values().all(|v| v.as_integer().is_some()) =>
        {
            let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            format!("{{ {} }}", fields.join(", "))
        }
        Some(toml::Value::Integer(_) | toml::Value::Boolean(_)) => {
            value.map(ToString::to_string).unwrap_or_default()
        }
        _ => return reason,
    };
    let name = key.rsplit('.').next().unwrap_or(key);
    format!("{reason}; e.g. {name} = {example}")
}
