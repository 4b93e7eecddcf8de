//! The v2 wire shapes, built from the core's API-neutral model (`docs/ots-api-v2-notes.md`,
//! "Responses"). Types follow what current servers send: integers for TTLs, floats for
//! `created`/`updated`, booleans for `is_*`, `null` where a field is unset.
//!
//! The model does not record everything a v2 receipt shows (a receipt's `kind`, the secret's
//! short id after it is gone, access times); those fields are rendered from what is known and
//! keep their types.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use ots_gateway_core::model::{Burned, Receipt, ReceiptState, Revealed, UpstreamStatus, short_id};
use serde_json::{Map, Value, json};

/// What v2 sends as Content-Type: JSON without a charset.
pub const V2_CONTENT_TYPE: &str = "application/json";

/// `recent` lists the last 30 days.
const RECENT_WINDOW_SECS: i64 = 30 * 24 * 3600;

pub fn respond(status: StatusCode, body: &Value) -> Response {
    // A create answer is about 2.2 KB; starting there spares the buffer's regrowths. Writing a
    // `Value` into a `Vec` cannot fail.
    let mut bytes = Vec::with_capacity(2560);
    let _ = serde_json::to_writer(&mut bytes, body);
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(V2_CONTENT_TYPE),
    );
    response
}

pub fn ok(body: &Value) -> Response {
    respond(StatusCode::OK, body)
}

/// Who the answer is for: the gateway adds its own fields (`share_url`, the generated value on
/// create) where v1 adds them; the simulator answers as OTS does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    GatewayClient,
    OtsClient,
}

pub fn status(status: &UpstreamStatus) -> Value {
    let locale = if status.locale.is_empty() {
        "en"
    } else {
        &status.locale
    };
    json!({"success": true, "status": status.status, "locale": locale})
}

fn v2_state(state: &ReceiptState) -> &str {
    match state {
        ReceiptState::Received => "revealed",
        ReceiptState::Viewed => "previewed",
        other => other.as_str(),
    }
}

fn unix_float(secs: i64) -> Value {
    // Whole seconds as a float: the type v2 clients parse, without inventing a fraction.
    json!(secs as f64)
}

fn or_null(text: &str) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        json!(text)
    }
}

/// The receipt object (§5.2), in v2's key order. `secret_identifier` is `""` once the model
/// no longer knows the secret key, as v2 blanks it once the secret is gone.
pub fn receipt_object(receipt: &Receipt, kind: &str) -> Map<String, Value> {
    let key = receipt.metadata_key.as_str();
    let secret_key = receipt.secret_key.as_ref().map(|k| k.as_str());
    let state = &receipt.state;
    let received = receipt.received.map_or(Value::Null, |t| json!(t));
    let burned = if *state == ReceiptState::Burned {
        json!(receipt.updated)
    } else {
        Value::Null
    };
    let destroyed = !matches!(
        state,
        ReceiptState::New | ReceiptState::Viewed | ReceiptState::Other(_)
    );
    let owner = if receipt.custid.is_empty() || receipt.custid == "anon" {
        Value::Null
    } else {
        json!(receipt.custid)
    };
    let fields = [
        ("identifier", json!(key)),
        ("key", json!(key)),
        ("custid", Value::Null),
        ("owner_id", owner),
        ("state", json!(v2_state(state))),
        (
            "secret_shortid",
            json!(secret_key.map(short_id).unwrap_or("")),
        ),
        ("secret_identifier", json!(secret_key.unwrap_or(""))),
        ("secret_ttl", json!(receipt.ttl)),
        ("metadata_ttl", json!(receipt.ttl)),
        ("receipt_ttl", json!(receipt.ttl)),
        ("lifespan", json!(receipt.ttl)),
        ("share_domain", or_null(&receipt.share_domain)),
        ("created", unix_float(receipt.created)),
        ("updated", unix_float(receipt.updated)),
        ("shared", Value::Null),
        (
            "recipients",
            json!(receipt.recipients.first().map_or("", String::as_str)),
        ),
        ("recipient_name", Value::Null),
        ("memo", Value::Null),
        ("shortid", json!(short_id(key))),
        ("show_recipients", json!(!receipt.recipients.is_empty())),
        ("previewed", Value::Null),
        ("revealed", received.clone()),
        ("is_previewed", json!(*state == ReceiptState::Viewed)),
        ("viewed", Value::Null),
        ("received", received),
        ("burned", burned),
        ("is_viewed", json!(*state == ReceiptState::Viewed)),
        ("is_received", json!(*state == ReceiptState::Received)),
        ("is_revealed", json!(*state == ReceiptState::Received)),
        ("is_burned", json!(*state == ReceiptState::Burned)),
        ("is_expired", json!(*state == ReceiptState::Expired)),
        ("is_orphaned", json!(*state == ReceiptState::Orphaned)),
        ("is_destroyed", json!(destroyed)),
        (
            "has_passphrase",
            json!(receipt.passphrase_required.unwrap_or(false)),
        ),
        ("kind", json!(kind)),
        ("source", json!("standard")),
    ];
    fields
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

/// The secret object (§5.3) as a create answer shows it.
fn secret_object(receipt: &Receipt) -> Value {
    let key = receipt.secret_key.as_ref().map_or("", |k| k.as_str());
    json!({
        "identifier": key, "key": key, "shortid": short_id(key), "state": "new",
        "lifespan": receipt.ttl, "secret_ttl": receipt.ttl,
        "has_passphrase": receipt.passphrase_required.unwrap_or(false),
        "verification": false,
        "created": unix_float(receipt.created), "updated": unix_float(receipt.updated),
        "is_previewed": false, "is_revealed": false, "is_viewed": false, "is_received": false,
    })
}

/// Conceal and generate (§5.1). v2 returns no link and no generated value; the gateway adds
/// `share_url` to the record, and the generated value as `details.secret_value`, because its
/// own generate call already claimed the one-time display upstream.
pub fn created(receipt: &Receipt, kind: &str, audience: Audience) -> Value {
    let object = Value::Object(receipt_object(receipt, kind));
    let mut record = Map::new();
    record.insert("receipt".to_owned(), object.clone());
    record.insert("metadata".to_owned(), object);
    record.insert("secret".to_owned(), secret_object(receipt));
    record.insert("share_domain".to_owned(), or_null(&receipt.share_domain));
    let mut details = json!({
        "kind": kind,
        "recipient": receipt.recipients,
        "recipient_safe": receipt.recipients,
    });
    if audience == Audience::GatewayClient {
        if let Some(url) = &receipt.share_url {
            record.insert("share_url".to_owned(), json!(url));
        }
        if let Some(value) = &receipt.value {
            details["secret_value"] = json!(value.expose());
        }
    }
    document([
        ("success", Value::Bool(true)),
        ("record", Value::Object(record)),
        ("details", details),
    ])
}

/// An object of values already built, moved in. `json!` would instead copy every nested
/// `Value` through the serializer: for a v2 create that copy was three quarters of the
/// simulator's work.
fn document<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
    )
}

