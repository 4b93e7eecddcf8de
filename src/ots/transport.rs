//! The HTTP client and the one place a request goes out and a reply comes back.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::redirect;
use secrecy::ExposeSecret;
use tracing::debug;

use super::errors::{self, Reply};
use crate::error::{Error, Result, UpstreamFailure};
use crate::model::Credentials;

/// OTS answers are a few KiB at most. Anything much larger is not OTS, and reading it all could
/// exhaust memory.
pub(super) const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

const USER_AGENT: &str = concat!("ots-gateway/", env!("CARGO_PKG_VERSION"));
const INTENDED_STATUS: &str = "x-ots-intended-status";

pub(super) fn build_http_client(
    connect_timeout: Duration,
    request_timeout: Duration,
) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(connect_timeout)
        .timeout(request_timeout)
        // A redirect means the base URL is wrong. Following it would turn a POST into a GET and
        // could carry the Basic credentials to another host, so it is reported instead.
        .redirect(redirect::Policy::none())
        // The core reads no environment; a proxy picked up from HTTP_PROXY would also see every
        // request, credentials included, without anyone having configured it.
        .no_proxy()
        .build()
        .map_err(|err| {
            debug!(error = ?err.without_url(), "building the HTTP client failed");
            Error::InvalidInput {
                field: "ots_client",
                reason: "the HTTPS client could not be initialised".to_owned(),
            }
        })
}

/// The team's `Authorization` header, built once for the client's life rather than encoded
/// again for every request. Marked sensitive, so the HTTP stack never prints it.
pub(super) fn basic_authorization(credentials: &Credentials) -> Result<HeaderValue> {
    let pair = format!(
        "{}:{}",
        credentials.username,
        credentials.api_key.expose_secret()
    );
    let mut value = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(pair)))
        // Base64 output is always a valid header value; this only satisfies the type.
        .map_err(|_| Error::InvalidInput {
            field: "credentials",
            reason: "the credentials cannot be sent in an HTTP header".to_owned(),
        })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Sends the request and reads the whole (capped) reply, whatever its status.
pub(super) async fn exchange(
    request: reqwest::RequestBuilder,
    operation: &'static str,
) -> Result<Reply> {
    let response = request
        .send()
        .await
        .map_err(|err| errors::from_transport(err, operation))?;
    let status = response.status();
    debug!(operation, status = status.as_u16(), "OTS answered");
    let intended_status = header_number(response.headers(), INTENDED_STATUS);
    let retry_after =
        header_number(response.headers(), RETRY_AFTER.as_str()).map(Duration::from_secs);
    let body = read_capped_body(response, operation).await?;
    Ok(Reply {
        status,
        intended_status,
        retry_after,
        body,
    })
}

/// Checks the declared length first, then the running count, because a chunked reply declares
/// none and could go on forever.
async fn read_capped_body(
    mut response: reqwest::Response,
    operation: &'static str,
) -> Result<Vec<u8>> {
    if response
        .content_length()
        .is_some_and(|len| len > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_large(operation));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| errors::from_transport(err, operation))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large(operation));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn too_large(operation: &'static str) -> Error {
    debug!(
        operation,
        limit = MAX_RESPONSE_BYTES,
        "OTS reply is larger than any OTS answer"
    );
    Error::Upstream(UpstreamFailure::MalformedResponse)
}

/// Only the delta-seconds form of `Retry-After` is understood; an HTTP date is ignored rather
/// than guessed at.
fn header_number<T: std::str::FromStr>(headers: &HeaderMap, name: &str) -> Option<T> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}
