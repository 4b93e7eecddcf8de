//! The OTS v2 surface (`/api/v2/...`), for clients written against today's OTS documentation.
//!
//! Like the v1 routes it is served by either backend: the gateway (team credentials injected,
//! the same policy, quotas, ownership, audit and metrics, whichever API the upstream speaks) or
//! the simulator (each request's own Basic auth, answered as a v2 server would). Handlers only
//! translate: v2 params in, one core call, a v2 body out (`render`), errors in v2's style
//! (`errors`). The facts are in `docs/ots-api-v2-notes.md`.

mod errors;
mod render;

use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use ots_gateway_core::Error;
use ots_gateway_core::model::{Passphrase, ReceiptKey, SecretKey, sanitize_key};
use ots_gateway_core::simulator::SimApi;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::backend::{Backend, Call, Ops, Route};
use crate::errors::Dialect;
use crate::params::Params;

pub use errors::not_found;
use errors::{Step, error_response};
use render::Audience;

/// v2's receipt routes: `receipt` (current) and `private` (deprecated, still served).
const RECEIPT_PREFIXES: [&str; 2] = ["receipt", "private"];

/// The v2 routes, with v2's 404 for anything else under `/api/v2`. No fallback of its own, so it
/// merges into a router that has one.
pub fn routes(backend: Backend) -> Router {
    let mut router = Router::new();
    router = both_slashes(router, "/api/v2/status", get(status));
    router = both_slashes(router, "/api/v2/secret/conceal", post(conceal));
    router = both_slashes(router, "/api/v2/secret/generate", post(generate));
    router = both_slashes(router, "/api/v2/secret/{key}/reveal", post(reveal));
    for prefix in RECEIPT_PREFIXES {
        // The literal segment wins over `{key}`, so `recent` is never read as a key.
        router = both_slashes(router, &format!("/api/v2/{prefix}/recent"), get(recent));
        router = both_slashes(router, &format!("/api/v2/{prefix}/{{key}}"), get(receipt));
        router = both_slashes(
            router,
            &format!("/api/v2/{prefix}/{{key}}/burn"),
            post(burn),
        );
    }
    router
        .route("/api/v2", axum::routing::any(not_found_handler))
        .route("/api/v2/{*rest}", axum::routing::any(not_found_handler))
        .with_state(backend)
}

/// A v2 route with and without its trailing slash; a method it does not serve gets v2's 404.
fn both_slashes(
    router: Router<Backend>,
    path: &str,
    method_router: MethodRouter<Backend>,
) -> Router<Backend> {
    crate::routes::both_slashes(router, path, method_router.fallback(not_found_handler))
}

pub async fn not_found_handler() -> Response {
    not_found()
}

/// A bound backend answering as v2: the simulator switches to v2's behaviour on its store.
struct V2Call {
    ops: Ops,
    params: Params,
    route: Route,
}

impl V2Call {
    fn new(call: Call) -> Self {
        let (ops, params, route) = call.into_parts();
        let ops = match ops {
            Ops::Simulated(upstream) => Ops::Simulated(upstream.speaking(SimApi::V2)),
            gateway @ Ops::Gateway { .. } => gateway,
        };
        V2Call { ops, params, route }
    }

    fn audience(&self) -> Audience {
        match self.ops.dialect() {
            Dialect::Gateway { .. } => Audience::GatewayClient,
            Dialect::Ots => Audience::OtsClient,
        }
    }

