//! Every way an exchange can fail, and the core error each one becomes.

use std::time::Duration;

use serde_json::json;

use super::fake::{Answer, FakeOts, key_of_len};
use crate::error::{Error, RateLimitScope, UpstreamFailure};
use crate::model::{CreateOptions, SecretKey, SecretText, ShareRequest};
use crate::ots::{OtsClient, OtsClientConfig};

fn share_request() -> ShareRequest {
    ShareRequest {
        secret: SecretText::new("s3cr3t"),
        options: CreateOptions::default(),
    }
}

/// The error a share gets when the server gives `answer`.
async fn share_error(answer: Answer) -> Error {
    let fake = FakeOts::answering(answer).await;
    fake.anonymous_client()
        .share(&share_request())
        .await
        .expect_err("the fake refuses")
}

async fn retrieve_error(answer: Answer) -> Error {
    let fake = FakeOts::answering(answer).await;
    let key = SecretKey::parse(&key_of_len('s', 62)).expect("key");
    fake.anonymous_client()
        .retrieve(&key, None)
        .await
        .expect_err("the fake refuses")
}

#[tokio::test]
async fn unknown_secret() {
    let body = json!({"secret_key": key_of_len('s', 62), "message": "Unknown secret"});
    let err = retrieve_error(Answer::json(404, body)).await;
    assert!(matches!(err, Error::UnknownSecret), "{err:?}");
}

#[tokio::test]
async fn incorrect_passphrase() {
    let answer =
        Answer::ots_error("Incorrect passphrase").with_header("x-ots-intended-status", "400");
    let err = retrieve_error(answer).await;
    assert!(matches!(err, Error::IncorrectPassphrase), "{err:?}");
}

#[tokio::test]
async fn not_authorized_with_and_without_the_intended_status() {
    for answer in [
        Answer::ots_error("Not authorized"),
        Answer::ots_error("Not authorized").with_header("x-ots-intended-status", "401"),
    ] {
        let err = share_error(answer).await;
        assert!(matches!(err, Error::NotAuthorized), "{err:?}");
    }
}

