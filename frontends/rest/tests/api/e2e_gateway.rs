//! The gateway router in front of the simulator: what a local script sees.

use ots_gateway_core::Gateway;
use ots_gateway_core::model::Credentials;
use ots_gateway_core::simulator::{Simulator, SimulatorConfig};
use ots_gateway_core::upstream::Upstream;
use ots_gateway_rest::{RestConfig, gateway_router};
use serde_json::json;

use crate::flows::{
    Api, assert_ots_refusal, client_quirks, lifecycle, ots_error_shapes, share, str_of,
};
use crate::support::{gateway_over, send, sim_url, simulator, start};

const TEAM: &str = "team@example.com";
const TEAM_TOKEN: &str = "team-api-token";

fn team_simulator() -> Simulator {
    let sim = simulator();
    sim.add_account(&Credentials::new(TEAM, TEAM_TOKEN));
    sim
}

fn gateway(sim: &Simulator, credentials: Option<Credentials>) -> Gateway {
    gateway_over(Upstream::Simulated(sim.as_caller(credentials, None)))
}

async fn anonymous_gateway() -> Api {
    let router = gateway_router(gateway(&simulator(), None), RestConfig::default());
    Api::new(start(router).await, None, false)
}

async fn team_gateway() -> Api {
    let sim = team_simulator();
    let team = Credentials::new(TEAM, TEAM_TOKEN);
    let router = gateway_router(gateway(&sim, Some(team)), RestConfig::default());
    Api::new(start(router).await, None, true)
}

#[tokio::test]
async fn anonymous_lifecycle() {
    lifecycle(&anonymous_gateway().await, "anon").await;
}

#[tokio::test]
async fn team_lifecycle() {
    lifecycle(&team_gateway().await, TEAM).await;
}

#[tokio::test]
async fn client_quirks_through_the_gateway() {
    client_quirks(&anonymous_gateway().await).await;
    client_quirks(&team_gateway().await).await;
}

#[tokio::test]
async fn upstream_errors_are_relayed_as_ots_sends_them() {
    ots_error_shapes(&anonymous_gateway().await).await;
    ots_error_shapes(&team_gateway().await).await;
}

#[tokio::test]
async fn without_team_credentials_authcheck_and_recipients_are_ots_not_authorized() {
    let api = anonymous_gateway().await;
    assert_ots_refusal(
        &send(api.get("/api/v1/authcheck")).await,
        Some("401"),
        "Not authorized",
    );
    let reply = send(
        api.post("/api/v1/share")
            .form(&[("secret", "s"), ("recipient", "alice@example.com")]),
    )
    .await;
    assert_ots_refusal(
        &reply,
        Some("400"),
        "An account is required to send emails.",
    );
}

#[tokio::test]
async fn rejected_team_credentials_are_the_operators_problem_not_the_callers() {
    // The simulator does not know this account, as OTS would not know a revoked key.
    let sim = simulator();
    let router = gateway_router(
        gateway(&sim, Some(Credentials::new(TEAM, "revoked"))),
        RestConfig::default(),
    );
    let api = Api::new(start(router).await, None, true);
    let reply = send(api.post("/api/v1/share").form(&[("secret", "s")])).await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.header("x-ots-intended-status"), None);
    assert_eq!(
        reply.body,
        json!({"message": "the gateway's OTS credentials were rejected by the upstream"})
    );
}

#[tokio::test]
async fn a_clients_own_authorization_never_reaches_the_upstream() {
    let api = team_gateway().await;
    let bogus = [
        api.post("/api/v1/share")
            .basic_auth("intruder@example.com", Some("bogus-token")),
        api.post("/api/v1/share").bearer_auth("bogus-token"),
        api.post("/api/v1/share").header("authorization", "Garbage"),
    ];
    for request in bogus {
        let created = share(request.form(&[("secret", "s")])).await;
        // Had the client's Basic auth been forwarded, the simulator would have refused it.
        assert_eq!(created["custid"], TEAM);
    }
    let recent = send(api.get("/api/v1/private/recent").basic_auth("x", Some("y"))).await;
    assert_eq!(recent.status, 200);
}

#[tokio::test]
async fn upstream_rate_limits_are_relayed_as_ots_sends_them() {
    let sim = Simulator::new(SimulatorConfig {
        anonymous_create_limit: 1,
        ..SimulatorConfig::new(sim_url())
    });
    let router = gateway_router(gateway(&sim, None), RestConfig::default());
    let api = Api::new(start(router).await, None, false);
    share(api.post("/api/v1/share").form(&[("secret", "first")])).await;
    let reply = send(api.post("/api/v1/share").form(&[("secret", "second")])).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("x-ots-intended-status"), Some("400"));
    assert_eq!(
        reply.body,
        json!({"message": "Rate limit exceeded. Please try again later."})
    );
}

#[tokio::test]
async fn client_labels_name_the_caller() {
    let api = anonymous_gateway().await;
    let created = share(
        api.post("/api/v1/share")
            .header("x-ots-gateway-client", "deploy-bot")
            .form(&[("secret", "labelled")]),
    )
    .await;
    assert!(!str_of(&created, "metadata_key").is_empty());
}

#[tokio::test]
async fn readyz_reflects_the_upstream() {
    let api = anonymous_gateway().await;
    let reply = send(api.get("/readyz")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, json!({"status": "ready"}));
}

