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
