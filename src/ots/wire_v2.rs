//! OTS v2 response bodies and their conversion into [`crate::model`] types.
//!
//! Shapes are described in `docs/ots-api-v2-notes.md` ("Responses"). The DTOs are lenient in
//! the same way as the v1 ones (`wire`): v2 documents strings but current servers send native
//! types, so every numeric field accepts both. None of them derives `Debug`.
//!
//! The model speaks v1's vocabulary (`received`, `metadata_ttl` counting down, the caller's
//! `custid`), so the differences are bridged here: state names are mapped, remaining lifetimes
//! are computed from `created` and the fixed TTL v2 reports, and `custid` is the team's username
//! when the receipt has an owner.

use serde::Deserialize;

use super::lenient;
use super::routes::Endpoints;
use super::wire::{
    self, ReceiptContext, decode, malformed, non_empty, non_negative, optional_secret_key,
};
use crate::error::{Error, Result};
use crate::model::{
    Burned, Receipt, ReceiptKey, ReceiptState, Revealed, SecretKey, SecretText, UpstreamStatus,
};

/// What a v2 conversion needs besides the body.
pub(super) struct V2Context<'a> {
    pub(super) endpoints: &'a Endpoints,
    /// The team account's username: v2 reports an opaque owner id where v1 reports this.
    pub(super) username: Option<&'a str>,
    /// Unix seconds, to turn v2's fixed TTLs into v1's "seconds left".
    pub(super) now: i64,
}

