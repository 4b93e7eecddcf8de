//! `upstream.api`: detection, per-call fall-back, and writes sent once on v2 as on v1. The fakes
//! play servers the simulator cannot: a v0.23 release with its older v2 status, and a server
//! whose v2 passes the probe but fails (#2610).

use serde_json::json;

use super::fake::{Answer, FakeOts, Seen, current_receipt, key_of_len};
use crate::error::{Error, UpstreamFailure};
use crate::model::{
    CreateOptions, GenerateRequest, ReceiptKey, SecretKey, SecretText, ShareRequest,
};
use crate::ots::{ApiChoice, ApiVersion, OtsClient, OtsClientConfig};

fn client(fake: &FakeOts, api: ApiChoice) -> OtsClient {
    OtsClient::new(OtsClientConfig {
        api,
        ..fake.config()
    })
    .expect("client builds")
}

fn share_request() -> ShareRequest {
    ShareRequest {
        secret: SecretText::new("api-choice-value"),
        options: CreateOptions {
            ttl: Some(600),
            passphrase: None,
            recipient: None,
            share_domain: None,
        },
    }
}

fn current_v2_status() -> Answer {
    Answer::ok(json!({"success": true, "status": "nominal", "locale": "en"}))
}

fn paths(fake: &FakeOts) -> Vec<String> {
    fake.requests()
        .into_iter()
        .map(|seen| format!("{} {}", seen.method, seen.path))
        .collect()
}

fn v2_route_missing() -> Answer {
    Answer::json(404, json!({"error": "Not Found", "error_type": "NotFound"}))
}

#[tokio::test]
async fn a_v0_23_status_without_success_counts_as_v1() {
    let fake = FakeOts::scripted(|seen: &Seen| match seen.path.as_str() {
        // v0.16–v0.23 answer here too, but their v2 is not the one this client speaks.
        "/api/v2/status" => Answer::ok(json!({"status": "nominal", "locale": "en"})),
        _ => Answer::ok(json!({"status": "nominal", "locale": "en"})),
    })
    .await;
    let ots = client(&fake, ApiChoice::Auto);
    ots.status().await.expect("status");
    ots.status().await.expect("status again");
    assert_eq!(
        paths(&fake),
        [
            "GET /api/v2/status",
            "GET /api/v1/status",
            "GET /api/v1/status"
        ],
        "probed once, then v1"
    );
    assert_eq!(ots.api_in_use().api, Some(ApiVersion::V1));
    assert!(
        fake.requests()[0].header("authorization").is_none(),
        "the probe carries no credentials"
    );
}

#[tokio::test]
async fn a_v1_only_server_is_detected_by_its_404() {
    let fake = FakeOts::scripted(|seen: &Seen| match seen.path.as_str() {
        "/api/v2/status" => Answer::text(404, "Not Found"),
        _ => Answer::ok(json!({"status": "nominal", "locale": "en"})),
    })
    .await;
    let ots = client(&fake, ApiChoice::Auto);
    ots.status().await.expect("status");
    assert_eq!(paths(&fake), ["GET /api/v2/status", "GET /api/v1/status"]);
}

#[tokio::test]
async fn a_current_server_is_spoken_to_in_v2() {
    let fake = FakeOts::answering(current_v2_status()).await;
    let ots = client(&fake, ApiChoice::Auto);
    assert_eq!(ots.status().await.expect("status").status, "nominal");
    assert_eq!(paths(&fake), ["GET /api/v2/status", "GET /api/v2/status"]);
    assert_eq!(ots.api_in_use().api, Some(ApiVersion::V2));
}

#[tokio::test]
async fn a_forced_api_never_probes() {
    let fake = FakeOts::answering(current_v2_status()).await;
    client(&fake, ApiChoice::V2).status().await.expect("status");
    client(&fake, ApiChoice::V1).status().await.expect("status");
    assert_eq!(paths(&fake), ["GET /api/v2/status", "GET /api/v1/status"]);
}

/// #2610: the probe passes, v2 conceal fails. The failed write is not re-sent on v1 (it may
/// have taken effect); the next one goes to v1, and the switch is visible.
#[tokio::test]
async fn a_write_failing_on_v2_is_not_resent_and_the_next_call_uses_v1() {
    let m = key_of_len('m', 62);
    let s = key_of_len('s', 62);
    let v1_receipt = current_receipt(&m, &s);
    let fake = FakeOts::scripted(move |seen: &Seen| match seen.path.as_str() {
        "/api/v2/status" => current_v2_status(),
        "/api/v1/share" => Answer::ok(v1_receipt.clone()),
        _ => v2_route_missing(),
    })
    .await;
    let ots = client(&fake, ApiChoice::Auto);
    let first = ots.share(&share_request()).await;
    assert!(
        matches!(first, Err(Error::Upstream(UpstreamFailure::Status(404)))),
        "{first:?}"
    );
    assert_eq!(
        paths(&fake),
        ["GET /api/v2/status", "POST /api/v2/secret/conceal"],
        "the failed write was sent once and not repeated on v1"
    );
    let in_use = ots.api_in_use();
    assert_eq!(in_use.api, Some(ApiVersion::V1));
    assert!(in_use.fell_back);
    assert_eq!(in_use.fallbacks, 1);

    let second = ots.share(&share_request()).await.expect("v1 share");
    assert_eq!(second.metadata_key.as_str(), m);
    assert_eq!(
        paths(&fake).last().map(String::as_str),
        Some("POST /api/v1/share")
    );
}

