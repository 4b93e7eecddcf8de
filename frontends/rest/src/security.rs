//! The local endpoint's defences (docs/security-model.md), as
//! middleware that wraps a whole router, so a sibling service nested beside the REST routes
//! (`/mcp`) gets the same treatment.
//!
//! The gateway holds the team's OTS credentials, so anything that can reach it can spend them.
//! The threats are a web page in the user's browser (DNS rebinding, cross-site requests) and,
//! when bound beyond loopback, other hosts (the bearer token). Every refusal is JSON, because
//! v1 clients crash on anything else, and no header value is ever logged.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, Method, header};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use ots_gateway_bounded_body::{BodyRead, MCP_DRAIN_LIMIT, read_bounded};
use ots_gateway_core::model::{ClientToken, TokenLabel};

use crate::auth_throttle::AuthThrottle;
use crate::errors::LocalRefusal;
use crate::serve::RequestConnection;

/// The one route a bearer token does not guard: liveness probes carry no credentials, and the
/// answer reveals nothing.
pub const UNAUTHENTICATED_PATH: &str = "/healthz";

/// Where the binary mounts the MCP service, which answers its own size refusals.
const MCP_PATH: &str = "/mcp";

/// Host, Origin and token checks.
#[derive(Clone)]
pub struct LocalPolicy {
    /// Lower-cased extra Host names (with or without port) the operator allows.
    allowed_hosts: Arc<[String]>,
    bearer_token: Option<SecretString>,
    client_tokens: Arc<[ClientToken]>,
    failed_auth: Arc<AuthThrottle>,
}

/// Who a request proved to be, when tokens are configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authenticated {
    /// No token is configured, or the route needs none.
    NotRequired,
    /// The shared bearer token: no identity beyond "allowed".
    SharedToken,
    /// A client token: the request is attributed to its label.
    Client(TokenLabel),
}

/// The parts of a request the checks look at.
pub struct RequestHead<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub headers: &'a HeaderMap,
    /// The HTTP/2 `:authority` or an absolute-form request target, when there is one.
    pub authority: Option<&'a str>,
}

/// The values of `Sec-Fetch-Site` a browser sends for the gateway's own pages (`same-origin`)
/// and for what the user typed or bookmarked (`none`). `same-site` is refused on purpose: every
/// other port on 127.0.0.1 or localhost is "same site", and any local dev server (or an XSS in
/// one) would otherwise be trusted.
const SAME_ORIGIN_FETCH_SITES: [&[u8]; 2] = [b"same-origin", b"none"];

/// Parsed once: a lookup by `&str` parses the name on every request.
static SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

impl LocalPolicy {
    pub fn new(
        allowed_hosts: &[String],
        bearer_token: Option<SecretString>,
        client_tokens: &[ClientToken],
    ) -> Self {
        LocalPolicy {
            allowed_hosts: allowed_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            bearer_token,
            client_tokens: client_tokens.into(),
            failed_auth: Arc::default(),
        }
    }

    fn requires_token(&self) -> bool {
        self.bearer_token.is_some() || !self.client_tokens.is_empty()
    }

    /// Every check except the per-peer throttle, cheapest first.
    pub fn check(&self, head: &RequestHead<'_>) -> Result<Authenticated, LocalRefusal> {
        let host = self.checked_host(head)?;
        self.check_browser(head, host)?;
        if head.path == UNAUTHENTICATED_PATH {
            return Ok(Authenticated::NotRequired);
        }
        self.authenticate(head.headers)
    }

