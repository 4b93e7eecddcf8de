//! Turning what went wrong on the wire into the core [`Error`].
//!
//! OTS v1 reports every application error as HTTP 404 with a JSON `message` (and, since v0.24.6,
//! the status it means in `X-OTS-Intended-Status`). Anything else that is not a 2xx did not come
//! from the OTS application: a proxy, a wrong base URL, a crash.

use std::time::Duration;

use reqwest::StatusCode;
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

/// Classifies a failure to get a complete reply at all.
pub(super) fn from_transport(err: reqwest::Error, operation: &'static str) -> Error {
    // The URL carries keys; it must not reach the log.
    let err = err.without_url();
    let failure = if err.is_timeout() {
        UpstreamFailure::Timeout
    } else {
        UpstreamFailure::Network(network_cause(&err))
    };
    debug!(operation, ?failure, error = ?err, "OTS request failed");
    Error::Upstream(failure)
}

/// Which step of reaching the server failed, read from the error's chain of causes. reqwest,
/// hyper and rustls expose no stable types for these across versions, so the chain is read the
/// way their messages and `io::ErrorKind`s present it.
fn network_cause(err: &reqwest::Error) -> NetworkCause {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return NetworkCause::ConnectionRefused;
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
        source = cause.source();
    }
    NetworkCause::Other
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
    fn other_statuses_are_upstream_statuses_even_with_a_message() {
        let err = from_reply(&reply(400, r#"{"error":"Failed to parse body as JSON"}"#));
        assert!(matches!(err, Error::Upstream(UpstreamFailure::Status(400))));
        let err = from_reply(&reply(502, r#"{"message":"Unknown secret"}"#));
        assert!(matches!(err, Error::Upstream(UpstreamFailure::Status(502))));
    }
}
