//! The one `/ots` command as Discord registers it.

use serenity::all::{CommandOptionType, CreateCommand, CreateCommandOption, Permissions};

use crate::options::TtlChoices;

pub const NAME: &str = "ots";

/// OTS's bounds for generated passwords.
pub const MIN_LENGTH: u16 = 8;
pub const MAX_LENGTH: u16 = 128;

pub mod sub {
    pub const SHARE: &str = "share";
    pub const GENERATE: &str = "generate";
    pub const STATUS: &str = "status";
    pub const RECENT: &str = "recent";
    pub const BURN: &str = "burn";
    pub const NOTIFY: &str = "notify";
    pub const HELP: &str = "help";
}

pub mod opt {
    pub const TTL: &str = "ttl";
    pub const RECIPIENT: &str = "recipient";
    pub const LENGTH: &str = "length";
    pub const RECEIPTS: &str = "receipts";
}

/// The values of `/ots notify receipts:`.
pub mod receipts {
    pub const ON: &str = "on";
    pub const OFF: &str = "off";
}

fn ttl_option(ttl: &TtlChoices) -> CreateCommandOption {
    let description = format!(
        "How long the link stays valid (default: {})",
        crate::options::label(ttl.default_secs())
    );
    ttl.labelled().fold(
        CreateCommandOption::new(CommandOptionType::Integer, opt::TTL, description),
        |option, (label, secs)| {
            // `TtlChoices` keeps every choice within i32.
            option.add_int_choice(label, i32::try_from(secs).unwrap_or(i32::MAX))
        },
    )
}

fn recipient_option() -> CreateCommandOption {
    CreateCommandOption::new(
        CommandOptionType::User,
        opt::RECIPIENT,
        "Someone to send the link to by DM (only the link, never the secret)",
    )
}

fn plain(name: &str, description: &str) -> CreateCommandOption {
    CreateCommandOption::new(CommandOptionType::SubCommand, name, description)
}

/// `default_member_permissions` hides the command from members lacking those bits until a server
/// admin says otherwise; `None` leaves it visible to everyone.
pub fn register(default_member_permissions: Option<u64>, ttl: &TtlChoices) -> CreateCommand {
    let command = CreateCommand::new(NAME)
        .description("Share secrets through one-time links, without leaving them in chat")
        .add_option(
            plain(
                sub::SHARE,
                "Type a secret in a private form and get a one-time link",
            )
            .add_sub_option(ttl_option(ttl))
            .add_sub_option(recipient_option()),
        )
        .add_option(
            plain(
                sub::GENERATE,
                "Generate a password and get a one-time link to it",
            )
            .add_sub_option(ttl_option(ttl))
            .add_sub_option(
                CreateCommandOption::new(
                    CommandOptionType::Integer,
                    opt::LENGTH,
                    "Password length (default 12)",
                )
                .min_int_value(u64::from(MIN_LENGTH))
                .max_int_value(u64::from(MAX_LENGTH)),
            )
            .add_sub_option(recipient_option()),
        )
        .add_option(plain(
            sub::STATUS,
            "Whether your recent secrets were opened, and whether OTS is up",
        ))
        .add_option(plain(
            sub::RECENT,
            "Your recent secrets, with their links while unopened and Burn buttons",
        ))
        .add_option(plain(
            sub::BURN,
            "Destroy one of your secrets before it is opened",
        ))
        .add_option(
            plain(
                sub::NOTIFY,
                "Whether I DM you when your secrets are opened, burned or expire",
            )
            .add_sub_option(
                CreateCommandOption::new(
                    CommandOptionType::String,
                    opt::RECEIPTS,
                    "Turn read receipts on or off (leave out to see the current setting)",
                )
                .add_string_choice("on", receipts::ON)
                .add_string_choice("off", receipts::OFF),
            ),
        )
        .add_option(plain(sub::HELP, "What each /ots command does"));
    match default_member_permissions {
        Some(bits) => command.default_member_permissions(Permissions::from_bits_truncate(bits)),
        None => command,
    }
}