    /// DNS-rebinding defence: a page on `evil.example` whose name now resolves to 127.0.0.1
    /// still sends `Host: evil.example`. Exactly one Host is accepted: when two disagree, a
    /// proxy and the gateway could each believe a different one.
    fn checked_host<'h>(&self, head: &'h RequestHead<'_>) -> Result<&'h str, LocalRefusal> {
        let mut hosts = head.headers.get_all(header::HOST).iter();
        let host = match (hosts.next(), hosts.next()) {
            (Some(_), Some(_)) => return Err(LocalRefusal::DuplicateHeader("Host")),
            (Some(value), None) => value.to_str().ok(),
            (None, _) => head.authority,
        };
        match host {
            Some(host) if self.host_allowed(host) => Ok(host),
            Some(_) => Err(LocalRefusal::Forbidden(
                "this Host is not allowed; use a loopback address or a configured allowed host",
            )),
            None => Err(LocalRefusal::Forbidden("a Host header is required")),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = lowercase(host.trim());
        let Some(name) = host_name(&host) else {
            return false;
        };
        is_loopback_name(name) || self.is_allowed_extra(&host, name)
    }

    fn is_allowed_extra(&self, host_with_port: &str, name: &str) -> bool {
        self.allowed_hosts
            .iter()
            .any(|allowed| allowed == host_with_port || allowed == name)
    }

    /// A browser marks what it sends on a page's behalf; scripts and client libraries send no
    /// `Origin` and no `Sec-Fetch-*`, so they are unaffected. A page may act only when it is the
    /// gateway's own (same scheme, host and port as the request's Host) or when the user acted
    /// directly (`Sec-Fetch-Site: none`). CORS preflights are refused outright: the gateway
    /// grants no cross-origin access, and saying so early keeps a browser from trying.
    fn check_browser(&self, head: &RequestHead<'_>, host: &str) -> Result<(), LocalRefusal> {
        if head.method == Method::OPTIONS
            && head
                .headers
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return Err(LocalRefusal::Forbidden(
                "cross-origin requests are not allowed (CORS preflight refused)",
            ));
        }
        let foreign_fetch = head
            .headers
            .get_all(&SEC_FETCH_SITE)
            .iter()
            .any(|v| !SAME_ORIGIN_FETCH_SITES.contains(&v.as_bytes()));
        if foreign_fetch {
            return Err(LocalRefusal::Forbidden(
                "requests from other web pages are not allowed (Sec-Fetch-Site)",
            ));
        }
        let mut origins = head.headers.get_all(header::ORIGIN).iter();
        match (origins.next(), origins.next()) {
            (None, _) => Ok(()),
            (Some(origin), None) if origin.to_str().is_ok_and(|o| self.is_own_origin(o, host)) => {
                Ok(())
            }
            _ => Err(LocalRefusal::Forbidden(
                "requests from other web pages are not allowed (Origin)",
            )),
        }
    }

    /// `origin` is the gateway itself as reached through `host`. The listener speaks plain
    /// HTTP, so `https` is accepted only for an operator-configured name, which is how a
    /// TLS-terminating proxy in front of the gateway is set up. `null` (sandboxed frames,
    /// `file://` pages) never matches.
    fn is_own_origin(&self, origin: &str, host: &str) -> bool {
        let Ok(url) = url::Url::parse(origin) else {
            return false;
        };
        let Some(origin_name) = url.host_str().map(str::to_ascii_lowercase) else {
            return false;
        };
        let host = host.trim().to_ascii_lowercase();
        let Some(host_name) = host_name(&host) else {
            return false;
        };
        let host_port = host
            .strip_prefix(host_name)
            .and_then(|p| p.strip_prefix(':'));
        let same_name = origin_name == host_name;
        match url.scheme() {
            "http" => {
                let origin_port = url.port().map(|p| p.to_string());
                let host_port = host_port.filter(|p| *p != "80");
                same_name && origin_port.as_deref() == host_port
            }
            "https" => {
                let with_port = match url.port() {
                    Some(port) => format!("{origin_name}:{port}"),
                    None => origin_name.clone(),
                };
                same_name && self.is_allowed_extra(&with_port, &origin_name)
            }
            _ => false,
        }
    }

