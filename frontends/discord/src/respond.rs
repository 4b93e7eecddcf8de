//! The pure core: what to answer to an interaction, decided without any network.
//!
//! Discord wants an answer within 3 s, and a modal can only be the first answer. So each
//! interaction is either answered at once ([`Decision::Reply`]: the share modal, help, a
//! refusal) or acknowledged with an ephemeral deferral and finished later
//! ([`Decision::Defer`] with a [`Task`] that [`crate::perform`] runs against the gateway).

use ots_gateway_core::ledger::EntryId;
use ots_gateway_core::model::{Caller, Frontend, Passphrase, SecretText};
use serenity::all::{
    ActionRowComponent, ButtonStyle, CommandDataOption, CommandDataOptionValue, CommandInteraction,
    ComponentInteraction, ComponentInteractionDataKind, CreateActionRow,
    CreateAutocompleteResponse, CreateButton, CreateInputText, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateModal, InputTextStyle, Interaction, ModalInteraction,
    UserId,
};

use crate::access::Access;
use crate::command::{self, MAX_LENGTH, MIN_LENGTH, opt, receipts, sub};
use crate::ids::{BurnChoice, CustomId, OnEntry, View};
use crate::options::{BotOptions, TtlChoices};
use crate::render;

/// Discord's cap on a text input, and so on a secret typed into the modal.
pub const MAX_SECRET_CHARS: u16 = 4000;
/// OTS accepts passphrases up to this many characters.
const MAX_PASSPHRASE_CHARS: u16 = 128;

const SECRET_FIELD: &str = "secret";
const PASSPHRASE_FIELD: &str = "passphrase";

/// What to do with one interaction.
#[derive(Debug)]
pub enum Decision {
    /// Answer now with this response, and nothing more.
    Reply(CreateInteractionResponse),
    /// Acknowledge with an ephemeral deferral, run the task, then edit the deferred reply.
    Defer(Task),
    /// Acknowledge a button, menu or modal without a new message, run the task, then redraw
    /// the message the component sits on.
    DeferUpdate(Task),
    /// Nothing to answer (a PING, which only the HTTP endpoint receives).
    Ignore,
}

/// Work that needs the gateway (and so the upstream), for the user who asked.
#[derive(Debug)]
pub struct Task {
    pub caller: Caller,
    pub action: Action,
}

#[derive(Debug)]
pub enum Action {
    Share {
        secret: SecretText,
        passphrase: Option<Passphrase>,
        ttl_secs: u32,
        recipient: Option<UserId>,
    },
    Generate {
        ttl_secs: u32,
        length: Option<u16>,
        recipient: Option<UserId>,
    },
    /// OTS health and the state of the caller's recent secrets.
    Status,
    /// One of the caller's secrets in detail.
    StatusOf(EntryId),
    Recent,
    /// The menu of the caller's live secrets to burn.
    BurnMenu,
    /// A confirmed burn; then the message it was asked from is drawn again.
    Burn {
        target: OnEntry,
        passphrase: Option<Passphrase>,
    },
    /// Draw a message again as things are now (after "Keep it").
    Redraw(OnEntry),
    /// `/ots notify`: turn read receipts on or off, or (`None`) say how they are set.
    Notify(Option<bool>),
}

/// An ephemeral message: the only kind this bot sends in reply to an interaction.
pub fn ephemeral(content: impl Into<String>) -> CreateInteractionResponse {
    CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(content)
            .ephemeral(true),
    )
}

/// The acknowledgement sent before a [`Task`] runs; the user sees "thinking…" privately.
pub fn deferral() -> CreateInteractionResponse {
    CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true))
}