    fn fail(&self, error: Error, step: Step) -> Response {
        error_response(error, self.ops.dialect(), step, self.route.as_str())
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

async fn status(call: Call) -> Response {
    let call = V2Call::new(call);
    match call.ops.status().await {
        Ok(status) => render::ok(&render::status(&status)),
        Err(err) => call.fail(err, Step::Other),
    }
}

/// v2's create params live under `secret`.
fn create_fields(params: &Params) -> Result<Params, Error> {
    params.nested("secret")
}

async fn conceal(call: Call) -> Response {
    let call = V2Call::new(call);
    let request = match create_fields(&call.params).and_then(|f| f.share_request()) {
        Ok(request) => request,
        Err(err) => return call.fail(err, Step::Other),
    };
    match call.ops.share(request).await {
        Ok(receipt) => render::ok(&render::created(&receipt, "conceal", call.audience())),
        Err(err) => call.fail(err, Step::Other),
    }
}

async fn generate(call: Call) -> Response {
    let call = V2Call::new(call);
    let request = match create_fields(&call.params).and_then(|f| f.generate_request()) {
        Ok(request) => request,
        Err(err) => return call.fail(err, Step::Other),
    };
    match call.ops.generate(request).await {
        Ok(receipt) => render::ok(&render::created(&receipt, "generate", call.audience())),
        Err(err) => call.fail(err, Step::Other),
    }
}

fn confirmation(call: &V2Call) -> Result<(bool, Option<Passphrase>), Error> {
    Ok((call.params.is_true("continue"), call.params.passphrase()?))
}

async fn reveal(Path(raw): Path<String>, call: Call) -> Response {
    let call = V2Call::new(call);
    let Ok(key) = SecretKey::parse(&sanitize_key(&raw)) else {
        return call.fail(Error::UnknownSecret, Step::Reveal);
    };
    let (confirmed, passphrase) = match confirmation(&call) {
        Ok(found) => found,
        Err(err) => return call.fail(err, Step::Reveal),
    };
    if !confirmed {
        // v2 releases nothing without `continue`; no call is made, so nothing is consumed.
        return render::ok(&render::not_revealed(key.as_str()));
    }
    match call.ops.retrieve(&key, passphrase.as_ref()).await {
        Ok(revealed) => render::ok(&render::revealed(&revealed, now())),
        Err(err) => call.fail(err, Step::Reveal),
    }
}

async fn receipt(Path(raw): Path<String>, call: Call) -> Response {
    let call = V2Call::new(call);
    let Ok(key) = ReceiptKey::parse(&sanitize_key(&raw)) else {
        return call.fail(Error::UnknownSecret, Step::ReceiptView);
    };
    match call.ops.receipt(&key).await {
        Ok(receipt) => render::ok(&render::receipt_view(&receipt)),
        Err(err) => call.fail(err, Step::ReceiptView),
    }
}

async fn burn(Path(raw): Path<String>, call: Call) -> Response {
    let call = V2Call::new(call);
    let Ok(key) = ReceiptKey::parse(&sanitize_key(&raw)) else {
        return call.fail(Error::UnknownSecret, Step::Burn);
    };
    let (confirmed, passphrase) = match confirmation(&call) {
        Ok(found) => found,
        Err(err) => return call.fail(err, Step::Burn),
    };
    if !confirmed {
        // Unconfirmed: the receipt as it stands, `success: false`, nothing burned.
        return match call.ops.receipt(&key).await {
            Ok(receipt) => render::ok(&render::burn(&receipt, false)),
            Err(err) => call.fail(err, Step::Burn),
        };
    }
    match call.ops.burn(&key, passphrase.as_ref()).await {
        Ok(burned) => render::ok(&render::burned(&burned)),
        // v2 tells "no such receipt" (404) from "its secret is already gone" (200, nothing
        // else); the core reports both as unknown, so the receipt is looked up to tell them apart.
        Err(Error::UnknownSecret) => match call.ops.receipt(&key).await {
            Ok(_) => render::ok(&render::nothing_to_burn()),
            Err(err) => call.fail(err, Step::Burn),
        },
        Err(err) => call.fail(err, Step::Burn),
    }
}

async fn recent(call: Call) -> Response {
    let call = V2Call::new(call);
    match call.ops.recent().await {
        Ok(receipts) => {
            let custid = receipts.first().map_or("", |r| r.custid.as_str());
            render::ok(&render::recent(&receipts, custid, now()))
        }
        Err(err) => call.fail(err, Step::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_sanitized_without_a_length_guard() {
        // v2 has no minimum length: a one-character identifier is looked up like any other.
        assert_eq!(sanitize_key("ab.c/d_e-F"), "abcd_e-F");
        assert_eq!(sanitize_key("x"), "x");
    }
}