    /// Tokens, when any are configured. Exactly one `Authorization` header is read: trying each
    /// of many would turn one request into many guesses. Every configured token is compared in
    /// constant time, so timing does not reveal which matched.
    fn authenticate(&self, headers: &HeaderMap) -> Result<Authenticated, LocalRefusal> {
        if !self.requires_token() {
            return Ok(Authenticated::NotRequired);
        }
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let presented = match (values.next(), values.next()) {
            (Some(_), Some(_)) => return Err(LocalRefusal::DuplicateHeader("Authorization")),
            (Some(value), None) => value.to_str().ok().and_then(presented_token),
            (None, _) => None,
        };
        let Some(presented) = presented else {
            return Err(LocalRefusal::Unauthorized);
        };
        let matches = |expected: &SecretString| {
            bool::from(
                presented
                    .expose_secret()
                    .as_bytes()
                    .ct_eq(expected.expose_secret().as_bytes()),
            )
        };
        let mut result = None;
        for client in self.client_tokens.iter() {
            if matches(&client.token) && result.is_none() {
                result = Some(Authenticated::Client(TokenLabel(client.label.clone())));
            }
        }
        if let Some(shared) = &self.bearer_token
            && matches(shared)
            && result.is_none()
        {
            result = Some(Authenticated::SharedToken);
        }
        result.ok_or(LocalRefusal::Unauthorized)
    }
}

