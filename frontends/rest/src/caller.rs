//! Who is asking, for the gateway's quotas and audit: the optional `X-OTS-Gateway-Client` header.
//!
//! The label is a name a local script or app gives itself (`deploy-bot`, `ci.nightly`), so that
//! quotas and audit events can tell local clients apart. It is not authentication: anyone who can
//! reach the endpoint can pick any label. It is bounded and restricted to `[A-Za-z0-9._-]` so it
//! is safe to put in logs, metrics and the ledger verbatim.

use http::{HeaderMap, HeaderName};
use ots_gateway_core::model::{CLIENT_ID_HEADER, Caller, CallerId, Frontend, TokenLabel};

use crate::errors::LocalRefusal;

pub const CLIENT_LABEL_HEADER: &str = CLIENT_ID_HEADER;
pub const MAX_CLIENT_LABEL_LEN: usize = CallerId::MAX_CHARS;
/// The header as a parsed name: looking a header up by a `&str` parses the name on every call.
static CLIENT_LABEL_HEADER_NAME: HeaderName = HeaderName::from_static(CLIENT_LABEL_HEADER);
/// The caller id when a client does not name itself.
pub const DEFAULT_CLIENT_LABEL: &str = "local";

/// A client token's label (proven, set by the security layer) wins over the self-declared header.
/// Without a token the caller is only declared, and shares an aggregate quota with every other
/// declared caller.
pub fn caller_from_request(parts: &http::request::Parts) -> Result<Caller, LocalRefusal> {
    match parts.extensions.get::<TokenLabel>() {
        Some(TokenLabel(label)) => Ok(Caller::new(Frontend::Rest, label.clone())),
        None => caller_from_headers(&parts.headers),
    }
}

pub fn caller_from_headers(headers: &HeaderMap) -> Result<Caller, LocalRefusal> {
    let Some(value) = headers.get(&CLIENT_LABEL_HEADER_NAME) else {
        return Ok(Caller::declared(Frontend::Rest, DEFAULT_CLIENT_LABEL));
    };
    let label = value
        .to_str()
        .map_err(|_| LocalRefusal::InvalidClientLabel)?;
    match CallerId::parse(label) {
        Some(id) => Ok(Caller::declared(Frontend::Rest, id.into_string())),
        None => Err(LocalRefusal::InvalidClientLabel),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn caller(value: Option<&str>) -> Result<Caller, LocalRefusal> {
        let mut headers = HeaderMap::new();
        if let Some(v) = value {
            headers.insert(CLIENT_LABEL_HEADER, HeaderValue::from_str(v).unwrap());
        }
        caller_from_headers(&headers)
    }

    #[test]
    fn labels_default_to_local() {
        assert_eq!(caller(None).unwrap().id, "local");
        assert_eq!(caller(None).unwrap().frontend, Frontend::Rest);
    }

    #[test]
    fn valid_labels_are_kept() {
        assert_eq!(
            caller(Some("deploy-bot.v2_1")).unwrap().id,
            "deploy-bot.v2_1"
        );
        let longest = "a".repeat(MAX_CLIENT_LABEL_LEN);
        assert_eq!(caller(Some(&longest)).unwrap().id, longest);
    }

    #[test]
    fn invalid_labels_are_refused() {
        let too_long = "a".repeat(MAX_CLIENT_LABEL_LEN + 1);
        for bad in ["", "has space", "slash/y", "ünï", too_long.as_str(), "a\tb"] {
            if let Ok(v) = HeaderValue::from_str(bad) {
                let mut headers = HeaderMap::new();
                headers.insert(CLIENT_LABEL_HEADER, v);
                assert_eq!(
                    caller_from_headers(&headers),
                    Err(LocalRefusal::InvalidClientLabel),
                    "{bad:?}"
                );
            }
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            CLIENT_LABEL_HEADER,
            HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        );
        assert_eq!(
            caller_from_headers(&headers),
            Err(LocalRefusal::InvalidClientLabel)
        );
    }
}
