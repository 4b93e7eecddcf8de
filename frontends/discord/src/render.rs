//! Everything the bot says, as text and components. Every message here goes into an ephemeral
//! reply or a DM; none may carry a metadata key, and only the generated-password reply to its
//! owner carries a secret value.

use ots_gateway_core::Error;
use ots_gateway_core::error::{RateLimitScope, UpstreamFailure};
use ots_gateway_core::gateway::OwnedReceipt;
use ots_gateway_core::model::{ReceiptState, retry_after_secs};
use ots_gateway_core::watcher::ReceiptNews;
use serenity::all::{
    ButtonStyle, CreateActionRow, CreateButton, CreateSelectMenu, CreateSelectMenuKind,
    CreateSelectMenuOption,
};

use crate::ids::{BurnChoice, CustomId, OnEntry, View};

/// Discord shows at most 5 buttons per row and 5 rows per message.
const BUTTONS_PER_ROW: usize = 5;
const MAX_ROWS: usize = 5;
/// Discord's limit on options in one select menu.
const MAX_MENU_OPTIONS: usize = 25;
/// Entries listed in `/ots recent` and `/ots status`: a screenful, and within one message's 2000
/// characters.
pub const LISTED: usize = 10;
/// Discord's limit on a message's content.
pub const MAX_CONTENT_CHARS: usize = 2_000;
/// Characters of an upstream refusal message shown to the user.
const MAX_UPSTREAM_MESSAGE: usize = 300;

/// What a user sees for each way the core can fail. Exhaustive on purpose: a new error kind must
/// get a deliberate wording here.
pub fn error_message(error: &Error) -> String {
    match error {
        Error::UnknownSecret => {
            "That secret no longer exists: it was already opened, burned, or it expired.".into()
        }
        Error::IncorrectPassphrase => "That passphrase does not match this secret.".into(),
        Error::PassphraseLocked { retry_after, .. } => match retry_after {
            Some(wait) => format!(
                "Too many wrong passphrases for this secret. Try again in {} s.",
                retry_after_secs(*wait)
            ),
            None => "Too many wrong passphrases for this secret. Try again later.".into(),
        },
        Error::NotAuthorized => "The OTS server refused the gateway's account. Ask whoever runs \
                                 the gateway to check its credentials."
            .into(),
        Error::SecretTooLarge { max_bytes } => {
            format!("The secret is too long: OTS accepts at most {max_bytes} bytes.")
        }
        Error::Refused { message, .. } => {
            // The upstream chose this text; cap it so the reply stays within Discord's 2000
            // characters and the edit is not rejected, leaving the user with no answer.
            let message: String = message.chars().take(MAX_UPSTREAM_MESSAGE).collect();
            format!("OTS refused the request: {message}")
        }
        Error::InvalidInput { field, reason } => format!("Invalid {field}: {reason}."),
        Error::RateLimited { scope, retry_after } => {
            let who = match scope {
                RateLimitScope::Caller => "You have reached your quota for this kind of request.",
                RateLimitScope::GatewayUpstreamBudget => {
                    "The team's budget for calls to OTS is used up for now."
                }
                RateLimitScope::Upstream => "The OTS server is rate limiting the gateway.",
            };
            match retry_after {
                Some(wait) => format!("{who} Try again in {} s.", retry_after_secs(*wait)),
                None => format!("{who} Try again later."),
            }
        }
        Error::NotAllowed { operation } => {
            format!("`{operation}` is turned off for Discord on this gateway.")
        }
        Error::NotOwned => "That is not one of your secrets. You can only see and burn the \
                            secrets you created."
            .into(),
        Error::Ledger => {
            "The gateway could not read or write its records. Try again in a moment.".into()
        }
        Error::Upstream(failure) => {
            let hint = match failure {
                UpstreamFailure::Timeout => {
                    " It may still have gone through: check `/ots recent` before retrying."
                }
                UpstreamFailure::Network(_)
                | UpstreamFailure::Status(_)
                | UpstreamFailure::MalformedResponse => " Try again later.",
                // Asking again brings the same answer; the operator has to look.
                UpstreamFailure::AnswerTooLarge { .. } => " Ask the gateway's operator.",
            };
            format!("OTS is not available: {error}.{hint}")
        }
    }
}

pub fn state_label(state: &ReceiptState) -> &str {
    match state {
        ReceiptState::New => "not opened yet",
        ReceiptState::Viewed => "receipt viewed, not opened yet",
        ReceiptState::Received => "opened",
        ReceiptState::Burned => "burned",
        ReceiptState::Expired => "expired",
        ReceiptState::Orphaned => "gone",
        ReceiptState::Other(other) => other,
    }
}