/// `secret_value` appears only when the value was released.
pub fn revealed(revealed: &Revealed, now: i64) -> Value {
    let key = revealed.secret_key.as_str();
    let value = revealed.value.expose();
    json!({
        "record": {
            "identifier": key, "key": key, "shortid": short_id(key), "state": "revealed",
            "lifespan": 0, "secret_ttl": 0, "has_passphrase": false, "verification": false,
            "created": unix_float(now), "updated": unix_float(now),
            "is_previewed": false, "is_revealed": true, "is_viewed": false, "is_received": true,
            "secret_value": value,
        },
        "details": {
            "continue": true, "is_owner": false, "show_secret": true,
            "correct_passphrase": true, "display_lines": display_lines(value),
            "one_liner": !value.contains('\n'),
        },
    })
}

/// A reveal without `continue`: v2 answers 200 and releases nothing.
pub fn not_revealed(key: &str) -> Value {
    json!({
        "record": {"identifier": key, "key": key, "shortid": short_id(key), "state": "new"},
        "details": {
            "continue": false, "is_owner": false, "show_secret": false,
            "correct_passphrase": false, "display_lines": 0, "one_liner": null,
        },
    })
}

/// min(30, ⌊(80 + len) / 80⌋ + newlines + 3), as v2 computes it.
fn display_lines(value: &str) -> usize {
    let lines = (80 + value.chars().count()) / 80 + value.matches('\n').count() + 3;
    lines.min(30)
}

fn natural_expiration(ttl: u64) -> String {
    match ttl {
        0..=60 => format!("{ttl} seconds"),
        61..=3600 => format!("{} minutes", ttl / 60),
        3601..=86_400 => format!("{} hours", ttl / 3600),
        _ => format!("{} days", ttl / 86_400),
    }
}

/// The site root links are built on: the receipt link minus its `receipt/<key>` tail.
fn site_root(receipt: &Receipt) -> String {
    let tail = format!("receipt/{}", receipt.metadata_key.as_str());
    receipt
        .metadata_url
        .as_deref()
        .and_then(|url| url.strip_suffix(&tail))
        .unwrap_or("/")
        .to_owned()
}

