//! `GET /metrics`: the core's Prometheus metrics, for the gateway router only (the simulator has
//! none). It sits behind the same local-only checks and bearer token as the API: operation
//! counts say how the team's account is being used.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};
use ots_gateway_core::Gateway;
use ots_gateway_core::metrics::CONTENT_TYPE;

pub fn routes(gateway: Gateway) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
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
