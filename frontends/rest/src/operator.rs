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
use ots_gateway_core::limits::Rate;
use ots_gateway_core::metrics::CONTENT_TYPE;
use serde::Serialize;

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

#[derive(Serialize)]
struct StatusBody {
    version: &'static str,
    ready: bool,
    upstream: UpstreamBody,
    team_account: bool,
    quotas: QuotasBody,
    tracked_callers: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    ledger_entries: Option<u64>,
}

#[derive(Serialize)]
struct UpstreamBody {
    origin: String,
    /// `{"choice":"auto","api":"v2","fell_back":false,"fallbacks":0}`; absent for the simulator.
    #[serde(skip_serializing_if = "Option::is_none")]
    api: Option<ots_gateway_core::ots::ApiInUse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct QuotasBody {
    upstream_budget: Option<RateBody>,
    callers: Vec<CallerQuotaBody>,
}

#[derive(Serialize)]
struct RateBody {
    per_minute: u32,
    burst: u32,
}

impl From<Rate> for RateBody {
    fn from(rate: Rate) -> Self {
        RateBody {
            per_minute: rate.per_minute.get(),
            burst: rate.burst.get(),
        }
    }
}

#[derive(Serialize)]
struct CallerQuotaBody {
    frontend: &'static str,
    class: &'static str,
    #[serde(flatten)]
    rate: RateBody,
}

/// 200 when the upstream answers, 503 otherwise; the body says why either way.
async fn status(State(gateway): State<Gateway>) -> Response {
    let overview = gateway.overview().await;
    let (status, error) = match overview.upstream {
        Ok(upstream) => (Some(upstream.status), None),
        Err(error) => (None, Some(error)),
    };
    let ready = status.is_some();
    let body = StatusBody {
        version: env!("CARGO_PKG_VERSION"),
        ready,
        upstream: UpstreamBody {
            origin: overview.upstream_origin,
            api: overview.upstream_api,
            status,
            error,
        },
        team_account: overview.team_account,
        quotas: QuotasBody {
            upstream_budget: overview.quotas.upstream.map(RateBody::from),
            callers: overview
                .quotas
                .callers
                .iter()
                .map(|((frontend, class), rate)| CallerQuotaBody {
                    frontend: frontend.as_str(),
                    class: class.as_str(),
                    rate: RateBody::from(*rate),
                })
                .collect(),
        },
        tracked_callers: overview.tracked_callers,
        ledger_entries: overview.ledger_entries,
    };
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(code, &body)
}
