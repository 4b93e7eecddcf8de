//! Writes go out exactly once; reads are retried exactly `read_retries` extra times.

use super::fake::{Answer, FakeOts, current_receipt, key_of_len};
use crate::error::{Error, UpstreamFailure};
use crate::model::{
    CreateOptions, GenerateRequest, ReceiptKey, SecretKey, SecretText, ShareRequest,
};
use crate::ots::OtsClient;

const READ_RETRIES: u32 = 2;

fn share_request() -> ShareRequest {
    ShareRequest {
        secret: SecretText::new("s3cr3t"),
        options: CreateOptions::default(),
    }
}

/// Runs every write once against a fresh fake giving `answer`, returning how often each reached it.
async fn write_hits(
    answer: Answer,
    client_for: fn(&FakeOts) -> OtsClient,
) -> Vec<(&'static str, usize)> {
    let secret_key = SecretKey::parse(&key_of_len('s', 62)).expect("key");
    let receipt_key = ReceiptKey::parse(&key_of_len('m', 62)).expect("key");
    let mut hits = Vec::new();

    let fake = FakeOts::answering(answer.clone()).await;
    let outcome = client_for(&fake).share(&share_request()).await;
    assert!(outcome.is_err());
    hits.push(("share", fake.hits()));

    let fake = FakeOts::answering(answer.clone()).await;
    let outcome = client_for(&fake)
        .generate(&GenerateRequest::default())
        .await;
    assert!(outcome.is_err());
    hits.push(("generate", fake.hits()));

    let fake = FakeOts::answering(answer.clone()).await;
    let outcome = client_for(&fake).retrieve(&secret_key, None).await;
    assert!(outcome.is_err());
    hits.push(("retrieve", fake.hits()));

    let fake = FakeOts::answering(answer).await;
    let outcome = client_for(&fake).burn(&receipt_key, None).await;
    assert!(outcome.is_err());
    hits.push(("burn", fake.hits()));
    hits
}

#[tokio::test]
async fn writes_are_sent_once_when_the_server_fails() {
    let hits = write_hits(Answer::text(500, "boom"), FakeOts::anonymous_client).await;
    assert_eq!(
        hits,
        vec![("share", 1), ("generate", 1), ("retrieve", 1), ("burn", 1)]
    );
}

#[tokio::test]
async fn writes_are_sent_once_when_they_time_out() {
    let hits = write_hits(Answer::Hang, FakeOts::impatient_client).await;
    assert_eq!(
        hits,
        vec![("share", 1), ("generate", 1), ("retrieve", 1), ("burn", 1)]
    );
}

#[tokio::test]
async fn reads_are_retried_exactly_the_configured_times_on_a_server_error() {
    let expected = 1 + READ_RETRIES as usize;
    let receipt_key = ReceiptKey::parse(&key_of_len('m', 62)).expect("key");

    let fake = FakeOts::answering(Answer::text(503, "busy")).await;
    let err = fake.team_client().status().await.expect_err("503");
    assert!(matches!(err, Error::Upstream(UpstreamFailure::Status(503))));
    assert_eq!(fake.hits(), expected, "status");

    let fake = FakeOts::answering(Answer::text(500, "boom")).await;
    assert!(fake.team_client().receipt(&receipt_key).await.is_err());
    assert_eq!(fake.hits(), expected, "receipt");

    let fake = FakeOts::answering(Answer::text(502, "bad gateway")).await;
    assert!(fake.team_client().authcheck().await.is_err());
    assert_eq!(fake.hits(), expected, "authcheck");

    let fake = FakeOts::answering(Answer::text(500, "boom")).await;
    assert!(fake.team_client().recent().await.is_err());
    assert_eq!(fake.hits(), expected, "recent");
}

#[tokio::test]
async fn reads_are_retried_on_timeouts() {
    let expected = 1 + READ_RETRIES as usize;
    let fake = FakeOts::answering(Answer::Hang).await;
    let err = fake.impatient_client().status().await.expect_err("timeout");
    assert!(matches!(err, Error::Upstream(UpstreamFailure::Timeout)));
    assert_eq!(fake.hits(), expected, "status");

    let fake = FakeOts::answering(Answer::Hang).await;
    let receipt_key = ReceiptKey::parse(&key_of_len('m', 62)).expect("key");
    assert!(fake.impatient_client().receipt(&receipt_key).await.is_err());
    assert_eq!(fake.hits(), expected, "receipt");
}

#[tokio::test]
async fn reads_are_not_retried_on_a_definite_answer() {
    let fake = FakeOts::answering(Answer::ots_error("Unknown secret")).await;
    let receipt_key = ReceiptKey::parse(&key_of_len('m', 62)).expect("key");
    let err = fake
        .team_client()
        .receipt(&receipt_key)
        .await
        .expect_err("unknown");
    assert!(matches!(err, Error::UnknownSecret));
    assert_eq!(fake.hits(), 1);
}

#[tokio::test]
async fn a_read_succeeds_once_the_server_recovers() {
    let m = key_of_len('m', 62);
    let body = current_receipt(&m, &key_of_len('s', 62));
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let fake = FakeOts::scripted(move |_| {
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            Answer::text(503, "busy")
        } else {
            Answer::ok(body.clone())
        }
    })
    .await;
    let receipt_key = ReceiptKey::parse(&m).expect("key");
    let receipt = fake
        .team_client()
        .receipt(&receipt_key)
        .await
        .expect("recovered");
    assert_eq!(receipt.metadata_key, receipt_key);
    assert_eq!(fake.hits(), 2);
}

#[tokio::test]
async fn no_retries_configured_means_one_attempt() {
    let fake = FakeOts::answering(Answer::text(503, "busy")).await;
    let client = OtsClient::new(crate::ots::OtsClientConfig {
        read_retries: 0,
        ..fake.config()
    })
    .expect("client");
    assert!(client.status().await.is_err());
    assert_eq!(fake.hits(), 1);
}
