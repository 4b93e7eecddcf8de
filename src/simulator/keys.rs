//! Key generation, constant-time comparison and the email handling OTS applies to recipients.

use rand::Rng;

const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Current OTS keys are lowercase base36 and exactly 62 characters (320 bits on the server).
pub(crate) const KEY_LEN: usize = 62;

/// A fresh key. `rand::rng()` is a CSPRNG seeded from the OS, which is what a bearer capability
/// needs; each character is drawn uniformly, so no modulo bias.
pub(crate) fn new_key() -> String {
    let mut rng = rand::rng();
    (0..KEY_LEN)
        .map(|_| char::from(BASE36[rng.random_range(0..BASE36.len())]))
        .collect()
}

/// Compares two byte strings in time that depends only on their lengths, never on where they
/// differ, so a caller probing tokens or passphrases learns nothing from response times about
/// how much of a guess was right.
pub(crate) fn fixed_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    // Fold the length difference in instead of returning early on it.
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..len {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= std::hint::black_box(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

/// A conservative syntax check standing in for OTS's email validation: the simulator sends no
/// mail, so all it has to do is refuse what a real server would call undeliverable.
pub(crate) fn is_deliverable(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    local_part_ok(local) && domain_ok(domain) && email.len() <= 254
}

fn local_part_ok(local: &str) -> bool {
    const FORBIDDEN: &str = "@\"(),:;<>[\\]";
    !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_graphic() && !FORBIDDEN.contains(c))
}

fn domain_ok(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let tld_ok = labels
        .last()
        .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
    labels.len() >= 2 && labels.iter().all(label_ok) && tld_ok
}

/// How current OTS shows a recipient: `alice@example.com` → `al***@e***.com`. Only the obscured
/// form is stored, so the simulator never keeps a recipient's address.
pub(crate) fn obscure_email(email: &str) -> String {
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let tld = domain.rsplit_once('.').map_or("", |(_, tld)| tld);
    let head: String = local.chars().take(2).collect();
    let domain_head: String = domain.chars().take(1).collect();
    format!("{head}***@{domain_head}***.{tld}")
}
