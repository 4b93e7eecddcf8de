//! The simulator router: an OTS v1 server in every respect a client can observe.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ots_gateway_core::model::Credentials;
use ots_gateway_core::simulator::{Simulator, SimulatorConfig};
use ots_gateway_rest::{RestConfig, simulator_router};
use serde_json::json;

use crate::flows::{Api, assert_ots_refusal, client_quirks, lifecycle, ots_error_shapes, share};
use crate::support::{send, sim_url, simulator, start};

const USER: &str = "user@example.com";
const TOKEN: &str = "user-api-token";

async fn api(basic: Option<(&str, &str)>) -> Api {
    let sim = simulator();
    sim.add_account(&Credentials::new(USER, TOKEN));
    let has_account = basic.is_some();
    Api::new(
        start(simulator_router(sim, RestConfig::default())).await,
        basic,
        has_account,
    )
    .simulator()
}

#[tokio::test]
async fn anonymous_lifecycle() {
    lifecycle(&api(None).await, "anon").await;
}

#[tokio::test]
async fn account_lifecycle() {
    lifecycle(&api(Some((USER, TOKEN))).await, USER).await;
}

#[tokio::test]
async fn client_quirks_against_the_simulator() {
    client_quirks(&api(None).await).await;
    client_quirks(&api(Some((USER, TOKEN))).await).await;
}

#[tokio::test]
async fn errors_are_exactly_ots_errors() {
    ots_error_shapes(&api(None).await).await;
    ots_error_shapes(&api(Some((USER, TOKEN))).await).await;
}

#[tokio::test]
async fn bad_credentials_are_ots_not_authorized_everywhere() {
    let api = api(None).await;
    let c = reqwest::Client::new();
    let url = api.server.url("/api/v1/status");
    let no_colon = format!("Basic {}", STANDARD.encode(USER));
    for request in [
        c.get(&url).basic_auth(USER, Some("wrong-token")),
        c.get(&url).basic_auth("nobody@example.com", Some(TOKEN)),
        c.get(&url).bearer_auth(TOKEN),
        c.get(&url).header("authorization", "Basic !!!"),
        c.get(&url).header("authorization", no_colon),
        c.get(&url).basic_auth("", Some(TOKEN)),
    ] {
        assert_ots_refusal(&send(request).await, Some("401"), "Not authorized");
    }
    // Anonymous callers may use `status` but not the account routes.
    assert_eq!(send(c.get(&url)).await.status, 200);
    for path in ["/api/v1/authcheck", "/api/v1/private/recent"] {
        assert_ots_refusal(
            &send(c.get(api.server.url(path))).await,
            Some("401"),
            "Not authorized",
        );
    }
}

#[tokio::test]
async fn rate_limits_are_ots_shaped_never_429() {
    let sim = Simulator::new(SimulatorConfig {
        anonymous_create_limit: 1,
        ..SimulatorConfig::new(sim_url())
    });
    let api = Api::new(
        start(simulator_router(sim, RestConfig::default())).await,
        None,
        false,
    );
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
async fn the_gateway_local_only_checks_do_not_apply_to_the_simulator() {
    let config = RestConfig {
        bearer_token: Some("gw-token".to_owned().into()),
        ..RestConfig::default()
    };
    let server = start(simulator_router(simulator(), config)).await;
    let reply = send(reqwest::Client::new().get(server.url("/api/v1/status"))).await;
    assert_eq!(reply.status, 200);
    // Nor do the Host checks: a simulator answers whatever name it is reached by.
    let reply = send(
        reqwest::Client::new()
            .get(server.url("/api/v1/status"))
            .header("host", "ots-simulator:7144"),
    )
    .await;
    assert_eq!(reply.status, 200);
}
