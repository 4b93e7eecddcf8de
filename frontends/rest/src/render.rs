//! The v1 wire types: core values rendered with exactly OTS's field names and JSON types.
//!
//! These mirror OTS's `receipt_hsh` output (docs/ots-api-notes.md §4) but are ours: the core model stays
//! free of v1 naming, and strict clients (C#'s DataContractJsonSerializer wants integers and a
//! real boolean) see what a real server sends.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use ots_gateway_core::model::{Burned, Receipt, ReceiptState, Revealed, UpstreamStatus};
use serde::Serialize;

use crate::json_out::JsonObject;

/// What OTS itself sends as the Content-Type of every v1 answer. npm's client only reads error
/// messages when it sees `application/json`.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// A compact JSON response with OTS's Content-Type.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    // Most bodies are small; a receipt (`ok_written`) is about 900 bytes.
    let mut body = Vec::with_capacity(1024);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => json_response(status, body),
        // Our wire types are plain structs of strings and numbers; this is unreachable in
        // practice, and the client still gets JSON if it happens.
        Err(_) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"message":"the response could not be encoded"}"#.to_vec(),
        ),
    }
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}

/// A v1 body that writes its own JSON (`json_out`), rather than through serde: the receipt
/// bodies, which every share and `recent` answers with.
pub trait WritesJson {
    fn write_json(&self, out: &mut Vec<u8>);
}

/// [`ok`] for a body that writes its own JSON.
pub fn ok_written<T: WritesJson>(value: &T) -> Response {
    // A receipt is about 900 bytes.
    let mut body = Vec::with_capacity(1024);
    value.write_json(&mut body);
    json_response(StatusCode::OK, body)
}

/// Success is exactly 200: pypi's and otsgo's clients treat anything else as failure.
pub fn ok<T: Serialize>(value: &T) -> Response {
    json(StatusCode::OK, value)
}

/// About what one item of `recent` renders to; a little over is cheaper than a regrowth.
const RECENT_ITEM_BYTES: usize = 700;

/// The `recent` list: rendered straight from the receipts, without a list of views between,
/// into a buffer sized up front: a long list regrown by doubling would hold its old and new copy
/// at once, and keep up to half again as much slack.
pub fn recent(receipts: &[Receipt]) -> Response {
    let mut body = Vec::with_capacity(receipts.len().saturating_mul(RECENT_ITEM_BYTES).max(2));
    body.push(b'[');
    for (at, receipt) in receipts.iter().enumerate() {
        if at > 0 {
            body.push(b',');
        }
        ReceiptBody::new(receipt, ReceiptView::Recent).write_json(&mut body);
    }
    body.push(b']');
    json_response(StatusCode::OK, body)
}

/// Which response a receipt appears in; OTS shows slightly different fields in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptView {
    /// Share and generate: adds the gateway's `share_url`.
    Created,
    /// Receipt views and the nested `state` of a burn.
    Plain,
    /// Items of `recent`, which OTS strips of `secret_key`.
    Recent,
}

/// The v1 receipt ("metadata") object, aliases included. Written in this order, each field
/// left out where it is `None` (`secret_ttl: Some(None)` is written as `null`).
pub struct ReceiptBody<'a> {
    custid: &'a str,
    metadata_key: &'a str,
    secret_key: Option<&'a str>,
    ttl: u64,
    metadata_ttl: u64,
    /// Absent once received, `null` once the secret is otherwise gone.
    secret_ttl: Option<Option<u64>>,
    metadata_url: Option<&'a str>,
    state: &'a str,
    updated: i64,
    created: i64,
    received: Option<i64>,
    recipient: &'a [String],
    share_domain: &'a str,
    passphrase_required: Option<bool>,
    value: Option<&'a str>,
    secret_value: Option<&'a str>,
    // The v0.24+ additive aliases (`V1_ADDITIVE_FIELD_MAP`).
    identifier: &'a str,
    secret_identifier: &'a str,
    has_passphrase: Option<bool>,
    recipients: &'a [String],
    receipt_ttl: u64,
    receipt_url: Option<&'a str>,
    /// Not an OTS field: the full link for the recipient, so scripts need not build it.
    share_url: Option<&'a str>,
}

