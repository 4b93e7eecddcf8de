//! OTS v1 response bodies and their conversion into [`crate::model`] types.
//!
//! The DTOs are private and lenient: unknown fields are ignored, every field is optional, and
//! the v0.24+ aliases (`identifier`, `receipt_ttl`, ...) stand in for the classic names when only
//! they are present. None of them derives `Debug`, because several carry secret material.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use tracing::debug;

use super::lenient;
use super::routes::Endpoints;
use crate::error::{Error, Result, UpstreamFailure};
use crate::model::{
    Burned, Receipt, ReceiptKey, ReceiptState, Revealed, SecretKey, SecretText, UpstreamStatus,
};

/// How a receipt body is to be read; OTS reuses one object shape in places that mean different things.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum ReceiptContext {
    /// share, generate and receipt views: the secret key, if any, is current.
    Current,
    /// The nested receipt of a burn, serialised before the burn: its secret key is already dead.
    BeforeBurn,
    /// An item of `recent`. OTS means to drop `secret_key` there, but current servers still leak
    /// it through the `secret_identifier` alias; we honour the intent.
    RecentListing,
}

#[derive(Deserialize)]
struct StatusBody {
    #[serde(default, deserialize_with = "lenient::string")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    locale: Option<String>,
}

#[derive(Deserialize)]
struct ReceiptBody {
    #[serde(default, deserialize_with = "lenient::string")]
    custid: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    metadata_key: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    identifier: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    secret_key: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    secret_identifier: Option<String>,
    #[serde(default, deserialize_with = "lenient::int")]
    ttl: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    metadata_ttl: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    receipt_ttl: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    secret_ttl: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    metadata_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    receipt_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    state: Option<String>,
    #[serde(default, deserialize_with = "lenient::int")]
    created: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    updated: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    received: Option<i64>,
    #[serde(default, deserialize_with = "lenient::strings")]
    recipient: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::strings")]
    recipients: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::string")]
    share_domain: Option<String>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    passphrase_required: Option<bool>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    has_passphrase: Option<bool>,
    #[serde(default, deserialize_with = "lenient::string")]
    value: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    secret_value: Option<String>,
}

#[derive(Deserialize)]
struct RevealBody {
    #[serde(default, deserialize_with = "lenient::string")]
    value: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    secret_value: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    secret_key: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    share_domain: Option<String>,
}

#[derive(Deserialize)]
struct BurnBody {
    state: Option<ReceiptBody>,
    #[serde(default, deserialize_with = "lenient::string")]
    secret_shortkey: Option<String>,
}

pub(super) fn status(body: &[u8]) -> Result<UpstreamStatus> {
    let parsed: StatusBody = decode(body)?;
    let status = parsed
        .status
        .ok_or_else(|| malformed("status body has no status"))?;
    Ok(UpstreamStatus {
        status,
        locale: parsed.locale.unwrap_or_default(),
    })
}

pub(super) fn receipt(body: &[u8], endpoints: &Endpoints) -> Result<Receipt> {
    decode::<ReceiptBody>(body)?.into_receipt(endpoints, ReceiptContext::Current)
}

pub(super) fn recent(body: &[u8], endpoints: &Endpoints) -> Result<Vec<Receipt>> {
    decode::<Vec<ReceiptBody>>(body)?
        .into_iter()
        .map(|item| item.into_receipt(endpoints, ReceiptContext::RecentListing))
        .collect()
}

/// `requested` stands in when a server omits the echoed key; it is the key we revealed anyway.
pub(super) fn revealed(body: &[u8], requested: &SecretKey) -> Result<Revealed> {
    let parsed: RevealBody = decode(body)?;
    let value = parsed
        .value
        .or(parsed.secret_value)
        .ok_or_else(|| malformed("reveal body has no value"))?;
    let secret_key = optional_secret_key(parsed.secret_key)?.unwrap_or_else(|| requested.clone());
    Ok(Revealed {
        value: SecretText::new(value),
        secret_key,
        share_domain: parsed.share_domain.unwrap_or_default(),
    })
}

pub(super) fn burned(body: &[u8], endpoints: &Endpoints) -> Result<Burned> {
    let parsed: BurnBody = decode(body)?;
    let receipt = parsed
        .state
        .ok_or_else(|| malformed("burn body has no nested receipt"))?
        .into_receipt(endpoints, ReceiptContext::BeforeBurn)?;
    let secret_shortkey = match parsed.secret_shortkey {
        Some(short) => short,
        None => receipt
            .secret_key
            .as_ref()
            .map(|key| key.short_id().to_owned())
            .unwrap_or_default(),
    };
    Ok(Burned {
        receipt,
        secret_shortkey,
    })
}

