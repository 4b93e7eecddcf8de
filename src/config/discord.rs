//! The `[discord]` section: ids, permission bits, the API base and the bot token.

use url::Url;

use super::file::{DiscordId, DiscordSection};
use super::problems::Problems;
use super::secrets::resolve_secret;
use super::{DiscordSettings, ENV_DISCORD_API_BASE, ENV_DISCORD_TOKEN, Environment};
use crate::base_url::BaseUrl;
use crate::watcher::WatcherSettings;

/// Every permission bit serenity 0.12.5 can send (bits 0-46 and 48-50). An unknown bit would be
/// dropped silently on the way to Discord, which turns a restriction into "administrators only";
/// a test in `frontends/discord` compares this with serenity's own list.
pub const DISCORD_KNOWN_PERMISSION_BITS: u64 = ((1 << 47) - 1) | (1 << 48) | (1 << 49) | (1 << 50);

pub(super) fn discord_settings(
    section: &DiscordSection,
    env: &dyn Environment,
    problems: &mut Problems<'_>,
) -> DiscordSettings {
    let mut id_at = |key: &str, raw: &DiscordId| match raw.resolve() {
        Ok(id) => id,
        Err(reason) => {
            problems.at(key, reason);
            None
        }
    };
    let guild_id = id_at("discord.guild_id", &section.guild_id);
    let allowed_guilds = section
        .allowed_guilds
        .iter()
        .filter_map(|raw| id_at("discord.allowed_guilds", raw))
        .collect();
    let allowed_roles = section
        .allowed_roles
        .iter()
        .filter_map(|raw| id_at("discord.allowed_roles", raw))
        .collect();
    let default_member_permissions = permission_bits(&section.default_member_permissions, problems);
    let api_base = api_base(section, env, problems);
    let token = resolve_secret(
        env,
        ENV_DISCORD_TOKEN,
        "discord.token_file",
        &section.token_file,
        problems,
    );
    if section.enabled && token.is_none() {
        problems.at(
            "discord.enabled",
            format!(
                "the bot is enabled but has no token: set {ENV_DISCORD_TOKEN} or discord.token_file"
            ),
        );
    }
    for (key, duration) in [
        (
            "discord.read_receipt_interval",
            section.read_receipt_interval,
        ),
        (
            "discord.read_receipt_max_backoff",
            section.read_receipt_max_backoff,
        ),
    ] {
        if duration.is_zero() {
            problems.at(key, "must be longer than zero, e.g. \"30s\"");
        }
    }
    if section.read_receipt_batch == 0 {
        problems.at(
            "discord.read_receipt_batch",
            "must be at least 1 (secrets asked about per round), e.g. 10",
        );
    }
    DiscordSettings {
        enabled: section.enabled,
        api_base,
        token,
        guild_id,
        allowed_guilds,
        allowed_roles,
        default_member_permissions,
        ttl_choices: section.ttl_choices.clone(),
        default_ttl: section.default_ttl,
        read_receipts: section.read_receipts,
        read_receipt_watch: WatcherSettings {
            interval: section.read_receipt_interval,
            batch: section.read_receipt_batch,
            max_backoff: section.read_receipt_max_backoff,
        },
    }
}

fn permission_bits(raw: &DiscordId, problems: &mut Problems<'_>) -> Option<u64> {
    const KEY: &str = "discord.default_member_permissions";
    let bits = match raw.number() {
        Ok(None) => return None,
        Ok(Some(bits)) => Some(bits),
        Err(()) => None,
    };
    let Some(bits) = bits else {
        problems.at(
            KEY,
            "expected permission bits as a decimal number, e.g. \"8192\" for Manage Messages",
        );
        return None;
    };
    let unknown = bits & !DISCORD_KNOWN_PERMISSION_BITS;
    if unknown != 0 {
        problems.at(
            KEY,
            format!(
                "contains permission bits this gateway cannot send to Discord (value {unknown}); \
                 they would be dropped and hide /ots from everyone but administrators"
            ),
        );
        return None;
    }
    Some(bits)
}

/// `OTS_GATEWAY_DISCORD_API_BASE` wins over the file's `api_base`.
fn api_base(
    section: &DiscordSection,
    env: &dyn Environment,
    problems: &mut Problems<'_>,
) -> Option<Url> {
    let from_env = env.var(ENV_DISCORD_API_BASE).filter(|v| !v.is_empty());
    let raw = from_env.as_deref().unwrap_or(&section.api_base);
    if raw.is_empty() {
        return None;
    }
    match BaseUrl::parse(raw) {
        Ok(url) => Some(url.into_url()),
        Err(problem) => {
            let key = "discord.api_base";
            match from_env {
                Some(_) => problems.at_variable(key, ENV_DISCORD_API_BASE, format!("{problem}")),
                None => problems.at(
                    key,
                    format!("{problem}; expected e.g. http://127.0.0.1:8080/"),
                ),
            }
            None
        }
    }
}
