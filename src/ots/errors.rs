//! Turning what went wrong on the wire into the core [`Error`].
//!
//! OTS v1 reports every application error as HTTP 404 with a JSON `message` (and, since v0.24.6,
//! the status it means in `X-OTS-Intended-Status`). Anything else that is not a 2xx did not come
//! from the OTS application: a proxy, a wrong base URL, a crash.

use std::time::Duration;

use http::StatusCode;
use serde::Deserialize;
use tracing::debug;

use super::lenient;
use crate::error::{Error, NetworkCause, RateLimitScope, UpstreamFailure};

/// A complete answer from upstream, with the only headers the classification needs.
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) intended_status: Option<u16>,
    pub(super) retry_after: Option<Duration>,
    pub(super) body: Vec<u8>,
}

const RATE_LIMITED_CURRENT: &str = "Rate limit exceeded. Please try again later.";
const RATE_LIMITED_V0_23: &str = "Cripes! You have been rate limited.";
const TOO_LARGE_PREFIX: &str = "Secret value exceeds the maximum size of ";
const TOO_LARGE_SUFFIX: &str = " bytes";

/// The v1 error body. v0.23 adds a CSRF `shrimp`, which is ignored with every other field.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default, deserialize_with = "lenient::string")]
    message: Option<String>,
}

/// The v2 error body (ADR-013 style, plus Otto's own 401 with `message`).
#[derive(Deserialize)]
struct ErrorBodyV2 {
    #[serde(default, deserialize_with = "lenient::string")]
    error: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    error_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::int")]
    retry_after: Option<i64>,
}

const V2_SIZE_PREFIX: &str = "Secret content must be no more than ";
const V2_SIZE_SUFFIX: &str = " bytes long";
/// Reveal says the first, burn the second, for a wrong or a missing passphrase.
const V2_WRONG_PASSPHRASE: [&str; 2] = ["Incorrect passphrase", "Double check that passphrase"];

/// Classifies a v2 reply whose status is not a success. v2 uses real statuses, so the status
/// decides first and the body refines it (`docs/ots-api-v2-notes.md`, "Errors").
pub(super) fn from_reply_v2(reply: &Reply) -> Error {
    let body = serde_json::from_slice::<ErrorBodyV2>(&reply.body).ok();
    let message = body.as_ref().and_then(|b| b.error.clone());
    let error_type = body.as_ref().and_then(|b| b.error_type.as_deref());
    match reply.status.as_u16() {
        401 => Error::NotAuthorized,
        404 if error_type == Some("RecordNotFound") => Error::UnknownSecret,
        // A route miss (`NotFound`) or a proxy's page: the server does not serve this here.
        404 => upstream_status(reply.status),
        429 => Error::RateLimited {
            scope: RateLimitScope::Upstream,
            retry_after: reply.retry_after.or_else(|| {
                body.as_ref()
                    .and_then(|b| b.retry_after)
                    .and_then(|secs| u64::try_from(secs).ok())
                    .map(Duration::from_secs)
            }),
        },
        code @ (403 | 422) => match message {
            Some(message) if V2_WRONG_PASSPHRASE.contains(&message.as_str()) => {
                Error::IncorrectPassphrase
            }
            Some(message) => match v2_size_limit_in(&message) {
                Some(max_bytes) => Error::SecretTooLarge { max_bytes },
                // Fixed texts plus at most the caller's own domain or recipient, as on v1.
                None => Error::Refused {
                    message,
                    intended_status: Some(code),
                },
            },
            None => upstream_status(reply.status),
        },
        _ => upstream_status(reply.status),
    }
}

fn v2_size_limit_in(message: &str) -> Option<u64> {
    message
        .strip_prefix(V2_SIZE_PREFIX)?
        .strip_suffix(V2_SIZE_SUFFIX)?
        .parse()
        .ok()
}

/// Classifies a reply whose status is not a success.
pub(super) fn from_reply(reply: &Reply) -> Error {
    match reply.status {
        StatusCode::TOO_MANY_REQUESTS => rate_limited(reply),
        // OTS's router answers unknown routes with `{"error":"Not Found"}` and no `message`:
        // the server has no such route, which is an upstream problem, not the caller's.
        StatusCode::NOT_FOUND => match ots_message(&reply.body) {
            Some(message) => from_ots_message(message, reply),
            None => upstream_status(reply.status),
        },
        other => upstream_status(other),
    }
}

fn from_ots_message(message: String, reply: &Reply) -> Error {
    match message.as_str() {
        "Unknown secret" => Error::UnknownSecret,
        "Incorrect passphrase" => Error::IncorrectPassphrase,
        "Not authorized" => Error::NotAuthorized,
        RATE_LIMITED_CURRENT | RATE_LIMITED_V0_23 => rate_limited(reply),
        _ => match size_limit_in(&message) {
            Some(max_bytes) => Error::SecretTooLarge { max_bytes },
            // OTS messages are fixed texts plus at most the caller's own domain or recipient, never
            // a secret, so they are passed on verbatim for frontends that mirror OTS.
            None => Error::Refused {
                message,
                intended_status: reply.intended_status,
            },
        },
    }
}

fn ots_message(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorBody>(body).ok()?.message
}

fn size_limit_in(message: &str) -> Option<u64> {
    message
        .strip_prefix(TOO_LARGE_PREFIX)?
        .strip_suffix(TOO_LARGE_SUFFIX)?
        .parse()
        .ok()
}

fn rate_limited(reply: &Reply) -> Error {
    Error::RateLimited {
        scope: RateLimitScope::Upstream,
        retry_after: reply.retry_after,
    }
}

fn upstream_status(status: StatusCode) -> Error {
    Error::Upstream(UpstreamFailure::Status(status.as_u16()))
}

