//! The local-only defences, over real sockets, for the gateway routes and for a sibling service
//! composed under `local_only` the way `/mcp` will be.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ots_gateway_rest::{RestConfig, gateway_router, gateway_routes, local_only};
use secrecy::SecretString;
use serde_json::json;
use tokio::sync::{Notify, mpsc};

use crate::support::{client, idle_gateway, send, start};

const TOKEN: &str = "gw-token-0123456789";

fn with_token() -> RestConfig {
    RestConfig {
        bearer_token: Some(SecretString::from(TOKEN.to_owned())),
        ..RestConfig::default()
    }
}

#[tokio::test]
async fn foreign_host_headers_are_refused() {
    let config = RestConfig {
        allowed_hosts: vec!["gateway.internal".to_owned()],
        ..RestConfig::default()
    };
    let server = start(gateway_router(idle_gateway(), config)).await;
    let c = client();
    for host in ["evil.example", "evil.example:7143", "10.0.0.1"] {
        let reply = send(c.get(server.url("/healthz")).header("host", host)).await;
        assert_eq!(reply.status, 403, "{host}");
        assert!(reply.body["message"].is_string());
    }
    for host in ["localhost:1", "127.0.0.1", "[::1]:7143", "gateway.internal"] {
        let reply = send(c.get(server.url("/healthz")).header("host", host)).await;
        assert_eq!(reply.status, 200, "{host}");
    }
    server.stop().await;
}

#[tokio::test]
async fn cross_site_browser_requests_are_refused() {
    let server = start(gateway_router(idle_gateway(), RestConfig::default())).await;
    let c = client();
    let url = server.url("/api/v1/share");
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        // Another local dev server is "same-site" to a browser, and no friend of the gateway.
        ("origin", "http://localhost:5173"),
        ("origin", "http://127.0.0.1:3000"),
        ("origin", "http://[::1]:3000"),
        ("sec-fetch-site", "same-site"),
    ] {
        let reply = send(c.post(&url).header(name, value).form(&[("secret", "s")])).await;
        assert_eq!(reply.status, 403, "{name}: {value}");
        assert!(reply.body["message"].is_string());
    }
    // The gateway's own pages: same scheme, host and port as the request's Host.
    let own = format!("http://{}", server.addr);
    let reply = send(
        c.get(server.url("/healthz"))
            .header("origin", own)
            .header("sec-fetch-site", "same-origin"),
    )
    .await;
    assert_eq!(reply.status, 200);
    let preflight = send(
        c.request(reqwest::Method::OPTIONS, &url)
            .header("origin", "http://localhost:5173")
            .header("access-control-request-method", "POST"),
    )
    .await;
    assert_eq!(preflight.status, 403);
    assert!(preflight.header("access-control-allow-origin").is_none());
    server.stop().await;
}

#[tokio::test]
async fn the_bearer_token_is_required_when_configured() {
    let server = start(gateway_router(idle_gateway(), with_token())).await;
    let c = client();
    // An unknown route tells "got past the token check" apart from a 401.
    let url = server.url("/api/v1/nope");

    let reply = send(c.get(&url)).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    assert!(reply.body["message"].is_string());

    for wrong in [
        "Bearer not-the-token".to_owned(),
        format!("Basic {}", STANDARD.encode(format!("{TOKEN}:wrong"))),
    ] {
        let reply = send(c.get(&url).header("authorization", wrong)).await;
        assert_eq!(reply.status, 401);
    }

    let reply = send(c.get(&url).bearer_auth(TOKEN)).await;
    assert_eq!(reply.body, json!({"error": "Not Found"}));
    // OTS client libraries put their API key in the Basic password; any username goes.
    let reply = send(c.get(&url).basic_auth("team@example.com", Some(TOKEN))).await;
    assert_eq!(reply.body, json!({"error": "Not Found"}));

    // Liveness probes carry no credentials.
    let reply = send(c.get(server.url("/healthz"))).await;
    assert_eq!(reply.status, 200);
    let reply = send(c.get(server.url("/readyz"))).await;
    assert_eq!(reply.status, 401);
    server.stop().await;
}

/// A stand-in for `/mcp`: nested beside the REST routes, it must get the same defences.
fn with_sibling(config: &RestConfig, sibling: Router) -> Router {
    let routes = gateway_routes(idle_gateway(), config).nest_service("/mcp", sibling);
    local_only(routes, config)
}

#[tokio::test]
async fn a_sibling_service_shares_the_defences() {
    let config = with_token();
    let sibling = Router::new().route("/", get(|| async { "mcp" }));
    let server = start(with_sibling(&config, sibling)).await;
    let c = client();
    let reply = send(c.get(server.url("/mcp"))).await;
    assert_eq!(reply.status, 401);
    let reply = send(
        c.get(server.url("/mcp"))
            .bearer_auth(TOKEN)
            .header("host", "evil.example"),
    )
    .await;
    assert_eq!(reply.status, 403);
    let ok = c
        .get(server.url("/mcp"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "mcp");
    server.stop().await;
}

#[tokio::test]
async fn a_saturated_gateway_sheds_load_with_a_json_503() {
    let config = RestConfig {
        max_concurrent_requests: 1,
        ..RestConfig::default()
    };
    let (entered_tx, mut entered) = mpsc::channel::<()>(1);
    let release = Arc::new(Notify::new());
    let hold = {
        let release = release.clone();
        move || {
            let entered_tx = entered_tx.clone();
            let release = release.clone();
            async move {
                let _ = entered_tx.send(()).await;
                release.notified().await;
                "done"
            }
        }
    };
    let server = start(with_sibling(&config, Router::new().route("/", get(hold)))).await;
    let c = client();
    let first = tokio::spawn(c.get(server.url("/mcp")).send());
    entered.recv().await.unwrap();

    let reply = send(c.get(server.url("/api/v1/nope"))).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("retry-after"), Some("1"));
    // Liveness stays answerable while busy.
    let reply = send(c.get(server.url("/healthz"))).await;
    assert_eq!(reply.status, 200);

    release.notify_one();
    assert_eq!(first.await.unwrap().unwrap().status(), 200);
    let reply = send(c.get(server.url("/api/v1/nope"))).await;
    assert_eq!(reply.status, 404);
    server.stop().await;
}
