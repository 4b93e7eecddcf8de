//! Runs a deferred [`Task`] against the gateway and says what to edit the deferred reply to.
//!
//! Policy (quotas, ownership, allowed operations, audit) is the core's; this module only turns
//! outcomes into messages. It needs no Discord connection, so tests drive it with a simulated
//! upstream.

use ots_gateway_core::gateway::OwnedReceipt;
use ots_gateway_core::ledger::EntryId;
use ots_gateway_core::model::{
    Caller, CreateOptions, Frontend, GenerateRequest, Receipt, ShareRequest,
};
use ots_gateway_core::{Error, Gateway};
use serenity::all::{CreateActionRow, CreateMessage, EditInteractionResponse, UserId};

use crate::ids::{OnEntry, View};
use crate::options::label;
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

/// A reply without buttons. The empty component list is sent on purpose: when the edit
/// replaces a message that had buttons, they must go.
fn text(content: impl Into<String>) -> Completion {
    with_components(content.into(), Vec::new())
}

/// A message drawn from the ledger and upstream as they are now, before it becomes a reply.
struct Drawn {
    content: String,
    components: Vec<CreateActionRow>,
}

impl Drawn {
    fn text(content: impl Into<String>) -> Self {
        Drawn {
            content: content.into(),
            components: Vec::new(),
        }
    }

    /// Listings leave room for a note (see [`render::listing`]); the cut is only a backstop.
    fn with_note(mut self, note: &str) -> Self {
        self.content = format!("{note}\n\n{}", self.content)
            .chars()
            .take(render::MAX_CONTENT_CHARS)
            .collect();
        self
    }

    fn done(self) -> Completion {
        with_components(self.content, self.components)
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
                options: CreateOptions {
                    ttl: Some(i64::from(ttl_secs)),
                    passphrase,
                    ..CreateOptions::default()
                },
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
                options: CreateOptions {
                    ttl: Some(i64::from(ttl_secs)),
                    ..CreateOptions::default()
                },
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
        Action::Status => status(gateway, &caller).await.done(),
        Action::StatusOf(entry) => entry_view(gateway, &caller, &entry).await.done(),
        Action::Recent => recent(gateway, &caller).await.done(),
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
        Action::Burn { target, passphrase } => {
            let note = match gateway
                .burn_entry(&caller, &target.entry, passphrase.as_ref())
                .await
            {
                Ok(_) => "Burned. Nobody can open that link any more.".to_owned(),
                Err(error) => failure_message(&error),
            };
            redraw(gateway, &caller, &target, Some(note)).await
        }
        Action::Redraw(target) => redraw(gateway, &caller, &target, None).await,
        Action::Notify(setting) => {
            let result = match setting {
                Some(enabled) => gateway
                    .set_read_receipts(&caller, enabled)
                    .await
                    .map(|()| enabled),
                None => gateway.read_receipts_enabled(&caller).await,
            };
            match result {
                Ok(enabled) => text(render::read_receipts_setting(enabled)),
                Err(error) => text(failure_message(&error)),
            }
        }
    }
}

/// The message a button sat on, drawn again as things are now, with `note` (what the button
/// did) on top. If the view cannot be drawn (not the caller's entry, ledger down), the note and
/// the reason stand alone, and the old buttons go.
async fn redraw(
    gateway: &Gateway,
    caller: &Caller,
    target: &OnEntry,
    note: Option<String>,
) -> Completion {
    let drawn = match target.view {
        View::Entry => entry_view(gateway, caller, &target.entry).await,
        View::Recent => recent(gateway, caller).await,
        View::Status => status(gateway, caller).await,
    };
    match note {
        Some(note) => drawn.with_note(&note).done(),
        None => drawn.done(),
    }
}

async fn entry_view(gateway: &Gateway, caller: &Caller, entry: &EntryId) -> Drawn {
    match gateway.owned_entry(caller, entry).await {
        Ok(owned) => {
            let mut content = render::entry_block(1, &owned);
            if let Some(received) = owned.receipt.as_ref().and_then(|r| r.received) {
                content.push_str(&format!("\nOpened {}.", render::relative_time(received)));
            }
            let components = if render::is_burnable(&owned) {
                vec![CreateActionRow::Buttons(vec![render::burn_button(
                    &owned,
                    "Burn",
                    View::Entry,
                )])]
            } else {
                Vec::new()
            };
            Drawn {
                content,
                components,
            }
        }
        Err(error) => Drawn::text(failure_message(&error)),
    }
}

async fn recent(gateway: &Gateway, caller: &Caller) -> Drawn {
    match gateway.owned_recent(caller).await {
        Ok(entries) if entries.is_empty() => Drawn::text(with_ledger_warning(gateway, NOTHING_YET)),
        Ok(mut entries) => {
            entries.truncate(LISTED);
            let (content, shown) = render::listing("Your recent secrets:", &entries);
            Drawn {
                content: with_ledger_warning(gateway, &content),
                components: render::burn_buttons(&entries[..shown], View::Recent),
            }
        }
        Err(error) => Drawn::text(failure_message(&error)),
    }
}

/// A list from a ledger that fails to write is not the whole truth on disk; say so first.
fn with_ledger_warning(gateway: &Gateway, content: &str) -> String {
    let ledger = gateway.ledger_health();
    if ledger.is_healthy() {
        content.to_owned()
    } else {
        format!("⚠️ {ledger}.\n{content}")
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

async fn status(gateway: &Gateway, caller: &Caller) -> Drawn {
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
        Ok(entries) if entries.is_empty() => Drawn::text(format!("{health}\n{NOTHING_YET}")),
        Ok(mut entries) => {
            entries.truncate(LISTED);
            let (content, shown) =
                render::listing(&format!("{health}\nYour recent secrets:"), &entries);
            let components = render::status_menu(&entries[..shown]).into_iter().collect();
            Drawn {
                content,
                components,
            }
        }
        Err(error) => Drawn::text(format!("{health}\n{}", failure_message(&error))),
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
        .map(|secs| format!(" ({})", label(secs)))
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
            &owned,
            "Burn",
            View::Entry,
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
