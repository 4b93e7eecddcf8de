//! Readiness and status probes: they spend no quota, leave no operation record, and say plainly
//! when the team's credentials are the problem.

use std::num::NonZeroU32;
use std::sync::Arc;

use ots_gateway_core::Gateway;
use ots_gateway_core::error::TEAM_CREDENTIALS_REJECTED;
use ots_gateway_core::ledger::SqliteLedger;
use ots_gateway_core::limits::{OperationClass, QuotaSettings, Rate};
use ots_gateway_core::model::{Credentials, Frontend};
use ots_gateway_core::upstream::Upstream;
use ots_gateway_rest::{RestConfig, gateway_router};

use crate::support::{client, send, simulator, start};

const TEAM: &str = "team@example.com";

fn one_per_minute() -> Rate {
    let one = NonZeroU32::MIN;
    Rate {
        per_minute: one,
        burst: one,
    }
}

/// A gateway whose manage quota and upstream budget allow exactly one call.
fn stingy_gateway(upstream: Upstream) -> Gateway {
    let mut quotas = QuotaSettings {
        upstream: Some(one_per_minute()),
        ..QuotaSettings::default()
    };
    quotas
        .callers
        .insert((Frontend::Rest, OperationClass::Manage), one_per_minute());
    let ledger = SqliteLedger::open_in_memory().expect("in-memory ledger");
    Gateway::builder(upstream, Arc::new(ledger))
        .quotas(quotas)
        .build()
}

#[tokio::test]
async fn probes_spend_no_quota_and_record_no_operation() {
    let sim = simulator();
    let gateway = stingy_gateway(Upstream::Simulated(sim.as_caller(None, None)));
    let server = start(gateway_router(gateway, RestConfig::default())).await;
    let http = client();

    for n in 0..200 {
        let reply = send(http.get(server.url("/readyz"))).await;
        assert_eq!(reply.status, 200, "probe {n}: {}", reply.body);
    }
    for n in 0..20 {
        let reply = send(http.get(server.url("/gateway/status"))).await;
        assert_eq!(reply.status, 200, "status {n}: {}", reply.body);
        assert_eq!(reply.body["ready"], true);
    }

    let metrics = http
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        !metrics.contains("ots_gateway_operations_total"),
        "probes must not count as operations (and so write no audit event):\n{metrics}"
    );
    let upstream_calls: u32 = metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(
                r#"ots_gateway_upstream_request_duration_seconds_count{operation="status"} "#,
            )
        })
        .and_then(|count| count.parse().ok())
        .expect("the probes reached the upstream at least once");
    assert!(
        upstream_calls < 220,
        "220 probes share cached answers, but made {upstream_calls} upstream calls"
    );

    // The quota is on all the same: the one status call it allows goes through, the next not.
    assert_eq!(
        send(http.get(server.url("/api/v1/status"))).await.status,
        200
    );
    assert_eq!(
        send(http.get(server.url("/api/v1/status"))).await.status,
        429
    );
    assert_eq!(send(http.get(server.url("/readyz"))).await.status, 200);
}

#[tokio::test]
async fn probes_name_rejected_team_credentials_as_share_does() {
    let sim = simulator();
    sim.add_account(&Credentials::new(TEAM, "the-real-token"));
    let wrong = Credentials::new(TEAM, "an-old-token");
    let gateway = stingy_gateway(Upstream::Simulated(sim.as_caller(Some(wrong), None)));
    let server = start(gateway_router(gateway, RestConfig::default())).await;
    let http = client();

    let ready = send(http.get(server.url("/readyz"))).await;
    assert_eq!(ready.status, 503);
    assert_eq!(
        ready.body["message"],
        format!("not ready: {TEAM_CREDENTIALS_REJECTED}")
    );

    let status = send(http.get(server.url("/gateway/status"))).await;
    assert_eq!(status.status, 503);
    assert_eq!(status.body["upstream"]["error"], TEAM_CREDENTIALS_REJECTED);

    let shared = send(
        http.post(server.url("/api/v1/share"))
            .form(&[("secret", "anything")]),
    )
    .await;
    assert_eq!(shared.body["message"], TEAM_CREDENTIALS_REJECTED);
}