/// Discord renders `<t:UNIX:R>` as "in 3 hours" / "2 days ago" in each reader's own time zone.
pub fn relative_time(unix: i64) -> String {
    format!("<t:{unix}:R>")
}

/// One line per entry, numbered the way the buttons are; a second line with the link while the
/// secret is unopened, so its owner can find it again after Discord drops the first reply.
/// Only the owner ever sees this (every reply is ephemeral).
pub fn entry_block(number: usize, owned: &OwnedReceipt) -> String {
    let mut block = entry_line(number, owned);
    if let Some(link) = live_link(owned) {
        block.push_str("\n   ");
        block.push_str(link);
    }
    block
}

/// The share link, if the secret can still be opened and upstream just told us the link.
pub fn live_link(owned: &OwnedReceipt) -> Option<&str> {
    if !is_burnable(owned) {
        return None;
    }
    owned.receipt.as_ref()?.share_url.as_deref()
}

/// A title followed by as many entries as fit in one message, numbered from 1; says how many
/// were left out. Returns the text and how many entries it shows.
pub fn listing(title: &str, entries: &[OwnedReceipt]) -> (String, usize) {
    let mut content = title.to_owned();
    let mut shown = 0;
    // Room for the "and N more" line, and for a note about what a button just did (an error
    // message is at most a few hundred characters).
    let budget = MAX_CONTENT_CHARS - 500;
    for (index, owned) in entries.iter().enumerate() {
        let block = entry_block(index + 1, owned);
        if content.chars().count() + 1 + block.chars().count() > budget {
            break;
        }
        content.push('\n');
        content.push_str(&block);
        shown += 1;
    }
    if shown < entries.len() {
        content.push_str(&format!(
            "\n…and {} more, not shown.",
            entries.len() - shown
        ));
    }
    (content, shown)
}

fn entry_line(number: usize, owned: &OwnedReceipt) -> String {
    let entry = &owned.entry;
    let lock = if entry.has_passphrase {
        " · passphrase"
    } else {
        ""
    };
    let expiry = if entry.state.is_live() {
        format!(" · expires {}", relative_time(entry.secret_expires))
    } else {
        String::new()
    };
    format!(
        "**#{number}** · {} · created {}{expiry}{lock}",
        state_label(&entry.state),
        relative_time(entry.created),
    )
}

pub fn is_burnable(owned: &OwnedReceipt) -> bool {
    owned.entry.state.is_live()
}

/// A "Burn" button for an entry on a message showing `view`. A passphrase-protected one asks
/// for the passphrase (OTS will not burn it without); the others ask to confirm.
pub fn burn_button(owned: &OwnedReceipt, label: impl Into<String>, view: View) -> CreateButton {
    let target = OnEntry {
        entry: owned.entry.id.clone(),
        view,
    };
    let custom_id = if owned.entry.has_passphrase {
        CustomId::BurnAskPassphrase(target)
    } else {
        CustomId::Burn(target)
    };
    CreateButton::new(custom_id.encode())
        .style(ButtonStyle::Danger)
        .label(label)
}

/// Numbered Burn buttons for the live entries among `entries` (numbered by position).
pub fn burn_buttons(entries: &[OwnedReceipt], view: View) -> Vec<CreateActionRow> {
    let buttons: Vec<CreateButton> = entries
        .iter()
        .enumerate()
        .filter(|(_, owned)| is_burnable(owned))
        .map(|(index, owned)| burn_button(owned, format!("Burn #{}", index + 1), view))
        .take(BUTTONS_PER_ROW * MAX_ROWS)
        .collect();
    buttons
        .chunks(BUTTONS_PER_ROW)
        .map(|row| CreateActionRow::Buttons(row.to_vec()))
        .collect()
}

/// The `/ots burn` menu: one option per live entry.
pub fn burn_menu(entries: &[OwnedReceipt]) -> Option<CreateActionRow> {
    let options: Vec<CreateSelectMenuOption> = entries
        .iter()
        .enumerate()
        .filter(|(_, owned)| is_burnable(owned))
        .take(MAX_MENU_OPTIONS)
        .map(|(index, owned)| {
            let choice = BurnChoice {
                entry: owned.entry.id.clone(),
                has_passphrase: owned.entry.has_passphrase,
            };
            CreateSelectMenuOption::new(menu_label(index, owned), choice.encode())
        })
        .collect();
    select_menu(CustomId::BurnMenu, options, "Choose the secret to burn")
}

/// The `/ots status` menu: pick one entry for its details.
pub fn status_menu(entries: &[OwnedReceipt]) -> Option<CreateActionRow> {
    let options: Vec<CreateSelectMenuOption> = entries
        .iter()
        .enumerate()
        .take(MAX_MENU_OPTIONS)
        .map(|(index, owned)| {
            CreateSelectMenuOption::new(menu_label(index, owned), owned.entry.id.as_str())
        })
        .collect();
    select_menu(CustomId::StatusMenu, options, "Show one secret")
}

