//! The one place a request goes out and a reply comes back: the headers every request carries,
//! the whole-request deadline, and the cap on what is read back.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT,
};
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Incoming};
use secrecy::ExposeSecret;
use tracing::debug;

use super::errors::{self, Reply};
use super::http_client;
use super::params::EncodedBody;
use super::pool::Pool;
use super::routes::Endpoints;
use crate::error::{Error, Result, UpstreamFailure};
use crate::model::Credentials;

/// Room reserved up front for an answer that declares its length: a declared length is only a
/// claim, and the limits (see `Route::answer_limit`) go well past what most answers need.
const PREALLOCATE_AT_MOST: usize = 1024 * 1024;

const USER_AGENT_VALUE: &str = concat!("ots-gateway/", env!("CARGO_PKG_VERSION"));
/// What the gateway has always sent (reqwest's default); some servers pick a representation
/// by `Accept`, so leaving it out could change their answer.
const ACCEPT_ANY: &str = "*/*";
const INTENDED_STATUS: &str = "x-ots-intended-status";

/// How long an idle keep-alive connection waits in the pool for the next request.
const IDLE_CONNECTION_LIFETIME: Duration = Duration::from_secs(90);

/// The connection pool and the deadline each exchange gets.
pub(super) struct Transport {
    pool: Pool,
    request_timeout: Duration,
}

impl Transport {
    pub(super) fn new(
        endpoints: &Endpoints,
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> Result<Self> {
        Ok(Transport {
            pool: Pool::new(
                http_client::connector(connect_timeout)?,
                endpoints.origin_uri()?,
                endpoints.host_header()?,
                IDLE_CONNECTION_LIFETIME,
            ),
            request_timeout,
        })
    }

    /// Sends the request and reads the whole reply, whatever its status, up to `limit` bytes,
    /// all within the request timeout: a server that sends its headers and then stalls is cut
    /// off too.
    pub(super) async fn exchange(
        &self,
        request: Request<Full<Bytes>>,
        operation: &'static str,
        limit: usize,
    ) -> Result<Reply> {
        // Boxed, because every async layer above this one (the client's retries, the gateway's
        // policy, the frontend's handler) would otherwise hold this state, 1.3 KB, and each
        // moves what it awaits when it starts: a status request's handler future was 4.8 KB,
        // 2.2 KB with this box, and simulated cache misses per request fell by 13-19 %
        // (BENCHMARKS.md, eleventh round). One allocation here leaves them a pointer to move.
        let bounded = Box::pin(tokio::time::timeout(
            self.request_timeout,
            self.exchange_unbounded(request, operation, limit),
        ));
        match bounded.await {
            Ok(outcome) => outcome,
            Err(_) => {
                let failure = UpstreamFailure::Timeout;
                debug!(operation, ?failure, "OTS request failed");
                Err(Error::Upstream(failure))
            }
        }
    }

    async fn exchange_unbounded(
        &self,
        request: Request<Full<Bytes>>,
        operation: &'static str,
        limit: usize,
    ) -> Result<Reply> {
        let (response, connection) = self
            .pool
            .send(request)
            .await
            .map_err(|err| errors::from_transport(&*err, operation))?;
        let status = response.status();
        debug!(operation, status = status.as_u16(), "OTS answered");
        let intended_status = header_number(response.headers(), INTENDED_STATUS);
        let retry_after =
            header_number(response.headers(), RETRY_AFTER.as_str()).map(Duration::from_secs);
        let body = read_capped_body(response.into_body(), operation, limit).await?;
        connection.reuse();
        Ok(Reply {
            status,
            intended_status,
            retry_after,
            body,
        })
    }
}

/// A request with the headers every request carries. `uri` is absolute; the pool sends its path
/// and adds `Host`.
pub(super) fn request(
    method: Method,
    uri: Uri,
    authorization: Option<&HeaderValue>,
    body: Option<EncodedBody>,
) -> Request<Full<Bytes>> {
    let (content_type, bytes) = match body {
        Some(EncodedBody {
            content_type,
            bytes,
        }) => (Some(content_type), bytes),
        None => (None, Bytes::new()),
    };
    let mut request = Request::new(Full::new(bytes));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_ANY));
    if let Some(authorization) = authorization {
        headers.insert(AUTHORIZATION, authorization.clone());
    }
    if let Some(content_type) = content_type {
        headers.insert(CONTENT_TYPE, content_type);
    }
    request
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

/// Checks the declared length first, then the running count, because a chunked reply declares
/// none and could go on forever.
async fn read_capped_body(
    mut body: Incoming,
    operation: &'static str,
    limit: usize,
) -> Result<Vec<u8>> {
    let declared = body.size_hint().exact();
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large(operation, limit));
    }
    let mut collected = Vec::with_capacity(declared.map_or(0, |len| {
        usize::try_from(len).map_or(PREALLOCATE_AT_MOST, |len| len.min(PREALLOCATE_AT_MOST))
    }));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| errors::from_transport(&err, operation))?;
        // Trailers carry nothing OTS sends; only data frames count.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if collected.len() + data.len() > limit {
            return Err(too_large(operation, limit));
        }
        collected.extend_from_slice(&data);
    }
    Ok(collected)
}

fn too_large(operation: &'static str, limit: usize) -> Error {
    debug!(
        operation,
        limit, "OTS reply is larger than the gateway reads"
    );
    Error::Upstream(UpstreamFailure::AnswerTooLarge { limit_bytes: limit })
}

/// Only the delta-seconds form of `Retry-After` is understood; an HTTP date is ignored rather
/// than guessed at.
fn header_number<T: std::str::FromStr>(headers: &HeaderMap, name: &str) -> Option<T> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}
