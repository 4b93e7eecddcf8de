//! Which caller id requests are attributed to, per transport.

use std::collections::HashMap;

use anyhow::{Result, ensure};
use serde_json::json;

use crate::support::{Served, Setup, Via, ok};

async fn caller_id(served: &Served, name: &str, header: Option<&str>) -> Result<String> {
    let mut headers = HashMap::new();
    if let Some(value) = header {
        headers.insert(
            http::HeaderName::from_static(ots_gateway_mcp::CLIENT_HEADER),
            http::HeaderValue::from_str(value)?,
        );
    }
    let client = served.client_with_headers(name, headers).await?;
    let status = ok(&client, "gateway_status", json!({})).await?;
    client.cancel().await?;
    Ok(status["caller_id"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn stdio_uses_the_declared_client_name_sanitised() -> Result<()> {
    for via in [Via::Stdio, Via::StdioModern] {
        let served = Served::start(via, &Setup::default()).await?;
        ensure!(caller_id(&served, "claude-code", None).await? == "claude-code");
        ensure!(caller_id(&served, "Claude Desktop", None).await? == "Claude_Desktop");
        let long = "a".repeat(100);
        ensure!(caller_id(&served, &long, None).await?.len() == 64);
        ensure!(caller_id(&served, "???", None).await? == "stdio", "{via:?}");
    }
    Ok(())
}

#[tokio::test]
async fn http_prefers_the_header_then_the_declared_name() -> Result<()> {
    let served = Served::start(Via::HttpModern, &Setup::default()).await?;
    ensure!(caller_id(&served, "cursor", None).await? == "cursor");
    ensure!(caller_id(&served, "cursor", Some("ci-bot.7")).await? == "ci-bot.7");
    // A header that breaks the rule is refused at the HTTP level (see `transport`).
    ensure!(
        caller_id(&served, "cursor", Some("ci-bot 7"))
            .await
            .is_err()
    );

    let served = Served::start(Via::Http, &Setup::default()).await?;
    ensure!(caller_id(&served, "legacy", Some("deploy-agent")).await? == "deploy-agent");
    // Legacy clients have a session: the declared name, tagged per session, so two clients of
    // the same SDK are two callers.
    let first = caller_id(&served, "legacy", None).await?;
    let second = caller_id(&served, "legacy", None).await?;
    ensure!(
        first.starts_with("legacy.") && first.len() == "legacy.".len() + 8,
        "{first}"
    );
    ensure!(first != second, "{first} twice");
    Ok(())
}

#[tokio::test]
async fn http_rejects_foreign_host_headers_and_huge_bodies() -> Result<()> {
    let gateway = Setup::default().gateway()?;
    let settings = ots_gateway_mcp::McpSettings {
        allowed_hosts: vec!["gateway.internal".to_owned()],
        max_body_bytes: 4096,
        ..Default::default()
    };
    let server = crate::support::spawn_http(gateway, settings).await?;
    let url = server.url();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}});
    let post = |host: &'static str, body: String| {
        let url = url.clone();
        async move {
            let response = raw_post(&url, host, body).await?;
            anyhow::Ok(response)
        }
    };
    ensure!(post("evil.example", init.to_string()).await? == 403);
    ensure!(post("gateway.internal", init.to_string()).await? == 200);
    ensure!(post("localhost", init.to_string()).await? == 200);
    let big = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "share_secret", "arguments": {"secret": "x".repeat(8000)}}});
    ensure!(post("127.0.0.1", big.to_string()).await? == 413);
    Ok(())
}

/// A bare HTTP/1.1 POST with a chosen Host header; returns the status code.
async fn raw_post(url: &str, host: &str, body: String) -> Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(authority).await?;
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    Ok(status)
}
