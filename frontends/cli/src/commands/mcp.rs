//! `ots-gateway mcp`: the MCP tools over stdio, for assistants that launch the gateway as a
//! child process (Claude Desktop, Claude Code, Cursor, VS Code).

use url::Url;

use super::assemble::{UpstreamChoice, build_gateway, spawn_maintenance};
use super::load_config_and_start_logging;
use super::serve::mcp_settings;
use crate::cli::McpArgs;

/// Where `mcp --dev` links point. Nothing listens there unless a `serve --dev` runs too (with
/// its own simulator), so dev links are for trying the tools, not for opening.
const DEV_LINK_BASE: &str = "http://127.0.0.1:7143";

pub async fn run(args: McpArgs) -> anyhow::Result<()> {
    let config = load_config_and_start_logging(&args.config, None, args.upstream.as_deref())?;
    let choice = if args.dev {
        UpstreamChoice::DevSimulator {
            dev_base_url: Url::parse(DEV_LINK_BASE)?,
        }
    } else {
        UpstreamChoice::Configured
    };
    let gateway = build_gateway(&config, choice)?;
    let maintenance = spawn_maintenance(&gateway, &config);
    tracing::info!(upstream = %gateway.upstream_origin(), "MCP server on stdio");
    let served = ots_gateway_mcp::serve_stdio(gateway, mcp_settings(&config)).await;
    maintenance.abort();
    served.map_err(anyhow::Error::from)
}