/// What the detection rule reads of `/api/v2/status`; the status itself is parsed as v1's.
#[derive(Deserialize)]
struct DetectionProbe {
    #[serde(default, deserialize_with = "lenient::boolean")]
    success: Option<bool>,
    #[serde(default, deserialize_with = "lenient::string")]
    status: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ReceiptObject {
    #[serde(default, deserialize_with = "lenient::string")]
    identifier: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    key: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    owner_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    state: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    secret_identifier: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    secret_shortid: Option<String>,
    #[serde(default, deserialize_with = "lenient::int")]
    secret_ttl: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    lifespan: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    share_domain: Option<String>,
    #[serde(default, deserialize_with = "lenient::timestamp")]
    created: Option<i64>,
    #[serde(default, deserialize_with = "lenient::timestamp")]
    updated: Option<i64>,
    #[serde(default, deserialize_with = "lenient::timestamp")]
    revealed: Option<i64>,
    #[serde(default, deserialize_with = "lenient::timestamp")]
    received: Option<i64>,
    #[serde(default, deserialize_with = "lenient::strings")]
    recipients: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    has_passphrase: Option<bool>,
    #[serde(default, deserialize_with = "lenient::string")]
    receipt_url: Option<String>,
}

#[derive(Deserialize)]
struct SecretObject {
    #[serde(default, deserialize_with = "lenient::string")]
    identifier: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    key: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    secret_value: Option<String>,
}

/// Current servers send the receipt twice, as `receipt` and under its older name `metadata`;
/// older ones only as `metadata`. The copy is skipped unread (not even kept as raw text), and the
/// body is read again for it only when `receipt` is missing: converting the same object twice
/// was a tenth of a share's work.
#[derive(Deserialize)]
struct CreatedRecord {
    receipt: Option<ReceiptObject>,
    secret: Option<SecretObject>,
}

#[derive(Deserialize)]
struct CreatedBody {
    record: Option<CreatedRecord>,
}

/// The create answer of a server that names the receipt only `metadata`.
#[derive(Deserialize)]
struct LegacyCreatedRecord {
    metadata: Option<ReceiptObject>,
}

#[derive(Deserialize)]
struct LegacyCreatedBody {
    record: Option<LegacyCreatedRecord>,
}

#[derive(Deserialize, Default)]
struct ViewDetails {
    #[serde(default, deserialize_with = "lenient::int")]
    secret_realttl: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    secret_value: Option<String>,
}

#[derive(Deserialize)]
struct ViewBody {
    record: Option<ReceiptObject>,
    #[serde(default)]
    details: Option<ViewDetails>,
}

#[derive(Deserialize)]
struct RevealBody {
    record: Option<SecretObject>,
}

#[derive(Deserialize)]
struct BurnBody {
    record: Option<ReceiptObject>,
}

#[derive(Deserialize)]
struct RecentBody {
    records: Option<Vec<ReceiptObject>>,
}

/// The detection rule: only this answer marks a server whose v2 this client speaks.
pub(super) fn is_current_v2_status(body: &[u8]) -> bool {
    serde_json::from_slice::<DetectionProbe>(body).is_ok_and(|parsed| {
        parsed.success == Some(true) && parsed.status.as_deref() == Some("nominal")
    })
}

/// v2's status body carries v1's fields (and `success`, which only the detection rule reads).
pub(super) fn status(body: &[u8]) -> Result<UpstreamStatus> {
    wire::status(body)
}

/// v2 has no authcheck route; a 200 from a route that demands credentials is the same answer.
pub(super) fn authenticated() -> UpstreamStatus {
    UpstreamStatus {
        status: "nominal".to_owned(),
        locale: String::new(),
    }
}

/// Conceal and generate. The receipt carries no secret key of its own on create; it is read
/// from the secret object beside it.
pub(super) fn created(body: &[u8], ctx: &V2Context<'_>) -> Result<Receipt> {
    let record = decode::<CreatedBody>(body)?
        .record
        .ok_or_else(|| malformed("create body has no record"))?;
    let receipt = match record.receipt {
        Some(receipt) => receipt,
        None => decode::<LegacyCreatedBody>(body)?
            .record
            .and_then(|legacy| legacy.metadata)
            .ok_or_else(|| malformed("create body has no receipt"))?,
    };
    let secret_key = record
        .secret
        .and_then(|secret| non_empty(secret.identifier).or(non_empty(secret.key)));
    let mut converted = receipt.into_receipt(ctx, ReceiptContext::Current, secret_key, None)?;
    // Just created: the whole TTL is left on the secret.
    converted.secret_ttl = Some(converted.ttl);
    Ok(converted)
}

pub(super) fn receipt(body: &[u8], ctx: &V2Context<'_>) -> Result<Receipt> {
    let parsed: ViewBody = decode(body)?;
    let details = parsed.details.unwrap_or_default();
    let record = parsed
        .record
        .ok_or_else(|| malformed("receipt body has no record"))?;
    let mut converted =
        record.into_receipt(ctx, ReceiptContext::Current, None, details.secret_realttl)?;
    converted.value = details.secret_value.map(SecretText::new);
    Ok(converted)
}

pub(super) fn recent(body: &[u8], ctx: &V2Context<'_>) -> Result<Vec<Receipt>> {
    let records = decode::<RecentBody>(body)?
        .records
        .ok_or_else(|| malformed("recent body has no records"))?;
    // v2 lists newest first; the model keeps v1's oldest-first order.
    records
        .into_iter()
        .rev()
        .map(|item| item.into_receipt(ctx, ReceiptContext::RecentListing, None, None))
        .collect()
}

/// A reveal without a value is a lost race for the one-time claim (or a reveal the server did
/// not perform): to the caller the secret is gone.
pub(super) fn revealed(
    body: &[u8],
    requested: &SecretKey,
    ctx: &V2Context<'_>,
) -> Result<Revealed> {
    let record = decode::<RevealBody>(body)?
        .record
        .ok_or_else(|| malformed("reveal body has no record"))?;
    let value = record.secret_value.ok_or(Error::UnknownSecret)?;
    let secret_key =
        optional_secret_key(record.identifier.or(record.key))?.unwrap_or_else(|| requested.clone());
    Ok(Revealed {
        value: SecretText::new(value),
        secret_key,
        share_domain: ctx.endpoints.origin(),
    })
}

/// `{"success":true}` with no record means the receipt exists but its secret was already gone,
/// which v1 reports as an unknown secret.
pub(super) fn burned(body: &[u8], ctx: &V2Context<'_>) -> Result<Burned> {
    let Some(record) = decode::<BurnBody>(body)?.record else {
        return Err(Error::UnknownSecret);
    };
    let shortid = record.secret_shortid.clone();
    let receipt = record.into_receipt(ctx, ReceiptContext::BeforeBurn, None, None)?;
    let secret_shortkey = shortid
        .or_else(|| {
            receipt
                .secret_key
                .as_ref()
                .map(|key| key.short_id().to_owned())
        })
        .unwrap_or_default();
    Ok(Burned {
        receipt,
        secret_shortkey,
    })
}

fn v1_state(raw: &str) -> ReceiptState {
    match raw {
        "revealed" => ReceiptState::Received,
        "previewed" => ReceiptState::Viewed,
        other => ReceiptState::parse(other),
    }
}

impl ReceiptObject {
    fn into_receipt(
        self,
        ctx: &V2Context<'_>,
        context: ReceiptContext,
        secret_key_beside: Option<String>,
        secret_seconds_left: Option<i64>,
    ) -> Result<Receipt> {
        let metadata_key = non_empty(self.identifier)
            .or(non_empty(self.key))
            .and_then(|raw| ReceiptKey::parse(&raw).ok())
            .ok_or_else(|| malformed("receipt has no usable identifier"))?;
        let state = v1_state(self.state.as_deref().unwrap_or_default());
        let live = state.is_live() || matches!(state, ReceiptState::Other(_));
        let secret_key = match context {
            ReceiptContext::RecentListing => None,
            ReceiptContext::Current if !live => None,
            _ => optional_secret_key(non_empty(self.secret_identifier).or(secret_key_beside))?,
        };
        let share_domain = self.share_domain.unwrap_or_default();
        let share_url = secret_key
            .as_ref()
            .filter(|_| context == ReceiptContext::Current && live)
            .map(|key| ctx.endpoints.share_link(&share_domain, key));
        let ttl = self.secret_ttl.or(self.lifespan).map_or(0, non_negative);
        let created = self.created.unwrap_or_default();
        let age = ctx.now.saturating_sub(created).max(0);
        let ttl_i = i64::try_from(ttl).unwrap_or(i64::MAX);
        let secret_ttl = (context == ReceiptContext::Current && live).then(|| {
            secret_seconds_left
                .map_or_else(|| non_negative(ttl_i.saturating_sub(age)), non_negative)
        });
        let custid = match (non_empty(self.owner_id), ctx.username) {
            (Some(_), Some(username)) => username.to_owned(),
            _ => "anon".to_owned(),
        };
        let metadata_url = self
            .receipt_url
            .filter(|url| !url.is_empty())
            .unwrap_or_else(|| ctx.endpoints.receipt_link(&metadata_key));
        Ok(Receipt {
            custid,
            secret_key,
            ttl,
            // The receipt lives twice the TTL; v2 reports only the TTL, v1 the time left.
            metadata_ttl: non_negative(ttl_i.saturating_mul(2).saturating_sub(age)),
            secret_ttl,
            metadata_url: Some(metadata_url),
            created,
            updated: self.updated.unwrap_or(created),
            received: self.revealed.or(self.received),
            recipients: self
                .recipients
                .unwrap_or_default()
                .into_iter()
                .filter(|r| !r.is_empty())
                .collect(),
            share_domain,
            passphrase_required: self.has_passphrase,
            value: None,
            share_url,
            state,
            metadata_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::*;

    fn receipt_object(key: &str, state: &str) -> serde_json::Value {
        serde_json::json!({
            "identifier": key, "key": key, "state": state, "secret_identifier": "secretkey0001",
            "secret_ttl": 600, "lifespan": 600, "created": 1_780_000_000.5,
            "updated": 1_780_000_000.5, "has_passphrase": false, "recipients": [],
        })
    }

    fn created_from(record: serde_json::Value) -> Result<Receipt> {
        let endpoints =
            Endpoints::new(&Url::parse("https://ots.example/").expect("url")).expect("endpoints");
        let ctx = V2Context {
            endpoints: &endpoints,
            username: Some("team@example.com"),
            now: 1_780_000_010,
        };
        let body = serde_json::json!({ "record": record }).to_string();
        created(body.as_bytes(), &ctx)
    }

    /// Older servers name the receipt only `metadata`; current ones send both, and `receipt` is
    /// the one read.
    #[test]
    fn a_created_receipt_is_read_from_receipt_or_else_metadata() {
        let secret = serde_json::json!({"identifier": "secretkey0001"});
        let only_metadata = created_from(serde_json::json!({
            "metadata": receipt_object("metadatakey0001", "new"), "secret": secret,
        }))
        .expect("metadata alone is enough");
        assert_eq!(only_metadata.metadata_key.as_str(), "metadatakey0001");
        let both = created_from(serde_json::json!({
            "metadata": receipt_object("metadatakey0001", "new"),
            "receipt": receipt_object("receiptkey00001", "new"), "secret": secret,
        }))
        .expect("both");
        assert_eq!(both.metadata_key.as_str(), "receiptkey00001");
        assert!(matches!(
            created_from(serde_json::json!({"secret": secret})),
            Err(Error::Upstream(_))
        ));
        assert!(matches!(
            created_from(serde_json::json!({"metadata": "not an object", "secret": secret})),
            Err(Error::Upstream(_))
        ));
    }
}