/// Decides how to answer `interaction`. The allowlists come first, for every kind of
/// interaction, so a button in an old message cannot get around them.
pub fn respond(interaction: &Interaction, access: &Access, options: &BotOptions) -> Decision {
    let checked = match interaction {
        Interaction::Command(cmd) | Interaction::Autocomplete(cmd) => {
            access.check(cmd.guild_id, cmd.member.as_deref())
        }
        Interaction::Component(component) => {
            access.check(component.guild_id, component.member.as_ref())
        }
        Interaction::Modal(modal) => access.check(modal.guild_id, modal.member.as_ref()),
        Interaction::Ping(_) => return Decision::Ignore,
        // Interaction is non-exhaustive: a kind Discord adds later gets no answer rather than
        // a guess.
        _ => return Decision::Ignore,
    };
    if let Err(refusal) = checked {
        return match interaction {
            Interaction::Autocomplete(_) => Decision::Reply(
                CreateInteractionResponse::Autocomplete(CreateAutocompleteResponse::new()),
            ),
            _ => Decision::Reply(ephemeral(refusal.message())),
        };
    }
    match interaction {
        Interaction::Command(cmd) => command(cmd, options),
        Interaction::Component(component) => component_clicked(component),
        Interaction::Modal(modal) => modal_submitted(modal, &options.ttl_choices),
        // No option uses autocomplete; an empty list is the polite answer.
        Interaction::Autocomplete(_) => Decision::Reply(CreateInteractionResponse::Autocomplete(
            CreateAutocompleteResponse::new(),
        )),
        _ => Decision::Ignore,
    }
}

fn caller_of(user: UserId) -> Caller {
    Caller::new(Frontend::Discord, user.get().to_string())
}

fn defer(user: UserId, action: Action) -> Decision {
    Decision::Defer(Task {
        caller: caller_of(user),
        action,
    })
}

fn defer_update(user: UserId, action: Action) -> Decision {
    Decision::DeferUpdate(Task {
        caller: caller_of(user),
        action,
    })
}

fn command(cmd: &CommandInteraction, bot: &BotOptions) -> Decision {
    if cmd.data.name != command::NAME {
        return Decision::Reply(ephemeral("Unknown command."));
    }
    let Some(first) = cmd.data.options.first() else {
        return Decision::Reply(ephemeral(render::HELP));
    };
    let options: &[CommandDataOption] = match &first.value {
        CommandDataOptionValue::SubCommand(options) => options,
        _ => &[],
    };
    let user = cmd.user.id;
    let ttl = match ttl_option(options, &bot.ttl_choices) {
        Ok(ttl) => ttl,
        Err(message) => return Decision::Reply(ephemeral(message)),
    };
    let recipient = user_option(options, opt::RECIPIENT);
    match first.name.as_str() {
        sub::SHARE => Decision::Reply(share_modal(ttl, recipient)),
        sub::GENERATE => match length_option(options) {
            Ok(length) => defer(
                user,
                Action::Generate {
                    ttl_secs: ttl,
                    length,
                    recipient,
                },
            ),
            Err(message) => Decision::Reply(ephemeral(message)),
        },
        sub::STATUS => defer(user, Action::Status),
        sub::RECENT => defer(user, Action::Recent),
        sub::BURN => defer(user, Action::BurnMenu),
        sub::NOTIFY => match notify_option(options) {
            Ok(_) if !bot.read_receipts => Decision::Reply(ephemeral(render::READ_RECEIPTS_OFF)),
            Ok(setting) => defer(user, Action::Notify(setting)),
            Err(message) => Decision::Reply(ephemeral(message)),
        },
        sub::HELP => Decision::Reply(ephemeral(render::HELP)),
        _ => Decision::Reply(ephemeral(
            "Unknown subcommand: the registered commands may be out of date. See `/ots help`.",
        )),
    }
}

/// Discord only offers the registered choices, but a stale registration could send another
/// value; refusing it beats silently using a lifetime the user never picked.
fn ttl_option(options: &[CommandDataOption], choices: &TtlChoices) -> Result<u32, String> {
    let Some(option) = options.iter().find(|o| o.name == opt::TTL) else {
        return Ok(choices.default_secs());
    };
    let allowed = |secs: i64| {
        u32::try_from(secs)
            .ok()
            .filter(|secs| choices.offers(*secs))
    };
    match &option.value {
        CommandDataOptionValue::Integer(secs) => allowed(*secs),
        _ => None,
    }
    .ok_or_else(|| "Invalid ttl: pick one of the offered lifetimes.".to_owned())
}

