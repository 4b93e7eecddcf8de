//! Round-trip latency of `secret_status` and `share_secret` through the MCP frontend, against the
//! in-memory simulator, over stdio framing (an in-memory pipe) and Streamable HTTP (a real
//! loopback socket). Results go in BENCH.md.
//!
//! `cargo run --release -p ots-gateway-mcp --example roundtrip_bench [CALLS]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ots_gateway_core::Gateway;
use ots_gateway_core::ledger::SqliteLedger;
use ots_gateway_core::model::Credentials;
use ots_gateway_core::simulator::{Simulator, SimulatorConfig};
use ots_gateway_core::upstream::Upstream;
use ots_gateway_mcp::{McpSettings, http_service, serve_io};
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation, JsonObject,
    ProtocolVersion,
};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientLifecycleMode, ClientServiceExt, RoleClient};
use serde_json::json;

type Client = RunningService<RoleClient, ClientConfig>;

fn gateway() -> Result<Gateway> {
    let credentials = Credentials::new("bench@example.com", "bench-key");
    let simulator = Simulator::new(SimulatorConfig::new("https://ots.example".parse()?));
    simulator.add_account(&credentials);
    let upstream = Upstream::Simulated(simulator.as_caller(Some(credentials), None));
    Ok(Gateway::new(
        upstream,
        Arc::new(SqliteLedger::open_in_memory()?),
    ))
}

fn lifecycle() -> ClientLifecycleMode {
    ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    }
}

fn config() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("bench", "1"),
    )
}

async fn stdio_client() -> Result<Client> {
    let (server_io, client_io) = tokio::io::duplex(256 * 1024);
    let (read, write) = tokio::io::split(server_io);
    let gateway = gateway()?;
    tokio::spawn(async move {
        let _ = serve_io(gateway, McpSettings::default(), None, read, write).await;
    });
    Ok(config()
        .serve_with_lifecycle(client_io, lifecycle())
        .await?)
}

async fn http_client() -> Result<Client> {
    let router =
        axum::Router::new().nest_service("/mcp", http_service(gateway()?, McpSettings::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/mcp", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let transport = StreamableHttpClientTransport::from_uri(url);
    Ok(config()
        .serve_with_lifecycle(transport, lifecycle())
        .await?)
}

fn args(value: serde_json::Value) -> JsonObject {
    value.as_object().cloned().unwrap_or_default()
}

async fn timed_call(
    client: &Client,
    tool: &'static str,
    arguments: JsonObject,
) -> Result<Duration> {
    let started = Instant::now();
    let result = client
        .call_tool(CallToolRequestParams::new(tool).with_arguments(arguments))
        .await?;
    let elapsed = started.elapsed();
    if result.is_error == Some(true) {
        bail!("{tool} failed: {:?}", result.structured_content);
    }
    Ok(elapsed)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(rank).copied().unwrap_or_default()
}

fn report(transport: &str, tool: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "| {transport} | {tool} | {} | {:.0} µs | {:.0} µs | {:.0} µs |",
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e6,
        percentile(&samples, 0.99).as_secs_f64() * 1e6,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e6,
    );
}

async fn run(transport: &str, client: Client, calls: usize) -> Result<()> {
    // Warm-up: first calls pay for connection setup and lazy initialisation.
    let created = client
        .call_tool(
            CallToolRequestParams::new("share_secret")
                .with_arguments(args(json!({"secret": "bench", "ttl": 86400}))),
        )
        .await?;
    let key = created
        .structured_content
        .as_ref()
        .and_then(|c| c["metadata_key"].as_str())
        .context("no metadata_key")?
        .to_owned();
    for _ in 0..50 {
        timed_call(&client, "secret_status", args(json!({"metadata_key": key}))).await?;
    }

    let mut status = Vec::with_capacity(calls);
    for _ in 0..calls {
        status
            .push(timed_call(&client, "secret_status", args(json!({"metadata_key": key}))).await?);
    }
    report(transport, "secret_status", status);

    let mut share = Vec::with_capacity(calls);
    for i in 0..calls {
        let secret = format!("bench secret {i}");
        share.push(
            timed_call(
                &client,
                "share_secret",
                args(json!({"secret": secret, "ttl": 600})),
            )
            .await?,
        );
    }
    report(transport, "share_secret", share);
    client.cancel().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let calls = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(1000);
    println!("| transport | tool | calls | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    run("stdio (in-memory pipe)", stdio_client().await?, calls).await?;
    run("Streamable HTTP (loopback)", http_client().await?, calls).await?;
    Ok(())
}