/// Classifies a failure to get a complete reply at all: no connection, a broken one, or a reply
/// that is not HTTP. hyper and hyper-util never put the request's URI (which carries keys) into
/// their errors, so the chain may be logged.
pub(super) fn from_transport(
    err: &(dyn std::error::Error + 'static),
    operation: &'static str,
) -> Error {
    let failure = if timed_out(err) {
        UpstreamFailure::Timeout
    } else {
        UpstreamFailure::Network(network_cause(err))
    };
    debug!(operation, ?failure, error = ?err, "OTS request failed");
    Error::Upstream(failure)
}

/// The connect deadline (`http_client::BoundedConnect`) and the TCP connect timeout both end
/// as `io::ErrorKind::TimedOut`; hyper reports its own timers through `is_timeout`.
fn timed_out(err: &(dyn std::error::Error + 'static)) -> bool {
    causes(err).any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
            || cause
                .downcast_ref::<hyper::Error>()
                .is_some_and(hyper::Error::is_timeout)
    })
}

/// Which step of reaching the server failed, read from the error's chain of causes. A rustls
/// error means the TLS handshake failed. hyper-util names DNS failures only in its message, so
/// that and the remaining TLS wordings (a handshake cut short) are read as text.
fn network_cause(err: &(dyn std::error::Error + 'static)) -> NetworkCause {
    for cause in causes(err) {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return NetworkCause::ConnectionRefused;
        }
        if cause.downcast_ref::<rustls::Error>().is_some() {
            return NetworkCause::Tls;
        }
        let text = cause.to_string().to_ascii_lowercase();
        if text.starts_with("dns error") || text.contains("failed to lookup address") {
            return NetworkCause::NameNotResolved;
        }
        if text.contains("certificate")
            || text.contains("tls")
            || text.contains("handshake")
            || text.contains("corrupt message")
        {
            return NetworkCause::Tls;
        }
    }
    NetworkCause::Other
}

/// The error and its causes, outermost first. `io::Error::source` skips the error it wraps
/// (it returns that error's own source), so at an `io::Error` the walk steps into the wrapped
/// error itself: that is where rustls's error sits.
fn causes<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |cause| {
        match cause.downcast_ref::<std::io::Error>() {
            Some(io) => match io.get_ref() {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => cause.source(),
            },
            None => cause.source(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).expect("valid status"),
            intended_status: None,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn size_limit_is_read_from_the_message() {
        let err = from_reply(&reply(
            404,
            r#"{"message":"Secret value exceeds the maximum size of 10000 bytes"}"#,
        ));
        assert!(matches!(err, Error::SecretTooLarge { max_bytes: 10_000 }));
        let err = from_reply(&reply(
            404,
            r#"{"message":"Secret value exceeds the maximum size of lots bytes"}"#,
        ));
        assert!(matches!(err, Error::Refused { .. }));
    }

    #[test]
    fn a_404_without_an_ots_message_is_an_upstream_status() {
        for body in [r#"{"error":"Not Found"}"#, "<html>nginx</html>", ""] {
            let err = from_reply(&reply(404, body));
            assert!(
                matches!(err, Error::Upstream(UpstreamFailure::Status(404))),
                "{body}: {err:?}"
            );
        }
    }

    #[test]
    fn v2_statuses_map_onto_the_same_kinds() {
        let cases: [(u16, &str, &str); 8] = [
            (
                401,
                r#"{"error":"Authentication Required","message":"[CREDENTIALS_INVALID] Invalid credentials"}"#,
                "not_authorized",
            ),
            (
                404,
                r#"{"error_type":"RecordNotFound","request_id":"x"}"#,
                "unknown_secret",
            ),
            (
                404,
                r#"{"error":"Not Found","error_type":"NotFound"}"#,
                "upstream_unavailable",
            ),
            (
                422,
                r#"{"error":"Incorrect passphrase"}"#,
                "incorrect_passphrase",
            ),
            (
                422,
                r#"{"error":"Double check that passphrase"}"#,
                "incorrect_passphrase",
            ),
            (
                422,
                r#"{"error":"Secret content must be no more than 10000 bytes long","field":"secret"}"#,
                "secret_too_large",
            ),
            (
                403,
                r#"{"error":"Guest conceal is disabled","error_type":"GuestRoutesDisabled"}"#,
                "refused",
            ),
            (400, "", "upstream_unavailable"),
        ];
        for (status, body, kind) in cases {
            assert_eq!(
                from_reply_v2(&reply(status, body)).kind(),
                kind,
                "{status} {body}"
            );
        }
    }

    #[test]
    fn v2_rate_limits_carry_the_wait_from_header_or_body() {
        let mut limited = reply(
            429,
            r#"{"error":"Too many incorrect passphrase attempts. Please try again later.","error_type":"LimitExceeded","retry_after":1800}"#,
        );
        let wait = |err: Error| match err {
            Error::RateLimited { retry_after, .. } => retry_after,
            other => panic!("not rate limited: {other:?}"),
        };
        assert_eq!(
            wait(from_reply_v2(&limited)),
            Some(Duration::from_secs(1800))
        );
        limited.retry_after = Some(Duration::from_secs(7));
        assert_eq!(wait(from_reply_v2(&limited)), Some(Duration::from_secs(7)));
    }

    #[test]
    fn other_statuses_are_upstream_statuses_even_with_a_message() {
        let err = from_reply(&reply(400, r#"{"error":"Failed to parse body as JSON"}"#));
        assert!(matches!(err, Error::Upstream(UpstreamFailure::Status(400))));
        let err = from_reply(&reply(502, r#"{"message":"Unknown secret"}"#));
        assert!(matches!(err, Error::Upstream(UpstreamFailure::Status(502))));
    }
}
