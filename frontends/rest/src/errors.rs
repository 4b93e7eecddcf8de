//! Every way a request can fail, rendered as JSON with the status and headers a v1 client
//! expects, and logged exactly once, here, at the level the core's `Error::fault` gives.
//!
//! Two dialects: the gateway answers its *own* refusals honestly (400, 401, 403, 413, 429, 502,
//! 504) while relaying what the upstream said the way OTS says it (404 plus
//! `X-OTS-Intended-Status`). The simulator router speaks pure OTS, so a test or a user pointing a
//! client at `ots-gateway simulate` sees exactly what onetimesecret.com would send.

use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode, header};
use ots_gateway_core::Error;
use ots_gateway_core::error::{RateLimitScope, TEAM_CREDENTIALS_REJECTED, UpstreamFailure};
use ots_gateway_core::log_safe::LogSafe;
use ots_gateway_core::model::{Frontend, retry_after_secs};
use serde::Serialize;

use crate::render::json;

/// OTS's header carrying the status it means while it answers 404 (since v0.24.6).
pub static INTENDED_STATUS: HeaderName = HeaderName::from_static("x-ots-intended-status");

const RATE_LIMIT_MESSAGE: &str = "Rate limit exceeded. Please try again later.";
/// The gateway's own 429s carry OTS's classic rate-limit wording, because client libraries
/// match on it: the npm `onetimesecret-api` raises its `RateLimitedError` only for this exact
/// text. `detail` and `retry_after` say what actually ran out and for how long.
const CLIENT_RATE_LIMIT_MESSAGE: &str = "Apologies dear citizen! You have been rate limited.";

/// Whose conventions an error is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The gateway in front of a real (or simulated) OTS. `team_credentials` decides what an
    /// upstream "Not authorized" means: with team credentials, the operator's account was
    /// rejected, which is not the local caller's fault.
    Gateway { team_credentials: bool },
    /// Behave as an OTS v1 server does.
    Ots,
}

/// A core error on its way to becoming a response, with what rendering and logging need.
#[derive(Debug)]
pub struct ApiError {
    error: Error,
    dialect: Dialect,
    /// The route's pattern (`/api/v1/secret/{key}`), for logs. Never the URI: keys live in paths.
    route: String,
    /// The key as the client sent it, which OTS echoes in its "Unknown secret" body.
    key: Option<String>,
}

impl ApiError {
    pub fn new(error: Error, dialect: Dialect, route: &str, key: Option<&str>) -> ApiError {
        ApiError {
            error,
            dialect,
            route: route.to_owned(),
            key: key.map(str::to_owned),
        }
    }
}

#[derive(Serialize)]
struct MessageBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_key: Option<&'a str>,
    message: &'a str,
    /// Extra explanation where `message` must keep a wording clients match on.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
}

impl<'a> MessageBody<'a> {
    fn plain(message: &'a str) -> Self {
        MessageBody {
            secret_key: None,
            message,
            detail: None,
            retry_after: None,
        }
    }
}

/// What one error looks like on the wire.
struct Rendered<'a> {
    status: StatusCode,
    intended_status: Option<u16>,
    retry_after: Option<u64>,
    secret_key: Option<&'a str>,
    message: String,
    detail: Option<&'static str>,
}

impl Rendered<'_> {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Rendered {
            status,
            intended_status: None,
            retry_after: None,
            secret_key: None,
            message: message.into(),
            detail: None,
        }
    }

    /// OTS's way of refusing: 404, with the status it means in a header.
    fn ots(intended_status: Option<u16>, message: impl Into<String>) -> Self {
        Rendered {
            intended_status,
            ..Rendered::new(StatusCode::NOT_FOUND, message)
        }
    }
}

