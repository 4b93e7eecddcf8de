//! Success bodies of every operation, in the current and the v0.23 shape.

use serde_json::json;

use super::fake::{Answer, FakeOts, current_receipt, key_of_len};
use crate::error::{Error, UpstreamFailure};
use crate::model::{
    CreateOptions, GenerateRequest, ReceiptKey, ReceiptState, SecretKey, SecretText, ShareRequest,
};

fn share_request() -> ShareRequest {
    ShareRequest {
        secret: SecretText::new("s3cr3t"),
        options: CreateOptions::default(),
    }
}

fn receipt_key(raw: &str) -> ReceiptKey {
    ReceiptKey::parse(raw).expect("valid key")
}

/// A receipt as v0.23 sent it: 31-character keys, `viewed`, no `metadata_url` or aliases, and
/// numbers that have passed through something which made them strings.
fn classic_receipt(metadata_key: &str, secret_key: &str) -> serde_json::Value {
    json!({
        "custid": "team@example.com",
        "metadata_key": metadata_key,
        "secret_key": secret_key,
        "ttl": "3600",
        "metadata_ttl": 7199,
        "secret_ttl": "3599",
        "state": "viewed",
        "updated": "1700000001",
        "created": 1_700_000_000,
        "recipient": ["al*****@e*****.com"],
        "shrimp": "ignored",
    })
}

#[tokio::test]
async fn share_reads_the_current_shape() {
    let (m, s) = (key_of_len('m', 62), key_of_len('s', 62));
    let fake = FakeOts::answering(Answer::ok(current_receipt(&m, &s))).await;
    let receipt = fake
        .anonymous_client()
        .share(&share_request())
        .await
        .expect("share");
    assert_eq!(receipt.metadata_key.as_str(), m);
    assert_eq!(
        receipt.secret_key.as_ref().map(SecretKey::as_str),
        Some(s.as_str())
    );
    assert_eq!(receipt.custid, "anon");
    assert_eq!((receipt.ttl, receipt.metadata_ttl), (3600, 7200));
    assert_eq!(receipt.secret_ttl, Some(3600));
    assert_eq!(receipt.state, ReceiptState::New);
    assert_eq!(
        (receipt.created, receipt.updated),
        (1_780_000_000, 1_780_000_000)
    );
    assert_eq!(receipt.received, None);
    assert!(receipt.recipients.is_empty());
    assert_eq!(receipt.passphrase_required, Some(false));
    assert!(receipt.value.is_none());
    assert_eq!(
        receipt.metadata_url.as_deref(),
        Some(format!("https://onetimesecret.com/receipt/{m}").as_str())
    );
    let expected_link = format!("{}secret/{s}", fake.base_url);
    assert_eq!(receipt.share_url.as_deref(), Some(expected_link.as_str()));
}

#[tokio::test]
async fn the_current_aliases_stand_in_for_the_classic_names() {
    let (m, s) = (key_of_len('m', 62), key_of_len('s', 62));
    let fake = FakeOts::answering(Answer::ok(json!({
        "metadata_key": "",
        "identifier": m,
        "secret_identifier": s,
        "ttl": 600,
        "receipt_ttl": 1200,
        "secret_ttl": 600,
        "receipt_url": "https://ots.example/receipt/x",
        "state": "new",
        "recipients": ["al***@e***.com"],
        "has_passphrase": true,
        "share_domain": "secrets.acme.test",
        "secret_value": "generated-pw",
    })))
    .await;
    let receipt = fake
        .anonymous_client()
        .generate(&GenerateRequest::default())
        .await
        .expect("generate");
    assert_eq!(receipt.metadata_key.as_str(), m);
    assert_eq!(
        receipt.secret_key.as_ref().map(SecretKey::as_str),
        Some(s.as_str())
    );
    assert_eq!(receipt.metadata_ttl, 1200);
    assert_eq!(
        receipt.metadata_url.as_deref(),
        Some("https://ots.example/receipt/x")
    );
    assert_eq!(receipt.recipients, vec!["al***@e***.com".to_owned()]);
    assert_eq!(receipt.passphrase_required, Some(true));
    assert_eq!(
        receipt.value.as_ref().map(SecretText::expose),
        Some("generated-pw")
    );
    let expected_link = format!("https://secrets.acme.test/secret/{s}");
    assert_eq!(receipt.share_url.as_deref(), Some(expected_link.as_str()));
}

