//! The gateway's local `/api/v2` for clients written against today's OTS documentation, in front
//! of servers that speak only v1, only v2, or both. `V2Client` is a small v2 client written from
//! `docs/ots-api-v2-notes.md`, as such a client would be: JSON bodies, fields nested under
//! `secret`, `continue: true` to reveal and burn.

use ots_gateway_core::limits::QuotaSettings;
use ots_gateway_rest::SimulatedApis;
use serde_json::{Value, json};

use crate::support;

struct V2Client {
    http: reqwest::Client,
    api: String,
}

struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

impl V2Client {
    fn new(base: &url::Url) -> Self {
        V2Client {
            http: reqwest::Client::new(),
            api: format!("{}/api/v2", base.as_str().trim_end_matches('/')),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body: Value = response.json().await.expect("JSON body");
        assert_eq!(content_type.as_deref(), Some("application/json"));
        Answer {
            status,
            retry_after,
            body,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(format!("{}/{path}", self.api)))
            .await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(self.http.post(format!("{}/{path}", self.api)).json(&body))
            .await
    }
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} missing in {value}"))
}

async fn every_operation_through_the_gateway(upstream_speaks: SimulatedApis) {
    let (_sim, upstream) = support::simulator_speaking(upstream_speaks, |_| {}).await;
    let gateway = support::gateway_over_http(&upstream.url, QuotaSettings::default()).await;
    let v2 = V2Client::new(&gateway.url);

    let status = v2.get("status").await;
    assert_eq!(status.status, 200);
    assert_eq!(status.body["success"], json!(true));
    assert_eq!(status.body["status"], json!("nominal"));

    let concealed = v2
        .post(
            "secret/conceal",
            json!({"secret": {"secret": "v2-chain-value", "ttl": 3600, "passphrase": "pass-1234"}}),
        )
        .await;
    assert_eq!(concealed.status, 200, "{}", concealed.body);
    assert_eq!(concealed.body["success"], json!(true));
    let receipt_id = text(&concealed.body, "/record/receipt/identifier").to_owned();
    let secret_id = text(&concealed.body, "/record/secret/identifier").to_owned();
    assert_eq!(concealed.body["record"]["receipt"]["state"], json!("new"));
    assert_eq!(
        concealed.body["record"]["receipt"]["secret_ttl"],
        json!(3600)
    );
    assert_eq!(
        concealed.body["record"]["receipt"]["has_passphrase"],
        json!(true)
    );
    assert!(concealed.body["record"]["receipt"]["created"].is_f64());

    let view = v2.get(&format!("receipt/{receipt_id}")).await;
    assert_eq!(view.status, 200);
    assert_eq!(view.body["record"]["state"], json!("new"));
    assert!(
        view.body["record"].get("secret_identifier").is_none(),
        "withheld for a protected secret"
    );

    let unconfirmed = v2
        .post(
            &format!("secret/{secret_id}/reveal"),
            json!({"passphrase": "pass-1234"}),
        )
        .await;
    assert_eq!(unconfirmed.status, 200);
    assert!(unconfirmed.body["record"].get("secret_value").is_none());

    let revealed = v2
        .post(
            &format!("secret/{secret_id}/reveal"),
            json!({"passphrase": "pass-1234", "continue": true}),
        )
        .await;
    assert_eq!(revealed.status, 200, "{}", revealed.body);
    assert_eq!(
        text(&revealed.body, "/record/secret_value"),
        "v2-chain-value"
    );
    let again = v2
        .post(
            &format!("secret/{secret_id}/reveal"),
            json!({"continue": true}),
        )
        .await;
    assert_eq!(again.status, 404);
    assert_eq!(again.body["error_type"], json!("RecordNotFound"));
    let after = v2.get(&format!("receipt/{receipt_id}")).await;
    assert_eq!(after.body["record"]["state"], json!("revealed"));
    assert_eq!(after.body["record"]["is_revealed"], json!(true));

    let generated = v2
        .post("secret/generate", json!({"secret": {"length": 16}}))
        .await;
    assert_eq!(generated.status, 200, "{}", generated.body);
    let generated_receipt = text(&generated.body, "/record/receipt/identifier").to_owned();
    // The gateway's extension: its own generate call already claimed the value upstream.
    assert_eq!(
        text(&generated.body, "/details/secret_value")
            .chars()
            .count(),
        16
    );

    let burned = v2
        .post(
            &format!("receipt/{generated_receipt}/burn"),
            json!({"continue": true}),
        )
        .await;
    assert_eq!(burned.status, 200, "{}", burned.body);
    assert_eq!(burned.body["success"], json!(true));
    assert_eq!(
        burned.body["record"]["state"],
        json!("new"),
        "the receipt as loaded before the burn"
    );
    let burned_again = v2
        .post(
            &format!("receipt/{generated_receipt}/burn"),
            json!({"continue": true}),
        )
        .await;
    assert_eq!(burned_again.status, 200);
    assert_eq!(burned_again.body, json!({"success": true}));

    let recent = v2.get("receipt/recent").await;
    assert_eq!(recent.status, 200, "{}", recent.body);
    let ids: Vec<&str> = recent.body["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["identifier"].as_str())
        .collect();
    assert_eq!(
        ids,
        [generated_receipt.as_str(), receipt_id.as_str()],
        "newest first"
    );

    let missing = v2
        .post("secret/conceal", json!({"secret": {"ttl": 60}}))
        .await;
    assert_eq!(missing.status, 422);
    assert_eq!(
        missing.body["error"],
        json!("You did not provide anything to share")
    );
    let flat = v2.post("secret/conceal", json!({"secret": "flat"})).await;
    assert_eq!(flat.status, 422);
    assert_eq!(flat.body["error"], json!("Incorrect payload format"));
    let too_large = v2
        .post(
            "secret/conceal",
            json!({"secret": {"secret": "x".repeat(10_001)}}),
        )
        .await;
    assert_eq!(too_large.status, 422);
    assert_eq!(
        too_large.body["error"],
        json!("Secret content must be no more than 10000 bytes long")
    );
    let nowhere = v2.get("no/such/route").await;
    assert_eq!(nowhere.status, 404);
    assert_eq!(nowhere.body["error_type"], json!("NotFound"));
    assert!(nowhere.retry_after.is_none());
}

#[tokio::test]
async fn a_v2_client_works_through_the_gateway_to_a_v1_only_server() {
    every_operation_through_the_gateway(SimulatedApis::V1).await;
}

#[tokio::test]
async fn a_v2_client_works_through_the_gateway_to_a_v2_only_server() {
    every_operation_through_the_gateway(SimulatedApis::V2).await;
}

#[tokio::test]
async fn the_gateway_quota_is_a_v2_429_with_retry_after() {
    use std::num::NonZeroU32;

    use ots_gateway_core::limits::{OperationClass, Rate};
    use ots_gateway_core::model::Frontend;

    let (_sim, upstream) = support::simulator_speaking(SimulatedApis::Both, |_| {}).await;
    let mut quotas = QuotaSettings::default();
    quotas.callers.insert(
        (Frontend::Rest, OperationClass::Create),
        Rate {
            per_minute: NonZeroU32::MIN,
            burst: NonZeroU32::MIN,
        },
    );
    let gateway = support::gateway_over_http(&upstream.url, quotas).await;
    let v2 = V2Client::new(&gateway.url);
    let body = json!({"secret": {"secret": "quota"}});
    assert_eq!(v2.post("secret/conceal", body.clone()).await.status, 200);
    let refused = v2.post("secret/conceal", body).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body["error_type"], json!("LimitExceeded"));
    assert!(refused.retry_after.is_some());
    assert!(refused.body["retry_after"].is_u64());
}