impl<'a> ReceiptBody<'a> {
    pub fn new(receipt: &'a Receipt, view: ReceiptView) -> Self {
        let received = receipt.state == ReceiptState::Received;
        // `""` once the secret is burned, expired or orphaned, as OTS reports it.
        let secret_key = receipt.secret_key.as_ref().map_or("", |k| k.as_str());
        let value = receipt.value.as_ref().map(|v| v.expose());
        ReceiptBody {
            custid: &receipt.custid,
            metadata_key: receipt.metadata_key.as_str(),
            secret_key: (!received && view != ReceiptView::Recent).then_some(secret_key),
            ttl: receipt.ttl,
            metadata_ttl: receipt.metadata_ttl,
            secret_ttl: (!received).then_some(receipt.secret_ttl),
            metadata_url: receipt.metadata_url.as_deref(),
            state: receipt.state.as_str(),
            updated: receipt.updated,
            created: receipt.created,
            received: received.then(|| receipt.received.unwrap_or(0)),
            recipient: &receipt.recipients,
            share_domain: &receipt.share_domain,
            passphrase_required: receipt.passphrase_required,
            value,
            secret_value: value,
            identifier: receipt.metadata_key.as_str(),
            secret_identifier: secret_key,
            has_passphrase: receipt.passphrase_required,
            recipients: &receipt.recipients,
            receipt_ttl: receipt.metadata_ttl,
            receipt_url: receipt.metadata_url.as_deref(),
            share_url: match view {
                ReceiptView::Created => receipt.share_url.as_deref(),
                ReceiptView::Plain | ReceiptView::Recent => None,
            },
        }
    }
}

pub struct BurnBody<'a> {
    state: ReceiptBody<'a>,
    secret_shortkey: &'a str,
}

impl<'a> BurnBody<'a> {
    pub fn new(burned: &'a Burned) -> Self {
        BurnBody {
            state: ReceiptBody::new(&burned.receipt, ReceiptView::Plain),
            secret_shortkey: &burned.secret_shortkey,
        }
    }
}

impl WritesJson for ReceiptBody<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = JsonObject::begin(out);
        object.str("custid", self.custid);
        object.str("metadata_key", self.metadata_key);
        object.optional("secret_key", self.secret_key, JsonObject::str);
        object.int("ttl", self.ttl);
        object.int("metadata_ttl", self.metadata_ttl);
        match self.secret_ttl {
            Some(Some(ttl)) => object.int("secret_ttl", ttl),
            Some(None) => object.null("secret_ttl"),
            None => {}
        }
        object.optional("metadata_url", self.metadata_url, JsonObject::str);
        object.str("state", self.state);
        object.int("updated", self.updated);
        object.int("created", self.created);
        object.optional("received", self.received, JsonObject::int);
        object.strs("recipient", self.recipient);
        object.str("share_domain", self.share_domain);
        object.optional(
            "passphrase_required",
            self.passphrase_required,
            JsonObject::bool,
        );
        object.optional("value", self.value, JsonObject::str);
        object.optional("secret_value", self.secret_value, JsonObject::str);
        object.str("identifier", self.identifier);
        object.str("secret_identifier", self.secret_identifier);
        object.optional("has_passphrase", self.has_passphrase, JsonObject::bool);
        object.strs("recipients", self.recipients);
        object.int("receipt_ttl", self.receipt_ttl);
        object.optional("receipt_url", self.receipt_url, JsonObject::str);
        object.optional("share_url", self.share_url, JsonObject::str);
        object.end();
    }
}

impl WritesJson for BurnBody<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = JsonObject::begin(out);
        self.state.write_json(object.key("state"));
        object.str("secret_shortkey", self.secret_shortkey);
        object.end();
    }
}

#[derive(Serialize)]
pub struct RevealBody<'a> {
    value: &'a str,
    secret_key: &'a str,
    share_domain: &'a str,
}

impl<'a> RevealBody<'a> {
    pub fn new(revealed: &'a Revealed) -> Self {
        RevealBody {
            value: revealed.value.expose(),
            secret_key: revealed.secret_key.as_str(),
            share_domain: &revealed.share_domain,
        }
    }
}

#[derive(Serialize)]
pub struct ServerStatusBody<'a> {
    status: &'a str,
    locale: &'a str,
}