fn length_option(options: &[CommandDataOption]) -> Result<Option<u16>, String> {
    let Some(option) = options.iter().find(|o| o.name == opt::LENGTH) else {
        return Ok(None);
    };
    match &option.value {
        CommandDataOptionValue::Integer(length) => u16::try_from(*length)
            .ok()
            .filter(|length| (MIN_LENGTH..=MAX_LENGTH).contains(length))
            .map(Some)
            .ok_or_else(|| {
                format!("Invalid length: choose between {MIN_LENGTH} and {MAX_LENGTH}.")
            }),
        _ => Err("Invalid length: expected a number.".to_owned()),
    }
}

fn notify_option(options: &[CommandDataOption]) -> Result<Option<bool>, String> {
    let Some(option) = options.iter().find(|o| o.name == opt::RECEIPTS) else {
        return Ok(None);
    };
    match &option.value {
        CommandDataOptionValue::String(value) if value == receipts::ON => Ok(Some(true)),
        CommandDataOptionValue::String(value) if value == receipts::OFF => Ok(Some(false)),
        _ => Err(format!(
            "Invalid receipts: choose `{}` or `{}`.",
            receipts::ON,
            receipts::OFF
        )),
    }
}

fn user_option(options: &[CommandDataOption], name: &str) -> Option<UserId> {
    options
        .iter()
        .find(|o| o.name == name)
        .and_then(|o| match o.value {
            CommandDataOptionValue::User(id) => Some(id),
            _ => None,
        })
}

/// The private form for the secret: Discord keeps modal input out of the channel, and the
/// command's options ride along in the modal's custom id.
fn share_modal(ttl_secs: u32, recipient: Option<UserId>) -> CreateInteractionResponse {
    let custom_id = CustomId::ShareModal {
        ttl_secs,
        recipient: recipient.map(UserId::get),
    };
    let secret = CreateInputText::new(InputTextStyle::Paragraph, "Secret", SECRET_FIELD)
        .placeholder("Only the person who opens the link will see this")
        .max_length(MAX_SECRET_CHARS)
        .required(true);
    let passphrase = CreateInputText::new(
        InputTextStyle::Short,
        "Passphrase (optional)",
        PASSPHRASE_FIELD,
    )
    .placeholder("Tell it to the recipient through another channel")
    .max_length(MAX_PASSPHRASE_CHARS)
    .required(false);
    CreateInteractionResponse::Modal(
        CreateModal::new(custom_id.encode(), "Share a secret").components(vec![
            CreateActionRow::InputText(secret),
            CreateActionRow::InputText(passphrase),
        ]),
    )
}

/// Typing the passphrase is deliberate enough to stand for the confirmation.
fn passphrase_modal(target: OnEntry) -> CreateInteractionResponse {
    let passphrase = CreateInputText::new(InputTextStyle::Short, "Passphrase", PASSPHRASE_FIELD)
        .placeholder("Burning cannot be undone: the link stops working at once")
        .max_length(MAX_PASSPHRASE_CHARS)
        .required(true);
    CreateInteractionResponse::Modal(
        CreateModal::new(
            CustomId::BurnPassphraseModal(target).encode(),
            "Burn a passphrase-protected secret",
        )
        .components(vec![CreateActionRow::InputText(passphrase)]),
    )
}

/// Turns the message the Burn button sits on into the question, so the answer replaces it
/// in place and no second, stale copy of the buttons is left behind.
fn confirm_burn(target: OnEntry) -> CreateInteractionResponse {
    let burn = CreateButton::new(CustomId::BurnConfirm(target.clone()).encode())
        .style(ButtonStyle::Danger)
        .label("Yes, burn it");
    let keep = CreateButton::new(CustomId::BurnCancel(target).encode())
        .style(ButtonStyle::Secondary)
        .label("Keep it");
    CreateInteractionResponse::UpdateMessage(
        CreateInteractionResponseMessage::new()
            .content(render::CONFIRM_BURN)
            .components(vec![CreateActionRow::Buttons(vec![burn, keep])]),
    )
}

