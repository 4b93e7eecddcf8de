//! Why the bot could not start, run or answer `invite_url`.
//!
//! serenity's own errors are summarised rather than wrapped: their text can include request
//! details, and nothing here may ever print the token.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DiscordError {
    #[error("the Discord bot has no token: set OTS_GATEWAY_DISCORD_TOKEN or discord.token_file")]
    MissingToken,
    /// Discord answered 401: the token is wrong or was reset.
    #[error("Discord rejected the bot token (it may have been reset in the Developer Portal)")]
    TokenRejected,
    #[error("Discord answered the {action} request with HTTP {status}")]
    Refused { action: &'static str, status: u16 },
    #[error("could not reach Discord for the {action} request")]
    Unreachable { action: &'static str },
    /// A bot setting has a value the bot cannot use; `key` is its name under `[discord]`.
    #[error("discord.{key}: {reason}")]
    InvalidSetting { key: &'static str, reason: String },
    /// The gateway connection failed in a way serenity does not retry.
    #[error("the Discord gateway connection failed: {0}")]
    Gateway(String),
}

impl DiscordError {
    /// Classifies a serenity error without keeping its text, except for gateway errors, whose
    /// messages are fixed strings about the connection.
    pub(crate) fn from_serenity(action: &'static str, error: &serenity::Error) -> Self {
        use serenity::http::HttpError;
        match error {
            serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
                let status = response.status_code.as_u16();
                if status == 401 {
                    DiscordError::TokenRejected
                } else {
                    DiscordError::Refused { action, status }
                }
            }
            serenity::Error::Gateway(gateway) => match gateway {
                serenity::gateway::GatewayError::InvalidAuthentication => {
                    DiscordError::TokenRejected
                }
                other => DiscordError::Gateway(other.to_string()),
            },
            _ => DiscordError::Unreachable { action },
        }
    }
}
