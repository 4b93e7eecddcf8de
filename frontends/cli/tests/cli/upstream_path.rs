//! The gateway reaches its upstream directly. Proxy variables in its environment are not used,
//! so a proxy nobody configured for the gateway never sees the team's credentials.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::TcpListener;

use crate::support;

const ACCOUNT: &str = "team@example.com";
const TOKEN: &str = "sim-token";

#[tokio::test]
async fn proxy_variables_in_the_environment_are_ignored() {
    let proxy = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let proxy_url = format!("http://{}", proxy.local_addr().expect("address"));
    let reached_proxy = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&reached_proxy);
    // Counts and drops every connection: a gateway that went through it would fail its calls.
    tokio::spawn(async move {
        while let Ok((socket, _)) = proxy.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    let simulator = support::start(
        &[
            "simulate",
            "--listen",
            "127.0.0.1:0",
            "--account",
            &format!("{ACCOUNT}:{TOKEN}"),
        ],
        &[],
    )
    .await;
    let config = format!(
        "{}/../../config/ots-gateway.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let ledger = crate::frictions::scratch_ledger("upstream-proxy");
    let mut environment = vec![
        ("OTS_GATEWAY_USERNAME", ACCOUNT),
        ("OTS_GATEWAY_API_KEY", TOKEN),
        ("OTS_GATEWAY__LEDGER__PATH", ledger.as_str()),
    ];
    for name in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        environment.push((name, proxy_url.as_str()));
    }
    let gateway = support::start(
        &[
            "serve",
            "--config",
            &config,
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &simulator.base_url,
        ],
        &environment,
    )
    .await;

    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("test client");
    let shared = http
        .post(format!("{}/api/v1/share", gateway.base_url))
        .form(&[("secret", "goes straight to the upstream")])
        .send()
        .await
        .expect("share");
    assert_eq!(shared.status(), 200);
    // A team call: authcheck carries the team's Authorization header upstream.
    let checked = http
        .get(format!("{}/api/v1/authcheck", gateway.base_url))
        .send()
        .await
        .expect("authcheck");
    assert_eq!(checked.status(), 200);
    assert_eq!(reached_proxy.load(Ordering::SeqCst), 0);

    assert!(gateway.terminate().await.success());
    assert!(simulator.terminate().await.success());
    let _ = std::fs::remove_file(&ledger);
}