#[tokio::test]
async fn generate_returns_the_generated_value() {
    let (m, s) = (key_of_len('m', 62), key_of_len('s', 62));
    let mut body = current_receipt(&m, &s);
    body["value"] = json!("Xk7#pQ2!mZ9w");
    body["secret_value"] = json!("Xk7#pQ2!mZ9w");
    let fake = FakeOts::answering(Answer::ok(body)).await;
    let receipt = fake
        .anonymous_client()
        .generate(&GenerateRequest::default())
        .await
        .expect("generate");
    assert_eq!(
        receipt.value.as_ref().map(SecretText::expose),
        Some("Xk7#pQ2!mZ9w")
    );
}

#[tokio::test]
async fn receipt_reads_the_v0_23_shape() {
    let (m, s) = (key_of_len('m', 31), key_of_len('s', 31));
    let fake = FakeOts::answering(Answer::ok(classic_receipt(&m, &s))).await;
    let receipt = fake
        .anonymous_client()
        .receipt(&receipt_key(&m))
        .await
        .expect("receipt");
    assert_eq!(receipt.metadata_key.as_str(), m);
    assert_eq!(receipt.state, ReceiptState::Viewed);
    assert_eq!((receipt.ttl, receipt.metadata_ttl), (3600, 7199));
    assert_eq!(receipt.secret_ttl, Some(3599));
    assert_eq!(
        (receipt.created, receipt.updated),
        (1_700_000_000, 1_700_000_001)
    );
    assert_eq!(receipt.metadata_url, None);
    assert_eq!(receipt.passphrase_required, None);
    assert_eq!(receipt.share_domain, "");
    assert_eq!(receipt.recipients, vec!["al*****@e*****.com".to_owned()]);
    let expected_link = format!("{}secret/{s}", fake.base_url);
    assert_eq!(receipt.share_url.as_deref(), Some(expected_link.as_str()));
}

#[tokio::test]
async fn a_received_receipt_has_no_key_or_link_even_if_the_alias_leaks_it() {
    let m = key_of_len('m', 62);
    let fake = FakeOts::answering(Answer::ok(json!({
        "custid": "anon",
        "metadata_key": m,
        "secret_identifier": key_of_len('s', 62),
        "ttl": 3600,
        "metadata_ttl": 5000,
        "state": "received",
        "received": 1_780_000_100,
        "created": 1_780_000_000,
        "updated": 1_780_000_100,
        "recipient": [],
        "share_domain": "",
        "passphrase_required": false,
    })))
    .await;
    let receipt = fake
        .anonymous_client()
        .receipt(&receipt_key(&m))
        .await
        .expect("receipt");
    assert_eq!(receipt.state, ReceiptState::Received);
    assert_eq!(receipt.received, Some(1_780_000_100));
    assert!(receipt.secret_key.is_none());
    assert_eq!(receipt.secret_ttl, None);
    assert!(receipt.share_url.is_none());
}

#[tokio::test]
async fn a_burned_receipt_with_a_blank_key_and_null_ttl_is_read() {
    let m = key_of_len('m', 62);
    let fake = FakeOts::answering(Answer::ok(json!({
        "metadata_key": m, "secret_key": "", "secret_ttl": null, "state": "burned",
        "ttl": 3600, "metadata_ttl": null, "created": null,
    })))
    .await;
    let receipt = fake
        .anonymous_client()
        .receipt(&receipt_key(&m))
        .await
        .expect("receipt");
    assert_eq!(receipt.state, ReceiptState::Burned);
    assert!(receipt.secret_key.is_none() && receipt.share_url.is_none());
    assert_eq!(
        (receipt.secret_ttl, receipt.metadata_ttl, receipt.created),
        (None, 0, 0)
    );
}

#[tokio::test]
async fn an_unknown_state_survives_verbatim() {
    let (m, s) = (key_of_len('m', 62), key_of_len('s', 62));
    let mut body = current_receipt(&m, &s);
    body["state"] = json!("previewed");
    let fake = FakeOts::answering(Answer::ok(body)).await;
    let receipt = fake
        .anonymous_client()
        .receipt(&receipt_key(&m))
        .await
        .expect("receipt");
    assert_eq!(receipt.state, ReceiptState::Other("previewed".into()));
    assert!(receipt.share_url.is_some());
}

