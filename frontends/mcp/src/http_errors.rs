//! rmcp's answers at the HTTP level of `/mcp`, made into what MCP clients read: failures as
//! JSON-RPC error responses, and the end of a session as `200 OK`.
//!
//! rmcp answers a wrong method, a missing `Accept`, a wrong `Content-Type` or an oversized body
//! with a plain-text body that no MCP client can read, and malformed JSON with 415. The MCP
//! Streamable HTTP transport says a server that cannot accept a message answers with an HTTP
//! error status whose body MAY be a JSON-RPC error response without an id; every client reads
//! that. An oversized body is also read to its end (up to [`MCP_DRAIN_LIMIT`]) before the answer:
//! answering while the client is still uploading makes the server close the connection under
//! it, which some clients (the PyPI SDK) treat as the end of the session.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use http_body_util::BodyExt;
use ots_gateway_bounded_body::{BodyRead, MCP_DRAIN_LIMIT};
use ots_gateway_core::model::{CLIENT_ID_HEADER, CallerId};
use serde_json::json;

/// Longest slice of rmcp's plain-text explanation carried into the JSON-RPC message.
const MAX_DETAIL_CHARS: usize = 200;

/// JSON-RPC's codes for an unparsable message and for a message the server cannot accept.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INTERNAL_ERROR: i64 = -32603;

/// The middleware: refuses a malformed client header, bounds and checks POST bodies, rewrites
/// any non-JSON error answer, and answers a session's DELETE as the SDKs' own servers do.
pub(crate) async fn jsonrpc_errors(
    State(max_body_bytes): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    if let Some(refusal) = invalid_client_header(&parts.headers) {
        return refusal;
    }
    if parts.method != Method::POST {
        let ends_session = parts.method == Method::DELETE;
        let response = next.run(Request::from_parts(parts, body)).await;
        if ends_session && response.status() == StatusCode::ACCEPTED {
            return session_ended();
        }
        return as_jsonrpc(response).await;
    }
    match read_bounded(body, max_body_bytes).await {
        BodyRead::Complete(bytes) => {
            if serde_json::from_slice::<serde_json::Value>(&bytes).is_err() {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    PARSE_ERROR,
                    "Parse error: the request body is not valid JSON".to_owned(),
                );
            }
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            as_jsonrpc(response).await
        }
        BodyRead::TooLarge { drained } => {
            tracing::debug!(max_body_bytes, "MCP request body too large");
            let mut response = error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                INVALID_REQUEST,
                format!(
                    "Request too large: /mcp accepts at most {max_body_bytes} bytes per message \
                     (a secret itself may be at most 10000 bytes)"
                ),
            );
            if !drained {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            response
        }
        BodyRead::Failed => error_response(
            StatusCode::BAD_REQUEST,
            INVALID_REQUEST,
            "Invalid request: the request body could not be read".to_owned(),
        ),
    }
}

/// A client that names itself must learn when the name is not what it meant, as on the REST
/// API; silently falling back to another id would file its secrets under a name it never
/// chose. The value is not quoted back: a misplaced token could be in it.
fn invalid_client_header(headers: &http::HeaderMap) -> Option<Response> {
    let value = headers.get(CLIENT_ID_HEADER)?;
    let valid = value.to_str().ok().and_then(CallerId::parse).is_some();
    (!valid).then(|| {
        error_response(
            StatusCode::BAD_REQUEST,
            INVALID_REQUEST,
            format!(
                "Invalid request: the X-OTS-Gateway-Client header must be 1 to {} characters from \
                 A-Z a-z 0-9 . _ -",
                CallerId::MAX_CHARS
            ),
        )
    })
}

/// The shared bound (`ots-gateway-bounded-body`), with this listener's drain limit.
async fn read_bounded(body: Body, max_bytes: usize) -> BodyRead {
    ots_gateway_bounded_body::read_bounded(body, max_bytes, MCP_DRAIN_LIMIT).await
}

/// rmcp ends a session on DELETE and answers `202 Accepted`. The official Python and TypeScript
/// SDKs' servers answer `200 OK`, and the PyPI client logs "Session termination failed" for any
/// status but 200, 204 and 405 (the spec names only 405, for servers that refuse), so every
/// session it closed against rmcp's answer ended with a warning on the user's terminal.
fn session_ended() -> Response {
    StatusCode::OK.into_response()
}

/// An error answer from rmcp with a non-JSON body becomes the same status with a JSON-RPC
/// error body. JSON answers and successes pass through untouched.
async fn as_jsonrpc(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match http_body_util::Limited::new(body, 4096).collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    let detail: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_DETAIL_CHARS)
        .collect();
    let reason = status.canonical_reason().unwrap_or("Error");
    let message = if detail.is_empty() {
        format!("HTTP {}: {reason}", status.as_u16())
    } else {
        format!("HTTP {}: {detail}", status.as_u16())
    };
    let code = if status.is_server_error() {
        INTERNAL_ERROR
    } else {
        INVALID_REQUEST
    };
    let mut rewritten = error_response(status, code, message);
    // Keep what the client needs to act on (`Allow` on a 405, for one).
    for name in [header::ALLOW, header::WWW_AUTHENTICATE, header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}

fn error_response(status: StatusCode, code: i64, message: String) -> Response {
    let body = json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": code, "message": message},
    });
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn small_bodies_are_kept_and_large_ones_drained_or_cut() {
        let small = read_bounded(Body::from(vec![b'x'; 10]), 16).await;
        assert!(matches!(small, BodyRead::Complete(bytes) if bytes.len() == 10));
        let large = read_bounded(Body::from(vec![b'x'; 1 << 20]), 16).await;
        assert!(matches!(large, BodyRead::TooLarge { drained: true }));
        let huge = read_bounded(Body::from(vec![b'x'; MCP_DRAIN_LIMIT + 1]), 16).await;
        assert!(matches!(huge, BodyRead::TooLarge { drained: false }));
    }

    #[tokio::test]
    async fn plain_text_errors_become_jsonrpc_errors_and_keep_allow() {
        let plain = Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(header::ALLOW, "POST")
            .body(Body::from("Method Not Allowed"))
            .unwrap();
        let rewritten = as_jsonrpc(plain).await;
        assert_eq!(rewritten.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(rewritten.headers()[header::ALLOW], "POST");
        let bytes = rewritten.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["jsonrpc"], "2.0");
        assert_eq!(body["error"]["code"], INVALID_REQUEST);
        assert_eq!(body["error"]["message"], "HTTP 405: Method Not Allowed");
    }
}
