//! Builds the gateway core from validated configuration: upstream (real OTS or the in-process
//! simulator), ledger, policy and quotas. Shared by `serve` and `mcp`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use ots_gateway_core::Gateway;
use ots_gateway_core::config::{DiscordSettings, ValidConfig};
use ots_gateway_core::ledger::{LedgerStore, SqliteLedger};
use ots_gateway_core::model::Credentials;
use ots_gateway_core::ots::OtsClient;
use ots_gateway_core::simulator::{Simulator, SimulatorConfig};
use ots_gateway_core::upstream::Upstream;
use ots_gateway_discord::options::{BotOptions, TtlChoices};
use rand::distr::{Alphanumeric, SampleString};
use tokio::task::JoinHandle;
use url::Url;

/// The account the dev-mode simulator runs the gateway under, so account-only routes such as
/// `recent` work offline just as they would with team credentials.
const DEV_ACCOUNT: &str = "dev@ots-gateway.local";

/// Where the upstream is: a real OTS server from the configuration, or (for `--dev`) a fresh
/// in-process simulator whose links point at `dev_base_url`.
pub enum UpstreamChoice {
    Configured,
    DevSimulator { dev_base_url: Url },
}

pub fn build_gateway(config: &ValidConfig, choice: UpstreamChoice) -> anyhow::Result<Gateway> {
    let (upstream, dev) = match choice {
        UpstreamChoice::Configured => (real_upstream(config)?, false),
        UpstreamChoice::DevSimulator { dev_base_url } => (dev_upstream(dev_base_url), true),
    };
    let ledger = open_ledger(config, dev)?;
    Ok(Gateway::builder(upstream, ledger)
        .policy(config.policy.clone())
        .quotas(config.quotas.clone())
        .build())
}

/// Quota-state and ledger upkeep for the life of the process; abort the handle to stop it.
/// The bot's options from `[discord]`. The bot's own types hold the rules (`TtlChoices`), and
/// both `check-config` and `serve` (before it binds) come through here, so they refuse the same
/// values.
pub fn discord_bot_options(
    settings: &DiscordSettings,
) -> Result<BotOptions, ots_gateway_discord::DiscordError> {
    Ok(BotOptions {
        ttl_choices: TtlChoices::new(settings.ttl_choices.clone(), settings.default_ttl)?,
        read_receipts: settings.read_receipts,
    })
}

pub fn spawn_maintenance(gateway: &Gateway, config: &ValidConfig) -> JoinHandle<()> {
    let gateway = gateway.clone();
    let every = config.maintenance_interval;
    tokio::spawn(async move { gateway.run_maintenance(every).await })
}

fn real_upstream(config: &ValidConfig) -> anyhow::Result<Upstream> {
    let client = OtsClient::new(config.upstream.clone()).context("cannot set up the OTS client")?;
    Ok(Upstream::Ots(client))
}

fn dev_upstream(base_url: Url) -> Upstream {
    let simulator = Simulator::new(SimulatorConfig::new(base_url));
    // A fresh random token each start: nothing outside this process ever needs it.
    let token = Alphanumeric.sample_string(&mut rand::rng(), 32);
    let credentials = Credentials::new(DEV_ACCOUNT, token);
    simulator.add_account(&credentials);
    Upstream::Simulated(simulator.as_caller(Some(credentials), None))
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
