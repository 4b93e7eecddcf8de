//! Text from outside (caller input, or an upstream message that echoes it) made safe for a log
//! line: control characters are escaped, so a newline or an ANSI sequence cannot forge a line or
//! repaint a terminal, and anything shaped like an email address is obscured, since recipient
//! addresses are personal data and never belong in logs.

use std::fmt;

/// Displays its text escaped and with email addresses obscured. Use it for every
/// caller-influenced value that reaches a log field.
pub struct LogSafe<'a>(pub &'a str);

impl fmt::Display for LogSafe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Most values (caller ids, route names) hold no address: one pass, no word splitting.
        if !self.0.contains('@') {
            return write_escaped(f, self.0);
        }
        let mut first = true;
        for word in self.0.split(' ') {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            if word.contains('@') {
                write_escaped(f, &obscure_email(word))?;
            } else {
                write_escaped(f, word)?;
            }
        }
        Ok(())
    }
}

/// Runs without control characters are written whole: a value is written on every audit line,
/// and formatting it a character at a time was a measurable part of a request.
fn write_escaped(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    let mut rest = text;
    while let Some((at, control)) = rest.char_indices().find(|(_, c)| c.is_control()) {
        f.write_str(&rest[..at])?;
        write!(f, "{}", control.escape_default())?;
        rest = &rest[at + control.len_utf8()..];
    }
    f.write_str(rest)
}

/// `alice@example.com` → `al***@e***.com`: enough for an operator to tell addresses apart,
/// too little to mail anyone.
pub fn obscure_email(email: &str) -> String {
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let tld = domain
        .rsplit_once('.')
        .map_or("", |(_, tld)| tld)
        .chars()
        .take(8)
        .collect::<String>();
    let head: String = local.chars().take(2).collect();
    let domain_head: String = domain.chars().take(1).collect();
    format!("{head}***@{domain_head}***.{tld}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_forge_a_line() {
        let forged =
            "x\n2026-01-01T00:00:00Z  INFO ots_gateway::audit: audit outcome=\"ok\"\u{1b}[31m";
        let shown = LogSafe(forged).to_string();
        assert!(!shown.contains('\n'));
        assert!(!shown.contains('\u{1b}'));
        assert!(shown.contains("\\n"));
    }

    #[test]
    fn escaped_text_keeps_everything_else_as_it_was() {
        assert_eq!(
            LogSafe("deploy-bot.v2 ünï").to_string(),
            "deploy-bot.v2 ünï"
        );
        assert_eq!(
            LogSafe("a\tb c@d.e\u{1b}x\u{7f}").to_string(),
            "a\\tb c***@d***.e\\u{1b}x\\u{7f}"
        );
    }

    #[test]
    fn email_addresses_are_obscured() {
        let shown = LogSafe("Undeliverable email address: alice.canary@example.com").to_string();
        assert!(!shown.contains("alice.canary@example.com"));
        assert!(shown.contains("al***@e***.com"), "{shown}");
        let tricky = LogSafe("a@b\nc@d.e").to_string();
        assert!(!tricky.contains('\n'));
    }
}