impl ApiError {
    fn render(&self) -> Rendered<'_> {
        let gateway = match self.dialect {
            Dialect::Gateway { team_credentials } => Some(team_credentials),
            Dialect::Ots => None,
        };
        match &self.error {
            Error::UnknownSecret => Rendered {
                secret_key: self.key.as_deref(),
                ..Rendered::ots(None, "Unknown secret")
            },
            Error::IncorrectPassphrase => Rendered::ots(Some(400), "Incorrect passphrase"),
            // The gateway's own refusal says why and for how long; the OTS dialect says what a
            // v1 server says for a locked secret.
            Error::PassphraseLocked { retry_after, .. } => match gateway {
                Some(_) => Rendered {
                    retry_after: retry_after.map(retry_after_secs),
                    detail: Some(
                        "this secret is protected against passphrase guessing; wait before trying again",
                    ),
                    ..Rendered::new(StatusCode::TOO_MANY_REQUESTS, self.error.to_string())
                },
                None => Rendered::ots(Some(400), "An unexpected error occurred :["),
            },
            Error::NotAuthorized => match gateway {
                Some(true) => Rendered::new(StatusCode::BAD_GATEWAY, TEAM_CREDENTIALS_REJECTED),
                Some(false) | None => Rendered::ots(Some(401), "Not authorized"),
            },
            Error::SecretTooLarge { .. } => Rendered::ots(Some(400), self.error.to_string()),
            Error::Refused {
                message,
                intended_status,
            } => Rendered::ots(*intended_status, message.clone()),
            Error::InvalidInput { .. } => match gateway {
                Some(_) => Rendered::new(StatusCode::BAD_REQUEST, self.error.to_string()),
                None => Rendered::ots(Some(400), self.error.to_string()),
            },
            Error::RateLimited { scope, retry_after } => {
                let retry_after = retry_after.map(retry_after_secs);
                let rendered = match (scope, gateway) {
                    (RateLimitScope::Upstream, _) | (_, None) => {
                        Rendered::ots(Some(400), RATE_LIMIT_MESSAGE)
                    }
                    (RateLimitScope::Caller, Some(_)) => Rendered {
                        detail: Some("this client's quota at the gateway is used up"),
                        ..Rendered::new(StatusCode::TOO_MANY_REQUESTS, CLIENT_RATE_LIMIT_MESSAGE)
                    },
                    (RateLimitScope::GatewayUpstreamBudget, Some(_)) => Rendered {
                        detail: Some("the gateway's budget for calls to OTS is used up"),
                        ..Rendered::new(StatusCode::TOO_MANY_REQUESTS, CLIENT_RATE_LIMIT_MESSAGE)
                    },
                };
                Rendered {
                    retry_after,
                    ..rendered
                }
            }
            // A policy refusal, not an OTS one: the honest status. Nothing OTS-shaped fits, so
            // the simulator (which never says this) would fall back to OTS's 404 convention.
            Error::NotAllowed { .. } => match gateway {
                Some(_) => Rendered::new(StatusCode::FORBIDDEN, self.error.to_string()),
                None => Rendered::ots(Some(403), self.error.to_string()),
            },
            // The core gives this answer whether or not the receipt exists, so that foreign keys
            // cannot be probed. To a v1 client the receipt is simply not there, and its library
            // only recognises that as OTS's "Unknown secret".
            Error::NotOwned => Rendered {
                secret_key: self.key.as_deref(),
                ..Rendered::ots(None, "Unknown secret")
            },
            Error::Ledger => match gateway {
                Some(_) => Rendered::new(StatusCode::INTERNAL_SERVER_ERROR, self.error.to_string()),
                None => Rendered::ots(Some(400), "An unexpected error occurred :["),
            },
            Error::Upstream(failure) => match gateway {
                Some(_) => {
                    let status = match failure {
                        UpstreamFailure::Timeout => StatusCode::GATEWAY_TIMEOUT,
                        UpstreamFailure::Network(_)
                        | UpstreamFailure::Status(_)
                        | UpstreamFailure::MalformedResponse
                        | UpstreamFailure::AnswerTooLarge { .. } => StatusCode::BAD_GATEWAY,
                    };
                    Rendered::new(status, self.error.to_string())
                }
                // The simulator has no upstream; if it ever reports one, OTS's catch-all is the
                // honest OTS-shaped answer.
                None => Rendered::ots(Some(400), "An unexpected error occurred :["),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let rendered = self.render();
        // The level is the core's decision (`Error::fault`), the same in every frontend.
        self.error.log(Frontend::Rest, &self.route);
        let mut response = json(
            rendered.status,
            &MessageBody {
                secret_key: rendered.secret_key,
                message: &rendered.message,
                detail: rendered.detail,
                retry_after: rendered
                    .retry_after
                    .filter(|_| rendered.status == StatusCode::TOO_MANY_REQUESTS),
            },
        );
        let headers = response.headers_mut();
        if let Some(intended) = rendered.intended_status {
            headers.insert(INTENDED_STATUS.clone(), HeaderValue::from(intended));
        }
        if let Some(secs) = rendered.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Refusals the frontend makes itself, before the core is involved. Each has one fixed
/// rendering, the same in both dialects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalRefusal {
    /// Unknown route or wrong verb: Otto's `{"error":"Not Found"}`.
    RouteNotFound,
    /// A `:key` shorter than OTS's 20-character minimum.
    KeyNotFound,
    /// `Rack::JSONBodyParser`'s answer, before anything else runs.
    MalformedJson,
    /// A body that could not be read (broken multipart, connection trouble mid-body).
    MalformedBody,
    BodyTooLarge,
    /// `X-OTS-Gateway-Client` is not a short `[A-Za-z0-9._-]` label.
    InvalidClientLabel,
    /// A request the local-only rules refuse (foreign Host, cross-site browser request).
    Forbidden(&'static str),
    /// The bearer token is required and was missing or wrong.
    Unauthorized,
    /// An OTS-style Basic `Authorization` header the simulator cannot read.
    SimulatorNotAuthorized,
    TimedOut,
    Overloaded,
    /// A header the gateway reads exactly once (`Host`, `Authorization`) was sent more than once.
    DuplicateHeader(&'static str),
    /// The body did not arrive in full within the listener's body-read timeout.
    BodyTimedOut,
    /// The gateway began shutting down before the request's body had arrived.
    ShuttingDown,
    /// This peer sent too many missing or wrong tokens recently.
    TooManyFailedAttempts {
        retry_after: std::time::Duration,
    },
    /// `/readyz`: the upstream does not answer `status`.
    NotReady(String),
}

#[derive(Serialize)]
struct ErrorKeyBody<'a> {
    error: &'a str,
}

impl IntoResponse for LocalRefusal {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            LocalRefusal::RouteNotFound => {
                return json(
                    StatusCode::NOT_FOUND,
                    &ErrorKeyBody { error: "Not Found" },
                );
            }
            LocalRefusal::MalformedJson => {
                return json(
                    StatusCode::BAD_REQUEST,
                    &ErrorKeyBody {
                        error: "Failed to parse body as JSON",
                    },
                );
            }
            LocalRefusal::SimulatorNotAuthorized => {
                let mut response = json(
                    StatusCode::NOT_FOUND,
                    &MessageBody::plain("Not authorized"),
                );
                response
                    .headers_mut()
                    .insert(INTENDED_STATUS.clone(), HeaderValue::from(401u16));
                return response;
            }
            LocalRefusal::KeyNotFound => (StatusCode::NOT_FOUND, "Not Found".to_owned()),
            LocalRefusal::MalformedBody => (
                StatusCode::BAD_REQUEST,
                "the request body could not be read".to_owned(),
            ),
            LocalRefusal::BodyTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is larger than the gateway accepts".to_owned(),
            ),
            LocalRefusal::InvalidClientLabel => (
                StatusCode::BAD_REQUEST,
                "invalid X-OTS-Gateway-Client header: use 1 to 64 characters from A-Z a-z 0-9 . _ -"
                    .to_owned(),
            ),
            LocalRefusal::Forbidden(reason) => (StatusCode::FORBIDDEN, (*reason).to_owned()),
            LocalRefusal::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "a valid gateway token is required (Authorization: Bearer <token>, or Basic with the token as password)"
                    .to_owned(),
            ),
            LocalRefusal::TimedOut => (
                StatusCode::GATEWAY_TIMEOUT,
                "the request took too long; it may still have taken effect upstream".to_owned(),
            ),
            LocalRefusal::Overloaded => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the gateway is busy; try again shortly".to_owned(),
            ),
            LocalRefusal::NotReady(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason.clone()),
            LocalRefusal::DuplicateHeader(name) => (
                StatusCode::BAD_REQUEST,
                format!("send exactly one {name} header"),
            ),
            LocalRefusal::ShuttingDown => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the gateway is shutting down; nothing was done".to_owned(),
            ),
            LocalRefusal::BodyTimedOut => (
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time".to_owned(),
            ),
            LocalRefusal::TooManyFailedAttempts { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests with a missing or wrong gateway token from this address; wait before trying again"
                    .to_owned(),
            ),
        };
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), message = %LogSafe(&message), "request refused");
        } else {
            tracing::debug!(status = status.as_u16(), message = %LogSafe(&message), "request refused");
        }
        let mut response = json(status, &MessageBody::plain(&message));
        match self {
            LocalRefusal::Unauthorized => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            LocalRefusal::Overloaded => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            LocalRefusal::TooManyFailedAttempts { retry_after } => {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs(retry_after)),
                );
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ots_gateway_core::error::NetworkCause;
    use std::time::Duration;

    async fn parts(response: Response) -> (u16, Option<String>, Option<String>, String) {
        let status = response.status().as_u16();
        let header = |name: &HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let intended = header(&INTENDED_STATUS);
        let retry = header(&header::RETRY_AFTER);
        let body = json_body(response).await;
        (
            status,
            intended,
            retry,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    /// The body of an answer that must be JSON, as every answer of ours is.
    pub(crate) async fn json_body(response: Response) -> axum::body::Bytes {
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/json; charset=utf-8"
        );
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
    }

    const GW: Dialect = Dialect::Gateway {
        team_credentials: false,
    };
    const GW_TEAM: Dialect = Dialect::Gateway {
        team_credentials: true,
    };

    async fn render(
        error: Error,
        dialect: Dialect,
        key: Option<&str>,
    ) -> (u16, Option<String>, Option<String>, String) {
        parts(ApiError::new(error, dialect, "/api/v1/test", key).into_response()).await
    }

    #[tokio::test]
    async fn unknown_secret_echoes_the_key_as_sent() {
        let (status, intended, _, body) =
            render(Error::UnknownSecret, GW, Some("abc_DEF-0123456789xyz")).await;
        assert_eq!(status, 404);
        assert_eq!(intended, None);
        assert_eq!(
            body,
            r#"{"secret_key":"abc_DEF-0123456789xyz","message":"Unknown secret"}"#
        );
        let (_, _, _, body) = render(Error::UnknownSecret, Dialect::Ots, None).await;
        assert_eq!(body, r#"{"message":"Unknown secret"}"#);
    }

    #[tokio::test]
    async fn upstream_refusals_are_relayed_as_ots_sends_them() {
        let (s, i, _, b) = render(Error::IncorrectPassphrase, GW, None).await;
        assert_eq!(
            (s, i.as_deref(), b.as_str()),
            (404, Some("400"), r#"{"message":"Incorrect passphrase"}"#)
        );
        let (s, i, _, b) = render(Error::SecretTooLarge { max_bytes: 10_000 }, GW, None).await;
        assert_eq!(
            (s, i.as_deref(), b.as_str()),
            (
                404,
                Some("400"),
                r#"{"message":"Secret value exceeds the maximum size of 10000 bytes"}"#
            )
        );
        let refused = Error::Refused {
            message: "You did not provide anything to share".into(),
            intended_status: Some(400),
        };
        let (s, i, _, b) = render(refused, GW_TEAM, None).await;
        assert_eq!(
            (s, i.as_deref(), b.as_str()),
            (
                404,
                Some("400"),
                r#"{"message":"You did not provide anything to share"}"#
            )
        );
        let refused = Error::Refused {
            message: "Cripes! You have been rate limited.".into(),
            intended_status: None,
        };
        let (s, i, _, _) = render(refused, GW, None).await;
        assert_eq!((s, i), (404, None));
    }

    #[tokio::test]
    async fn not_authorized_depends_on_whose_credentials_failed() {
        let (s, i, _, b) = render(Error::NotAuthorized, GW, None).await;
        assert_eq!(
            (s, i.as_deref(), b.as_str()),
            (404, Some("401"), r#"{"message":"Not authorized"}"#)
        );
        let (s, i, _, b) = render(Error::NotAuthorized, GW_TEAM, None).await;
        assert_eq!((s, i), (502, None));
        assert!(b.contains("credentials were rejected"));
        let (s, i, _, _) = render(Error::NotAuthorized, Dialect::Ots, None).await;
        assert_eq!((s, i.as_deref()), (404, Some("401")));
    }

    #[tokio::test]
    async fn gateway_rate_limits_are_honest_429s() {
        for scope in [
            RateLimitScope::Caller,
            RateLimitScope::GatewayUpstreamBudget,
        ] {
            let err = Error::RateLimited {
                scope,
                retry_after: Some(Duration::from_millis(2_500)),
            };
            let (s, i, r, b) = render(err, GW, None).await;
            assert_eq!((s, i, r.as_deref()), (429, None, Some("3")));
            assert!(b.starts_with(r#"{"message":""#));
        }
    }

    #[tokio::test]
    async fn upstream_rate_limits_are_relayed_like_ots() {
        let err = Error::RateLimited {
            scope: RateLimitScope::Upstream,
            retry_after: Some(Duration::from_secs(30)),
        };
        let (s, i, r, b) = render(err, GW, None).await;
        assert_eq!(
            (s, i.as_deref(), r.as_deref()),
            (404, Some("400"), Some("30"))
        );
        assert_eq!(
            b,
            r#"{"message":"Rate limit exceeded. Please try again later."}"#
        );
        let err = Error::RateLimited {
            scope: RateLimitScope::Caller,
            retry_after: None,
        };
        let (s, i, r, _) = render(err, Dialect::Ots, None).await;
        assert_eq!((s, i.as_deref(), r), (404, Some("400"), None));
    }

    #[tokio::test]
    async fn upstream_failures_are_502_or_504() {
        let (s, _, _, b) = render(Error::Upstream(UpstreamFailure::Timeout), GW, None).await;
        assert_eq!(s, 504);
        assert_eq!(b, r#"{"message":"the OTS server did not answer in time"}"#);
        for failure in [
            UpstreamFailure::Network(NetworkCause::Other),
            UpstreamFailure::Status(503),
            UpstreamFailure::MalformedResponse,
            UpstreamFailure::AnswerTooLarge {
                limit_bytes: 32 * 1024 * 1024,
            },
        ] {
            let (s, _, _, _) = render(Error::Upstream(failure), GW_TEAM, None).await;
            assert_eq!(s, 502);
        }
    }

    #[tokio::test]
    async fn gateway_policy_refusals() {
        let err = Error::NotAllowed {
            operation: ots_gateway_core::model::Operation::Retrieve,
        };
        let (s, i, _, b) = render(err, GW, None).await;
        assert_eq!((s, i), (403, None));
        assert_eq!(
            b,
            r#"{"message":"retrieve is not enabled for this frontend"}"#
        );
        let key = "mmmmmmmmmmmmmmmmmmmmmmmm";
        let (s, i, _, b) = render(Error::NotOwned, GW_TEAM, Some(key)).await;
        assert_eq!((s, i), (404, None));
        assert_eq!(
            b,
            format!(r#"{{"secret_key":"{key}","message":"Unknown secret"}}"#)
        );
        let (s, _, _, b) = render(Error::Ledger, GW, None).await;
        assert_eq!(s, 500);
        assert_eq!(b, r#"{"message":"the gateway's ledger is unavailable"}"#);
    }

    #[tokio::test]
    async fn invalid_input_is_a_400_from_the_gateway() {
        let err = Error::InvalidInput {
            field: "ttl",
            reason: "bad".into(),
        };
        let (s, i, _, b) = render(err, GW, None).await;
        assert_eq!(
            (s, i, b.as_str()),
            (400, None, r#"{"message":"invalid ttl: bad"}"#)
        );
    }

    #[tokio::test]
    async fn local_refusals_are_json() {
        let (s, _, _, b) = parts(LocalRefusal::RouteNotFound.into_response()).await;
        assert_eq!((s, b.as_str()), (404, r#"{"error":"Not Found"}"#));
        let (s, _, _, b) = parts(LocalRefusal::KeyNotFound.into_response()).await;
        assert_eq!((s, b.as_str()), (404, r#"{"message":"Not Found"}"#));
        let (s, _, _, b) = parts(LocalRefusal::MalformedJson.into_response()).await;
        assert_eq!(
            (s, b.as_str()),
            (400, r#"{"error":"Failed to parse body as JSON"}"#)
        );
        let (s, _, _, _) = parts(LocalRefusal::BodyTooLarge.into_response()).await;
        assert_eq!(s, 413);
        let response = LocalRefusal::Unauthorized.into_response();
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let (s, _, _, _) = parts(response).await;
        assert_eq!(s, 401);
    }
}
