//! Everything the bot says, as text and components. Every message here goes into an ephemeral
//! reply or a DM; none may carry a metadata key, and only the generated-password reply to its
//! owner carries a secret value.

use ots_gateway_core::Error;
use ots_gateway_core::error::{RateLimitScope, UpstreamFailure};
use ots_gateway_core::gateway::OwnedReceipt;
use ots_gateway_core::model::{ReceiptState, retry_after_secs};
use serenity::all::{
    ButtonStyle, CreateActionRow, CreateButton, CreateSelectMenu, CreateSelectMenuKind,
    CreateSelectMenuOption,
};

use crate::ids::{BurnChoice, CustomId};

/// Discord shows at most 5 buttons per row and 5 rows per message.
const BUTTONS_PER_ROW: usize = 5;
const MAX_ROWS: usize = 5;
/// Discord's limit on options in one select menu.
const MAX_MENU_OPTIONS: usize = 25;
/// Entries listed in `/ots recent` and `/ots status`: a screenful, and within one message's 2000
/// characters.
pub const LISTED: usize = 10;
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

/// One line per entry, numbered the way the buttons are.
pub fn entry_line(number: usize, owned: &OwnedReceipt) -> String {
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

/// A "Burn" button for an entry. A passphrase-protected one asks for the passphrase first,
/// because OTS will not burn it without.
pub fn burn_button(owned: &OwnedReceipt, label: impl Into<String>) -> CreateButton {
    let id = owned.entry.id.clone();
    let custom_id = if owned.entry.has_passphrase {
        CustomId::BurnAskPassphrase(id)
    } else {
        CustomId::Burn(id)
    };
    CreateButton::new(custom_id.encode())
        .style(ButtonStyle::Danger)
        .label(label)
}

/// Numbered Burn buttons for the live entries among `entries` (numbered by position).
pub fn burn_buttons(entries: &[OwnedReceipt]) -> Vec<CreateActionRow> {
    let buttons: Vec<CreateButton> = entries
        .iter()
        .enumerate()
        .filter(|(_, owned)| is_burnable(owned))
        .map(|(index, owned)| burn_button(owned, format!("Burn #{}", index + 1)))
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
    if options.is_empty() {
        return None;
    }
    Some(CreateActionRow::SelectMenu(
        CreateSelectMenu::new(
            CustomId::BurnMenu.encode(),
            CreateSelectMenuKind::String { options },
        )
        .placeholder("Choose the secret to burn"),
    ))
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
    if options.is_empty() {
        return None;
    }
    Some(CreateActionRow::SelectMenu(
        CreateSelectMenu::new(
            CustomId::StatusMenu.encode(),
            CreateSelectMenuKind::String { options },
        )
        .placeholder("Show one secret"),
    ))
}

/// Menu labels are plain text (no timestamp markup), so they say only number and state.
fn menu_label(index: usize, owned: &OwnedReceipt) -> String {
    format!("#{} · {}", index + 1, state_label(&owned.entry.state))
}

pub const HELP: &str = "\
**/ots** keeps secrets out of chat history. Everything it shows is visible only to you.
• `/ots share [ttl] [recipient]` opens a private form: type the secret (and an optional \
passphrase) and get a one-time link. The recipient, if you name one, gets the link by DM.
• `/ots generate [ttl] [length] [recipient]` makes a random password, shows it only to you, \
and gives you a one-time link to it.
• `/ots recent` lists the secrets you made, with Burn buttons.
• `/ots status` tells whether your secrets were opened, and whether OTS is up.
• `/ots burn` destroys one of your secrets before anyone opens it.
A link opens once. Share a passphrase through another channel than the link.";

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ots_gateway_core::model::Operation;

    use super::*;

    #[test]
    fn every_error_reads_as_a_sentence_and_rate_limits_say_when_to_retry() {
        let all = [
            Error::UnknownSecret,
            Error::IncorrectPassphrase,
            Error::NotAuthorized,
            Error::SecretTooLarge { max_bytes: 10_000 },
            Error::Refused {
                message: "x".repeat(5_000),
                intended_status: Some(400),
            },
            Error::InvalidInput {
                field: "ttl",
                reason: "too long".into(),
            },
            Error::RateLimited {
                scope: RateLimitScope::Caller,
                retry_after: Some(Duration::from_millis(12_001)),
            },
            Error::RateLimited {
                scope: RateLimitScope::Upstream,
                retry_after: None,
            },
            Error::NotAllowed {
                operation: Operation::Burn,
            },
            Error::NotOwned,
            Error::Ledger,
            Error::Upstream(UpstreamFailure::Timeout),
            Error::Upstream(UpstreamFailure::Status(503)),
        ];
        for error in &all {
            let text = error_message(error);
            assert!(text.ends_with('.') || text.ends_with('x'), "{text}");
            assert!(text.chars().count() < 2_000, "fits one Discord message");
        }
        let quota = error_message(&all[6]);
        assert!(quota.contains("Try again in 13 s."), "{quota}");
        let timeout = error_message(&all[11]);
        assert!(timeout.contains("/ots recent"), "{timeout}");
    }
}
