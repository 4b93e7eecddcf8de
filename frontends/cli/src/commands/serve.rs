//! `ots-gateway serve`: the REST endpoint in front of a real OTS server, or the simulator.

use anyhow::Context as _;
use ots_gateway_core::config::ValidConfig;
use ots_gateway_core::model::Frontend;
use ots_gateway_core::watcher::ReceiptWatcher;
use ots_gateway_mcp::{EntryPages, McpSettings};
use ots_gateway_rest::{ListenerLoad, ListenerSettings, RestConfig};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::assemble::{UpstreamChoice, build_gateway, discord_bot_options, spawn_maintenance};
use super::{
    SideTask, bind, listener_settings, load_config_and_start_logging, serve_until_shutdown,
};
use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = load_config_and_start_logging(
        &args.config,
        args.listen.as_deref(),
        args.upstream.as_deref(),
    )?;

    let bot_options = discord_bot_options(&config.discord)?;
    let (listener, local) = bind(config.listen).await?;
    let choice = if args.dev {
        let dev_base_url = Url::parse(&format!("http://{local}"))
            .context("the bound address does not form a URL")?;
        UpstreamChoice::DevSimulator { dev_base_url }
    } else {
        UpstreamChoice::Configured
    };
    let gateway = build_gateway(&config, choice)?;
    let listener_metrics = gateway.listener_metrics();
    let maintenance = spawn_maintenance(&gateway, &config);
    tracing::info!(
        listen = %local,
        upstream = %gateway.upstream_origin(),
        mode = if args.dev { "dev (in-memory simulator)" } else { "live" },
        team_credentials = match (args.dev, gateway.has_team_credentials()) {
            // The simulator's own throwaway account, not anything the operator gave.
            (true, _) => "unset (dev simulator account)",
            (false, true) => "set",
            (false, false) => "unset",
        },
        bearer_token = if config.bearer_token.is_some() { "set" } else { "unset" },
        scheduler = ?tokio::runtime::Handle::current().runtime_flavor(),
        "ots-gateway starting"
    );
    if !args.dev {
        spawn_first_probe(&gateway);
    }
    let rest = rest_config(&config);
    let mut settings = mcp_settings(&config);
    // The entry page must open in the person's browser without credentials, so it is offered
    // only where the listener needs none and is the person's own machine.
    if local.ip().is_loopback() && config.bearer_token.is_none() {
        settings.entry_pages = Some(entry_pages_at(local)?);
    }
    let mcp = ots_gateway_mcp::http_service(gateway.clone(), settings);
    // /mcp shares the REST listener's Host, Origin, token, size and load defences, but not
    // its request timeout.
    let mut routes =
        ots_gateway_rest::gateway_routes(gateway.clone(), &rest).nest_service("/mcp", mcp);
    if args.dev {
        // The simulator's secret and receipt links point here; make them open in a browser.
        routes = routes.merge(ots_gateway_rest::link_pages());
    }
    let router = ots_gateway_rest::local_only(routes, &rest);
    let discord = config.discord.enabled.then(|| config.discord.clone());
    let side_tasks = move |stop: CancellationToken| {
        let mut tasks: Vec<(&'static str, SideTask)> = Vec::new();
        if let Some(settings) = discord {
            let options = bot_options;
            if options.read_receipts {
                let watcher = ReceiptWatcher::new(
                    gateway.clone(),
                    Frontend::Discord,
                    settings.read_receipt_watch.clone(),
                );
                let notifier = ots_gateway_discord::read_receipts(&settings);
                let stopped = stop.clone().cancelled_owned();
                tasks.push((
                    "read receipts",
                    Box::pin(async move {
                        watcher.run(notifier?, stopped).await;
                        Ok(())
                    }),
                ));
            }
            tracing::info!("starting the Discord bot");
            tasks.push((
                "discord bot",
                Box::pin(async move {
                    ots_gateway_discord::run(gateway, settings, options, stop.cancelled_owned())
                        .await
                        .map_err(anyhow::Error::from)
                }),
            ));
        }
        tasks
    };
    let bounds = listener_settings(ListenerSettings {
        max_connections: config.max_connections,
        header_read_timeout: config.header_timeout,
        body_read_timeout: config.body_timeout,
    });
    let load = ListenerLoad::new(&bounds, listener_metrics);
    let served = serve_until_shutdown(
        listener,
        router,
        (bounds, load),
        config.shutdown_grace,
        side_tasks,
    )
    .await;
    maintenance.abort();
    served
}

/// Says at startup whether the upstream answers, and if not why (DNS, refused, TLS, rejected
/// credentials), so a wrong URL or key shows up in the log before the first request fails.
fn spawn_first_probe(gateway: &ots_gateway_core::Gateway) {
    let gateway = gateway.clone();
    tokio::spawn(async move {
        match gateway.readiness().await {
            Ok(status) => tracing::info!(
                upstream = %gateway.upstream_origin(),
                status = %status.status,
                "the upstream OTS server answers"
            ),
            Err(reason) => tracing::warn!(
                upstream = %gateway.upstream_origin(),
                %reason,
                "the upstream OTS server is not usable; /readyz reports not ready until it is"
            ),
        }
    });
}

pub fn mcp_settings(config: &ValidConfig) -> McpSettings {
    McpSettings {
        return_generated_value: config.mcp_return_generated_value,
        out_of_band_only: config.mcp_out_of_band_only,
        allowed_hosts: config.allowed_hosts.clone(),
        max_body_bytes: config.max_body_bytes,
        ..McpSettings::default()
    }
}

/// How long a secret entry page stays open unused.
const ENTRY_PAGE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Entry pages served from the listener at `local`.
pub fn entry_pages_at(local: std::net::SocketAddr) -> anyhow::Result<EntryPages> {
    Ok(EntryPages {
        origin: Url::parse(&format!("http://{local}"))
            .context("the bound address does not form a URL")?,
        lifetime: ENTRY_PAGE_LIFETIME,
    })
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
