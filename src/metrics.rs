//! Prometheus metrics for every frontend, recorded by the gateway core.
//!
//! Labels are drawn only from closed sets (frontend, operation, outcome kind, quota scope), so no
//! caller-supplied string, key or secret can ever become a label value, and cardinality stays
//! fixed however many callers there are.

use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::error::{Error, RateLimitScope};
use crate::ledger::LedgerHealth;
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
struct ApiLabels {
    api: &'static str,
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
    ledger_backlog: Gauge,
    ledger_write_failing: Gauge,
    ledger_write_failures: Counter,
    ledger_entries_recovered: Counter,
    upstream_api: Family<ApiLabels, Gauge>,
    upstream_api_fallbacks: Gauge,
    hot: HotSeries,
}

/// Handles on the series every successful request touches (its `ok` counter and its upstream
/// histogram), taken from their families on first use. A family lookup hashes the labels under
/// a lock; a handle shares the family's value, so what is exported is the same, and a series
/// still appears only once something was counted in it.
struct HotSeries {
    ok: [[OnceLock<Counter>; Operation::ALL.len()]; Frontend::ALL.len()],
    upstream: [OnceLock<Histogram>; Operation::ALL.len()],
}

impl Default for HotSeries {
    fn default() -> Self {
        HotSeries {
            ok: [const { [const { OnceLock::new() }; Operation::ALL.len()] }; Frontend::ALL.len()],
            upstream: [const { OnceLock::new() }; Operation::ALL.len()],
        }
    }
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
        let ledger_backlog = Gauge::default();
        registry.register(
            "ledger_backlog",
            "Acknowledged receipts kept in memory because the ledger failed to write them",
            ledger_backlog.clone(),
        );
        let ledger_write_failing = Gauge::default();
        registry.register(
            "ledger_write_failing",
            "1 while the ledger's last write failed, else 0",
            ledger_write_failing.clone(),
        );
        let ledger_write_failures = Counter::default();
        registry.register(
            "ledger_write_failures",
            "Ledger writes that failed since the gateway started",
            ledger_write_failures.clone(),
        );
        let ledger_entries_recovered = Counter::default();
        registry.register(
            "ledger_entries_recovered",
            "Receipts written to the ledger from memory after it recovered",
            ledger_entries_recovered.clone(),
        );
        let upstream_api = Family::<ApiLabels, Gauge>::default();
        registry.register(
            "upstream_api",
            "1 for the OTS API the client currently speaks (v1 or v2), 0 for the other",
            upstream_api.clone(),
        );
        let upstream_api_fallbacks = Gauge::default();
        registry.register(
            "upstream_api_fallbacks",
            "Times the OTS client fell back from API v2 to v1 since start",
            upstream_api_fallbacks.clone(),
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
            ledger_backlog,
            ledger_write_failing,
            ledger_write_failures,
            ledger_entries_recovered,
            upstream_api,
            upstream_api_fallbacks,
            hot: HotSeries::default(),
        }
    }

    pub fn record_outcome(
        &self,
        frontend: Frontend,
        operation: Operation,
        outcome: Result<(), &Error>,
    ) {
        let labels = |outcome| OperationLabels {
            frontend: frontend.as_str(),
            operation: operation.as_str(),
            outcome,
        };
        let hot_ok = self
            .hot
            .ok
            .get(frontend as usize)
            .and_then(|row| row.get(operation as usize));
        match (outcome, hot_ok) {
            (Ok(()), Some(handle)) => {
                handle
                    .get_or_init(|| self.operations.get_or_create(&labels("ok")).clone())
                    .inc();
            }
            (Ok(()), None) => {
                self.operations.get_or_create(&labels("ok")).inc();
            }
            (Err(error), _) => {
                self.operations.get_or_create(&labels(error.kind())).inc();
            }
        }
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
        let family = || {
            self.upstream_seconds.get_or_create(&UpstreamLabels {
                operation: operation.as_str(),
            })
        };
        let seconds = elapsed.as_secs_f64();
        match self.hot.upstream.get(operation as usize) {
            Some(handle) => handle.get_or_init(|| family().clone()).observe(seconds),
            None => family().observe(seconds),
        }
    }

    pub fn ledger_entry_added(&self) {
        self.ledger_entries.inc();
    }

    pub fn set_ledger_entries(&self, count: u64) {
        self.ledger_entries
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    pub fn set_ledger_health(&self, health: &LedgerHealth) {
        self.ledger_backlog
            .set(i64::try_from(health.backlog).unwrap_or(i64::MAX));
        self.ledger_write_failing
            .set(i64::from(health.last_write_failed));
        // The ledger keeps the running total; `fetch_max` keeps the counter monotonic however
        // reports from concurrent requests interleave.
        self.ledger_write_failures
            .inner()
            .fetch_max(health.write_failures, Ordering::Relaxed);
    }

    pub fn ledger_entries_recovered(&self, written: usize) {
        self.ledger_entries_recovered
            .inc_by(u64::try_from(written).unwrap_or(u64::MAX));
    }

    /// Which OTS API is in use (`None` before the first call has decided) and how often the
    /// client fell back to v1. Set when the metrics are read, from the client's own state.
    pub fn set_upstream_api(&self, api: Option<&'static str>, fallbacks: u64) {
        for name in ["v1", "v2"] {
            let value = i64::from(api == Some(name));
            self.upstream_api
                .get_or_create(&ApiLabels { api: name })
                .set(value);
        }
        self.upstream_api_fallbacks
            .set(i64::try_from(fallbacks).unwrap_or(i64::MAX));
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

    /// Successes and upstream times go through handles cached on first use; they must count in
    /// the same exported series as the family would, and only once used.
    #[test]
    fn cached_series_count_in_the_exported_series() {
        let metrics = Metrics::new();
        assert!(!metrics.encode().contains(r#"operation="status""#));
        for _ in 0..3 {
            metrics.record_outcome(Frontend::Rest, Operation::Status, Ok(()));
            metrics.observe_upstream(Operation::Status, Duration::from_millis(2));
        }
        metrics.record_outcome(Frontend::Mcp, Operation::Status, Ok(()));
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"ots_gateway_operations_total{frontend="rest",operation="status",outcome="ok"} 3"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"ots_gateway_operations_total{frontend="mcp",operation="status",outcome="ok"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"ots_gateway_upstream_request_duration_seconds_count{operation="status"} 3"#
            ),
            "{text}"
        );
        assert!(!text.contains(r#"operation="share""#), "{text}");
    }

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
