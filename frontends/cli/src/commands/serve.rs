//! `ots-gateway serve`: the REST endpoint in front of a real OTS server, or the simulator.

use std::net::SocketAddr;

use anyhow::Context as _;
use ots_gateway_core::Gateway;
use ots_gateway_core::config::{CommandLineOverrides, ValidConfig};
use ots_gateway_core::model::Credentials;
use ots_gateway_core::ots::{OtsClient, OtsClientConfig};
use ots_gateway_core::simulator::{Simulator, SimulatorConfig};
use ots_gateway_core::upstream::Upstream;
use ots_gateway_rest::RestConfig;
use rand::distr::{Alphanumeric, SampleString};
use url::Url;

use super::{announce, bind, load_config, serve_until_shutdown};
use crate::cli::ServeArgs;
use crate::telemetry;

/// The account the dev-mode simulator runs the gateway under, so account-only routes such as
/// `recent` work offline just as they would with team credentials.
const DEV_ACCOUNT: &str = "dev@ots-gateway.local";

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let overrides = CommandLineOverrides {
        listen: args.listen.clone(),
        upstream: args.upstream.clone(),
    };
    let config = load_config(&args.config, &overrides)?;
    telemetry::init(&config.log_level, config.log_format);

    let (listener, local) = bind(config.listen).await?;
    let upstream = if args.dev {
        dev_upstream(local)?
    } else {
        real_upstream(&config)?
    };
    let gateway = Gateway::new(upstream);
    tracing::info!(
        listen = %local,
        upstream = %gateway.upstream_origin(),
        mode = if args.dev { "dev (in-memory simulator)" } else { "live" },
        team_credentials = if gateway.has_team_credentials() { "set" } else { "unset" },
        bearer_token = if config.bearer_token.is_some() { "set" } else { "unset" },
        "ots-gateway starting"
    );
    let router = ots_gateway_rest::gateway_router(gateway, rest_config(&config));
    announce(local);
    serve_until_shutdown(listener, router, config.shutdown_grace).await
}

pub fn rest_config(config: &ValidConfig) -> RestConfig {
    RestConfig {
        bearer_token: config.bearer_token.clone(),
        allowed_hosts: config.allowed_hosts.clone(),
        max_body_bytes: config.max_body_bytes,
        request_timeout: config.request_timeout,
        max_concurrent_requests: config.max_concurrent_requests,
    }
}

fn real_upstream(config: &ValidConfig) -> anyhow::Result<Upstream> {
    let settings = &config.upstream;
    let client = OtsClient::new(OtsClientConfig {
        base_url: settings.url.clone(),
        credentials: settings.credentials.clone(),
        connect_timeout: settings.connect_timeout,
        request_timeout: settings.request_timeout,
        read_retries: settings.read_retries,
        retry_backoff: settings.retry_backoff,
    })
    .context("cannot set up the OTS client")?;
    Ok(Upstream::Ots(client))
}

/// The simulator, in this process, with links pointing at the gateway's own address.
fn dev_upstream(local: SocketAddr) -> anyhow::Result<Upstream> {
    let base_url =
        Url::parse(&format!("http://{local}")).context("the bound address does not form a URL")?;
    let simulator = Simulator::new(SimulatorConfig::new(base_url));
    // A fresh random token each start: nothing outside this process ever needs it.
    let token = Alphanumeric.sample_string(&mut rand::rng(), 32);
    let credentials = Credentials::new(DEV_ACCOUNT, token);
    simulator.add_account(&credentials);
    Ok(Upstream::Simulated(
        simulator.as_caller(Some(credentials), None),
    ))
}
