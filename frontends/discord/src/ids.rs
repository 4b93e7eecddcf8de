//! The custom ids carried by the bot's modals, buttons and menus.
//!
//! Discord hands a custom id back verbatim when a user submits a modal or clicks a component, so
//! it is the only state that travels between one interaction and the next. It therefore holds
//! nothing a user must not see: ledger entry ids (random, grant nothing upstream), a TTL and a
//! Discord user id. Never a metadata key, a secret key or a value.

use ots_gateway_core::ledger::EntryId;

const PREFIX: &str = "ots";

/// What the message a button sits on shows, so that after the button's work the message can be
/// drawn again as it is now (no stale buttons, no stale states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// One secret: the reply to share or generate, a status detail, a burn-menu choice.
    Entry,
    /// The `/ots recent` listing.
    Recent,
    /// The `/ots status` listing.
    Status,
}

impl View {
    fn code(self) -> &'static str {
        match self {
            View::Entry => "e",
            View::Recent => "r",
            View::Status => "s",
        }
    }

    fn from_code(code: &str) -> Option<View> {
        match code {
            "e" => Some(View::Entry),
            "r" => Some(View::Recent),
            "s" => Some(View::Status),
            _ => None,
        }
    }
}

/// A button or modal about one entry, on a message showing `view`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnEntry {
    pub entry: EntryId,
    pub view: View,
}

/// What a custom id asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomId {
    /// The modal `/ots share` opens; the command's options ride along until it is submitted.
    ShareModal {
        ttl_secs: u32,
        recipient: Option<u64>,
    },
    /// "Burn" on a secret without a passphrase: ask to confirm, in the same message.
    Burn(OnEntry),
    /// "Burn" on a secret with a passphrase, which OTS needs to burn it: ask for it (typing it
    /// is the confirmation).
    BurnAskPassphrase(OnEntry),
    /// The modal that asks for that passphrase.
    BurnPassphraseModal(OnEntry),
    /// "Yes, burn it" on the confirmation.
    BurnConfirm(OnEntry),
    /// "Keep it" on the confirmation: draw the message as it was, with states as they are now.
    BurnCancel(OnEntry),
    /// The menu of `/ots burn`; each option's value is an [`BurnChoice`].
    BurnMenu,
    /// The menu of `/ots status`; each option's value is an entry id.
    StatusMenu,
}

/// Discord allows 100 characters; the longest id here is well below that (14 + 32).
pub const MAX_LEN: usize = 100;

impl CustomId {
    pub fn encode(&self) -> String {
        let on =
            |kind: &str, on: &OnEntry| format!("{PREFIX}:{kind}:{}:{}", on.view.code(), on.entry);
        match self {
            CustomId::ShareModal {
                ttl_secs,
                recipient,
            } => format!("{PREFIX}:share:{ttl_secs}:{}", recipient.unwrap_or(0)),
            CustomId::Burn(target) => on("burn", target),
            CustomId::BurnAskPassphrase(target) => on("burn-ask", target),
            CustomId::BurnPassphraseModal(target) => on("burn-pass", target),
            CustomId::BurnConfirm(target) => on("burn-ok", target),
            CustomId::BurnCancel(target) => on("burn-no", target),
            CustomId::BurnMenu => format!("{PREFIX}:burn-menu"),
            CustomId::StatusMenu => format!("{PREFIX}:status-menu"),
        }
    }

    /// `None` for anything this bot did not make (or an old version made differently).
    pub fn parse(raw: &str) -> Option<CustomId> {
        let mut parts = raw.split(':');
        if parts.next()? != PREFIX {
            return None;
        }
        let kind = parts.next()?;
        let rest: Vec<&str> = parts.collect();
        let on = |rest: &[&str]| match rest {
            [view, id] => Some(OnEntry {
                view: View::from_code(view)?,
                entry: EntryId::parse(id).ok()?,
            }),
            _ => None,
        };
        match (kind, rest.as_slice()) {
            ("share", [ttl, recipient]) => {
                let ttl_secs = ttl.parse().ok()?;
                let recipient: u64 = recipient.parse().ok()?;
                Some(CustomId::ShareModal {
                    ttl_secs,
                    recipient: (recipient != 0).then_some(recipient),
                })
            }
            ("burn", rest) => on(rest).map(CustomId::Burn),
            ("burn-ask", rest) => on(rest).map(CustomId::BurnAskPassphrase),
            ("burn-pass", rest) => on(rest).map(CustomId::BurnPassphraseModal),
            ("burn-ok", rest) => on(rest).map(CustomId::BurnConfirm),
            ("burn-no", rest) => on(rest).map(CustomId::BurnCancel),
            ("burn-menu", []) => Some(CustomId::BurnMenu),
            ("status-menu", []) => Some(CustomId::StatusMenu),
            _ => None,
        }
    }
}

/// An option of the `/ots burn` menu: which entry, and whether burning it needs a passphrase
/// (so the bot can ask for one before the burn rather than fail after it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BurnChoice {
    pub entry: EntryId,
    pub has_passphrase: bool,
}

impl BurnChoice {
    pub fn encode(&self) -> String {
        let marker = if self.has_passphrase { "p" } else { "n" };
        format!("{marker}:{}", self.entry)
    }

    pub fn parse(raw: &str) -> Option<BurnChoice> {
        let (marker, id) = raw.split_once(':')?;
        let has_passphrase = match marker {
            "p" => true,
            "n" => false,
            _ => return None,
        };
        Some(BurnChoice {
            entry: EntryId::parse(id).ok()?,
            has_passphrase,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_custom_id_round_trips_and_fits_discords_limit() {
        let id = EntryId::generate();
        let on = |view| OnEntry {
            entry: id.clone(),
            view,
        };
        let all = [
            CustomId::ShareModal {
                ttl_secs: 604_800,
                recipient: Some(u64::MAX),
            },
            CustomId::ShareModal {
                ttl_secs: 300,
                recipient: None,
            },
            CustomId::Burn(on(View::Entry)),
            CustomId::BurnAskPassphrase(on(View::Recent)),
            CustomId::BurnPassphraseModal(on(View::Status)),
            CustomId::BurnConfirm(on(View::Recent)),
            CustomId::BurnCancel(on(View::Entry)),
            CustomId::BurnMenu,
            CustomId::StatusMenu,
        ];
        for custom_id in all {
            let encoded = custom_id.encode();
            assert!(encoded.len() <= MAX_LEN, "{encoded}");
            assert_eq!(CustomId::parse(&encoded), Some(custom_id));
        }
    }

    #[test]
    fn foreign_or_mangled_ids_are_not_understood() {
        for raw in [
            "",
            "ots",
            "other:burn:e:0123456789abcdef0123456789abcdef",
            "ots:burn:not-an-entry-id",
            "ots:burn:0123456789abcdef0123456789abcdef",
            "ots:burn:x:0123456789abcdef0123456789abcdef",
            "ots:burn:e:0123456789abcdef0123456789abcdef:extra",
            "ots:share:abc:0",
            "ots:share:300",
        ] {
            assert_eq!(CustomId::parse(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn burn_choices_round_trip() {
        let choice = BurnChoice {
            entry: EntryId::generate(),
            has_passphrase: true,
        };
        assert_eq!(BurnChoice::parse(&choice.encode()), Some(choice));
        assert_eq!(
            BurnChoice::parse("x:0123456789abcdef0123456789abcdef"),
            None
        );
    }
}