/// The token in `Authorization: Bearer <token>`, or the password of `Basic` auth, so OTS client
/// libraries can carry it in their API-key setting (any username).
fn presented_token(authorization: &str) -> Option<SecretString> {
    let (scheme, rest) = authorization.trim().split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(SecretString::from(rest.to_owned()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(rest).ok()?;
        let decoded = SecretString::from(String::from_utf8(decoded).ok()?);
        let (_user, password) = decoded.expose_secret().split_once(':')?;
        return Some(SecretString::from(password.to_owned()));
    }
    None
}

/// `text` in ASCII lower case, copied only when it has an upper-case letter: Host values almost
/// never do, and this runs on every request.
fn lowercase(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// The name part of a Host value: `localhost:7143` → `localhost`, `[::1]:7143` → `[::1]`.
fn host_name(host: &str) -> Option<&str> {
    if host.starts_with('[') {
        let end = host.find(']')?;
        let (name, rest) = host.split_at(end + 1);
        return (rest.is_empty() || rest.strip_prefix(':').is_some_and(is_port)).then_some(name);
    }
    match host.split_once(':') {
        None => Some(host),
        Some((name, port)) if is_port(port) => Some(name),
        Some(_) => None,
    }
}

fn is_port(digits: &str) -> bool {
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `localhost`, any `127.x.y.z`, and `[::1]` in any spelling.
fn is_loopback_name(name: &str) -> bool {
    if name == "localhost" {
        return true;
    }
    if let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
    }
    name.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// The Host, origin and token checks, and the throttle on failed tokens: the request goes on,
/// carrying a client token's label if one authenticated it, or is refused.
pub(crate) fn admit_local(policy: &LocalPolicy, req: Request) -> Result<Request, LocalRefusal> {
    let connection = req.extensions().get::<RequestConnection>();
    let peer = connection.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.peer().ip());
    let metrics = connection.map(|c| c.load().metrics());
    let now = Instant::now();
    let guarded = policy.requires_token() && req.uri().path() != UNAUTHENTICATED_PATH;
    if guarded && let Some(wait) = policy.failed_auth.blocked_for(peer, now) {
        if let Some(metrics) = metrics {
            metrics.throttled_auth_attempts.inc();
        }
        return Err(LocalRefusal::TooManyFailedAttempts { retry_after: wait });
    }
    let head = RequestHead {
        method: req.method(),
        path: req.uri().path(),
        headers: req.headers(),
        authority: req.uri().authority().map(|a| a.as_str()),
    };
    match policy.check(&head) {
        Ok(Authenticated::Client(label)) => {
            let mut req = req;
            // Handlers and nested services (MCP) read it as the caller's proven identity.
            req.extensions_mut().insert(label);
            Ok(req)
        }
        Ok(_) => Ok(req),
        Err(refusal) => {
            if matches!(
                refusal,
                LocalRefusal::Unauthorized | LocalRefusal::DuplicateHeader("Authorization")
            ) {
                if let Some(metrics) = metrics {
                    metrics.auth_failures.inc();
                }
                if let Some(due) = policy.failed_auth.record_failure(peer, now) {
                    // The peer address is the gateway's own observation, never caller text.
                    tracing::warn!(
                        peer = %peer,
                        failures = due.failures,
                        "requests with a missing or wrong gateway token"
                    );
                }
            }
            Err(refusal)
        }
    }
}

/// Reads the whole body, capped in size and in time, before the request goes further, with a
/// JSON 413 or 408 when it is too big or too slow (tower-http's limit answers with a bare
/// status). Reading it here, ahead of [`take_slot`], means a client trickling a body in holds
/// a connection (which the listener caps) but never one of the request slots everyone shares.
/// Bodies are small (a secret is at most 10 000 bytes), so buffering costs nothing real.
///
/// `/mcp` gets the same bounds, answered the way its clients can read: a JSON-RPC error
/// without an id. An oversized `/mcp` body is read to its end (up to [`MCP_DRAIN_LIMIT`], kept
/// nowhere) before the answer, because answering mid-upload closes the connection under the
/// client, which some MCP clients take as the end of their session.
pub(crate) async fn read_body(max_bytes: usize, req: Request) -> Result<Request, Response> {
    let is_mcp = req.uri().path() == MCP_PATH || req.uri().path().starts_with("/mcp/");
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if !is_mcp && declared.is_some_and(|len| len > max_bytes as u64) {
        return Err(LocalRefusal::BodyTooLarge.into_response());
    }
    if body_is_empty(&req) {
        return Ok(req);
    }
    let connection = req.extensions().get::<RequestConnection>().cloned();
    let load = connection.as_ref().map(RequestConnection::load);
    let read_timeout = load.map_or(DEFAULT_BODY_READ_TIMEOUT, |load| load.body_read_timeout());
    // While the body trickles in, the connection counts as idle for the connection cap.
    let reading = connection.as_ref().map(RequestConnection::reading_body);
    let (parts, body) = req.into_parts();
    let drain_limit = if is_mcp { MCP_DRAIN_LIMIT } else { max_bytes };
    let read = tokio::time::timeout(read_timeout, read_bounded(body, max_bytes, drain_limit));
    // Shutdown does not wait for a body that is still trickling in.
    let stopping = async {
        match load {
            Some(load) => load.stopping().await,
            None => std::future::pending().await,
        }
    };
    let outcome = tokio::select! {
        read = read => read.ok(),
        () = stopping => return Err(LocalRefusal::ShuttingDown.into_response()),
    };
    drop(reading);
    let refusal = match outcome {
        Some(BodyRead::Complete(bytes)) => {
            return Ok(Request::from_parts(parts, Body::from(bytes)));
        }
        Some(BodyRead::TooLarge { drained }) => (LocalRefusal::BodyTooLarge, drained),
        Some(BodyRead::Failed) => (LocalRefusal::MalformedBody, false),
        None => (LocalRefusal::BodyTimedOut, false),
    };
    Err(match refusal {
        (refusal, drained) if is_mcp => jsonrpc_refusal(&refusal, max_bytes, drained),
        (refusal, _) => refusal.into_response(),
    })
}

/// The same refusal, as the JSON-RPC error without an id that MCP's Streamable HTTP transport
/// allows for a message the server cannot accept (code -32600, "Invalid Request").
fn jsonrpc_refusal(refusal: &LocalRefusal, max_bytes: usize, drained: bool) -> Response {
    let status = refusal.clone().into_response().status();
    let message = match refusal {
        LocalRefusal::BodyTooLarge => format!(
            "Request too large: /mcp accepts at most {max_bytes} bytes per message \
             (a secret itself may be at most 10000 bytes)"
        ),
        LocalRefusal::BodyTimedOut => {
            "Request timeout: the message did not arrive in time".to_owned()
        }
        _ => "Invalid request: the request body could not be read".to_owned(),
    };
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": -32600, "message": message },
    });
    let mut response = (status, axum::Json(body)).into_response();
    if !drained {
        response
            .headers_mut()
            .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
    }
    response
}

