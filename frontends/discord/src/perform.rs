//! Runs a deferred [`Task`] against the gateway and says what to edit the deferred reply to.
//!
//! Policy (quotas, ownership, allowed operations, audit) is the core's; this module only turns
//! outcomes into messages. It needs no Discord connection, so tests drive it with a simulated
//! upstream.

use ots_gateway_core::gateway::OwnedReceipt;
use ots_gateway_core::model::{Caller, Frontend, GenerateRequest, Receipt, ShareRequest};
use ots_gateway_core::{Error, Gateway};
use serenity::all::{CreateActionRow, CreateMessage, EditInteractionResponse, UserId};

use crate::command;
use crate::render::{self, LISTED};
use crate::respond::{Action, Task};

/// What a finished task produces. `Debug` leaves the reply out: it may hold a generated
/// password, and a stray `{:?}` in a log line must not print it.
pub struct Completion {
    /// The new content of the deferred (ephemeral) reply.
    pub reply: EditInteractionResponse,
    /// A link for a recipient named in the command: the link only, never the value.
    pub direct_message: Option<DirectMessage>,
}

impl std::fmt::Debug for Completion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completion")
            .field("reply", &"<redacted>")
            .field(
                "direct_message_to",
                &self.direct_message.as_ref().map(|dm| dm.to),
            )
            .finish()
    }
}

#[derive(Debug)]
pub struct DirectMessage {
    pub to: UserId,
    pub message: CreateMessage,
}

fn text(content: impl Into<String>) -> Completion {
    Completion {
        reply: EditInteractionResponse::new().content(content),
        direct_message: None,
    }
}

fn with_components(content: String, components: Vec<CreateActionRow>) -> Completion {
    Completion {
        reply: EditInteractionResponse::new()
            .content(content)
            .components(components),
        direct_message: None,
    }
}

pub async fn perform(gateway: &Gateway, task: Task) -> Completion {
    let Task { caller, action } = task;
    match action {
        Action::Share {
            secret,
            passphrase,
            ttl_secs,
            recipient,
        } => {
            let has_passphrase = passphrase.is_some();
            let request = ShareRequest {
                secret,
                ttl: Some(i64::from(ttl_secs)),
                passphrase,
                recipient: None,
                share_domain: None,
            };
            match gateway.share(&caller, request).await {
                Ok(receipt) => {
                    created(gateway, &caller, &receipt, has_passphrase, recipient, None).await
                }
                Err(error) => text(failure_message(&error)),
            }
        }
        Action::Generate {
            ttl_secs,
            length,
            recipient,
        } => {
            let request = GenerateRequest {
                length: length.map(i64::from),
                ttl: Some(i64::from(ttl_secs)),
                ..GenerateRequest::default()
            };
            match gateway.generate(&caller, request).await {
                Ok(receipt) => {
                    let value = receipt.value.as_ref().map(|v| v.expose().to_owned());
                    let generated = Some(value.unwrap_or_default());
                    created(gateway, &caller, &receipt, false, recipient, generated).await
                }
                Err(error) => text(failure_message(&error)),
            }
        }
        Action::Status => status(gateway, &caller).await,
        Action::StatusOf(entry) => match gateway.owned_entry(&caller, &entry).await {
            Ok(owned) => {
                let mut content = render::entry_line(1, &owned);
                if let Some(received) = owned.receipt.as_ref().and_then(|r| r.received) {
                    content.push_str(&format!("\nOpened {}.", render::relative_time(received)));
                }
                let components = if render::is_burnable(&owned) {
                    vec![CreateActionRow::Buttons(vec![render::burn_button(
                        &owned, "Burn",
                    )])]
                } else {
                    Vec::new()
                };
                with_components(content, components)
            }
            Err(error) => text(failure_message(&error)),
        },
        Action::Recent => match gateway.owned_recent(&caller).await {
            Ok(entries) if entries.is_empty() => text(NOTHING_YET),
            Ok(mut entries) => {
                entries.truncate(LISTED);
                let content = listing("Your recent secrets:", &entries);
                with_components(content, render::burn_buttons(&entries))
            }
            Err(error) => text(failure_message(&error)),
        },
        Action::BurnMenu => match gateway.owned_recent(&caller).await {
            Ok(entries) => match render::burn_menu(&entries) {
                Some(menu) => with_components(
                    "Which secret should be destroyed? Its link will stop working at once."
                        .to_owned(),
                    vec![menu],
                ),
                None => text("You have no secrets that can still be burned."),
            },
            Err(error) => text(failure_message(&error)),
        },
        Action::Burn { entry, passphrase } => {
            match gateway
                .burn_entry(&caller, &entry, passphrase.as_ref())
                .await
            {
                Ok(_) => text("Burned. Nobody can open that link any more."),
                Err(error) => text(failure_message(&error)),
            }
        }
    }
}

