//! `ots-gateway serve`: the REST endpoint in front of a real OTS server, or the simulator.

use anyhow::Context as _;
use ots_gateway_core::config::ValidConfig;
use ots_gateway_mcp::McpSettings;
use ots_gateway_rest::RestConfig;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::assemble::{UpstreamChoice, build_gateway, spawn_maintenance};
use super::{SideTask, bind, load_config_and_start_logging, serve_until_shutdown};
use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = load_config_and_start_logging(
        &args.config,
        args.listen.as_deref(),
        args.upstream.as_deref(),
    )?;

    let (listener, local) = bind(config.listen).await?;
    let choice = if args.dev {
        let dev_base_url = Url::parse(&format!("http://{local}"))
            .context("the bound address does not form a URL")?;
        UpstreamChoice::DevSimulator { dev_base_url }
    } else {
        UpstreamChoice::Configured
    };
    let gateway = build_gateway(&config, choice)?;
    let maintenance = spawn_maintenance(&gateway, &config);
    tracing::info!(
        listen = %local,
        upstream = %gateway.upstream_origin(),
        mode = if args.dev { "dev (in-memory simulator)" } else { "live" },
        team_credentials = if gateway.has_team_credentials() { "set" } else { "unset" },
        bearer_token = if config.bearer_token.is_some() { "set" } else { "unset" },
        "ots-gateway starting"
    );
    let rest = rest_config(&config);
    let mcp = ots_gateway_mcp::http_service(gateway.clone(), mcp_settings(&config));
    // /mcp shares the REST listener's Host, Origin, token, size and load defences, but not
    // its request timeout.
    let mut routes =
        ots_gateway_rest::gateway_routes(gateway.clone(), &rest).nest_service("/mcp", mcp);
    if args.dev {
        // The simulator's links point here; make them open in a browser.
        routes = routes.merge(ots_gateway_rest::dev_reveal_page());
    }
    let router = ots_gateway_rest::local_only(routes, &rest);
    let discord = config.discord.enabled.then(|| config.discord.clone());
    let side_tasks = move |stop: CancellationToken| {
        let mut tasks: Vec<(&'static str, SideTask)> = Vec::new();
        if let Some(settings) = discord {
            tracing::info!("starting the Discord bot");
            tasks.push((
                "discord bot",
                Box::pin(async move {
                    ots_gateway_discord::run(gateway, settings, stop.cancelled_owned())
                        .await
                        .map_err(anyhow::Error::from)
                }),
            ));
        }
        tasks
    };
    let served = serve_until_shutdown(listener, router, config.shutdown_grace, side_tasks).await;
    maintenance.abort();
    served
}

pub fn mcp_settings(config: &ValidConfig) -> McpSettings {
    McpSettings {
        return_generated_value: config.mcp_return_generated_value,
        allowed_hosts: config.allowed_hosts.clone(),
        max_body_bytes: config.max_body_bytes,
    }
}

pub fn rest_config(config: &ValidConfig) -> RestConfig {
    RestConfig {
        bearer_token: config.bearer_token.clone(),
        client_tokens: config.client_tokens.clone(),
        allowed_hosts: config.allowed_hosts.clone(),
        max_body_bytes: config.max_body_bytes,
        request_timeout: config.request_timeout,
        max_concurrent_requests: config.max_concurrent_requests,
    }
}
