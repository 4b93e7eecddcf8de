//! The whole chain a user gets from `ots-gateway serve --upstream URL`: REST endpoint → gateway
//! policy → OTS client → an OTS server (the simulator) over HTTP.

use std::num::NonZeroU32;

use ots_gateway_core::limits::{OperationClass, QuotaSettings, Rate};
use ots_gateway_core::model::Frontend;
use serde_json::Value;

use crate::support::{self, TEAM_USER};

async fn share(http: &reqwest::Client, base: &str, secret: &str) -> reqwest::Response {
    http.post(format!("{base}/api/v1/share"))
        .form(&[("secret", secret), ("ttl", "600")])
        .send()
        .await
        .expect("share request")
}

#[tokio::test]
async fn share_reveal_once_and_burn_through_the_chain() {
    let (_sim, upstream) = support::simulator_over_http(|_| {}).await;
    let gateway = support::gateway_over_http(&upstream.url, QuotaSettings::default()).await;
    let base = gateway.url.as_str().trim_end_matches('/').to_owned();
    let http = reqwest::Client::new();

    // The client's own Basic credentials are bogus: the gateway must use the team's instead.
    let shared: Value = http
        .post(format!("{base}/api/v1/share"))
        .basic_auth("intruder@example.com", Some("not-the-team-key"))
        .form(&[("secret", "chain-value"), ("ttl", "600")])
        .send()
        .await
        .expect("share")
        .json()
        .await
        .expect("json");
    assert_eq!(
        shared["custid"], TEAM_USER,
        "team credentials were used upstream"
    );
    let secret_key = shared["secret_key"]
        .as_str()
        .expect("secret_key")
        .to_owned();
    assert!(
        shared["share_url"]
            .as_str()
            .expect("share_url")
            .ends_with(&format!("/secret/{secret_key}")),
        "{shared}"
    );

    // Twenty concurrent reveals through the whole chain: exactly one gets the value.
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let http = http.clone();
        let url = format!("{base}/api/v1/secret/{secret_key}");
        attempts.spawn(async move {
            let response = http.post(url).send().await.expect("retrieve");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("json"))
        });
    }
    let mut winners = 0;
    while let Some(attempt) = attempts.join_next().await {
        let (status, body) = attempt.expect("task");
        if status == 200 {
            assert_eq!(body["value"], "chain-value");
            winners += 1;
        } else {
            assert_eq!(
                (status, body["message"].as_str()),
                (404, Some("Unknown secret"))
            );
        }
    }
    assert_eq!(winners, 1, "a one-time secret was revealed {winners} times");

    let second: Value = share(&http, &base, "burn-me")
        .await
        .json()
        .await
        .expect("json");
    let metadata_key = second["metadata_key"].as_str().expect("metadata_key");
    let burned = http
        .post(format!("{base}/api/v1/private/{metadata_key}/burn"))
        .send()
        .await
        .expect("burn");
    assert_eq!(burned.status(), 200);
    let receipt: Value = http
        .get(format!("{base}/api/v1/private/{metadata_key}"))
        .send()
        .await
        .expect("receipt")
        .json()
        .await
        .expect("json");
    assert_eq!(receipt["state"], "burned");
}

#[tokio::test]
async fn a_spent_quota_answers_429_with_retry_after() {
    let (_sim, upstream) = support::simulator_over_http(|_| {}).await;
    let mut quotas = QuotaSettings::default();
    let rate = Rate {
        per_minute: NonZeroU32::new(2).expect("non-zero"),
        burst: NonZeroU32::new(2).expect("non-zero"),
    };
    quotas
        .callers
        .insert((Frontend::Rest, OperationClass::Create), rate);
    let gateway = support::gateway_over_http(&upstream.url, quotas).await;
    let base = gateway.url.as_str().trim_end_matches('/').to_owned();
    let http = reqwest::Client::new();

    assert_eq!(share(&http, &base, "one").await.status(), 200);
    assert_eq!(share(&http, &base, "two").await.status(), 200);
    let refused = share(&http, &base, "three").await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After header in seconds");
    assert!(
        (1..=30).contains(&retry_after),
        "2 per minute refills in 30 s, got {retry_after}"
    );
    let body: Value = refused.json().await.expect("json body");
    assert!(body["message"].is_string(), "{body}");

    // Another client label is another caller with its own quota.
    let other = http
        .post(format!("{base}/api/v1/share"))
        .header("X-OTS-Gateway-Client", "deploy-bot")
        .form(&[("secret", "four")])
        .send()
        .await
        .expect("share");
    assert_eq!(other.status(), 200);
}

#[tokio::test]
async fn an_unreachable_upstream_is_an_honest_502_and_not_ready() {
    // Take a free port and close it again, so nothing listens there.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let upstream = url::Url::parse(&format!("http://{closed}")).expect("url");
    let gateway = support::gateway_over_http(&upstream, QuotaSettings::default()).await;
    let base = gateway.url.as_str().trim_end_matches('/').to_owned();
    let http = reqwest::Client::new();

    let response = share(&http, &base, "nowhere").await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["message"],
        "the OTS server could not be reached: the connection was refused"
    );
    let ready = http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 503);
    let healthy = http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(healthy.status(), 200);
}