/// A menu row, or none when there is nothing to choose (Discord refuses an empty menu).
fn select_menu(
    id: CustomId,
    options: Vec<CreateSelectMenuOption>,
    placeholder: &str,
) -> Option<CreateActionRow> {
    if options.is_empty() {
        return None;
    }
    Some(CreateActionRow::SelectMenu(
        CreateSelectMenu::new(id.encode(), CreateSelectMenuKind::String { options })
            .placeholder(placeholder),
    ))
}

/// Menu labels are plain text (no timestamp markup), so they say only number and state.
fn menu_label(index: usize, owned: &OwnedReceipt) -> String {
    format!("#{} · {}", index + 1, state_label(&owned.entry.state))
}

pub const CONFIRM_BURN: &str = "Burn this secret? Its link stops working at once, for everyone. \
                                This cannot be undone.";

pub const READ_RECEIPTS_OFF: &str =
    "Read receipts are turned off on this gateway, so there is nothing to switch.";

/// What `/ots notify` says the setting now is.
pub fn read_receipts_setting(enabled: bool) -> &'static str {
    if enabled {
        "Read receipts are **on**: I will DM you when one of your secrets is opened, or expires \
         unopened. `/ots notify receipts:off` stops them."
    } else {
        "Read receipts are **off**: I will not DM you about your secrets. \
         `/ots notify receipts:on` starts them again."
    }
}

/// The DM telling an owner what became of their secret: which one (by when it was made), what
/// happened and when the gateway saw it. No link, key or value: the secret is gone anyway.
pub fn read_receipt(news: &ReceiptNews) -> String {
    let made = relative_time(news.created);
    let seen = relative_time(news.observed);
    let gone = "Its link no longer works.";
    let what = match &news.state {
        ReceiptState::Received => format!("was opened (noticed {seen}). {gone}"),
        ReceiptState::Burned => {
            format!("was burned before anyone opened it (noticed {seen}). {gone}")
        }
        ReceiptState::Expired => {
            format!("expired without being opened (noticed {seen}). {gone}")
        }
        ReceiptState::Orphaned => format!("is gone from OTS (noticed {seen}). {gone}"),
        ReceiptState::New | ReceiptState::Viewed | ReceiptState::Other(_) => {
            format!("changed (noticed {seen}): `/ots status` shows how it stands.")
        }
    };
    format!(
        "Your one-time secret made {made} {what}\n\
         -# `/ots notify receipts:off` stops these messages."
    )
}

pub const HELP: &str = "\
**/ots** keeps secrets out of chat history. Everything it shows is visible only to you.
• `/ots share [ttl] [recipient]` opens a private form: type the secret (and an optional \
passphrase) and get a one-time link. The recipient, if you name one, gets the link by DM.
• `/ots generate [ttl] [length] [recipient]` makes a random password, shows it only to you, \
and gives you a one-time link to it.
• `/ots recent` lists the secrets you made, with the link of each unopened one and Burn buttons.
• `/ots status` tells whether your secrets were opened, and whether OTS is up.
• `/ots burn` destroys one of your secrets before anyone opens it (it asks first).
• `/ots notify [receipts]` turns the DM you get when a secret is opened or expires on or off.
A link opens once. Share a passphrase through another channel than the link.";

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn every_error_reads_as_a_sentence_and_rate_limits_say_when_to_retry() {
        let quota = Error::RateLimited {
            scope: RateLimitScope::Caller,
            retry_after: Some(Duration::from_millis(12_001)),
        };
        let long_refusal = Error::Refused {
            message: "x".repeat(5_000),
            intended_status: Some(400),
        };
        let mut all = Error::one_of_each_kind();
        all.extend([quota.clone(), long_refusal]);
        for error in &all {
            let text = error_message(error);
            // OTS's own words are shown as it wrote them (some of its messages have no stop).
            if let Error::Refused { message, .. } = error {
                let shown: String = message.chars().take(MAX_UPSTREAM_MESSAGE).collect();
                assert!(text.ends_with(&shown), "{text}");
            } else {
                assert!(text.ends_with('.'), "{text}");
            }
            assert!(text.chars().count() < 2_000, "fits one Discord message");
        }
        let quota = error_message(&quota);
        assert!(quota.contains("Try again in 13 s."), "{quota}");
        let timeout = error_message(&Error::Upstream(UpstreamFailure::Timeout));
        assert!(timeout.contains("/ots recent"), "{timeout}");
    }
}