const STALE_COMPONENT: &str =
    "This button or menu is no longer understood. Run the command again to get a fresh one.";

fn component_clicked(component: &ComponentInteraction) -> Decision {
    let user = component.user.id;
    let Some(custom_id) = CustomId::parse(&component.data.custom_id) else {
        return Decision::Reply(ephemeral(STALE_COMPONENT));
    };
    let selected = match &component.data.kind {
        ComponentInteractionDataKind::StringSelect { values } => values.first().map(String::as_str),
        _ => None,
    };
    match custom_id {
        CustomId::Burn(target) => Decision::Reply(confirm_burn(target)),
        CustomId::BurnAskPassphrase(target) => Decision::Reply(passphrase_modal(target)),
        CustomId::BurnConfirm(target) => defer_update(
            user,
            Action::Burn {
                target,
                passphrase: None,
            },
        ),
        CustomId::BurnCancel(target) => defer_update(user, Action::Redraw(target)),
        CustomId::BurnMenu => match selected.and_then(BurnChoice::parse) {
            Some(BurnChoice {
                entry,
                has_passphrase,
            }) => {
                let target = OnEntry {
                    entry,
                    view: View::Entry,
                };
                if has_passphrase {
                    Decision::Reply(passphrase_modal(target))
                } else {
                    Decision::Reply(confirm_burn(target))
                }
            }
            None => Decision::Reply(ephemeral(STALE_COMPONENT)),
        },
        CustomId::StatusMenu => match selected.map(EntryId::parse) {
            Some(Ok(entry)) => defer(user, Action::StatusOf(entry)),
            _ => Decision::Reply(ephemeral(STALE_COMPONENT)),
        },
        CustomId::ShareModal { .. } | CustomId::BurnPassphraseModal(_) => {
            Decision::Reply(ephemeral(STALE_COMPONENT))
        }
    }
}

/// The text typed into one field of a submitted modal.
fn field<'a>(modal: &'a ModalInteraction, name: &str) -> Option<&'a str> {
    modal
        .data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .find_map(|component| match component {
            ActionRowComponent::InputText(input) if input.custom_id == name => {
                input.value.as_deref()
            }
            _ => None,
        })
}

/// An empty optional field means "no passphrase", not an empty one.
fn passphrase_field(modal: &ModalInteraction) -> Option<Passphrase> {
    field(modal, PASSPHRASE_FIELD)
        .filter(|value| !value.is_empty())
        .map(Passphrase::new)
}

fn modal_submitted(modal: &ModalInteraction, ttl_choices: &TtlChoices) -> Decision {
    let user = modal.user.id;
    match CustomId::parse(&modal.data.custom_id) {
        Some(CustomId::ShareModal {
            ttl_secs,
            recipient,
        }) => {
            let secret = field(modal, SECRET_FIELD).unwrap_or_default();
            if secret.trim().is_empty() {
                return Decision::Reply(ephemeral("Invalid secret: it must not be empty."));
            }
            if !ttl_choices.offers(ttl_secs) {
                return Decision::Reply(ephemeral(
                    "Invalid ttl: pick one of the offered lifetimes.",
                ));
            }
            defer(
                user,
                Action::Share {
                    secret: SecretText::new(secret),
                    passphrase: passphrase_field(modal),
                    ttl_secs,
                    recipient: recipient.map(UserId::new),
                },
            )
        }
        Some(CustomId::BurnPassphraseModal(target)) => match passphrase_field(modal) {
            Some(passphrase) => defer_update(
                user,
                Action::Burn {
                    target,
                    passphrase: Some(passphrase),
                },
            ),
            None => Decision::Reply(ephemeral("Invalid passphrase: it must not be empty.")),
        },
        _ => Decision::Reply(ephemeral(STALE_COMPONENT)),
    }
}
