//! The one `/ots` command as Discord registers it.

use serenity::all::{CommandOptionType, CreateCommand, CreateCommandOption, Permissions};

pub const NAME: &str = "ots";

/// The lifetimes offered for a secret. A fixed list rather than free input: Discord then
/// validates the choice, and users do not have to do arithmetic in seconds.
pub const TTL_CHOICES: [(&str, u32); 4] = [
    ("5 minutes", 300),
    ("1 hour", 3_600),
    ("1 day", 86_400),
    ("7 days", 604_800),
];

/// Used when `ttl` is left out: long enough to reach someone in another time zone.
pub const DEFAULT_TTL_SECS: u32 = 86_400;

/// OTS's bounds for generated passwords.
pub const MIN_LENGTH: u16 = 8;
pub const MAX_LENGTH: u16 = 128;

pub mod sub {
    pub const SHARE: &str = "share";
    pub const GENERATE: &str = "generate";
    pub const STATUS: &str = "status";
    pub const RECENT: &str = "recent";
    pub const BURN: &str = "burn";
    pub const HELP: &str = "help";
}

pub mod opt {
    pub const TTL: &str = "ttl";
    pub const RECIPIENT: &str = "recipient";
    pub const LENGTH: &str = "length";
}

pub fn ttl_label(secs: u32) -> Option<&'static str> {
    TTL_CHOICES
        .iter()
        .find(|(_, value)| *value == secs)
        .map(|(label, _)| *label)
}

fn ttl_option() -> CreateCommandOption {
    TTL_CHOICES.iter().fold(
        CreateCommandOption::new(
            CommandOptionType::Integer,
            opt::TTL,
            "How long the link stays valid (default: 1 day)",
        ),
        |option, (label, secs)| option.add_int_choice(*label, i32::try_from(*secs).unwrap_or(0)),
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
pub fn register(default_member_permissions: Option<u64>) -> CreateCommand {
    let command = CreateCommand::new(NAME)
        .description("Share secrets through one-time links, without leaving them in chat")
        .add_option(
            plain(
                sub::SHARE,
                "Type a secret in a private form and get a one-time link",
            )
            .add_sub_option(ttl_option())
            .add_sub_option(recipient_option()),
        )
        .add_option(
            plain(
                sub::GENERATE,
                "Generate a password and get a one-time link to it",
            )
            .add_sub_option(ttl_option())
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
        .add_option(plain(sub::RECENT, "Your recent secrets, with Burn buttons"))
        .add_option(plain(
            sub::BURN,
            "Destroy one of your secrets before it is opened",
        ))
        .add_option(plain(sub::HELP, "What each /ots command does"));
    match default_member_permissions {
        Some(bits) => command.default_member_permissions(Permissions::from_bits_truncate(bits)),
        None => command,
    }
}
