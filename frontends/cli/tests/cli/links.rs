//! Every link the gateway hands out opens something useful: each URL in each share, generate and
//! receipt answer that names the gateway opens an HTML page (200), and no answer names a server
//! that is neither the gateway nor its upstream.

use serde_json::Value;

use crate::support::{self, Running};

fn shipped_config() -> String {
    format!(
        "{}/../../config/ots-gateway.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Every string in `value` that is an absolute http(s) URL, with the field it came from.
fn links(value: &Value, field: &str, into: &mut Vec<(String, String)>) {
    match value {
        Value::String(text) if text.starts_with("http://") || text.starts_with("https://") => {
            into.push((field.to_owned(), text.clone()));
        }
        Value::Array(items) => items.iter().for_each(|item| links(item, field, into)),
        Value::Object(fields) => fields
            .iter()
            .for_each(|(name, item)| links(item, name, into)),
        _ => {}
    }
}

async fn answer(request: reqwest::RequestBuilder) -> Value {
    let response = request.send().await.expect("the gateway answers");
    let status = response.status();
    let body: Value = response.json().await.expect("a JSON answer");
    assert_eq!(status, 200, "{body}");
    body
}

/// Shares (with and without passphrase), generates, and reads each receipt; returns every link
/// found in those answers.
async fn links_handed_out(gateway: &Running) -> Vec<(String, String)> {
    let http = reqwest::Client::new();
    let api = |path: &str| format!("{}/api/v1/{path}", gateway.base_url);
    let created = [
        answer(http.post(api("share")).form(&[("secret", "walk-me")])).await,
        answer(
            http.post(api("share"))
                .form(&[("secret", "walk-me-too"), ("passphrase", "open")]),
        )
        .await,
        answer(http.post(api("generate"))).await,
    ];
    let mut found = Vec::new();
    for receipt in &created {
        links(receipt, "", &mut found);
        let key = receipt["metadata_key"].as_str().expect("metadata_key");
        let viewed = answer(http.get(api(&format!("receipt/{key}")))).await;
        links(&viewed, "", &mut found);
    }
    let recent = answer(http.get(api("receipt/recent"))).await;
    links(&recent, "", &mut found);
    found
}

/// Opens each link and insists on an HTML page.
async fn walk(links: &[(String, String)]) {
    for (field, link) in links {
        let response = reqwest::get(link)
            .await
            .unwrap_or_else(|err| panic!("{field} {link}: {err}"));
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(status, 200, "{field} {link}");
        assert!(
            content_type.starts_with("text/html"),
            "{field} {link}: {content_type}"
        );
        let html = response.text().await.expect("page body");
        assert!(html.contains("<h1>"), "{field} {link}: not a page: {html}");
    }
}

#[tokio::test]
async fn every_link_from_serve_dev_opens_a_page() {
    let config = shipped_config();
    let gateway = support::start(
        &[
            "serve",
            "--dev",
            "--config",
            &config,
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
    )
    .await;
    let found = links_handed_out(&gateway).await;
    for field in ["share_url", "metadata_url", "receipt_url"] {
        assert!(
            found.iter().any(|(name, _)| name == field),
            "no {field} among {found:?}"
        );
    }
    for (field, link) in &found {
        assert!(
            link.starts_with(&format!("{}/", gateway.base_url)),
            "serve --dev is the only server its links may name: {field} {link}"
        );
    }
    walk(&found).await;
}

#[tokio::test]
async fn links_from_a_gateway_in_front_of_simulate_name_only_known_servers() {
    let simulator = support::start(&["simulate", "--listen", "127.0.0.1:0"], &[]).await;
    let config = shipped_config();
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
        &[(
            "OTS_GATEWAY__LEDGER__PATH",
            &crate::frictions::scratch_ledger("links"),
        )],
    )
    .await;
    let found = links_handed_out(&gateway).await;
    assert!(!found.is_empty(), "the answers carry links");
    let (ours, theirs): (Vec<_>, Vec<_>) = found
        .into_iter()
        .partition(|(_, link)| link.starts_with(&format!("{}/", gateway.base_url)));
    for (field, link) in &theirs {
        assert!(
            link.starts_with(&format!("{}/", simulator.base_url)),
            "{field} {link} names neither the gateway nor its upstream"
        );
    }
    // The upstream's own links are the upstream's to serve; those naming the gateway are ours.
    walk(&ours).await;
}
