//! The v1 route table (docs/ots-api-notes.md §2) and its handlers, shared by the gateway and the simulator
//! router. Handlers only translate: params in, one backend call, a rendered body out.

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use ots_gateway_core::Error;
use ots_gateway_core::model::{ReceiptKey, SecretKey, sanitize_key};
use serde::Serialize;

use crate::backend::{Backend, Call};
use crate::errors::{Dialect, LocalRefusal};
use crate::render::{
    self, BurnBody, ReceiptBody, ReceiptView, RevealBody, ServerStatusBody, ok, ok_written,
};

/// OTS's `V1_MIN_IDENTIFIER_LENGTH`: shorter keys get a bare "Not Found" before any lookup.
const MIN_KEY_CHARS: usize = 20;

/// v1 has three names for the receipt routes: `private` (classic), `metadata` (the onetime-ruby
/// CLI uses it) and `receipt` (v0.24+).
const RECEIPT_PREFIXES: [&str; 3] = ["private", "metadata", "receipt"];

/// The v1 surface plus `/healthz` and `/readyz`, with OTS's 404 for everything else.
pub fn v1_routes(backend: Backend) -> Router {
    let mut router = Router::new();
    router = both_slashes(router, "/api/v1/status", get(status));
    router = both_slashes(router, "/api/v1/authcheck", get(authcheck));
    router = both_slashes(router, "/api/v1/share", post(share));
    router = both_slashes(router, "/api/v1/create", post(share));
    router = both_slashes(router, "/api/v1/generate", post(generate));
    router = both_slashes(router, "/api/v1/secret/{key}", post(retrieve));
    for prefix in RECEIPT_PREFIXES {
        // chelnak's client asks for recent with POST; accepting it is harmless. The static
        // segment wins over `{key}`, which keeps issue #62's shadowing from coming back.
        router = both_slashes(
            router,
            &format!("/api/v1/{prefix}/recent"),
            get(recent).post(recent),
        );
        router = both_slashes(
            router,
            &format!("/api/v1/{prefix}/{{key}}"),
            get(receipt).post(receipt),
        );
        router = both_slashes(
            router,
            &format!("/api/v1/{prefix}/{{key}}/burn"),
            post(burn),
        );
    }
    router
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(backend)
}

/// OTS's router strips one trailing slash (v1 and v2 alike), and clients that build URLs by
/// concatenation rely on it.
pub(crate) fn both_slashes(
    router: Router<Backend>,
    path: &str,
    method_router: MethodRouter<Backend>,
) -> Router<Backend> {
    router
        .route(path, method_router.clone())
        .route(&format!("{path}/"), method_router)
}

async fn not_found() -> Response {
    LocalRefusal::RouteNotFound.into_response()
}

async fn status(call: Call) -> Response {
    match call.ops.status().await {
        Ok(status) => ok(&ServerStatusBody::new(&status)),
        Err(err) => call.fail(err, None),
    }
}

async fn authcheck(call: Call) -> Response {
    match call.ops.authcheck().await {
        Ok(status) => ok(&ServerStatusBody::new(&status)),
        Err(err) => call.fail(err, None),
    }
}

async fn share(call: Call) -> Response {
    let request = match call.params.share_request() {
        Ok(request) => request,
        Err(err) => return call.fail(err, None),
    };
    match call.ops.share(request).await {
        Ok(receipt) => ok_written(&ReceiptBody::new(&receipt, created_view(&call))),
        Err(err) => call.fail(err, None),
    }
}

/// The gateway adds `share_url` to what it creates; the simulator answers exactly as OTS does.
fn created_view(call: &Call) -> ReceiptView {
    match call.ops.dialect() {
        Dialect::Gateway { .. } => ReceiptView::Created,
        Dialect::Ots => ReceiptView::Plain,
    }
}

async fn generate(call: Call) -> Response {
    let request = match call.params.generate_request() {
        Ok(request) => request,
        Err(err) => return call.fail(err, None),
    };
    match call.ops.generate(request).await {
        Ok(receipt) => ok_written(&ReceiptBody::new(&receipt, created_view(&call))),
        Err(err) => call.fail(err, None),
    }
}