#[tokio::test]
async fn rate_limit_messages_of_both_releases() {
    let current = Answer::ots_error("Rate limit exceeded. Please try again later.")
        .with_header("x-ots-intended-status", "400")
        .with_header("retry-after", "30");
    let err = share_error(current).await;
    assert!(
        matches!(
            err,
            Error::RateLimited {
                scope: RateLimitScope::Upstream,
                retry_after: Some(wait)
            } if wait == Duration::from_secs(30)
        ),
        "{err:?}"
    );

    let classic = Answer::json(
        404,
        json!({"message": "Cripes! You have been rate limited.", "shrimp": "abc123"}),
    );
    let err = share_error(classic).await;
    assert!(
        matches!(
            err,
            Error::RateLimited {
                scope: RateLimitScope::Upstream,
                retry_after: None
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_real_429_with_retry_after() {
    let answer = Answer::text(429, "slow down").with_header("retry-after", "7");
    let err = share_error(answer).await;
    assert!(
        matches!(
            err,
            Error::RateLimited {
                scope: RateLimitScope::Upstream,
                retry_after: Some(wait)
            } if wait == Duration::from_secs(7)
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn secret_too_large_carries_the_limit() {
    let answer = Answer::ots_error("Secret value exceeds the maximum size of 10000 bytes")
        .with_header("x-ots-intended-status", "400");
    let err = share_error(answer).await;
    assert!(
        matches!(err, Error::SecretTooLarge { max_bytes: 10_000 }),
        "{err:?}"
    );
}

#[tokio::test]
async fn other_messages_are_refusals_with_the_intended_status() {
    let answer = Answer::ots_error("You did not provide anything to share")
        .with_header("x-ots-intended-status", "400");
    let err = share_error(answer).await;
    match err {
        Error::Refused {
            message,
            intended_status,
        } => {
            assert_eq!(message, "You did not provide anything to share");
            assert_eq!(intended_status, Some(400));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_v0_23_unexpected_error_is_a_refusal_without_intended_status() {
    let answer = Answer::json(
        404,
        json!({"message": "An unexpected error occurred :[", "shrimp": "abc"}),
    );
    let err = share_error(answer).await;
    assert!(
        matches!(
            &err,
            Error::Refused { message, intended_status: None }
                if message == "An unexpected error occurred :["
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_missing_route_is_an_upstream_404() {
    let err = share_error(Answer::json(404, json!({"error": "Not Found"}))).await;
    assert!(
        matches!(err, Error::Upstream(UpstreamFailure::Status(404))),
        "{err:?}"
    );
}

#[tokio::test]
async fn server_errors_and_bad_requests_are_upstream_statuses() {
    let err = share_error(Answer::text(500, "Internal Server Error")).await;
    assert!(
        matches!(err, Error::Upstream(UpstreamFailure::Status(500))),
        "{err:?}"
    );
    let body = json!({"error": "Failed to parse body as JSON"});
    let err = share_error(Answer::json(400, body)).await;
    assert!(
        matches!(err, Error::Upstream(UpstreamFailure::Status(400))),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_success_that_is_not_json_is_malformed() {
    let err = share_error(Answer::text(200, "<html>Welcome to nginx</html>")).await;
    assert!(
        matches!(err, Error::Upstream(UpstreamFailure::MalformedResponse)),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_oversized_reply_is_refused_and_not_read_whole() {
    let huge = "x".repeat(2 * 1024 * 1024);
    let err = share_error(Answer::text(200, &huge)).await;
    assert!(
        matches!(err, Error::Upstream(UpstreamFailure::AnswerTooLarge { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_redirect_is_reported_not_followed() {
    let fake = FakeOts::answering(
        Answer::text(302, "moved").with_header("location", "http://127.0.0.1:9/elsewhere"),
    )
    .await;
    let err = fake
        .team_client()
        .share(&share_request())
        .await
        .expect_err("redirect");
    assert!(
        matches!(err, Error::Upstream(UpstreamFailure::Status(302))),
        "{err:?}"
    );
    assert_eq!(fake.hits(), 1);
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let fake = FakeOts::answering(Answer::Hang).await;
    let err = fake
        .impatient_client()
        .share(&share_request())
        .await
        .expect_err("timeout");
    assert!(
        matches!(err, Error::Upstream(UpstreamFailure::Timeout)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_network_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    let base_url = url::Url::parse(&format!("http://127.0.0.1:{port}")).expect("url");
    let client = OtsClient::new(OtsClientConfig {
        read_retries: 0,
        ..OtsClientConfig::new(base_url)
    })
    .expect("client");
    let err = client.status().await.expect_err("refused");
    assert!(
        matches!(err, Error::Upstream(UpstreamFailure::Network(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_base_url_with_credentials_is_rejected_up_front() {
    let base_url = url::Url::parse("https://team:key@ots.example").expect("url");
    let err = OtsClient::new(OtsClientConfig::new(base_url))
        .err()
        .expect("rejected");
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                field: "base_url",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("key@"));
}

#[tokio::test]
async fn a_short_key_not_found_message_is_a_refusal() {
    let err = retrieve_error(Answer::ots_error("Not Found")).await;
    assert!(
        matches!(&err, Error::Refused { message, intended_status: None } if message == "Not Found"),
        "{err:?}"
    );
}

/// A reply with no Content-Length that never ends: only the running byte count can stop it.
#[tokio::test]
async fn an_endless_chunked_reply_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let mut request_head = [0u8; 4096];
        let _ = socket.read(&mut request_head).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                    transfer-encoding: chunked\r\n\r\n";
        let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        // Ends when the client hangs up.
        while socket.write_all(chunk.as_bytes()).await.is_ok() {}
    });
    let base_url = url::Url::parse(&format!("http://{addr}")).expect("url");
    let client = OtsClient::new(OtsClientConfig {
        read_retries: 0,
        // The server accepts one connection: no room for an API probe.
        api: crate::ots::ApiChoice::V1,
        ..OtsClientConfig::new(base_url)
    })
    .expect("client");
    let err = client.status().await.expect_err("cut off");
    assert!(
        matches!(err, Error::Upstream(UpstreamFailure::AnswerTooLarge { .. })),
        "{err:?}"
    );
}
