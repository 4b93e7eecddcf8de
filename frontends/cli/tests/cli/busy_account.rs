//! A team account after weeks of use. OTS lists every receipt of the last 30 days in one answer,
//! with no paging, and v2 repeats each record in `details`: a few hundred receipts make that
//! answer larger than any single-receipt answer the gateway reads. Through the gateway `recent`
//! must still list them all, on v1 and v2, without the gateway giving up on v2.

use serde_json::Value;

use crate::support;

const ACCOUNT: &str = "busy-team@example.com";
const TOKEN: &str = "busy-team-token";
/// Enough for the simulator's v2 list (about 1.6 KiB a receipt) to pass 1 MiB, the limit the
/// gateway had for every answer.
const RECEIPTS: usize = 900;
const SEEDERS: usize = 16;

#[tokio::test]
async fn recent_lists_every_receipt_of_a_busy_account() {
    let (simulator, gateway) = support::simulator_and_team_gateway("both", ACCOUNT, TOKEN).await;

    // A month of shares, made straight at the server (the gateway's quotas are not under test).
    let http = reqwest::Client::new();
    let mut seeders = tokio::task::JoinSet::new();
    for seeder in 0..SEEDERS {
        let (http, base) = (http.clone(), simulator.base_url.clone());
        seeders.spawn(async move {
            for n in (seeder..RECEIPTS).step_by(SEEDERS) {
                let reply = http
                    .post(format!("{base}/api/v1/share"))
                    .basic_auth(ACCOUNT, Some(TOKEN))
                    .form(&[("secret", format!("busy-{n}")), ("ttl", "86400".to_owned())])
                    .send()
                    .await
                    .expect("share at the simulator");
                assert_eq!(reply.status(), 200, "seeding share {n}");
            }
        });
    }
    while let Some(done) = seeders.join_next().await {
        done.expect("seeder");
    }
    let upstream_v2 = http
        .get(format!("{}/api/v2/receipt/recent", simulator.base_url))
        .basic_auth(ACCOUNT, Some(TOKEN))
        .send()
        .await
        .expect("v2 recent at the simulator")
        .bytes()
        .await
        .expect("body");
    assert!(
        upstream_v2.len() > 1024 * 1024,
        "the upstream's list is only {} bytes: not the case under test",
        upstream_v2.len()
    );

    let v1 = http
        .get(format!("{}/api/v1/private/recent", gateway.base_url))
        .send()
        .await
        .expect("v1 recent through the gateway");
    assert_eq!(v1.status(), 200);
    let v1: Value = v1.json().await.expect("v1 JSON");
    assert_eq!(v1.as_array().map(Vec::len), Some(RECEIPTS), "v1 recent");

    let v2 = http
        .get(format!("{}/api/v2/receipt/recent", gateway.base_url))
        .send()
        .await
        .expect("v2 recent through the gateway");
    assert_eq!(v2.status(), 200);
    let v2: Value = v2.json().await.expect("v2 JSON");
    assert_eq!(v2["count"], RECEIPTS, "v2 recent count");
    assert_eq!(
        v2["records"].as_array().map(Vec::len),
        Some(RECEIPTS),
        "v2 records"
    );

    let logs = gateway.output();
    assert!(
        !logs.contains("OTS API v2 is failing"),
        "a long list made the gateway give up on v2:\n{logs}"
    );
}
