//! The OTS v1 API on localhost, so scripts and every existing OTS client library work against
//! the gateway unchanged (docs/ots-api-notes.md §5), plus the same surface served straight from the
//! simulator for `ots-gateway simulate`.
//!
//! Layout, one job per module:
//! - `params`: query + body params the way Rack merges them, with OTS's coercions;
//! - `backend`: what answers a request (gateway with a caller, or simulator with the request's
//!   own Basic auth), and the `Call` extractor handlers take;
//! - `routes`: the v1 route table and handlers, shared by both routers;
//! - `render`: the v1 wire types; `errors`: error responses, logged once;
//! - `caller`: the `X-OTS-Gateway-Client` label; `simulate`: OTS-style Basic auth parsing;
//! - `security`: Host/Origin/token checks and the body, time and concurrency bounds;
//! - `auth_throttle`: failed token attempts per peer, and how often they are logged;
//! - `operator`: `GET /metrics` and `GET /gateway/status` for the gateway router;
//! - `pages`: the browser pages behind the gateway's own secret and receipt links;
//! - `serve`: the listener: header, idle and body timeouts, the connection cap, shutdown.
//!
//! # Client label
//!
//! A local client may name itself with `X-OTS-Gateway-Client: <label>` (1–64 characters from
//! `A-Z a-z 0-9 . _ -`). The label keys the gateway's per-caller quotas, its audit events and,
//! when the gateway has no team credentials, the receipts `recent` lists. It is not
//! authentication. Without it the caller is `local`. Anything else is refused with 400.
//!
//! # Authentication
//!
//! The gateway never forwards a client's `Authorization` header: it calls OTS with the team's
//! credentials, or anonymously. When [`RestConfig::bearer_token`] is set, every route except
//! `/healthz` requires it, as `Authorization: Bearer <token>` or as the password of Basic auth
//! (any username), so OTS client libraries can send it through their API-key setting. Exactly
//! one `Authorization` header is read, and a peer that fails too often is refused for a while.
//!
//! # Mounting more services
//!
//! [`gateway_router`] is [`gateway_routes`] wrapped in [`local_only`]. To serve another service
//! (e.g. MCP at `/mcp`) under the same defences, nest it into [`gateway_routes`] first and wrap
//! the result with [`local_only`]; it then gets the Host, Origin, token, body-size and
//! concurrency checks but not the REST request timeout, which would cut streams.

// The binary's allocator is the project's only unsafe code (ARCHITECTURE.md, "Invariants").
#![forbid(unsafe_code)]

mod auth_throttle;
mod backend;
mod caller;
mod errors;
mod front_door;
mod json_out;
mod operator;
mod pages;
mod params;
mod render;
mod routes;
mod security;
mod serve;
mod sim_pages;
mod simulate;
mod timed;
mod v2;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use ots_gateway_core::Gateway;
use ots_gateway_core::model::ClientToken;
use ots_gateway_core::simulator::Simulator;
use secrecy::SecretString;
use tokio::sync::Semaphore;

pub use caller::{CLIENT_LABEL_HEADER, MAX_CLIENT_LABEL_LEN};
use ots_gateway_core::config;
pub use serve::{ListenerLoad, ListenerSettings, serve, serve_with};

use backend::Backend;
use security::LocalPolicy;

/// How the REST frontend protects and bounds itself.
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// When set, required on every route except `/healthz` (see the crate docs for the forms
    /// accepted). Needed before the gateway may listen beyond loopback.
    pub bearer_token: Option<SecretString>,
    /// Per-client tokens, accepted like the bearer token; a request presenting one is attributed
    /// to its label (the caller id for REST and MCP). Any configured token makes one required.
    pub client_tokens: Vec<ClientToken>,
    /// Extra `Host` names (optionally `name:port`) accepted besides loopback names and
    /// addresses, e.g. a container's service name. Browsers on these origins are trusted too.
    pub allowed_hosts: Vec<String>,
    /// Largest request body accepted. A v1 secret is at most 10 000 bytes, so 64 KiB leaves room
    /// for form or JSON encoding overhead and still stops a memory-filling upload.
    pub max_body_bytes: usize,
    /// How long a REST request may take in total, upstream call included.
    pub request_timeout: Duration,
    /// Requests handled at once; beyond this they get 503 + `Retry-After` at once.
    pub max_concurrent_requests: usize,
}

