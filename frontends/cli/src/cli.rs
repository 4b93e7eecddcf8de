//! The command-line interface. Names and flags are part of the fixed interface (README.md).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "ots-gateway",
    version,
    about = "A local gateway in front of the OneTimeSecret API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the OTS v1 REST API on localhost (default 127.0.0.1:7143).
    Serve(ServeArgs),
    /// Serve the MCP tools over stdio, for AI assistants that start the gateway themselves.
    /// Logs go to stderr; stdout carries the protocol.
    Mcp(McpArgs),
    /// Run the built-in OTS simulator as an OTS v1 server, for tests and demos.
    Simulate(SimulateArgs),
    /// Validate the configuration and explain what it sets. Exits non-zero on error.
    CheckConfig(ConfigArgs),
    /// Discord bot helpers.
    #[command(subcommand)]
    Discord(DiscordCommand),
    /// Show a running gateway's readiness, upstream status and quotas, for people.
    Status(StatusArgs),
    /// Probe a running gateway's /healthz (or /readyz); exit 0 when it answers 200. For
    /// container health checks, where no curl is installed.
    Health(HealthArgs),
}

#[derive(Debug, Subcommand)]
pub enum DiscordCommand {
    /// Print the link that installs the bot in a server, with the scopes and permissions it
    /// needs. Asks Discord for the application id using the configured bot token.
    InviteUrl(ConfigArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Base URL of the running gateway.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:7143")]
    pub url: String,
    /// The gateway's bearer token, when it requires one.
    #[arg(
        long,
        env = "OTS_GATEWAY_BEARER_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Base URL of the running gateway.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:7143")]
    pub url: String,
    /// Probe /readyz instead: also require that the upstream OTS server answers.
    #[arg(long)]
    pub ready: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Configuration file. Without one, defaults and environment variables apply.
    #[arg(long, env = "OTS_GATEWAY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Address to listen on, e.g. 127.0.0.1:7143. Port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// OTS server to use, e.g. https://eu.onetimesecret.com.
    #[arg(long, value_name = "URL", conflicts_with = "dev")]
    pub upstream: Option<String>,
    /// Use the in-memory simulator instead of a real OTS server: works offline, needs no config.
    #[arg(long)]
    pub dev: bool,
}

#[derive(Debug, Args)]
pub struct McpArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// OTS server to use, e.g. https://eu.onetimesecret.com.
    #[arg(long, value_name = "URL", conflicts_with = "dev")]
    pub upstream: Option<String>,
    /// Use the in-memory simulator instead of a real OTS server: works offline, needs no config.
    #[arg(long)]
    pub dev: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Address to listen on. Port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7144")]
    pub listen: String,
    /// An account the simulator accepts, as EMAIL:TOKEN. Repeatable. Also read, comma-separated,
    /// from OTS_GATEWAY_SIMULATOR_ACCOUNTS. These are test credentials for a fake server.
    #[arg(
        long = "account",
        value_name = "EMAIL:TOKEN",
        env = "OTS_GATEWAY_SIMULATOR_ACCOUNTS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub accounts: Vec<String>,
    /// Most receipts held in memory at once; new secrets are refused beyond it.
    #[arg(long, value_name = "N", default_value_t = ots_gateway_core::simulator::DEFAULT_MAX_ENTRIES)]
    pub max_entries: usize,
    /// Receipts to make room for at start (at most --max-entries), so a benchmark does not
    /// measure the store's tables growing. Memory is taken as entries arrive, not up front.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub reserve_entries: usize,
    /// Which OTS APIs to serve: `v1` acts as a release before v2, `v2` as a server whose v1 is
    /// gone, `both` as a current server. One store answers both.
    #[arg(long, value_name = "API", value_enum, default_value_t = SimulatedApiArg::Both)]
    pub api: SimulatedApiArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SimulatedApiArg {
    V1,
    V2,
    Both,
}
