//! The MCP frontend on the in-memory simulator, without the `ots-gateway` binary: for trying the
//! tools out and for the outside-client tests (`tests/it/pypi.rs`).
//!
//! `dev_server stdio [--retrieve]` serves stdio; `dev_server http [--retrieve]` serves
//! Streamable HTTP on a free loopback port and prints `listening on http://HOST:PORT/mcp`.
//! Logs go to stderr.

use std::sync::Arc;

use anyhow::{Result, bail};
use ots_gateway_core::Gateway;
use ots_gateway_core::ledger::SqliteLedger;
use ots_gateway_core::model::{Credentials, Frontend, Operation};
use ots_gateway_core::policy::{FrontendPolicy, Policy, RecentSource};
use ots_gateway_core::simulator::{Simulator, SimulatorConfig};
use ots_gateway_core::upstream::Upstream;
use ots_gateway_mcp::{LOG_FILTER, McpSettings, http_service, serve_stdio};
use tracing_subscriber::EnvFilter;

fn gateway(allow_retrieve: bool) -> Result<Gateway> {
    let credentials = Credentials::new("dev@example.com", "dev-key");
    let simulator = Simulator::new(SimulatorConfig::new("http://ots.localhost".parse()?));
    simulator.add_account(&credentials);
    let upstream = Upstream::Simulated(simulator.as_caller(Some(credentials), None));
    let mut policy = Policy::default();
    if allow_retrieve {
        policy.frontends.insert(
            Frontend::Mcp,
            FrontendPolicy {
                allowed_operations: Operation::ALL.into_iter().collect(),
                enforce_ownership: true,
                recent_source: RecentSource::CallerLedger,
            },
        );
    }
    let ledger = Arc::new(SqliteLedger::open_in_memory()?);
    Ok(Gateway::builder(upstream, ledger).policy(policy).build())
}

#[tokio::main]
async fn main() -> Result<()> {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(format!("{filter},{LOG_FILTER}")))
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let allow_retrieve = args.iter().any(|a| a == "--retrieve");
    let gateway = gateway(allow_retrieve)?;
    match args.first().map(String::as_str) {
        Some("stdio") => serve_stdio(gateway, McpSettings::default()).await?,
        Some("http") => {
            let router = axum::Router::new()
                .nest_service("/mcp", http_service(gateway, McpSettings::default()));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            println!("listening on http://{}/mcp", listener.local_addr()?);
            axum::serve(listener, router).await?;
        }
        _ => bail!("usage: dev_server stdio|http [--retrieve]"),
    }
    Ok(())
}
