//! Endpoints for the gateway's operator rather than for OTS clients: `GET /metrics` (the core's
//! Prometheus metrics) and `GET /gateway/status` (what `ots-gateway status` prints). Gateway
//! router only. They sit behind the same local-only checks and bearer token as the API:
//! operation counts and quotas say how the team's account is being used.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};
use ots_gateway_core::Gateway;
use ots_gateway_core::gateway::report::StatusReport;
use ots_gateway_core::metrics::CONTENT_TYPE;

use crate::render::json;

pub fn routes(gateway: Gateway) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/gateway/status", get(status))
        .with_state(gateway)
}

async fn metrics(State(gateway): State<Gateway>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        gateway.metrics_text(),
    )
        .into_response()
}

/// 200 when the upstream answers, 503 otherwise; the body says why either way.
async fn status(State(gateway): State<Gateway>) -> Response {
    let report = StatusReport::new(gateway.overview().await, env!("CARGO_PKG_VERSION"));
    let code = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(code, &report)
}