/// #2610 end to end: the server passes the v2 probe but its v2 conceal fails. The failed share
/// is not repeated; the next one goes through v1; `/gateway/status` and `/metrics` say so.
#[tokio::test]
async fn a_failing_v2_falls_back_to_v1_visibly() {
    use axum::extract::Request;
    use axum::middleware::{Next, from_fn};
    use axum::response::IntoResponse;
    use ots_gateway_core::model::Credentials;
    use ots_gateway_core::simulator::{Simulator, SimulatorConfig};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url =
        url::Url::parse(&format!("http://{}", listener.local_addr().expect("addr"))).expect("url");
    let simulator = Simulator::new(SimulatorConfig::new(url.clone()));
    simulator.add_account(&Credentials::new(support::TEAM_USER, support::TEAM_KEY));
    let conceal_attempts = Arc::new(AtomicUsize::new(0));
    let counted = conceal_attempts.clone();
    let broken_v2_conceal = from_fn(move |request: Request, next: Next| {
        let counted = counted.clone();
        async move {
            if request.uri().path() == "/api/v2/secret/conceal" {
                counted.fetch_add(1, Ordering::SeqCst);
                return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            next.run(request).await
        }
    });
    let router =
        ots_gateway_rest::simulator_router(simulator, ots_gateway_rest::RestConfig::default())
            .layer(broken_v2_conceal);
    tokio::spawn(ots_gateway_rest::serve(
        listener,
        router,
        std::future::pending(),
    ));

    let gateway = support::gateway_over_http(&url, QuotaSettings::default()).await;
    let base = gateway.url.as_str().trim_end_matches('/').to_owned();
    let http = reqwest::Client::new();
    let share = || {
        http.post(format!("{base}/api/v1/share"))
            .form(&[("secret", "fallback-value")])
            .send()
    };
    let first = share().await.expect("first share");
    assert_eq!(first.status(), 502, "the upstream failure is reported");
    assert_eq!(conceal_attempts.load(Ordering::SeqCst), 1, "sent once");
    let second = share().await.expect("second share");
    assert_eq!(second.status(), 200, "v1 took over");
    assert_eq!(conceal_attempts.load(Ordering::SeqCst), 1);

    let status: Value = http
        .get(format!("{base}/gateway/status"))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(
        status["upstream"]["api"],
        json!({"choice": "auto", "api": "v1", "fell_back": true, "fallbacks": 1}),
        "{status}"
    );
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("ots_gateway_upstream_api_fallbacks 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"ots_gateway_upstream_api{api="v1"} 1"#),
        "{metrics}"
    );
}

/// The v2 surface sits behind the same local-only checks as v1: a browser on another site and a
/// foreign Host are refused before anything reaches the core.
#[tokio::test]
async fn the_v2_surface_has_the_same_local_defences() {
    let (_sim, upstream) = support::simulator_speaking(SimulatedApis::Both, |_| {}).await;
    let gateway = support::gateway_over_http(&upstream.url, QuotaSettings::default()).await;
    let url = format!(
        "{}/api/v2/secret/conceal",
        gateway.url.as_str().trim_end_matches('/')
    );
    let http = reqwest::Client::new();
    let body = json!({"secret": {"secret": "cross-site"}});
    let cross_site = http
        .post(&url)
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .expect("cross-site");
    assert_eq!(cross_site.status(), 403);
    let foreign_host = http
        .post(&url)
        .header("host", "evil.example")
        .json(&body)
        .send()
        .await
        .expect("foreign host");
    assert_eq!(foreign_host.status(), 403);
    let same_machine = http.post(&url).json(&body).send().await.expect("local");
    assert_eq!(same_machine.status(), 200);
}
