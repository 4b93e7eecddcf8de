//! The bot's own settings beyond connecting and access: the lifetimes `/ots` offers and whether
//! read receipts are on. Each has a default, so a `[discord]` section without them behaves as
//! before.

use crate::error::DiscordError;

/// Discord's limit on the choices of one option.
const MAX_CHOICES: usize = 25;
/// Discord sends integer options as 53-bit safe JSON numbers; OTS itself caps lifetimes far
/// lower. The bound keeps a choice representable as Discord's integer type.
const MAX_TTL_SECS: u32 = i32::MAX as u32;

/// What the bot offers as `ttl`, and what it uses when `ttl` is left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtlChoices {
    secs: Vec<u32>,
    default: u32,
}

impl Default for TtlChoices {
    /// 5 minutes, 1 hour, 1 day (the default: long enough to reach someone in another time
    /// zone) and 7 days.
    fn default() -> Self {
        TtlChoices {
            secs: vec![300, 3_600, 86_400, 604_800],
            default: 86_400,
        }
    }
}

impl TtlChoices {
    /// `secs` in the order to offer them; `default` must be one of them. The keys named in
    /// errors are the config keys these come from (`[discord] ttl_choices`, `default_ttl`).
    pub fn new(secs: Vec<u32>, default: u32) -> Result<Self, DiscordError> {
        let invalid = |key, reason: String| DiscordError::InvalidSetting { key, reason };
        if secs.is_empty() || secs.len() > MAX_CHOICES {
            return Err(invalid(
                "ttl_choices",
                format!("give between 1 and {MAX_CHOICES} lifetimes in seconds"),
            ));
        }
        if let Some(bad) = secs.iter().find(|s| **s == 0 || **s > MAX_TTL_SECS) {
            return Err(invalid(
                "ttl_choices",
                format!("{bad} is not a lifetime between 1 and {MAX_TTL_SECS} seconds"),
            ));
        }
        let mut seen = secs.clone();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() != secs.len() {
            return Err(invalid(
                "ttl_choices",
                "a lifetime is listed twice".to_owned(),
            ));
        }
        if !secs.contains(&default) {
            return Err(invalid(
                "default_ttl",
                format!("{default} is not one of ttl_choices"),
            ));
        }
        Ok(TtlChoices { secs, default })
    }

    pub fn default_secs(&self) -> u32 {
        self.default
    }

    /// Whether `secs` is one of the offered lifetimes.
    pub fn offers(&self, secs: u32) -> bool {
        self.secs.contains(&secs)
    }

    /// `(label, seconds)` in the configured order.
    pub fn labelled(&self) -> impl Iterator<Item = (String, u32)> + '_ {
        self.secs.iter().map(|secs| (label(*secs), *secs))
    }
}

/// A lifetime as people say it: "5 minutes", "1 hour", "7 days"; odd values in seconds.
pub fn label(secs: u32) -> String {
    let (amount, unit) = match secs {
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    let plural = if amount == 1 { "" } else { "s" };
    format!("{amount} {unit}{plural}")
}

/// Everything the bot needs besides [`ots_gateway_core::config::DiscordSettings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotOptions {
    pub ttl_choices: TtlChoices,
    /// Whether senders hear when their secrets are opened, burned or expire
    /// (`[discord] read_receipts`). Each user can still turn them off with `/ots notify`.
    pub read_receipts: bool,
}

impl Default for BotOptions {
    fn default() -> Self {
        BotOptions {
            ttl_choices: TtlChoices::default(),
            read_receipts: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_as_people_say_them() {
        let labels: Vec<String> = TtlChoices::default().labelled().map(|(l, _)| l).collect();
        assert_eq!(labels, ["5 minutes", "1 hour", "1 day", "7 days"]);
        assert_eq!(label(90), "90 seconds");
        assert_eq!(label(7_200), "2 hours");
    }

    #[test]
    fn bad_choices_are_refused_naming_the_key() {
        let cases = [
            (vec![], 60, "ttl_choices"),
            (vec![60; 26], 60, "ttl_choices"),
            (vec![0, 60], 60, "ttl_choices"),
            (vec![60, 60], 60, "ttl_choices"),
            (vec![60, 120], 300, "default_ttl"),
        ];
        for (secs, default, key) in cases {
            match TtlChoices::new(secs.clone(), default) {
                Err(DiscordError::InvalidSetting { key: named, .. }) => assert_eq!(named, key),
                other => panic!("{secs:?}/{default}: {other:?}"),
            }
        }
        let fine = TtlChoices::new(vec![600, 1_800], 1_800).unwrap();
        assert!(fine.offers(600) && !fine.offers(300));
        assert_eq!(fine.default_secs(), 1_800);
    }
}