/// Logs a core error once, where it becomes the user's reply, at the level the core gives it
/// (`Error::fault`), and words it for the user.
fn failure_message(error: &Error) -> String {
    error.log(Frontend::Discord, "/ots");
    render::error_message(error)
}

const NOTHING_YET: &str =
    "You have no secrets yet. Use `/ots share` or `/ots generate` to make one.";

fn listing(title: &str, entries: &[OwnedReceipt]) -> String {
    let mut content = title.to_owned();
    for (index, owned) in entries.iter().enumerate() {
        content.push('\n');
        content.push_str(&render::entry_line(index + 1, owned));
    }
    content
}

async fn status(gateway: &Gateway, caller: &Caller) -> Completion {
    let overview = gateway.overview().await;
    let health = match &overview.upstream {
        Ok(status) => format!(
            "OTS ({}) is up: {}.",
            overview.upstream_origin, status.status
        ),
        Err(problem) => format!(
            "OTS ({}) is not answering: {problem}.",
            overview.upstream_origin
        ),
    };
    match gateway.owned_recent(caller).await {
        Ok(entries) if entries.is_empty() => text(format!("{health}\n{NOTHING_YET}")),
        Ok(mut entries) => {
            entries.truncate(LISTED);
            let content = listing(&format!("{health}\nYour recent secrets:"), &entries);
            let components = render::status_menu(&entries).into_iter().collect();
            with_components(content, components)
        }
        Err(error) => text(format!("{health}\n{}", failure_message(&error))),
    }
}

/// The reply to a new secret: link, expiry, a Burn button; the generated value only when there
/// is one (and only here, in the owner's ephemeral reply); and the DM for a recipient.
async fn created(
    gateway: &Gateway,
    caller: &Caller,
    receipt: &Receipt,
    has_passphrase: bool,
    recipient: Option<UserId>,
    generated: Option<String>,
) -> Completion {
    let Some(link) = receipt.share_url.as_deref() else {
        return text(
            "OTS created the secret but sent back no link. Burn it with `/ots burn` and try again.",
        );
    };
    let expires = receipt
        .created
        .saturating_add(i64::try_from(receipt.ttl).unwrap_or(i64::MAX));
    let lifetime = u32::try_from(receipt.ttl)
        .ok()
        .and_then(command::ttl_label)
        .map(|label| format!(" ({label})"))
        .unwrap_or_default();
    let mut content = format!(
        "One-time link (opens once, expires {}{lifetime}):\n{link}",
        render::relative_time(expires)
    );
    if let Some(value) = &generated {
        content.push_str(&format!(
            "\nGenerated password, shown only to you and only now:\n```\n{value}\n```"
        ));
    }
    if has_passphrase {
        content.push_str("\nIt needs the passphrase: send that through another channel.");
    }
    if let Some(to) = recipient {
        content.push_str(&format!(
            "\nThe link (and only the link) is going to <@{to}> by DM."
        ));
    }
    let components = match own_entry(gateway, caller, receipt).await {
        Some(owned) => vec![CreateActionRow::Buttons(vec![render::burn_button(
            &owned, "Burn",
        )])],
        None => {
            content.push_str("\nTo burn it later, use `/ots recent`.");
            Vec::new()
        }
    };
    let direct_message = recipient.map(|to| DirectMessage {
        to,
        message: CreateMessage::new().content(recipient_note(
            caller,
            link,
            expires,
            has_passphrase,
        )),
    });
    Completion {
        reply: EditInteractionResponse::new()
            .content(content)
            .components(components),
        direct_message,
    }
}

/// The ledger entry for a receipt just made, so its Burn button can name it by entry id. If the
/// ledger could not record it, the reply simply has no button.
async fn own_entry(gateway: &Gateway, caller: &Caller, receipt: &Receipt) -> Option<OwnedReceipt> {
    let entry = gateway
        .entry_for(caller, &receipt.metadata_key)
        .await
        .ok()?;
    Some(OwnedReceipt {
        entry,
        receipt: Some(receipt.clone()),
    })
}

fn recipient_note(caller: &Caller, link: &str, expires: i64, has_passphrase: bool) -> String {
    let mut note = format!(
        "<@{}> sent you a one-time secret. The link opens once and expires {}:\n{link}",
        caller.id,
        render::relative_time(expires)
    );
    if has_passphrase {
        note.push_str("\nYou will need the passphrase they give you separately.");
    }
    note
}
