//! The serenity side: executes what [`respond`] decided, in Discord's required order.
//!
//! The one rule enforced here is sequencing: a deferral goes out before any gateway call, so
//! the 3 s acknowledgement deadline never depends on the upstream; and every deferred reply is
//! edited, error or not, so no user is left with "interaction failed".

use std::sync::atomic::{AtomicBool, Ordering};

use ots_gateway_core::Gateway;
use serenity::all::{
    Builder, Command, Context, CreateInteractionResponse, CreateInteractionResponseFollowup,
    EventHandler, GuildId, Interaction, InteractionId, Ready,
};
use serenity::async_trait;

use crate::access::Access;
use crate::command;
use crate::error::DiscordError;
use crate::options::BotOptions;
use crate::perform::{Completion, perform};
use crate::respond::{Decision, deferral, respond};

pub(crate) struct Handler {
    gateway: Gateway,
    access: Access,
    options: BotOptions,
    /// `None` registers globally (can take up to an hour to appear); a guild is instant.
    guild_id: Option<u64>,
    default_member_permissions: Option<u64>,
    /// READY arrives again after every reconnect; the commands only need writing once.
    registered: AtomicBool,
}

impl Handler {
    pub(crate) fn new(
        gateway: Gateway,
        access: Access,
        options: BotOptions,
        guild_id: Option<u64>,
        default_member_permissions: Option<u64>,
    ) -> Self {
        Handler {
            gateway,
            access,
            options,
            guild_id,
            default_member_permissions,
            registered: AtomicBool::new(false),
        }
    }

    /// Creates `/ots`, or updates it in place: Discord matches a created command by name. The
    /// bulk "set commands" call would also delete every other command of the application,
    /// which may belong to another tool sharing it.
    async fn register(&self, ctx: &Context) -> Result<(), DiscordError> {
        let ots = command::register(self.default_member_permissions, &self.options.ttl_choices);
        // The config only hands over non-zero ids; `GuildId::new` would panic on zero.
        let result = match self.guild_id.filter(|id| *id != 0) {
            Some(guild) => GuildId::new(guild)
                .create_command(&ctx.http, ots)
                .await
                .map(drop),
            None => Command::create_global_command(&ctx.http, ots)
                .await
                .map(drop),
        };
        result.map_err(|error| DiscordError::from_serenity("command registration", &error))
    }
}

/// The id and token every kind of interaction carries, which its answers are addressed to.
fn address(interaction: &Interaction) -> Option<(InteractionId, &str)> {
    match interaction {
        Interaction::Command(cmd) | Interaction::Autocomplete(cmd) => Some((cmd.id, &cmd.token)),
        Interaction::Component(component) => Some((component.id, &component.token)),
        Interaction::Modal(modal) => Some((modal.id, &modal.token)),
        _ => None,
    }
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord");
        if self.registered.swap(true, Ordering::SeqCst) {
            return;
        }
        match self.register(&ctx).await {
            Ok(()) => tracing::info!(guild = ?self.guild_id, "registered /ots"),
            Err(error) => {
                // Allow the next READY to try again.
                self.registered.store(false, Ordering::SeqCst);
                tracing::error!(%error, "could not register /ots");
            }
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let Some((id, token)) = address(&interaction) else {
            return;
        };
        match respond(&interaction, &self.access, &self.options) {
            Decision::Ignore => {}
            Decision::Reply(response) => {
                if let Err(error) = response.execute(&ctx.http, (id, token)).await {
                    log_failure("reply", &error);
                }
            }
            Decision::Defer(task) => {
                if let Err(error) = deferral().execute(&ctx.http, (id, token)).await {
                    // Without an acknowledgement there is nothing to edit later, and acting
                    // anyway would create a secret the user never hears about.
                    log_failure("deferral", &error);
                    return;
                }
                let completion = perform(&self.gateway, task).await;
                deliver(&ctx, token, completion).await;
            }
            Decision::DeferUpdate(task) => {
                let acknowledge = CreateInteractionResponse::Acknowledge;
                if let Err(error) = acknowledge.execute(&ctx.http, (id, token)).await {
                    log_failure("acknowledgement", &error);
                    return;
                }
                // Editing the original response of a component interaction edits the message
                // the component sits on.
                let completion = perform(&self.gateway, task).await;
                deliver(&ctx, token, completion).await;
            }
        }
    }
}

async fn deliver(ctx: &Context, token: &str, completion: Completion) {
    let Completion {
        reply,
        direct_message,
    } = completion;
    if let Err(error) = reply.execute(&ctx.http, token).await {
        log_failure("reply edit", &error);
        return;
    }
    let Some(dm) = direct_message else { return };
    if let Err(error) = dm.to.direct_message(&ctx.http, dm.message).await {
        log_failure("direct message", &error);
        let note = CreateInteractionResponseFollowup::new()
            .content(format!(
                "I could not send the link to <@{}> (their DMs may be closed). \
                 Pass it on yourself, in a private message.",
                dm.to
            ))
            .ephemeral(true);
        if let Err(error) = note.execute(&ctx.http, (None, token)).await {
            log_failure("follow-up", &error);
        }
    }
}

/// Logged through [`DiscordError`] because serenity's own errors can carry request URLs, and
/// interaction URLs contain the interaction's token.
fn log_failure(what: &'static str, error: &serenity::Error) {
    let error = DiscordError::from_serenity(what, error);
    tracing::warn!(%error, "could not answer a Discord interaction");
}
