//! `ots-gateway serve`: the REST endpoint in front of a real OTS server, or the simulator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use ots_gateway_core::Gateway;
use ots_gateway_core::config::{CommandLineOverrides, ValidConfig};
use ots_gateway_core::ledger::{LedgerStore, SqliteLedger};
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
    telemetry::init(
        &config.log_level,
        config.log_format,
        config.audit_file.as_deref(),
    )?;

    let (listener, local) = bind(config.listen).await?;
    let upstream = if args.dev {
        dev_upstream(local)?
    } else {
        real_upstream(&config)?
    };
    let ledger = open_ledger(&config, args.dev)?;
    let gateway = Gateway::builder(upstream, ledger)
        .policy(config.policy.clone())
        .quotas(config.quotas.clone())
        .build();
    let maintenance = tokio::spawn({
        let gateway = gateway.clone();
        let every = config.maintenance_interval;
        async move { gateway.run_maintenance(every).await }
    });
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
    let served = serve_until_shutdown(listener, router, config.shutdown_grace).await;
    maintenance.abort();
    served
}

/// The ledger file, created 0600. `serve --dev` keeps it in memory unless a path is configured:
/// its receipts point at a simulator that is gone when the process ends.
fn open_ledger(config: &ValidConfig, dev: bool) -> anyhow::Result<Arc<dyn LedgerStore>> {
    let path = match (&config.ledger_path, dev) {
        (Some(path), _) => path.clone(),
        (None, true) => {
            let ledger =
                SqliteLedger::open_in_memory().context("cannot create the in-memory ledger")?;
            return Ok(Arc::new(ledger));
        }
        (None, false) => default_ledger_path()?,
    };
    let ledger = SqliteLedger::open_with_durability(&path, config.ledger_durability)
        .with_context(|| format!("cannot open the ledger at {}", path.display()))?;
    tracing::info!(path = %path.display(), "ledger opened");
    Ok(Arc::new(ledger))
}

/// `$XDG_DATA_HOME/ots-gateway/ledger.sqlite3`, falling back to `~/.local/share` as the XDG base
/// directory specification says.
fn default_ledger_path() -> anyhow::Result<PathBuf> {
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .context("neither XDG_DATA_HOME nor HOME is set: set ledger.path in the configuration")?;
    Ok(data_home.join("ots-gateway").join("ledger.sqlite3"))
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