#[tokio::test]
async fn retrieve_reads_value_key_and_domain() {
    let s = key_of_len('s', 62);
    let fake = FakeOts::answering(Answer::ok(json!({
        "value": "the launch codes",
        "secret_key": s,
        "share_domain": "https://onetimesecret.com",
    })))
    .await;
    let key = SecretKey::parse(&s).expect("key");
    let revealed = fake
        .anonymous_client()
        .retrieve(&key, None)
        .await
        .expect("retrieve");
    assert_eq!(revealed.value.expose(), "the launch codes");
    assert_eq!(revealed.secret_key, key);
    assert_eq!(revealed.share_domain, "https://onetimesecret.com");
}

#[tokio::test]
async fn retrieve_reads_the_v0_23_shape_without_domain_or_key() {
    let s = key_of_len('s', 31);
    let fake = FakeOts::answering(Answer::ok(json!({"value": "old"}))).await;
    let key = SecretKey::parse(&s).expect("key");
    let revealed = fake
        .anonymous_client()
        .retrieve(&key, None)
        .await
        .expect("retrieve");
    assert_eq!(revealed.value.expose(), "old");
    assert_eq!(revealed.secret_key, key);
    assert_eq!(revealed.share_domain, "");
}

#[tokio::test]
async fn burn_reads_the_nested_pre_burn_receipt() {
    let (m, s) = (key_of_len('m', 62), key_of_len('s', 62));
    let mut nested = current_receipt(&m, &s);
    nested["secret_ttl"] = json!(null);
    let fake = FakeOts::answering(Answer::ok(json!({
        "state": nested, "secret_shortkey": &s[..8],
    })))
    .await;
    let burned = fake
        .anonymous_client()
        .burn(&receipt_key(&m), None)
        .await
        .expect("burn");
    assert_eq!(burned.secret_shortkey, &s[..8]);
    assert_eq!(burned.receipt.metadata_key.as_str(), m);
    assert_eq!(burned.receipt.state, ReceiptState::New);
    assert!(
        burned.receipt.share_url.is_none(),
        "a burned secret has no link"
    );
}

#[tokio::test]
async fn burn_reads_the_v0_23_shape() {
    let (m, s) = (key_of_len('m', 31), key_of_len('s', 31));
    let fake = FakeOts::answering(Answer::ok(json!({
        "state": classic_receipt(&m, &s), "secret_shortkey": &s[..6],
    })))
    .await;
    let burned = fake
        .anonymous_client()
        .burn(&receipt_key(&m), None)
        .await
        .expect("burn");
    assert_eq!(burned.secret_shortkey, &s[..6]);
    assert_eq!(burned.receipt.state, ReceiptState::Viewed);
}

#[tokio::test]
async fn recent_reads_a_list_and_drops_leaked_secret_keys() {
    let (m1, s1) = (key_of_len('m', 62), key_of_len('s', 62));
    let mut current = current_receipt(&m1, &s1);
    current
        .as_object_mut()
        .map(|item| item.remove("secret_key"));
    current["secret_ttl"] = json!(null);
    let m2 = key_of_len('n', 31);
    let fake = FakeOts::answering(Answer::ok(json!([
        current,
        {"metadata_key": m2, "state": "received", "ttl": 60, "unknown_field": {"x": 1}},
    ])))
    .await;
    let recent = fake.team_client().recent().await.expect("recent");
    assert_eq!(recent.len(), 2);
    assert_eq!(recent[0].metadata_key.as_str(), m1);
    assert!(
        recent
            .iter()
            .all(|r| r.secret_key.is_none() && r.share_url.is_none())
    );
    assert_eq!(recent[1].state, ReceiptState::Received);
    assert_eq!(recent[0].secret_ttl, None);
}

#[tokio::test]
async fn status_and_authcheck_read_status_and_locale() {
    let fake = FakeOts::answering(Answer::ok(json!({"status": "nominal", "locale": "de"}))).await;
    let client = fake.team_client();
    for status in [client.status().await, client.authcheck().await] {
        let status = status.expect("status");
        assert_eq!(
            (status.status.as_str(), status.locale.as_str()),
            ("nominal", "de")
        );
    }
}

#[tokio::test]
async fn a_receipt_without_a_usable_key_is_malformed() {
    for body in [
        json!({"state": "new", "ttl": 3600}),
        json!({"metadata_key": "has/slash", "state": "new"}),
        json!({"metadata_key": key_of_len('m', 62), "secret_key": "bad key!"}),
        json!([]),
    ] {
        let fake = FakeOts::answering(Answer::ok(body.clone())).await;
        let err = fake
            .anonymous_client()
            .share(&share_request())
            .await
            .expect_err("malformed");
        assert!(
            matches!(err, Error::Upstream(UpstreamFailure::MalformedResponse)),
            "{body}: {err:?}"
        );
    }
}
