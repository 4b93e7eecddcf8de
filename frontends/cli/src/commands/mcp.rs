//! `ots-gateway mcp`: the MCP tools over stdio, for assistants that launch the gateway as a
//! child process (Claude Desktop, Claude Code, Cursor, VS Code).
//!
//! A stdio server has no listener of its own, yet its secret entry pages (and, with `--dev`, the
//! simulator's reveal pages behind the links it hands out) must open in a browser. So it binds a
//! loopback port of its own, chosen by the OS, and serves them there.

use anyhow::Context as _;
use axum::Router;
use tokio::net::TcpListener;
use url::Url;

use super::assemble::{UpstreamChoice, build_gateway, spawn_maintenance};
use super::load_config_and_start_logging;
use super::serve::{entry_pages_at, mcp_settings, rest_config};
use crate::cli::McpArgs;

pub async fn run(args: McpArgs) -> anyhow::Result<()> {
    let config = load_config_and_start_logging(&args.config, None, args.upstream.as_deref())?;
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .context("could not bind a loopback port for the MCP server's pages")?;
    let local = listener.local_addr()?;
    let choice = if args.dev {
        UpstreamChoice::DevSimulator {
            dev_base_url: Url::parse(&format!("http://{local}"))?,
        }
    } else {
        UpstreamChoice::Configured
    };
    let gateway = build_gateway(&config, choice)?;
    let maintenance = spawn_maintenance(&gateway, &config);
    let mut settings = mcp_settings(&config);
    settings.entry_pages = Some(entry_pages_at(local)?);
    let desk = ots_gateway_mcp::entry_desk(&gateway, &settings);

    let mut pages = Router::new();
    if let Some(desk) = &desk {
        pages = pages.nest("/mcp", ots_gateway_mcp::entry_pages(desk.clone()));
    }
    if args.dev {
        // The simulator's links name this port: serve what `serve --dev` serves behind them.
        let mut rest = rest_config(&config);
        rest.bearer_token = None;
        let routes = ots_gateway_rest::gateway_routes(gateway.clone(), &rest)
            .merge(ots_gateway_rest::link_pages());
        pages = pages.merge(ots_gateway_rest::local_only(routes, &rest));
    }
    let page_server = tokio::spawn(async move { axum::serve(listener, pages).await });
    tracing::info!(
        upstream = %gateway.upstream_origin(),
        pages = %local,
        "MCP server on stdio"
    );
    let served = ots_gateway_mcp::serve_stdio(gateway, settings, desk).await;
    page_server.abort();
    maintenance.abort();
    served.map_err(anyhow::Error::from)
}