impl<'a> ServerStatusBody<'a> {
    pub fn new(status: &'a UpstreamStatus) -> Self {
        ServerStatusBody {
            status: &status.status,
            locale: &status.locale,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ots_gateway_core::model::{ReceiptKey, SecretKey, SecretText};
    use serde_json::{Value, json};

    const MKEY: &str = "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmm";
    const SKEY: &str = "ssssssssssssssssssssssssssssss";

    fn receipt(state: ReceiptState) -> Receipt {
        Receipt {
            custid: "anon".into(),
            metadata_key: ReceiptKey::parse(MKEY).unwrap(),
            secret_key: Some(SecretKey::parse(SKEY).unwrap()),
            ttl: 3600,
            metadata_ttl: 7200,
            secret_ttl: Some(3600),
            metadata_url: Some(format!("https://ots.example/receipt/{MKEY}")),
            state,
            created: 1_780_000_000,
            updated: 1_780_000_001,
            received: None,
            recipients: vec![],
            share_domain: String::new(),
            passphrase_required: Some(false),
            value: None,
            share_url: Some(format!("https://ots.example/secret/{SKEY}")),
        }
    }

    fn written(body: &impl WritesJson) -> String {
        let mut out = Vec::new();
        body.write_json(&mut out);
        String::from_utf8(out).expect("UTF-8")
    }

    fn to_value(body: &impl WritesJson) -> Value {
        serde_json::from_str(&written(body)).expect("valid JSON")
    }

    #[test]
    fn a_new_receipt_has_ots_fields_types_and_aliases() {
        let r = receipt(ReceiptState::New);
        let v = to_value(&ReceiptBody::new(&r, ReceiptView::Created));
        let url = format!("https://ots.example/receipt/{MKEY}");
        assert_eq!(
            v,
            json!({
                "custid": "anon", "metadata_key": MKEY, "secret_key": SKEY, "ttl": 3600,
                "metadata_ttl": 7200, "secret_ttl": 3600, "metadata_url": url, "state": "new",
                "updated": 1_780_000_001, "created": 1_780_000_000, "recipient": [],
                "share_domain": "", "passphrase_required": false, "identifier": MKEY,
                "secret_identifier": SKEY, "has_passphrase": false, "recipients": [],
                "receipt_ttl": 7200, "receipt_url": url,
                "share_url": format!("https://ots.example/secret/{SKEY}"),
            })
        );
    }

    /// Byte for byte, in the order OTS writes the fields (`receipt_hsh`, then the v0.24+
    /// aliases), which some clients' hand-rolled parsers depend on.
    #[test]
    fn a_receipt_is_written_compactly_in_ots_order() {
        let r = receipt(ReceiptState::New);
        assert_eq!(
            written(&ReceiptBody::new(&r, ReceiptView::Created)),
            format!(
                concat!(
                    r#"{{"custid":"anon","metadata_key":"{m}","secret_key":"{s}","ttl":3600,"#,
                    r#""metadata_ttl":7200,"secret_ttl":3600,"#,
                    r#""metadata_url":"https://ots.example/receipt/{m}","state":"new","#,
                    r#""updated":1780000001,"created":1780000000,"recipient":[],"#,
                    r#""share_domain":"","passphrase_required":false,"identifier":"{m}","#,
                    r#""secret_identifier":"{s}","has_passphrase":false,"recipients":[],"#,
                    r#""receipt_ttl":7200,"receipt_url":"https://ots.example/receipt/{m}","#,
                    r#""share_url":"https://ots.example/secret/{s}"}}"#
                ),
                m = MKEY,
                s = SKEY
            )
        );
    }

    /// Text from upstream or from callers (custid, recipients, share domain, a generated value)
    /// is escaped wherever it appears, and reads back unchanged.
    #[test]
    fn text_that_needs_escaping_is_escaped_everywhere() {
        let awkward = "a \"quoted\" \\ back\tslash\n\u{1}é🔑";
        let mut r = receipt(ReceiptState::New);
        r.custid = awkward.into();
        r.recipients = vec![awkward.into(), "plain@example.com".into()];
        r.share_domain = awkward.into();
        r.value = Some(SecretText::new(awkward));
        r.metadata_url = Some(awkward.into());
        let v = to_value(&ReceiptBody::new(&r, ReceiptView::Created));
        for field in [
            "custid",
            "share_domain",
            "value",
            "secret_value",
            "metadata_url",
        ] {
            assert_eq!(v[field], awkward, "{field}");
        }
        assert_eq!(v["recipient"], json!([awkward, "plain@example.com"]));
        assert_eq!(v["recipients"], v["recipient"]);
    }

    #[test]
    fn share_url_only_on_created_views() {
        let r = receipt(ReceiptState::New);
        let v = to_value(&ReceiptBody::new(&r, ReceiptView::Plain));
        assert!(v.get("share_url").is_none());
    }

    #[test]
    fn a_received_receipt_drops_secret_key_and_ttl_and_gains_received() {
        let mut r = receipt(ReceiptState::Received);
        r.secret_key = None;
        r.secret_ttl = None;
        r.received = Some(1_780_000_100);
        let v = to_value(&ReceiptBody::new(&r, ReceiptView::Plain));
        assert!(v.get("secret_key").is_none());
        assert!(v.get("secret_ttl").is_none());
        assert_eq!(v["received"], 1_780_000_100);
        assert_eq!(v["state"], "received");
    }

    #[test]
    fn a_gone_secret_has_empty_key_and_null_ttl() {
        let mut r = receipt(ReceiptState::Burned);
        r.secret_key = None;
        r.secret_ttl = None;
        r.passphrase_required = None;
        let v = to_value(&ReceiptBody::new(&r, ReceiptView::Plain));
        assert_eq!(v["secret_key"], "");
        assert_eq!(v["secret_ttl"], Value::Null);
        assert!(v.get("received").is_none());
        assert!(v.get("passphrase_required").is_none());
        assert!(v.get("has_passphrase").is_none());
    }

    #[test]
    fn values_appear_with_their_alias() {
        let mut r = receipt(ReceiptState::New);
        r.value = Some(SecretText::new("generated"));
        let v = to_value(&ReceiptBody::new(&r, ReceiptView::Created));
        assert_eq!(v["value"], "generated");
        assert_eq!(v["secret_value"], "generated");
    }

    #[test]
    fn recent_items_have_no_secret_key() {
        let mut r = receipt(ReceiptState::New);
        r.passphrase_required = None;
        r.secret_ttl = None;
        let v = to_value(&ReceiptBody::new(&r, ReceiptView::Recent));
        assert!(v.get("secret_key").is_none());
        assert_eq!(v["secret_identifier"], SKEY);
        assert_eq!(v["metadata_key"], MKEY);
    }

    /// The whole `recent` response, as the client reads it: a JSON array of receipt views in the
    /// receipts' order, `[]` when there are none.
    #[tokio::test]
    async fn recent_renders_every_receipt_as_a_recent_view_in_order() {
        use http_body_util::BodyExt;

        let read = |response: Response| async move {
            assert_eq!(response.status(), StatusCode::OK);
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            serde_json::from_slice::<Value>(&bytes).expect("JSON")
        };
        assert_eq!(read(recent(&[])).await, json!([]));

        let first = receipt(ReceiptState::New);
        let mut second = receipt(ReceiptState::Received);
        second.custid = "second@example.com".into();
        let list = read(recent(&[first.clone(), second.clone()])).await;
        assert_eq!(
            list,
            json!([
                to_value(&ReceiptBody::new(&first, ReceiptView::Recent)),
                to_value(&ReceiptBody::new(&second, ReceiptView::Recent)),
            ])
        );
        assert!(list[0].get("secret_key").is_none());
    }

    #[test]
    fn burn_nests_the_receipt_under_state() {
        let burned = Burned {
            receipt: receipt(ReceiptState::New),
            secret_shortkey: "ssssssss".into(),
        };
        let v = to_value(&BurnBody::new(&burned));
        assert_eq!(v["secret_shortkey"], "ssssssss");
        assert_eq!(v["state"]["metadata_key"], MKEY);
    }

    #[test]
    fn reveal_and_status_shapes() {
        let revealed = Revealed {
            value: SecretText::new("v"),
            secret_key: SecretKey::parse(SKEY).unwrap(),
            share_domain: "https://ots.example".into(),
        };
        assert_eq!(
            serde_json::to_string(&RevealBody::new(&revealed)).unwrap(),
            format!(
                r#"{{"value":"v","secret_key":"{SKEY}","share_domain":"https://ots.example"}}"#
            )
        );
        let status = UpstreamStatus {
            status: "nominal".into(),
            locale: "en".into(),
        };
        assert_eq!(
            serde_json::to_string(&ServerStatusBody::new(&status)).unwrap(),
            r#"{"status":"nominal","locale":"en"}"#
        );
    }
}