/// A body hyper already knows to be empty (a GET without a length): nothing to wait for and
/// nothing to cap, so reading it would only arm a timer.
pub(crate) fn body_is_empty(req: &Request) -> bool {
    axum::body::HttpBody::is_end_stream(req.body())
}

/// For routers run without the listener (in-process tests); [`crate::ListenerSettings`] sets
/// the real value.
const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Load shedding: when every slot is busy, answer 503 with `Retry-After` at once instead of
/// queueing. Local callers are scripts that can retry; a hidden queue would instead turn a
/// burst into timeouts, and hold connections open while it did. `/healthz` is exempt so a busy
/// gateway is not mistaken for a dead one; `/readyz` is not, so a saturated gateway reports
/// itself not ready.
pub(crate) fn take_slot(
    slots: &Arc<Semaphore>,
    req: &Request,
) -> Result<Option<OwnedSemaphorePermit>, LocalRefusal> {
    if req.uri().path() == UNAUTHENTICATED_PATH {
        return Ok(None);
    }
    match Arc::clone(slots).try_acquire_owned() {
        Ok(permit) => Ok(Some(permit)),
        Err(_) => {
            if let Some(connection) = req.extensions().get::<RequestConnection>() {
                connection.load().metrics().shed_requests.inc();
            }
            Err(LocalRefusal::Overloaded)
        }
    }
}

/// What the front door (`crate::front_door`) checks: the local policy (absent for the
/// simulator, which plays a public server), the body-size bound and the request slots.
#[derive(Clone)]
pub struct FrontDoor {
    pub policy: Option<LocalPolicy>,
    pub max_body_bytes: usize,
    pub slots: Arc<Semaphore>,
}

