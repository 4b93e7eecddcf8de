//! Connecting to Discord: building serenity's `Http` and `Client`, running until shutdown, and
//! the install link.

use std::future::Future;

use ots_gateway_core::Gateway;
use ots_gateway_core::config::DiscordSettings;
use secrecy::ExposeSecret;
use serenity::all::{GatewayIntents, Permissions};
use serenity::client::ClientBuilder;
use serenity::http::{Http, HttpBuilder};

use crate::access::Access;
use crate::error::DiscordError;
use crate::handler::Handler;
use crate::notifier::ReadReceipts;
use crate::options::BotOptions;

/// Where Discord's OAuth2 install page lives. Always the real site, even with `api_base` set:
/// the link is opened by a person in a browser, not by the bot.
const AUTHORIZE_URL: &str = "https://discord.com/oauth2/authorize";

/// Everything the bot sends is an interaction response or a DM, and neither needs a permission
/// in the guild; asking for none keeps a leaked token from being worth more.
pub const BOT_PERMISSIONS: Permissions = Permissions::empty();

/// Interactions arrive over the gateway whatever the intents; the bot reads no messages, member
/// lists or presences, so it asks for none of them.
const INTENTS: GatewayIntents = GatewayIntents::empty();

fn http_for(settings: &DiscordSettings) -> Result<Http, DiscordError> {
    let token = settings.token.as_ref().ok_or(DiscordError::MissingToken)?;
    let builder = HttpBuilder::new(token.expose_secret());
    Ok(match &settings.api_base {
        // serenity's rate limiter ignores the proxy and would send its requests to discord.com
        // (serenity-rs/serenity#1739); a proxy is expected to do the rate limiting anyway.
        Some(base) => builder
            .proxy(base.as_str().trim_end_matches('/'))
            .ratelimiter_disabled(true)
            .build(),
        None => builder.build(),
    })
}

/// Connects, registers `/ots` (in `guild_id` if set, else globally), and serves interactions
/// until `shutdown` completes. serenity reconnects and resumes by itself; this returns early
/// only on a failure it will not retry, such as a rejected token.
pub async fn run(
    gateway: Gateway,
    settings: DiscordSettings,
    options: BotOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), DiscordError> {
    let http = http_for(&settings)?;
    // serenity treats a refused `GET /gateway` as a network problem and retries for ever against
    // its default gateway; a token Discord rejects is better reported at once.
    if let Err(error) = http.get_current_user().await {
        match DiscordError::from_serenity("bot user lookup", &error) {
            DiscordError::TokenRejected => return Err(DiscordError::TokenRejected),
            other => {
                tracing::warn!(error = %other, "could not check the bot token; connecting anyway")
            }
        }
    }
    let handler = Handler::new(
        gateway,
        Access::from_settings(&settings),
        options,
        settings.guild_id,
        settings.default_member_permissions,
    );
    let mut client = ClientBuilder::new_with_http(http, INTENTS)
        .event_handler(handler)
        .await
        .map_err(|error| DiscordError::from_serenity("client setup", &error))?;
    let shard_manager = client.shard_manager.clone();
    let serving = client.start();
    tokio::pin!(serving);
    tokio::pin!(shutdown);
    tokio::select! {
        result = &mut serving => {
            return result.map_err(|error| DiscordError::from_serenity("gateway", &error));
        }
        () = &mut shutdown => {}
    }
    tracing::info!("stopping the Discord bot");
    // `shutdown_all` only makes `start` return when a shard is running; before the first shard
    // boots there is nothing to wait for, and dropping the client stops the queue.
    let had_shards = !shard_manager.runners.lock().await.is_empty();
    shard_manager.shutdown_all().await;
    if had_shards {
        serving
            .await
            .map_err(|error| DiscordError::from_serenity("gateway", &error))?;
    }
    Ok(())
}

/// The subscriber that DMs owners their read receipts, for the core's receipt watcher. It has
/// its own HTTP client, so it works whether or not the gateway connection is up.
pub fn read_receipts(settings: &DiscordSettings) -> Result<ReadReceipts, DiscordError> {
    Ok(ReadReceipts::new(http_for(settings)?))
}

/// The OAuth2 link that installs the bot with the `bot` and `applications.commands` scopes. The
/// application id comes from Discord (through `api_base` when set), so a token for the wrong
/// application shows up here rather than at the first command.
pub async fn invite_url(settings: &DiscordSettings) -> Result<String, DiscordError> {
    let http = http_for(settings)?;
    let application = http
        .get_current_application_info()
        .await
        .map_err(|error| DiscordError::from_serenity("application lookup", &error))?;
    Ok(format!(
        "{AUTHORIZE_URL}?client_id={}&scope=bot+applications.commands&permissions={}",
        application.id,
        BOT_PERMISSIONS.bits()
    ))
}
