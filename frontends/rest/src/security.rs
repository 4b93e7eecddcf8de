//! The local endpoint's defences (docs/security-model.md), as
//! middleware that wraps a whole router, so a sibling service nested beside the REST routes
//! (`/mcp`) gets the same treatment.
//!
//! The gateway holds the team's OTS credentials, so anything that can reach it can spend them.
//! The threats are a web page in the user's browser (DNS rebinding, cross-site requests) and,
//! when bound beyond loopback, other hosts (the bearer token). Every refusal is JSON, because
//! v1 clients crash on anything else, and no header value is ever logged.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, header};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use ots_gateway_core::model::{ClientToken, TokenLabel};

use crate::errors::LocalRefusal;

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
        }
    }

    /// Every check, cheapest first.
    pub fn check(
        &self,
        path: &str,
        headers: &HeaderMap,
        authority: Option<&str>,
    ) -> Result<Authenticated, LocalRefusal> {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or(authority);
        match host {
            Some(host) if self.host_allowed(host) => {}
            Some(_) => {
                return Err(LocalRefusal::Forbidden(
                    "this Host is not allowed; use a loopback address or a configured allowed host",
                ));
            }
            None => return Err(LocalRefusal::Forbidden("a Host header is required")),
        }
        if !self.origin_allowed(headers) {
            return Err(LocalRefusal::Forbidden(
                "cross-site browser requests are not allowed",
            ));
        }
        if path == UNAUTHENTICATED_PATH {
            return Ok(Authenticated::NotRequired);
        }
        self.authenticate(headers).ok_or(LocalRefusal::Unauthorized)
    }

    /// DNS-rebinding defence: a page on `evil.example` whose name now resolves to 127.0.0.1
    /// still sends `Host: evil.example`.
    fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
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
    /// `Origin` and no `Sec-Fetch-Site`, so they are unaffected.
    fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let cross_site = headers
            .get_all("sec-fetch-site")
            .iter()
            .any(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
        if cross_site {
            return false;
        }
        headers
            .get_all(header::ORIGIN)
            .iter()
            .all(|origin| origin.to_str().is_ok_and(|o| self.origin_is_local(o)))
    }

    fn origin_is_local(&self, origin: &str) -> bool {
        // `null` comes from sandboxed frames and file:// pages: not something we can vouch for.
        let Ok(url) = url::Url::parse(origin) else {
            return false;
        };
        if !matches!(url.scheme(), "http" | "https") {
            return false;
        }
        let Some(name) = url.host_str().map(str::to_ascii_lowercase) else {
            return false;
        };
        let with_port = match url.port() {
            Some(port) => format!("{name}:{port}"),
            None => name.clone(),
        };
        is_loopback_name(&name) || self.is_allowed_extra(&with_port, &name)
    }

    /// `None` when tokens are configured and none of the presented ones matches. Every
    /// configured token is compared in constant time, so timing does not reveal which matched.
    fn authenticate(&self, headers: &HeaderMap) -> Option<Authenticated> {
        if self.bearer_token.is_none() && self.client_tokens.is_empty() {
            return Some(Authenticated::NotRequired);
        }
        let presented: Vec<SecretString> = headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(presented_token)
            .collect();
        let matches = |expected: &SecretString| {
            presented.iter().fold(false, |found, candidate| {
                let equal = candidate
                    .expose_secret()
                    .as_bytes()
                    .ct_eq(expected.expose_secret().as_bytes());
                found | bool::from(equal)
            })
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
        result
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

/// The name part of a Host value: `localhost:7143` → `localhost`, `[::1]:7143` → `[::1]`.
fn host_name(host: &str) -> Option<&str> {
    if host.starts_with('[') {
        let end = host.find(']')?;
        let (name, rest) = host.split_at(end + 1);
        return (rest.is_empty() || is_port_suffix(rest)).then_some(name);
    }
    match host.split_once(':') {
        None => Some(host),
        Some((name, port)) if is_port_suffix(&format!(":{port}")) => Some(name),
        Some(_) => None,
    }
}

fn is_port_suffix(rest: &str) -> bool {
    rest.strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
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

pub async fn guard_local(State(policy): State<LocalPolicy>, req: Request, next: Next) -> Response {
    let authority = req.uri().authority().map(|a| a.as_str().to_owned());
    match policy.check(req.uri().path(), req.headers(), authority.as_deref()) {
        Ok(Authenticated::Client(label)) => {
            let mut req = req;
            // Handlers and nested services (MCP) read it as the caller's proven identity.
            req.extensions_mut().insert(label);
            next.run(req).await
        }
        Ok(_) => next.run(req).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// Refuses a declared oversized body at once and caps a streamed one, with a JSON 413 either
/// way (tower-http's limit answers with a bare status). Handlers turn the cap's read error into
/// the same 413. `/mcp` bounds its own bodies: its clients need the refusal as a JSON-RPC error,
/// and the body read to its end so the connection (and the MCP session) survives it.
pub async fn limit_body(State(max_bytes): State<usize>, req: Request, next: Next) -> Response {
    if req.uri().path() == MCP_PATH || req.uri().path().starts_with("/mcp/") {
        return next.run(req).await;
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max_bytes as u64) {
        return LocalRefusal::BodyTooLarge.into_response();
    }
    let req = req.map(|body| Body::new(http_body_util::Limited::new(body, max_bytes)));
    next.run(req).await
}

/// Load shedding: when every slot is busy, answer 503 with `Retry-After` at once instead of
/// queueing. Local callers are scripts that can retry; a hidden queue would instead turn a
/// burst into timeouts, and hold connections open while it did. `/healthz` is exempt so a busy
/// gateway is not mistaken for a dead one.
pub async fn shed_load(State(slots): State<Arc<Semaphore>>, req: Request, next: Next) -> Response {
    if req.uri().path() == UNAUTHENTICATED_PATH {
        return next.run(req).await;
    }
    let Ok(_permit) = slots.try_acquire_owned() else {
        return LocalRefusal::Overloaded.into_response();
    };
    next.run(req).await
}

/// A JSON answer when a request runs too long (tower-http's timeout answers with a bare
/// status). Only for request/response routes: it would cut `/mcp`'s streams.
pub async fn time_limit(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
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

    fn check(policy: &LocalPolicy, path: &str, pairs: &[(&str, &str)]) -> Result<(), LocalRefusal> {
        policy.check(path, &headers(pairs), None).map(|_| ())
    }

    #[tokio::test]
    async fn a_request_that_runs_too_long_gets_a_json_504() {
        use axum::routing::get;
        use tower::ServiceExt;

        let router = axum::Router::new()
            .route("/", get(std::future::pending::<&'static str>))
            .layer(axum::middleware::from_fn_with_state(
                Duration::from_millis(1),
                time_limit,
            ));
        let response = router
            .oneshot(Request::builder().uri("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), http::StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/json; charset=utf-8"
        );
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
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
            p.check(
                "/api/v1/status",
                &headers(&[("host", "127.0.0.1"), ("authorization", auth)]),
                None,
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
            p.check("/healthz", &headers(&[("host", "127.0.0.1")]), None),
            Ok(Authenticated::NotRequired)
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
        assert!(p.check("/", &HeaderMap::new(), Some("127.0.0.1:1")).is_ok());
    }

    #[test]
    fn cross_site_browser_requests_are_forbidden() {
        let p = policy(None);
        let host = ("host", "127.0.0.1:7143");
        for origin in [
            "https://evil.example",
            "null",
            "file://",
            "chrome-extension://abc",
            "http://box:9090",
        ] {
            assert!(
                matches!(
                    check(&p, "/", &[host, ("origin", origin)]),
                    Err(LocalRefusal::Forbidden(_))
                ),
                "{origin}"
            );
        }
        for origin in [
            "http://localhost:3000",
            "http://127.0.0.1",
            "https://[::1]:8443",
            "http://gateway.internal",
            "http://box:8080",
        ] {
            assert_eq!(
                check(&p, "/", &[host, ("origin", origin)]),
                Ok(()),
                "{origin}"
            );
        }
        assert!(matches!(
            check(&p, "/", &[host, ("sec-fetch-site", "cross-site")]),
            Err(LocalRefusal::Forbidden(_))
        ));
        assert_eq!(
            check(&p, "/", &[host, ("sec-fetch-site", "same-origin")]),
            Ok(())
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