#[tokio::test]
async fn the_bearer_token_works_through_a_client_librarys_basic_auth() {
    let sim = team_simulator();
    let config = RestConfig {
        bearer_token: Some("gw-token".to_owned().into()),
        ..RestConfig::default()
    };
    let router = gateway_router(
        gateway(&sim, Some(Credentials::new(TEAM, TEAM_TOKEN))),
        config,
    );
    // The library is configured with any username and the gateway token as its API key.
    let api = Api::new(
        start(router).await,
        Some(("me@example.com", "gw-token")),
        true,
    );
    lifecycle(&api, TEAM).await;
}

/// Without team credentials there is no account list upstream, so `recent` lists what this
/// client label created through the gateway: the label is the caller's identity.
#[tokio::test]
async fn without_team_credentials_recent_is_per_client_label() {
    let api = anonymous_gateway().await;
    let created = share(
        api.post("/api/v1/share")
            .header("x-ots-gateway-client", "alice")
            .form(&[("secret", "for-alice")]),
    )
    .await;
    let mkey = str_of(&created, "metadata_key").to_owned();
    for (label, expected) in [(Some("alice"), true), (Some("bob"), false), (None, false)] {
        let request = api.post("/api/v1/private/recent");
        let request = match label {
            Some(label) => request.header("x-ots-gateway-client", label),
            None => request,
        };
        let reply = send(request).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let items = reply.body.as_array().expect("recent is an array");
        let listed = items
            .iter()
            .any(|item| item["metadata_key"] == mkey.as_str());
        assert_eq!(listed, expected, "{label:?}: {}", reply.body);
        assert!(items.iter().all(|item| item.get("secret_key").is_none()));
    }
}

#[tokio::test]
async fn metrics_count_operations_behind_the_token() {
    let config = RestConfig {
        bearer_token: Some("gw-token".to_owned().into()),
        ..RestConfig::default()
    };
    let router = gateway_router(gateway(&simulator(), None), config);
    let api = Api::new(start(router).await, Some(("me", "gw-token")), false);
    share(api.post("/api/v1/share").form(&[("secret", "counted")])).await;
    let client = reqwest::Client::new();
    let refused = client.get(api.server.url("/metrics")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let metrics = client
        .get(api.server.url("/metrics"))
        .bearer_auth("gw-token")
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let content_type = metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = metrics.text().await.unwrap();
    assert!(text.contains("ots_gateway_operations"), "{text}");
    assert!(!text.contains("counted"));
}

/// The gateway's own quotas are its refusals, not OTS's: an honest 429 with `Retry-After`.
#[tokio::test]
async fn gateway_quotas_are_429_with_retry_after() {
    use std::num::NonZeroU32;

    use ots_gateway_core::ledger::SqliteLedger;
    use ots_gateway_core::limits::{OperationClass, QuotaSettings, Rate};
    use ots_gateway_core::model::Frontend;

    let one = NonZeroU32::MIN;
    let mut quotas = QuotaSettings::default();
    quotas.callers.insert(
        (Frontend::Rest, OperationClass::Create),
        Rate {
            per_minute: one,
            burst: one,
        },
    );
    let ledger = std::sync::Arc::new(SqliteLedger::open_in_memory().unwrap());
    let upstream = Upstream::Simulated(simulator().as_caller(None, None));
    let gateway = Gateway::builder(upstream, ledger).quotas(quotas).build();
    let api = Api::new(
        start(gateway_router(gateway, RestConfig::default())).await,
        None,
        false,
    );
    share(api.post("/api/v1/share").form(&[("secret", "first")])).await;
    let reply = send(api.post("/api/v1/share").form(&[("secret", "second")])).await;
    assert_eq!(reply.status, 429, "{}", reply.body);
    assert_eq!(reply.header("x-ots-intended-status"), None);
    let retry_after: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    assert!(reply.body["message"].is_string());
    // Quotas are per caller: another client label still has its own.
    share(
        api.post("/api/v1/share")
            .header("x-ots-gateway-client", "other")
            .form(&[("secret", "third")]),
    )
    .await;
}

/// An operation the operator switched off for REST is the gateway's policy: an honest 403.
#[tokio::test]
async fn operations_switched_off_by_policy_are_403() {
    use ots_gateway_core::ledger::SqliteLedger;
    use ots_gateway_core::model::{Frontend, Operation};
    use ots_gateway_core::policy::{FrontendPolicy, Policy};

    let mut rest = FrontendPolicy::default_for(Frontend::Rest);
    rest.allowed_operations.remove(&Operation::Retrieve);
    let mut policy = Policy::default();
    policy.frontends.insert(Frontend::Rest, rest);
    let ledger = std::sync::Arc::new(SqliteLedger::open_in_memory().unwrap());
    let upstream = Upstream::Simulated(simulator().as_caller(None, None));
    let gateway = Gateway::builder(upstream, ledger).policy(policy).build();
    let api = Api::new(
        start(gateway_router(gateway, RestConfig::default())).await,
        None,
        false,
    );
    let created = share(api.post("/api/v1/share").form(&[("secret", "kept")])).await;
    let skey = str_of(&created, "secret_key");
    let reply = send(api.post(&format!("/api/v1/secret/{skey}"))).await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({"message": "retrieve is not enabled for this frontend"})
    );
}
