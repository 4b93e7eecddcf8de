//! Prometheus metrics for every frontend, recorded by the gateway core.
//!
//! Labels are drawn only from closed sets (frontend, operation, outcome kind, quota scope), so no
//! caller-supplied string, key or secret can ever become a label value, and cardinality stays
//! fixed however many callers there are.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::error::{Error, RateLimitScope};
use crate::model::{Frontend, Operation};

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    frontend: &'static str,
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    operation: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QuotaLabels {
    frontend: &'static str,
    scope: &'static str,
}

/// What the local listener reports about itself: how close it is to its limits and how often
/// callers fail to authenticate. Cheap to clone (the handles share their values), so the serve
/// loop and the security middleware each hold one.
#[derive(Debug, Clone, Default)]
pub struct ListenerMetrics {
    pub open_connections: Gauge,
    pub refused_connections: Counter,
    pub evicted_connections: Counter,
    pub shed_requests: Counter,
    pub auth_failures: Counter,
    pub throttled_auth_attempts: Counter,
}

impl ListenerMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "listener_open_connections",
            "Connections currently open on the local listener",
            self.open_connections.clone(),
        );
        registry.register(
            "listener_refused_connections",
            "Connections closed at once: at the connection cap with every connection busy",
            self.refused_connections.clone(),
        );
        registry.register(
            "listener_evicted_connections",
            "Idle connections closed to make room for a new one at the connection cap",
            self.evicted_connections.clone(),
        );
        registry.register(
            "listener_shed_requests",
            "Requests answered 503 because every request slot was busy",
            self.shed_requests.clone(),
        );
        registry.register(
            "auth_failures",
            "Requests whose gateway token was missing, wrong or sent more than once",
            self.auth_failures.clone(),
        );
        registry.register(
            "auth_throttled",
            "Requests refused because their peer failed to authenticate too often",
            self.throttled_auth_attempts.clone(),
        );
    }
}

pub struct Metrics {
    registry: Registry,
    listener: ListenerMetrics,
    operations: Family<OperationLabels, Counter>,
    upstream_seconds: Family<UpstreamLabels, Histogram>,
    quota_refusals: Family<QuotaLabels, Counter>,
    ledger_entries: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ots_gateway");
        let operations = Family::<OperationLabels, Counter>::default();
        registry.register(
            "operations",
            "Operations handled, by frontend, operation and outcome",
            operations.clone(),
        );
        // 1 ms to ~16 s: OTS answers in tens of milliseconds; the top buckets catch timeouts.
        let upstream_seconds = Family::<UpstreamLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        registry.register(
            "upstream_request_duration_seconds",
            "Time spent waiting for the OTS upstream, by operation",
            upstream_seconds.clone(),
        );
        let quota_refusals = Family::<QuotaLabels, Counter>::default();
        registry.register(
            "quota_refusals",
            "Requests refused by a quota, by frontend and quota scope",
            quota_refusals.clone(),
        );
        let ledger_entries = Gauge::default();
        registry.register(
            "ledger_entries",
            "Receipts currently recorded in the ownership ledger",
            ledger_entries.clone(),
        );
        let listener = ListenerMetrics::default();
        listener.register(&mut registry);
        Metrics {
            registry,
            listener,
            operations,
            upstream_seconds,
            quota_refusals,
            ledger_entries,
        }
    }

    pub fn record_outcome(
        &self,
        frontend: Frontend,
        operation: Operation,
        outcome: Result<(), &Error>,
    ) {
        let outcome_label = match outcome {
            Ok(()) => "ok",
            Err(error) => error.kind(),
        };
        self.operations
            .get_or_create(&OperationLabels {
                frontend: frontend.as_str(),
                operation: operation.as_str(),
                outcome: outcome_label,
            })
            .inc();
        if let Err(Error::RateLimited { scope, .. }) = outcome {
            let scope = match scope {
                RateLimitScope::Upstream => "upstream",
                RateLimitScope::GatewayUpstreamBudget => "gateway_upstream_budget",
                RateLimitScope::Caller => "caller",
            };
            self.quota_refusals
                .get_or_create(&QuotaLabels {
                    frontend: frontend.as_str(),
                    scope,
                })
                .inc();
        }
    }

    /// Handles on the listener's own metrics, for the frontend that owns the listener.
    pub fn listener(&self) -> &ListenerMetrics {
        &self.listener
    }

    pub fn observe_upstream(&self, operation: Operation, elapsed: Duration) {
        self.upstream_seconds
            .get_or_create(&UpstreamLabels {
                operation: operation.as_str(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn ledger_entry_added(&self) {
        self.ledger_entries.inc();
    }

    pub fn set_ledger_entries(&self, count: u64) {
        self.ledger_entries
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// The OpenMetrics text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail; an empty page is the only possible fallback anyway.
        if encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_latency_refusals_and_ledger_size_are_exported() {
        let metrics = Metrics::new();
        metrics.record_outcome(Frontend::Rest, Operation::Share, Ok(()));
        metrics.record_outcome(
            Frontend::Rest,
            Operation::Retrieve,
            Err(&Error::UnknownSecret),
        );
        metrics.record_outcome(
            Frontend::Mcp,
            Operation::Share,
            Err(&Error::RateLimited {
                scope: RateLimitScope::Caller,
                retry_after: None,
            }),
        );
        metrics.observe_upstream(Operation::Share, Duration::from_millis(3));
        metrics.set_ledger_entries(42);
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"ots_gateway_operations_total{frontend="rest",operation="share",outcome="ok"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"outcome="unknown_secret"} 1"#), "{text}");
        assert!(
            text.contains(r#"ots_gateway_quota_refusals_total{frontend="mcp",scope="caller"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"ots_gateway_upstream_request_duration_seconds_count{operation="share"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains("ots_gateway_ledger_entries 42"), "{text}");
    }
}
