//! `ots-gateway simulate`: the simulator served as an OTS server (v1, v2 or both, `--api`), so users and tests have an
//! OTS they can run anywhere, offline.

use anyhow::Context as _;
use ots_gateway_core::model::Credentials;
use ots_gateway_core::simulator::{Simulator, SimulatorConfig};
use ots_gateway_rest::{ListenerSettings, RestConfig, SimulatedApis};
use url::Url;

use super::{bind, listener_settings, serve_until_shutdown};
use crate::cli::{SimulateArgs, SimulatedApiArg};
use crate::telemetry;
use ots_gateway_rest::ListenerLoad;

pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    telemetry::init("info", ots_gateway_core::config::LogFormat::Text, None)?;
    let addr = args
        .listen
        .parse()
        .with_context(|| format!("--listen {}: expected an IP address and port", args.listen))?;
    let accounts = args
        .accounts
        .iter()
        .filter(|spec| !spec.is_empty())
        .map(|spec| parse_account(spec))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let (listener, local) = bind(addr).await?;
    let base_url =
        Url::parse(&format!("http://{local}")).context("the bound address does not form a URL")?;
    let simulator = Simulator::new(SimulatorConfig {
        max_entries: args.max_entries,
        reserved_entries: args.reserve_entries,
        ..SimulatorConfig::new(base_url)
    });
    for account in &accounts {
        simulator.add_account(account);
    }
    let apis = match args.api {
        SimulatedApiArg::V1 => SimulatedApis::V1,
        SimulatedApiArg::V2 => SimulatedApis::V2,
        SimulatedApiArg::Both => SimulatedApis::Both,
    };
    tracing::info!(listen = %local, accounts = accounts.len(), api = ?args.api, "OTS simulator starting");
    let router =
        ots_gateway_rest::simulator_router_speaking(simulator, RestConfig::default(), apis);
    let settings = listener_settings(ListenerSettings::default());
    let load = ListenerLoad::new(&settings, Default::default());
    serve_until_shutdown(
        listener,
        router,
        (settings, load),
        std::time::Duration::from_secs(5),
        |_| Vec::new(),
    )
    .await
}

fn parse_account(spec: &str) -> anyhow::Result<Credentials> {
    match spec.split_once(':') {
        Some((email, token)) if !email.is_empty() && !token.is_empty() => {
            Ok(Credentials::new(email, token))
        }
        // The spec holds a token, so it is not repeated in the message.
        _ => anyhow::bail!("--account expects EMAIL:TOKEN"),
    }
}
