//! `/mcp` answers every HTTP-level failure with a JSON-RPC error body, reads an oversized body
//! to its end before refusing it, and the session goes on afterwards.

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Setup, spawn_http};

/// One raw HTTP/1.1 exchange on a fresh connection: status and body.
async fn exchange(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "{head}Host: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    // A server that answers early and closes makes this write fail: that is the bug under test,
    // so it must surface.
    stream
        .write_all(body)
        .await
        .context("the server closed the connection while the body was being sent")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn jsonrpc_error(body: &str) -> Result<Value> {
    let value: Value = serde_json::from_str(body).with_context(|| format!("not JSON: {body}"))?;
    ensure!(value["jsonrpc"] == "2.0", "{value}");
    ensure!(value["error"]["code"].is_i64(), "{value}");
    ensure!(value["error"]["message"].is_string(), "{value}");
    Ok(value)
}

const POST: &str = "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\n\
                    Accept: application/json, text/event-stream\r\n";

#[tokio::test]
async fn wrong_methods_headers_and_json_get_jsonrpc_errors() -> Result<()> {
    let server = spawn_http(Setup::default().gateway()?, Default::default()).await?;
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let cases: [(&str, &str, &[u8], u16); 4] = [
        ("PUT", "PUT /mcp HTTP/1.1\r\n", b"", 405),
        (
            "no Accept",
            "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\n",
            ping.as_bytes(),
            406,
        ),
        (
            "text/plain",
            "POST /mcp HTTP/1.1\r\nContent-Type: text/plain\r\n\
             Accept: application/json, text/event-stream\r\n",
            ping.as_bytes(),
            415,
        ),
        (
            "malformed JSON",
            POST,
            b"{\"jsonrpc\": \"2.0\", \"id\": 1,",
            400,
        ),
    ];
    for (what, head, body, expected) in cases {
        let (status, body) = exchange(server.addr, head, body).await?;
        ensure!(status == expected, "{what}: {status} {body}");
        let error = jsonrpc_error(&body).with_context(|| what.to_owned())?;
        if what == "malformed JSON" {
            ensure!(error["error"]["code"] == -32700, "{error}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn oversized_bodies_are_read_and_refused_in_jsonrpc() -> Result<()> {
    let server = spawn_http(Setup::default().gateway()?, Default::default()).await?;
    for size in [64 * 1024, 200 * 1024, 1024 * 1024] {
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "share_secret", "arguments": {"secret": "x".repeat(size)}}});
        let (status, text) = exchange(server.addr, POST, body.to_string().as_bytes()).await?;
        ensure!(status == 413, "{size}: {status}");
        let error = jsonrpc_error(&text)?;
        ensure!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("65536 bytes")),
            "{error}"
        );
    }
    Ok(())
}

/// A client that names itself with a header that breaks the rule learns so, as on the REST API,
/// instead of being filed under another id; the value is not quoted back.
#[tokio::test]
async fn an_invalid_client_header_is_refused_in_jsonrpc() -> Result<()> {
    let server = spawn_http(Setup::default().gateway()?, Default::default()).await?;
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let too_long = "a".repeat(65);
    for bad in ["ci-bot 7", "!!!", "slash/y", too_long.as_str()] {
        let head = format!("{POST}X-OTS-Gateway-Client: {bad}\r\n");
        let (status, body) = exchange(server.addr, &head, ping.as_bytes()).await?;
        ensure!(status == 400, "{bad:?}: {status} {body}");
        let error = jsonrpc_error(&body)?;
        let message = error["error"]["message"].as_str().unwrap_or_default();
        ensure!(
            message.contains("X-OTS-Gateway-Client") && message.contains("1 to 64 characters"),
            "{message}"
        );
        ensure!(
            !message.contains(bad),
            "the header value was quoted: {message}"
        );
    }
    let head = format!("{POST}X-OTS-Gateway-Client: ci-bot.7\r\n");
    let (status, body) = exchange(server.addr, &head, ping.as_bytes()).await?;
    ensure!(
        !body.contains("X-OTS-Gateway-Client"),
        "a valid header was refused: {status} {body}"
    );
    Ok(())
}

/// Opens a legacy session with `initialize` and returns its id.
async fn open_session(http: &reqwest::Client, url: &str, n: usize) -> Result<String> {
    let reply = http
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": format!("session-{n}"), "version": "1"}}}),
        )
        .send()
        .await?;
    ensure!(reply.status() == 200, "initialize {n}: {}", reply.status());
    let id = reply
        .headers()
        .get("mcp-session-id")
        .context("no session id")?
        .to_str()?
        .to_owned();
    Ok(id)
}

/// The status a session's `initialized` notification gets: 202 while the session lives.
async fn notify(http: &reqwest::Client, url: &str, session: &str) -> Result<u16> {
    let reply = http
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-06-18")
        .json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .send()
        .await?;
    Ok(reply.status().as_u16())
}

/// Clients that open a session per call and never end it cannot grow the gateway without bound:
/// beyond the cap (256) the oldest session is closed and answers 404 (the protocol's "start a
/// new session"), and the newest go on working.
#[tokio::test]
async fn sessions_beyond_the_cap_close_the_oldest() -> Result<()> {
    const CAP: usize = 256;
    let server = spawn_http(Setup::default().gateway()?, Default::default()).await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let mut sessions = Vec::new();
    for n in 0..CAP + 4 {
        sessions.push(open_session(&http, &url, n).await?);
    }
    for (n, session) in sessions.iter().enumerate() {
        let status = notify(&http, &url, session).await?;
        let expected = if n < 4 { 404 } else { 202 };
        ensure!(
            status == expected,
            "session {n}: {status}, expected {expected}"
        );
    }
    // An explicit end frees a place: no live session is closed for the next one.
    let (newest, oldest_live) = (sessions[CAP + 3].clone(), sessions[4].clone());
    let ended = http
        .delete(&url)
        .header("mcp-session-id", &newest)
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await?;
    ensure!(ended.status() == 200, "DELETE: {}", ended.status());
    open_session(&http, &url, CAP + 4).await?;
    ensure!(
        notify(&http, &url, &oldest_live).await? == 202,
        "a live session was closed"
    );
    Ok(())
}
