//! Core errors rendered the way v2 reports them (`docs/ots-api-v2-notes.md`, "Errors"): real
//! statuses, `{"error": …, "error_type": …}` bodies, `Retry-After` on 429. Logged once, here.
//!
//! As on v1, the gateway answers its own refusals honestly (its quotas, policy, ledger, an
//! unreachable upstream) and relays what the upstream said the way OTS says it.

use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use ots_gateway_core::Error;
use ots_gateway_core::error::{RateLimitScope, UpstreamFailure};
use ots_gateway_core::model::{Frontend, retry_after_secs};
use serde_json::{Value, json};

use super::render::respond;
use crate::errors::Dialect;

/// Where the error happened, for wordings that differ by route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Reveal,
    Burn,
    ReceiptView,
    Other,
}

/// Otto's 401 when credentials are refused; it has its own shape and no `error_type`.
fn otto_unauthorized() -> Value {
    json!({
        "error": "Authentication Required",
        "message": "[CREDENTIALS_INVALID] Invalid credentials",
    })
}

pub fn error_response(error: Error, dialect: Dialect, step: Step, route: &str) -> Response {
    let gateway = matches!(dialect, Dialect::Gateway { .. });
    let mut retry_after = None;
    let (status, body) = match &error {
        Error::UnknownSecret | Error::NotOwned => (
            StatusCode::NOT_FOUND,
            json!({"error_type": "RecordNotFound"}),
        ),
        Error::IncorrectPassphrase => {
            let text = match step {
                Step::Burn => "Double check that passphrase",
                Step::Reveal | Step::ReceiptView | Step::Other => "Incorrect passphrase",
            };
            (StatusCode::UNPROCESSABLE_ENTITY, json!({"error": text}))
        }
        // v2's own lockout answer: 429 `LimitExceeded` with the time left.
        Error::PassphraseLocked {
            retry_after: wait, ..
        } => {
            retry_after = wait.map(retry_after_secs);
            let mut body = json!({
                "error": "Too many incorrect passphrase attempts. Please try again later.",
                "error_type": "LimitExceeded",
            });
            if let Some(secs) = retry_after {
                body["retry_after"] = json!(secs);
            }
            (StatusCode::TOO_MANY_REQUESTS, body)
        }
        Error::NotAuthorized => match dialect {
            // The team's account was refused: not the local caller's fault, and not a 401
            // their client could fix by sending other credentials.
            Dialect::Gateway {
                team_credentials: true,
            } => (
                StatusCode::BAD_GATEWAY,
                json!({
                    "error": "the gateway's OTS credentials were rejected by the upstream",
                    "error_type": "UpstreamCredentialsRejected",
                }),
            ),
            Dialect::Gateway {
                team_credentials: false,
            } => (
                StatusCode::UNAUTHORIZED,
                json!({
                    "error": "An account is required; the gateway has no OTS credentials",
                    "error_type": "Unauthorized",
                }),
            ),
            Dialect::Ots => (StatusCode::UNAUTHORIZED, otto_unauthorized()),
        },
        Error::SecretTooLarge { max_bytes } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({
                "error": format!("Secret content must be no more than {max_bytes} bytes long"),
                "field": "secret",
            }),
        ),
        Error::Refused {
            message,
            intended_status,
        } => {
            let status = match intended_status {
                Some(401) => StatusCode::UNAUTHORIZED,
                Some(403) => StatusCode::FORBIDDEN,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            (status, json!({"error": message}))
        }
        Error::InvalidInput { field, .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": error.to_string(), "field": field}),
        ),
        Error::RateLimited {
            scope,
            retry_after: wait,
        } => {
            retry_after = wait.map(retry_after_secs);
            let text = match scope {
                RateLimitScope::Upstream => "Too many requests. Please try again later.",
                RateLimitScope::Caller => "this client's quota at the gateway is used up",
                RateLimitScope::GatewayUpstreamBudget => {
                    "the gateway's budget for calls to OTS is used up"
                }
            };
            let mut body = json!({"error": text, "error_type": "LimitExceeded"});
            if let Some(secs) = retry_after {
                body["retry_after"] = json!(secs);
            }
            (StatusCode::TOO_MANY_REQUESTS, body)
        }
        Error::NotAllowed { .. } => (
            StatusCode::FORBIDDEN,
            json!({"error": error.to_string(), "error_type": "Forbidden"}),
        ),
        Error::Ledger => (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": error.to_string(), "error_type": "LedgerUnavailable"}),
        ),
        Error::Upstream(failure) if gateway => {
            let status = match failure {
                UpstreamFailure::Timeout => StatusCode::GATEWAY_TIMEOUT,
                UpstreamFailure::Network(_)
                | UpstreamFailure::Status(_)
                | UpstreamFailure::MalformedResponse
                | UpstreamFailure::AnswerTooLarge { .. } => StatusCode::BAD_GATEWAY,
            };
            (
                status,
                json!({"error": error.to_string(), "error_type": "UpstreamUnavailable"}),
            )
        }
        // The simulator has no upstream; OTS's own unhandled-exception answer fits.
        Error::Upstream(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "Internal Server Error", "message": "An error occurred. Please try again later."}),
        ),
    };
    // Logged once, at the level the core gives this kind of failure (`Error::log`).
    error.log(Frontend::Rest, route);
    let mut response = respond(status, &body);
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Unknown routes and verbs under `/api/v2`.
pub fn not_found() -> Response {
    respond(
        StatusCode::NOT_FOUND,
        &json!({"error": "Not Found", "error_type": "NotFound"}),
    )
}