/// A JSON answer when a request runs too long (tower-http's timeout answers with a bare
/// status). Only for request/response routes: it would cut `/mcp`'s streams.
pub async fn within_time_limit(
    limit: Duration,
    response: impl Future<Output = Response>,
) -> Response {
    match tokio::time::timeout(limit, response).await {
        Ok(response) => response,
        Err(_) => LocalRefusal::TimedOut.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn policy(token: Option<&str>) -> LocalPolicy {
        LocalPolicy::new(
            &["Gateway.Internal".to_owned(), "box:8080".to_owned()],
            token.map(|t| SecretString::from(t.to_owned())),
            &[],
        )
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn check_as(
        policy: &LocalPolicy,
        method: &Method,
        path: &str,
        pairs: &[(&str, &str)],
    ) -> Result<Authenticated, LocalRefusal> {
        policy.check(&RequestHead {
            method,
            path,
            headers: &headers(pairs),
            authority: None,
        })
    }

    fn check(policy: &LocalPolicy, path: &str, pairs: &[(&str, &str)]) -> Result<(), LocalRefusal> {
        check_as(policy, &Method::POST, path, pairs).map(|_| ())
    }

    #[tokio::test]
    async fn a_request_that_runs_too_long_gets_a_json_504() {
        let response =
            within_time_limit(Duration::from_millis(1), std::future::pending::<Response>()).await;
        assert_eq!(response.status(), http::StatusCode::GATEWAY_TIMEOUT);
        let body = crate::errors::tests::json_body(response).await;
        assert!(body.starts_with(br#"{"message":"#));
    }

    #[test]
    fn client_tokens_authenticate_as_their_label() {
        let alice = ClientToken {
            label: "alice".to_owned(),
            token: SecretString::from("alice-token-0123456789".to_owned()),
        };
        let p = LocalPolicy::new(&[], Some(SecretString::from("shared".to_owned())), &[alice]);
        let with = |auth: &str| {
            check_as(
                &p,
                &Method::GET,
                "/api/v1/status",
                &[("host", "127.0.0.1"), ("authorization", auth)],
            )
        };
        assert_eq!(
            with("Bearer alice-token-0123456789"),
            Ok(Authenticated::Client(TokenLabel("alice".to_owned())))
        );
        // As a Basic password, the way OTS client libraries send an API key.
        let basic = format!("Basic {}", STANDARD.encode("anyone:alice-token-0123456789"));
        assert_eq!(
            with(&basic),
            Ok(Authenticated::Client(TokenLabel("alice".to_owned())))
        );
        assert_eq!(with("Bearer shared"), Ok(Authenticated::SharedToken));
        assert_eq!(
            with("Bearer alice-token-wrong"),
            Err(LocalRefusal::Unauthorized)
        );
        assert_eq!(
            check_as(&p, &Method::GET, "/healthz", &[("host", "127.0.0.1")]),
            Ok(Authenticated::NotRequired)
        );
        assert_eq!(
            check_as(
                &p,
                &Method::GET,
                "/api/v1/status",
                &[
                    ("host", "127.0.0.1"),
                    ("authorization", "Bearer wrong-token-0123456789"),
                    ("authorization", "Bearer alice-token-0123456789"),
                ],
            ),
            Err(LocalRefusal::DuplicateHeader("Authorization")),
            "one request is one guess, however many headers it carries"
        );
    }

    #[test]
    fn loopback_hosts_are_allowed_with_or_without_port() {
        let p = policy(None);
        for host in [
            "localhost",
            "LOCALHOST:7143",
            "127.0.0.1",
            "127.0.0.1:7143",
            "127.8.9.10:1",
            "[::1]",
            "[::1]:7143",
            "[0:0:0:0:0:0:0:1]:80",
            "gateway.internal",
            "gateway.internal:7143",
            "box:8080",
        ] {
            assert_eq!(
                check(&p, "/api/v1/status", &[("host", host)]),
                Ok(()),
                "{host}"
            );
        }
    }

    #[test]
    fn other_hosts_are_forbidden() {
        let p = policy(None);
        for host in [
            "evil.example",
            "evil.example:7143",
            "localhost.evil.example",
            "128.0.0.1",
            "0.0.0.0",
            "[::2]",
            "box:9090",
            "localhost:abc",
            "::1",
            "",
        ] {
            assert!(
                matches!(
                    check(&p, "/api/v1/status", &[("host", host)]),
                    Err(LocalRefusal::Forbidden(_))
                ),
                "{host}"
            );
        }
        assert!(matches!(
            check(&p, "/", &[]),
            Err(LocalRefusal::Forbidden(_))
        ));
    }

    #[test]
    fn http2_authority_stands_in_for_host() {
        let p = policy(None);
        let head = RequestHead {
            method: &Method::GET,
            path: "/",
            headers: &HeaderMap::new(),
            authority: Some("127.0.0.1:1"),
        };
        assert!(p.check(&head).is_ok());
    }

    #[test]
    fn only_the_gateways_own_origin_may_send_browser_requests() {
        let p = policy(None);
        let host = ("host", "127.0.0.1:7143");
        for origin in [
            "https://evil.example",
            "null",
            "file://",
            "chrome-extension://abc",
            "http://box:9090",
            // Other loopback ports and names are other origins: any local dev server.
            "http://localhost:3000",
            "http://127.0.0.1:3000",
            "http://[::1]:7143",
            "http://localhost:7143",
            "https://127.0.0.1:7143",
            "http://127.0.0.1",
        ] {
            assert!(
                matches!(
                    check(&p, "/", &[host, ("origin", origin)]),
                    Err(LocalRefusal::Forbidden(_))
                ),
                "{origin}"
            );
        }
        assert_eq!(
            check(&p, "/", &[host, ("origin", "http://127.0.0.1:7143")]),
            Ok(())
        );
        assert_eq!(
            check(
                &p,
                "/",
                &[("host", "localhost"), ("origin", "http://LOCALHOST")]
            ),
            Ok(())
        );
        assert_eq!(
            check(&p, "/", &[("host", "[::1]:80"), ("origin", "http://[::1]")]),
            Ok(())
        );
        assert_eq!(
            check(
                &p,
                "/",
                &[
                    ("host", "gateway.internal"),
                    ("origin", "https://gateway.internal")
                ]
            ),
            Ok(()),
            "https only for an operator-configured name (a TLS proxy)"
        );
        assert!(
            check(
                &p,
                "/",
                &[
                    host,
                    ("origin", "http://127.0.0.1:7143"),
                    ("origin", "http://evil.example")
                ]
            )
            .is_err(),
            "two Origins"
        );
    }

    #[test]
    fn sec_fetch_site_must_be_same_origin_or_none() {
        let p = policy(None);
        let host = ("host", "127.0.0.1:7143");
        for site in ["cross-site", "same-site", "bogus"] {
            assert!(
                matches!(
                    check(&p, "/", &[host, ("sec-fetch-site", site)]),
                    Err(LocalRefusal::Forbidden(_))
                ),
                "{site}"
            );
        }
        for site in ["same-origin", "none"] {
            assert_eq!(check(&p, "/", &[host, ("sec-fetch-site", site)]), Ok(()));
        }
    }

    #[test]
    fn preflights_are_refused() {
        let p = policy(None);
        let preflight = check_as(
            &p,
            &Method::OPTIONS,
            "/api/v1/share",
            &[
                ("host", "127.0.0.1:7143"),
                ("origin", "http://127.0.0.1:7143"),
                ("access-control-request-method", "POST"),
            ],
        );
        assert!(matches!(preflight, Err(LocalRefusal::Forbidden(_))));
    }

    #[test]
    fn exactly_one_host_header() {
        let p = policy(None);
        assert_eq!(
            check(&p, "/", &[("host", "127.0.0.1"), ("host", "127.0.0.1")]),
            Err(LocalRefusal::DuplicateHeader("Host"))
        );
        assert_eq!(
            check(&p, "/", &[("host", "127.0.0.1"), ("host", "evil.example")]),
            Err(LocalRefusal::DuplicateHeader("Host"))
        );
    }

    #[test]
    fn bearer_token_via_bearer_or_basic_password() {
        let p = policy(Some("s3cret-token"));
        let host = ("host", "localhost");
        let basic = |creds: &str| format!("Basic {}", STANDARD.encode(creds));
        for good in [
            "Bearer s3cret-token".to_owned(),
            "bearer   s3cret-token".to_owned(),
            basic("anyone@example.com:s3cret-token"),
            basic(":s3cret-token"),
        ] {
            assert_eq!(
                check(&p, "/api/v1/status", &[host, ("authorization", &good)]),
                Ok(()),
                "{good}"
            );
        }
        for bad in [
            "Bearer wrong".to_owned(),
            "Bearer s3cret-token-longer".to_owned(),
            "Bearer".to_owned(),
            "Token s3cret-token".to_owned(),
            basic("s3cret-token:wrong"),
            basic("s3cret-token"),
            "Basic !!!".to_owned(),
        ] {
            assert_eq!(
                check(&p, "/api/v1/status", &[host, ("authorization", &bad)]),
                Err(LocalRefusal::Unauthorized),
                "{bad}"
            );
        }
        assert_eq!(
            check(&p, "/api/v1/status", &[host]),
            Err(LocalRefusal::Unauthorized)
        );
        assert_eq!(check(&p, "/healthz", &[host]), Ok(()));
        // Without a configured token, Authorization headers are simply not the gateway's business.
        assert_eq!(
            check(
                &policy(None),
                "/api/v1/status",
                &[host, ("authorization", "Bearer x")]
            ),
            Ok(())
        );
    }
}