impl Default for RestConfig {
    fn default() -> Self {
        RestConfig {
            bearer_token: None,
            client_tokens: Vec::new(),
            allowed_hosts: Vec::new(),
            // The configuration's own defaults, so `simulate` (which uses these) and `serve`
            // behave alike.
            max_body_bytes: config::DEFAULT_MAX_BODY_BYTES,
            request_timeout: config::DEFAULT_REQUEST_TIMEOUT,
            max_concurrent_requests: config::DEFAULT_MAX_CONCURRENT_REQUESTS,
        }
    }
}

/// The gateway's v1 surface with every local-only defence applied.
pub fn gateway_router(gateway: Gateway, config: RestConfig) -> Router {
    local_only(gateway_routes(gateway, &config), &config)
}

/// The gateway's v1 routes, `/healthz`, `/readyz`, `/metrics` and `/gateway/status`, with the REST request timeout,
/// but without the local-only defences: for composing with sibling services before
/// [`local_only`].
pub fn gateway_routes(gateway: Gateway, config: &RestConfig) -> Router {
    let operator = operator::routes(gateway.clone());
    let v2 = v2::routes(Backend::Gateway(gateway.clone()));
    bounded_in_time(
        routes::v1_routes(Backend::Gateway(gateway))
            .merge(v2)
            .merge(operator),
        config,
    )
}

/// Browser pages for the links the gateway hands out when it is itself the server they name
/// (`serve --dev`): a reveal page at `/secret/{key}` and a receipt page (state, expiry, burn) at
/// `/receipt/{key}` and `/private/{key}`. Merge into [`gateway_routes`] before [`local_only`].
pub fn link_pages() -> Router {
    pages::routes()
}

/// The former name of [`link_pages`], which now serves receipt pages too.
pub fn dev_reveal_page() -> Router {
    link_pages()
}

/// The same v1 surface answered by the simulator, behaving as an OTS server would: it reads each
/// request's own Basic auth and renders errors exactly as OTS does.
///
/// It gets the size, time and concurrency bounds but not the Host, Origin and token checks: it
/// holds no one's credentials, and like a real OTS server it must answer whatever name it is
/// reached by (a container name, a test host). `config.bearer_token` and `allowed_hosts` are
/// therefore unused here; the `Authorization` header belongs to the OTS protocol.
pub fn simulator_router(simulator: Simulator, config: RestConfig) -> Router {
    simulator_router_speaking(simulator, config, SimulatedApis::Both)
}

/// Which OTS APIs `ots-gateway simulate` serves (`--api`). One store answers both, so a secret
/// made through one API is visible through the other, as on a real server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SimulatedApis {
    /// An OTS release before v2 (or with v2 switched off): `/api/v2/*` answers 404.
    V1,
    /// A server whose v1 is gone or broken: `/api/v1/*` answers 404.
    V2,
    #[default]
    Both,
}

/// [`simulator_router`] serving only the given APIs.
pub fn simulator_router_speaking(
    simulator: Simulator,
    config: RestConfig,
    apis: SimulatedApis,
) -> Router {
    let backend = Backend::Simulator(simulator);
    let (routes, pages) = match apis {
        SimulatedApis::V1 => (routes::v1_routes(backend), sim_pages::PageApi::V1),
        SimulatedApis::V2 => (
            v2::routes(backend).fallback(v2::not_found_handler),
            sim_pages::PageApi::V2,
        ),
        SimulatedApis::Both => (
            routes::v1_routes(backend.clone()).merge(v2::routes(backend)),
            sim_pages::PageApi::V2,
        ),
    };
    // Every link the simulator hands out (share and receipt links) opens one of its pages.
    let router = bounded_in_time(routes.merge(sim_pages::routes(pages)), &config);
    behind_front_door(router, &config, None)
}

/// Wraps `router` (REST routes and any nested services) in the local endpoint's defences:
/// Host allowlist, cross-site refusal, bearer token, body size and concurrency bounds.
pub fn local_only(router: Router, config: &RestConfig) -> Router {
    let policy = LocalPolicy::new(
        &config.allowed_hosts,
        config.bearer_token.clone(),
        &config.client_tokens,
    );
    behind_front_door(router, config, Some(policy))
}

/// Header checks (with a policy), the body bound and the request slots (`front_door`).
fn behind_front_door(router: Router, config: &RestConfig, policy: Option<LocalPolicy>) -> Router {
    let door = security::FrontDoor {
        policy,
        max_body_bytes: config.max_body_bytes,
        slots: Arc::new(Semaphore::new(config.max_concurrent_requests.max(1))),
    };
    router.layer(front_door::FrontDoorLayer(door))
}

/// The request span and time limit on every route (`timed`).
fn bounded_in_time(router: Router, config: &RestConfig) -> Router {
    router.layer(timed::TimedRequestLayer {
        limit: config.request_timeout,
    })
}
