//! The MCP frontend on the in-memory simulator, without the `ots-gateway` binary: for trying the
//! tools out and for the outside-client tests (`tests/it/pypi.rs`).
//!
//! `dev_server stdio [--retrieve]` serves stdio, and its secret entry pages on a free loopback
//! port (announced on stderr as `entry pages on http://HOST:PORT`); `dev_server http
//! [--retrieve]` serves Streamable HTTP and the pages on a free loopback port and prints
//! `listening on http://HOST:PORT/mcp`. Logs go to stderr.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use ots_gateway_core::Gateway;
use ots_gateway_core::ledger::SqliteLedger;
use ots_gateway_core::model::{Credentials, Frontend, Operation};
use ots_gateway_core::policy::{FrontendPolicy, Policy};
use ots_gateway_core::simulator::{Simulator, SimulatorConfig};
use ots_gateway_core::upstream::Upstream;
use ots_gateway_mcp::{
    EntryPages, LOG_FILTER, McpSettings, entry_desk, entry_pages, http_service, serve_stdio,
};
use tracing_subscriber::EnvFilter;

fn gateway(allow_retrieve: bool) -> Result<Gateway> {
    let credentials = Credentials::new("dev@example.com", "dev-key");
    let simulator = Simulator::new(SimulatorConfig::new("http://ots.localhost".parse()?));
    simulator.add_account(&credentials);
    let upstream = Upstream::Simulated(simulator.as_caller(Some(credentials), None));
    let mut policy = Policy::default();
    if allow_retrieve {
        // The MCP defaults, plus retrieve.
        let mut mcp = FrontendPolicy::default_for(Frontend::Mcp);
        mcp.allowed_operations.insert(Operation::Retrieve);
        policy.frontends.insert(Frontend::Mcp, mcp);
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let local = listener.local_addr()?;
    let settings = McpSettings {
        entry_pages: Some(EntryPages {
            origin: format!("http://{local}").parse()?,
            lifetime: Duration::from_secs(600),
        }),
        ..McpSettings::default()
    };
    match args.first().map(String::as_str) {
        Some("stdio") => {
            let desk = entry_desk(&gateway, &settings);
            let mut pages = axum::Router::new();
            if let Some(desk) = &desk {
                pages = pages.nest("/mcp", entry_pages(desk.clone()));
            }
            tokio::spawn(async move { axum::serve(listener, pages).await });
            eprintln!("entry pages on http://{local}");
            serve_stdio(gateway, settings, desk).await?
        }
        Some("http") => {
            let router = axum::Router::new().nest_service("/mcp", http_service(gateway, settings));
            println!("listening on http://{local}/mcp");
            axum::serve(listener, router).await?;
        }
        _ => bail!("usage: dev_server stdio|http [--retrieve]"),
    }
    Ok(())
}
