//! Who may use the bot where: the guild and role allowlists from `[discord]`.
//!
//! Discord's `default_member_permissions` only sets a default that server admins can override,
//! so the allowlists are checked again on every interaction, buttons and modals included.

use ots_gateway_core::config::DiscordSettings;
use serenity::all::{GuildId, Member, RoleId};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// Empty means any guild (and direct messages).
    pub allowed_guilds: Vec<u64>,
    /// Empty means any member; otherwise a member needs one of these roles.
    pub allowed_roles: Vec<u64>,
}

/// Why an interaction is refused, worded for the person refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    GuildNotAllowed,
    DirectMessageNotAllowed,
    RoleMissing,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::GuildNotAllowed => "This bot is not enabled on this server.",
            Refusal::DirectMessageNotAllowed => {
                "This bot only works inside the servers it is enabled on, not in direct messages."
            }
            Refusal::RoleMissing => "You need one of the roles allowed to use /ots on this server.",
        }
    }
}

impl Access {
    pub fn from_settings(settings: &DiscordSettings) -> Self {
        Access {
            allowed_guilds: settings.allowed_guilds.clone(),
            allowed_roles: settings.allowed_roles.clone(),
        }
    }

    /// Outside a guild there are no roles to check, so a role allowlist also rules out DMs.
    pub fn check(&self, guild: Option<GuildId>, member: Option<&Member>) -> Result<(), Refusal> {
        let restricted = !self.allowed_guilds.is_empty() || !self.allowed_roles.is_empty();
        let Some(guild) = guild else {
            return if restricted {
                Err(Refusal::DirectMessageNotAllowed)
            } else {
                Ok(())
            };
        };
        if !self.allowed_guilds.is_empty() && !self.allowed_guilds.contains(&guild.get()) {
            return Err(Refusal::GuildNotAllowed);
        }
        if self.allowed_roles.is_empty() {
            return Ok(());
        }
        let roles: &[RoleId] = member.map_or(&[], |member| member.roles.as_slice());
        if roles
            .iter()
            .any(|role| self.allowed_roles.contains(&role.get()))
        {
            Ok(())
        } else {
            Err(Refusal::RoleMissing)
        }
    }
}
