//! Keys as agents hand them over: a bare key, or whatever link the person pasted.
//!
//! Error reasons never repeat the input: an agent sometimes passes the secret itself where a key
//! belongs, and the error text goes back into model context and into logs.

use ots_gateway_core::Error;
use ots_gateway_core::model::{ReceiptKey, SecretKey};

/// What a link's path says the key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkKind {
    /// `/secret/<key>`: the recipient's one-time link.
    Secret,
    /// `/receipt/<key>` (OTS v2 and later) or `/private/<key>` (v1): the creator's page.
    Receipt,
}

/// A secret key from a bare key or a share link (`https://host/secret/<key>`).
pub(crate) fn secret_key(raw: &str) -> Result<SecretKey, Error> {
    let field = "secret_key";
    match split_link(field, raw)? {
        None => SecretKey::parse(raw.trim()),
        Some((LinkKind::Secret, key)) => SecretKey::parse(key),
        Some((LinkKind::Receipt, _)) => Err(Error::InvalidInput {
            field,
            reason: "that is a receipt link (/receipt/ or /private/); pass the share link \
                     (/secret/...) or its key"
                .into(),
        }),
    }
}

/// A receipt key from a bare key or a receipt link (`/receipt/<key>` or `/private/<key>`).
pub(crate) fn receipt_key(raw: &str) -> Result<ReceiptKey, Error> {
    let field = "metadata_key";
    match split_link(field, raw)? {
        None => ReceiptKey::parse(raw.trim()),
        Some((LinkKind::Receipt, key)) => ReceiptKey::parse(key),
        Some((LinkKind::Secret, _)) => Err(Error::InvalidInput {
            field,
            reason: "that is a share link (/secret/...), which only the recipient should open; \
                     pass the metadata_key returned when the secret was created"
                .into(),
        }),
    }
}

/// `None` for something that is not a link (left to the key parser); the kind and key for a
/// link to a secret or receipt page; an error for any other link.
fn split_link<'a>(field: &'static str, raw: &'a str) -> Result<Option<(LinkKind, &'a str)>, Error> {
    let raw = raw.trim();
    let Some((_scheme, rest)) = raw.split_once("://") else {
        return Ok(None);
    };
    let not_a_key_link = || Error::InvalidInput {
        field,
        reason: "the link is not an OTS /secret/, /receipt/ or /private/ link".into(),
    };
    // Query and fragment never carry the key; the path after the host does.
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let path = rest.split_once('/').map_or("", |(_host, path)| path);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // The key is the segment after the marker; anything before it is a locale or base path.
    let found = segments.windows(2).rev().find_map(|pair| match pair {
        ["secret", key] => Some((LinkKind::Secret, *key)),
        ["receipt" | "private", key] => Some((LinkKind::Receipt, *key)),
        _ => None,
    });
    match found {
        Some((kind, key)) if segments.last() == Some(&key) => Ok(Some((kind, key))),
        _ => Err(not_a_key_link()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "abc123XYZ_-0987";

    #[test]
    fn bare_keys_are_accepted_for_both_kinds() {
        assert_eq!(secret_key(KEY).unwrap().as_str(), KEY);
        assert_eq!(receipt_key(&format!(" {KEY}\n")).unwrap().as_str(), KEY);
    }

    #[test]
    fn share_links_give_secret_keys() {
        for link in [
            format!("https://onetimesecret.com/secret/{KEY}"),
            format!("https://eu.onetimesecret.com/secret/{KEY}/"),
            format!("http://127.0.0.1:7143/secret/{KEY}?x=1#top"),
            format!("https://host/en/secret/{KEY}"),
        ] {
            assert_eq!(secret_key(&link).unwrap().as_str(), KEY, "{link}");
        }
    }

    #[test]
    fn receipt_and_private_links_give_receipt_keys() {
        for link in [
            format!("https://onetimesecret.com/receipt/{KEY}"),
            format!("https://onetimesecret.com/private/{KEY}"),
        ] {
            assert_eq!(receipt_key(&link).unwrap().as_str(), KEY, "{link}");
        }
    }

    #[test]
    fn a_link_of_the_other_kind_is_refused_with_guidance() {
        let share = format!("https://host/secret/{KEY}");
        let receipt = format!("https://host/receipt/{KEY}");
        let err = receipt_key(&share).unwrap_err();
        assert_eq!(err.kind(), "invalid_input");
        assert!(err.to_string().contains("metadata_key"));
        assert_eq!(secret_key(&receipt).unwrap_err().kind(), "invalid_input");
    }

    #[test]
    fn other_links_and_junk_are_invalid_input_without_echoing_it() {
        for bad in [
            "https://example.com/",
            "https://example.com/secret/",
            "https://example.com/secret/abc/extra",
            "https://example.com/secret/a%2Fb",
            "hunter2 is my password",
            "",
        ] {
            let err = secret_key(bad).unwrap_err();
            assert_eq!(err.kind(), "invalid_input", "{bad}");
            if !bad.is_empty() {
                assert!(!err.to_string().contains(bad), "{bad} echoed");
            }
        }
    }
}
