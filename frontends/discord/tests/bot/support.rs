//! Gateways for tests: the simulator as upstream, with or without quotas, or an upstream that
//! is down.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use ots_gateway_core::Gateway;
use ots_gateway_core::ledger::SqliteLedger;
use ots_gateway_core::limits::{OperationClass, QuotaSettings, Rate};
use ots_gateway_core::model::{Credentials, Frontend, Operation, SecretKey};
use ots_gateway_core::ots::{OtsClient, OtsClientConfig};
use ots_gateway_core::policy::{FrontendPolicy, Policy};
use ots_gateway_core::simulator::{Simulator, SimulatorConfig};
use ots_gateway_core::upstream::Upstream;
use serde_json::Value;
use url::Url;

pub struct TestGateway {
    pub gateway: Gateway,
    pub simulator: Simulator,
}

fn simulated(quotas: QuotaSettings, policy: Policy) -> TestGateway {
    let base = Url::parse("https://ots.test").unwrap();
    let simulator = Simulator::new(SimulatorConfig::new(base));
    let creds = Credentials::new("team@example.com", "team-api-key");
    simulator.add_account(&creds);
    let upstream = Upstream::Simulated(simulator.as_caller(Some(creds), None));
    let ledger = Arc::new(SqliteLedger::open_in_memory().unwrap());
    let gateway = Gateway::builder(upstream, ledger)
        .quotas(quotas)
        .policy(policy)
        .build();
    TestGateway { gateway, simulator }
}

pub fn gateway() -> TestGateway {
    simulated(QuotaSettings::default(), Policy::default())
}

/// A gateway whose configuration turns `burn` off for Discord.
pub fn gateway_without_burn() -> TestGateway {
    let mut discord = FrontendPolicy::default_for(Frontend::Discord);
    discord.allowed_operations.remove(&Operation::Burn);
    let mut policy = Policy::default();
    policy.frontends.insert(Frontend::Discord, discord);
    simulated(QuotaSettings::default(), policy)
}

/// One create per minute per Discord user, so the second share is refused with a retry-after.
pub fn gateway_with_create_quota_of_one() -> TestGateway {
    let one = NonZeroU32::new(1).unwrap();
    let mut callers = BTreeMap::new();
    callers.insert(
        (Frontend::Discord, OperationClass::Create),
        Rate {
            per_minute: one,
            burst: one,
        },
    );
    simulated(
        QuotaSettings {
            upstream: None,
            callers,
        },
        Policy::default(),
    )
}

/// A gateway with the policy and quotas an operator's config file gives it.
pub fn gateway_from_config(config: &ots_gateway_core::config::ValidConfig) -> TestGateway {
    simulated(config.quotas.clone(), config.policy.clone())
}

/// A real OTS client aimed at a port nothing listens on.
pub fn gateway_with_upstream_down() -> Gateway {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut config = OtsClientConfig::new(Url::parse(&format!("http://127.0.0.1:{port}")).unwrap());
    config.read_retries = 0;
    let client = OtsClient::new(config).unwrap();
    let ledger = Arc::new(SqliteLedger::open_in_memory().unwrap());
    Gateway::new(Upstream::Ots(client), ledger)
}

impl TestGateway {
    /// Opens a share link the way its recipient would; `None` once it is gone.
    pub async fn reveal(&self, link: &str, passphrase: Option<&str>) -> Option<String> {
        let key = link.rsplit('/').next().unwrap();
        let key = SecretKey::parse(key).unwrap();
        let passphrase = passphrase.map(ots_gateway_core::model::Passphrase::new);
        self.simulator
            .as_caller(None, None)
            .retrieve(&key, passphrase.as_ref())
            .ok()
            .map(|revealed| revealed.value.expose().to_owned())
    }
}

/// The first share link in a text.
pub fn link_in(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|word| word.starts_with("https://ots.test/secret/"))
        .map(str::to_owned)
}

/// Every custom id in a serialized message's components.
pub fn custom_ids(message: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    for row in message["components"].as_array().into_iter().flatten() {
        for component in row["components"].as_array().into_iter().flatten() {
            if let Some(id) = component["custom_id"].as_str() {
                ids.push(id.to_owned());
            }
        }
    }
    ids
}

/// Every option value of the select menus in a serialized message.
pub fn menu_values(message: &Value) -> Vec<String> {
    let mut values = Vec::new();
    for row in message["components"].as_array().into_iter().flatten() {
        for component in row["components"].as_array().into_iter().flatten() {
            for option in component["options"].as_array().into_iter().flatten() {
                if let Some(value) = option["value"].as_str() {
                    values.push(value.to_owned());
                }
            }
        }
    }
    values
}