/// The path and link fields of a receipt view and a burn (§5.5).
fn add_links(record: &mut Map<String, Value>, receipt: &Receipt, expiration_in_seconds: u64) {
    let site = site_root(receipt);
    let key = receipt.metadata_key.as_str();
    let secret = receipt.secret_key.as_ref().map_or("", |k| k.as_str());
    let share_url = receipt
        .share_url
        .clone()
        .unwrap_or_else(|| format!("{site}secret/{secret}"));
    let receipt_path = format!("receipt/{key}");
    let extra = [
        ("natural_expiration", json!(natural_expiration(receipt.ttl))),
        (
            "expiration",
            json!(receipt.created.saturating_add_unsigned(receipt.ttl)),
        ),
        ("expiration_in_seconds", json!(expiration_in_seconds)),
        ("share_path", json!(format!("secret/{secret}"))),
        ("burn_path", json!(format!("receipt/{key}/burn"))),
        ("receipt_path", json!(receipt_path)),
        ("metadata_path", json!(receipt_path)),
        ("share_url", json!(share_url)),
        ("receipt_url", json!(format!("{site}{receipt_path}"))),
        ("metadata_url", json!(format!("{site}{receipt_path}"))),
        ("burn_url", json!(format!("{site}receipt/{key}/burn"))),
    ];
    for (name, value) in extra {
        record.insert(name.to_owned(), value);
    }
}

/// The receipt view (§5.5). The secret key is withheld when the secret is protected or gone.
pub fn receipt_view(receipt: &Receipt) -> Value {
    let live = receipt.state.is_live() && receipt.secret_key.is_some();
    let protected = receipt.passphrase_required.unwrap_or(false);
    let mut record = receipt_object(receipt, kind_of(receipt));
    if !live || protected {
        record.remove("secret_identifier");
    }
    record.insert(
        "secret_state".to_owned(),
        if live { json!("new") } else { Value::Null },
    );
    add_links(&mut record, receipt, receipt.ttl);
    let show_secret = live && !protected;
    let details = json!({
        "type": "record", "display_lines": 4, "no_cache": true,
        "secret_realttl": receipt.secret_ttl.filter(|_| live),
        "view_count": 0, "first_access": null, "last_access": null,
        "has_passphrase": protected, "can_decrypt": show_secret,
        "secret_value": receipt.value.as_ref().map(|v| v.expose()),
        "show_secret": show_secret, "show_secret_link": show_secret,
        "show_receipt_link": true, "show_receipt": true,
        "show_recipients": !receipt.recipients.is_empty(),
    });
    document([("record", Value::Object(record)), ("details", details)])
}

/// Burn (§5.6): the receipt as loaded before the burn. `success` is false when the caller did
/// not confirm and nothing was burned.
pub fn burn(receipt: &Receipt, success: bool) -> Value {
    let mut record = receipt_object(receipt, kind_of(receipt));
    // v2 reports the receipt class's default lifetime here, whatever the TTL.
    add_links(&mut record, receipt, 1_209_600);
    json!({
        "success": success,
        "record": record,
        "details": {
            "type": "record", "title": "Secret burned", "display_lines": 0,
            "display_feedback": false, "no_cache": true, "view_count": 0,
            "has_passphrase": receipt.passphrase_required.unwrap_or(false),
            "can_decrypt": false, "show_secret": false, "show_secret_link": false,
            "show_receipt_link": false, "show_receipt": true, "show_recipients": false,
            "is_orphaned": false,
        },
    })
}

pub fn burned(burned: &Burned) -> Value {
    burn(&burned.receipt, true)
}

/// `{"success":true}` alone: the receipt exists but its secret was already gone.
pub fn nothing_to_burn() -> Value {
    json!({"success": true})
}

/// Recent (§5.7): newest first, split into revealed and pending.
pub fn recent(receipts: &[Receipt], custid: &str, now: i64) -> Value {
    let records: Vec<Value> = receipts
        .iter()
        .rev()
        .map(|r| Value::Object(receipt_object(r, kind_of(r))))
        .collect();
    let (revealed, pending): (Vec<Value>, Vec<Value>) = records
        .iter()
        .cloned()
        .partition(|r| r["is_destroyed"] == Value::Bool(true));
    json!({
        "success": true,
        "custid": or_null(custid),
        "count": records.len(),
        "records": records,
        "details": {
            "type": "list", "scope": null, "scope_label": null,
            "since": now - RECENT_WINDOW_SECS, "now": unix_float(now),
            "has_items": !receipts.is_empty(),
            "revealed_receipts": revealed, "pending_receipts": pending,
        },
    })
}

/// The model does not record how a secret was made; a value on the receipt means generated.
fn kind_of(receipt: &Receipt) -> &'static str {
    if receipt.value.is_some() {
        "generate"
    } else {
        "conceal"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_expiration_uses_v2_units() {
        assert_eq!(natural_expiration(60), "60 seconds");
        assert_eq!(natural_expiration(3600), "60 minutes");
        assert_eq!(natural_expiration(86_400), "24 hours");
        assert_eq!(natural_expiration(1_209_600), "14 days");
    }

    #[test]
    fn display_lines_grow_with_length_and_newlines_up_to_thirty() {
        assert_eq!(display_lines("db password: hunter2"), 4);
        assert_eq!(display_lines("a\nb"), 5);
        assert_eq!(display_lines(&"x".repeat(10_000)), 30);
    }
}