impl ReceiptBody {
    fn into_receipt(self, endpoints: &Endpoints, context: ReceiptContext) -> Result<Receipt> {
        let metadata_key = non_empty(self.metadata_key)
            .or(non_empty(self.identifier))
            .and_then(|raw| ReceiptKey::parse(&raw).ok())
            .ok_or_else(|| malformed("receipt has no usable metadata_key"))?;
        let state = ReceiptState::parse(self.state.as_deref().unwrap_or_default());
        let secret_key = match context {
            ReceiptContext::RecentListing => None,
            // The alias can outlive the secret (it is copied before OTS blanks `secret_key`);
            // a key to a secret that is gone is of no use to anyone.
            ReceiptContext::Current if !secret_may_be_live(&state) => None,
            _ => optional_secret_key(
                non_empty(self.secret_key).or(non_empty(self.secret_identifier)),
            )?,
        };
        let share_domain = self.share_domain.unwrap_or_default();
        let share_url = secret_key
            .as_ref()
            .filter(|_| context == ReceiptContext::Current && secret_may_be_live(&state))
            .map(|key| endpoints.share_link(&share_domain, key));
        Ok(Receipt {
            custid: self.custid.unwrap_or_default(),
            metadata_key,
            secret_key,
            ttl: self.ttl.map_or(0, non_negative),
            metadata_ttl: self
                .metadata_ttl
                .or(self.receipt_ttl)
                .map_or(0, non_negative),
            secret_ttl: self.secret_ttl.map(non_negative),
            metadata_url: self.metadata_url.or(self.receipt_url),
            state,
            created: self.created.unwrap_or_default(),
            updated: self.updated.unwrap_or_default(),
            received: self.received,
            recipients: self.recipient.or(self.recipients).unwrap_or_default(),
            share_domain,
            passphrase_required: self.passphrase_required.or(self.has_passphrase),
            value: self.value.or(self.secret_value).map(SecretText::new),
            share_url,
        })
    }
}

/// Unknown states are treated as live: hiding a working link is worse than showing a dead one.
fn secret_may_be_live(state: &ReceiptState) -> bool {
    !matches!(
        state,
        ReceiptState::Received
            | ReceiptState::Burned
            | ReceiptState::Expired
            | ReceiptState::Orphaned
    )
}

/// OTS blanks keys (`""`) rather than dropping them once the secret is gone.
pub(super) fn non_empty(raw: Option<String>) -> Option<String> {
    raw.filter(|value| !value.is_empty())
}

/// A key we could not safely put into a URL means we are not talking to OTS.
pub(super) fn optional_secret_key(raw: Option<String>) -> Result<Option<SecretKey>> {
    match non_empty(raw) {
        None => Ok(None),
        Some(key) => SecretKey::parse(&key)
            .map(Some)
            .map_err(|_| malformed("secret_key has characters OTS never uses")),
    }
}

/// Redis reports `-1`/`-2` for keys without or past their TTL; to a caller that is "none left".
pub(super) fn non_negative(seconds: i64) -> u64 {
    u64::try_from(seconds).unwrap_or(0)
}

pub(super) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    // JSON is UTF-8. Checked once over the whole body, serde_json's `str` reader then skips the
    // check it otherwise makes on every key and string value: about a seventh of the instructions
    // of reading a v2 create answer (BENCHMARKS.md, sixth round).
    let text = std::str::from_utf8(body).map_err(|_| malformed("the body is not UTF-8"))?;
    serde_json::from_str(text).map_err(|err| {
        // serde's message can quote the offending value, which may be a secret: log only where.
        debug!(
            category = ?err.classify(),
            line = err.line(),
            column = err.column(),
            "OTS response body is not the JSON OTS sends"
        );
        Error::Upstream(UpstreamFailure::MalformedResponse)
    })
}

/// `why` is a fixed text: the offending value itself may be secret.
pub(super) fn malformed(why: &'static str) -> Error {
    debug!(why, "OTS response body is not the shape OTS sends");
    Error::Upstream(UpstreamFailure::MalformedResponse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Probe {
        message: String,
    }

    #[test]
    fn decode_reads_non_ascii_strings_and_refuses_bytes_that_are_not_utf8() {
        let parsed: Probe = decode("{\"message\":\"caf\u{e9} \u{1f511} \\u00e9\"}".as_bytes())
            .expect("valid UTF-8");
        assert_eq!(parsed.message, "caf\u{e9} \u{1f511} \u{e9}");

        for body in [
            &b"{\"message\":\"caf\xe9\"}"[..],
            b"{\"message\":\"\xff\"}\xff",
        ] {
            assert!(
                matches!(
                    decode::<Probe>(body),
                    Err(Error::Upstream(UpstreamFailure::MalformedResponse))
                ),
                "{body:?}"
            );
        }
    }
}