async fn retrieve(key: Result<Path<String>, PathRejection>, call: Call) -> Response {
    let raw = match raw_key(key) {
        Ok(raw) => raw,
        Err(refusal) => return refusal.into_response(),
    };
    let Ok(key) = SecretKey::parse(&sanitize_key(&raw)) else {
        return call.fail(Error::UnknownSecret, Some(&raw));
    };
    let passphrase = match call.params.passphrase() {
        Ok(passphrase) => passphrase,
        Err(err) => return call.fail(err, Some(&raw)),
    };
    match call.ops.retrieve(&key, passphrase.as_ref()).await {
        Ok(revealed) => ok(&RevealBody::new(&revealed)),
        Err(err) => call.fail(err, Some(&raw)),
    }
}

async fn receipt(key: Result<Path<String>, PathRejection>, call: Call) -> Response {
    let raw = match raw_key(key) {
        Ok(raw) => raw,
        Err(refusal) => return refusal.into_response(),
    };
    let Ok(key) = ReceiptKey::parse(&sanitize_key(&raw)) else {
        return call.fail(Error::UnknownSecret, Some(&raw));
    };
    match call.ops.receipt(&key).await {
        Ok(receipt) => ok_written(&ReceiptBody::new(&receipt, ReceiptView::Plain)),
        Err(err) => call.fail(err, Some(&raw)),
    }
}

async fn burn(key: Result<Path<String>, PathRejection>, call: Call) -> Response {
    let raw = match raw_key(key) {
        Ok(raw) => raw,
        Err(refusal) => return refusal.into_response(),
    };
    let Ok(key) = ReceiptKey::parse(&sanitize_key(&raw)) else {
        return call.fail(Error::UnknownSecret, Some(&raw));
    };
    let passphrase = match call.params.passphrase() {
        Ok(passphrase) => passphrase,
        Err(err) => return call.fail(err, Some(&raw)),
    };
    match call.ops.burn(&key, passphrase.as_ref()).await {
        Ok(burned) => ok_written(&BurnBody::new(&burned)),
        Err(err) => call.fail(err, Some(&raw)),
    }
}

async fn recent(call: Call) -> Response {
    match call.ops.recent().await {
        Ok(receipts) => render::recent(&receipts),
        Err(err) => call.fail(err, None),
    }
}

/// The key as the client sent it, once it passes OTS's length guard (after which OTS reduces it
/// with `sanitize_key`).
fn raw_key(key: Result<Path<String>, PathRejection>) -> Result<String, LocalRefusal> {
    match key {
        Ok(Path(raw)) if raw.chars().count() >= MIN_KEY_CHARS => Ok(raw),
        // Too short, or not decodable as UTF-8: OTS cannot get as far as a lookup either.
        Ok(_) | Err(_) => Err(LocalRefusal::KeyNotFound),
    }
}

#[derive(Serialize)]
struct Health<'a> {
    status: &'a str,
}

/// The process is up and routing. Deliberately does not touch the upstream, so an OTS outage
/// does not get the gateway restarted.
async fn healthz() -> Response {
    ok(&Health { status: "ok" })
}

/// Ready when the listener has room for more callers and the upstream answers `status`. On the
/// gateway the upstream check is the core's cached probe, which spends no quota and writes no
/// audit event, so probes cannot make the gateway unready. (When every request slot is busy,
/// this route is shed with a 503 like any other, which says the same thing.)
async fn readyz(
    State(backend): State<Backend>,
    connection: Option<axum::Extension<crate::serve::RequestConnection>>,
) -> Response {
    if let Some(axum::Extension(connection)) = connection
        && connection.load().saturated()
    {
        let load = connection.load();
        return LocalRefusal::NotReady(format!(
            "not ready: {} of {} connections are open",
            load.open_connections(),
            load.max_connections()
        ))
        .into_response();
    }
    let answer = match backend {
        Backend::Gateway(gateway) => gateway.readiness().await,
        Backend::Simulator(simulator) => simulator
            .as_caller(None, None)
            .status()
            .map_err(|err| err.to_string()),
    };
    match answer {
        Ok(_) => ok(&Health { status: "ready" }),
        Err(reason) => LocalRefusal::NotReady(format!("not ready: {reason}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sanitized_like_ots() {
        assert_eq!(
            sanitize_key("abc.def/ghi_jkl-MNO012"),
            "abcdefghi_jkl-MNO012"
        );
    }

    #[test]
    fn short_keys_are_not_found() {
        let short = Ok(Path("a".repeat(MIN_KEY_CHARS - 1)));
        assert_eq!(raw_key(short), Err(LocalRefusal::KeyNotFound));
        let long_enough = Ok(Path("é".repeat(MIN_KEY_CHARS)));
        assert!(raw_key(long_enough).is_ok());
    }
}