/// Reads change nothing, so a read that finds v2 broken is answered from v1 in the same call.
#[tokio::test]
async fn a_read_failing_on_v2_is_answered_from_v1_in_the_same_call() {
    let m = key_of_len('m', 62);
    let s = key_of_len('s', 62);
    let v1_receipt = current_receipt(&m, &s);
    let private = format!("/api/v1/private/{m}");
    let fake = FakeOts::scripted(move |seen: &Seen| match seen.path.as_str() {
        "/api/v2/status" => current_v2_status(),
        path if path == private => Answer::ok(v1_receipt.clone()),
        _ => Answer::text(500, "boom"),
    })
    .await;
    let ots = OtsClient::new(OtsClientConfig {
        api: ApiChoice::Auto,
        read_retries: 0,
        ..fake.config()
    })
    .expect("client");
    let key = ReceiptKey::parse(&m).expect("key");
    let receipt = ots.receipt(&key).await.expect("answered from v1");
    assert_eq!(receipt.metadata_key, key);
    assert_eq!(
        paths(&fake),
        [
            "GET /api/v2/status".to_owned(),
            format!("GET /api/v2/receipt/{m}"),
            format!("GET /api/v1/private/{m}"),
        ]
    );
    assert!(ots.api_in_use().fell_back);
}

/// The same guarantee as v1's (`retries`): conceal, generate, reveal and burn go out once, even
/// when the answer is a 503 that would make a read try again.
#[tokio::test]
async fn v2_writes_are_sent_exactly_once() {
    let fake = FakeOts::answering(Answer::text(503, "busy")).await;
    let ots = client(&fake, ApiChoice::V2);
    let secret = SecretKey::parse(&key_of_len('s', 62)).expect("key");
    let receipt = ReceiptKey::parse(&key_of_len('m', 62)).expect("key");
    assert!(ots.share(&share_request()).await.is_err());
    assert!(ots.generate(&GenerateRequest::default()).await.is_err());
    assert!(ots.retrieve(&secret, None).await.is_err());
    assert!(ots.burn(&receipt, None).await.is_err());
    assert_eq!(
        paths(&fake),
        [
            "POST /api/v2/secret/conceal".to_owned(),
            "POST /api/v2/secret/generate".to_owned(),
            format!("POST /api/v2/secret/{}/reveal", secret.as_str()),
            format!("POST /api/v2/receipt/{}/burn", receipt.as_str()),
        ]
    );
}

#[tokio::test]
async fn v2_requests_nest_create_fields_and_confirm_reveal_and_burn() {
    let fake = FakeOts::answering(Answer::text(503, "busy")).await;
    let ots = client(&fake, ApiChoice::V2);
    let secret = SecretKey::parse(&key_of_len('s', 62)).expect("key");
    let _ = ots.share(&share_request()).await;
    let _ = ots
        .retrieve(&secret, Some(&crate::model::Passphrase::new("pass-1234")))
        .await;
    let seen = fake.requests();
    assert_eq!(
        seen[0].json(),
        json!({"secret": {"secret": "api-choice-value", "ttl": 600}})
    );
    assert_eq!(
        seen[1].json(),
        json!({"continue": true, "passphrase": "pass-1234"})
    );
}

/// v2's status ignores credentials, so a team client checks them after a status; a check that
/// passed moments ago stands in for the next one, until a call is refused for its credentials.
#[tokio::test]
async fn a_v2_status_checks_credentials_again_only_after_a_refusal() {
    let refuse_conceal = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let refusing = std::sync::Arc::clone(&refuse_conceal);
    let fake = FakeOts::scripted(move |seen: &Seen| match seen.path.as_str() {
        "/api/v2/secret/conceal" if refusing.load(std::sync::atomic::Ordering::SeqCst) => {
            Answer::json(401, json!({"error": "Not authorized"}))
        }
        // What an accepted credential check gets: the probe's receipt id does not exist.
        path if path.starts_with("/api/v2/receipt/") => Answer::json(
            404,
            json!({"error_type": "RecordNotFound", "request_id": "x"}),
        ),
        _ => current_v2_status(),
    })
    .await;
    let ots = OtsClient::new(OtsClientConfig {
        api: ApiChoice::V2,
        credentials: Some(crate::model::Credentials::new(
            "team@example.com",
            "team-key",
        )),
        ..fake.config()
    })
    .expect("client builds");
    let authchecks = |fake: &FakeOts| {
        paths(fake)
            .iter()
            .filter(|path| path.starts_with("GET /api/v2/receipt/"))
            .count()
    };
    ots.status().await.expect("status");
    ots.status().await.expect("status again");
    assert_eq!(
        authchecks(&fake),
        1,
        "the second status relies on the first check"
    );
    assert!(matches!(
        ots.share(&share_request()).await,
        Err(Error::NotAuthorized)
    ));
    ots.status().await.expect("status after the refusal");
    assert_eq!(
        authchecks(&fake),
        2,
        "a refusal makes the next status check again"
    );
}
