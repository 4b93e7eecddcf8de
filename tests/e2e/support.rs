//! Servers on 127.0.0.1 port 0 for the end-to-end tests.

use std::sync::Arc;
use std::time::Duration;

use ots_gateway_core::Gateway;
use ots_gateway_core::ledger::SqliteLedger;
use ots_gateway_core::limits::QuotaSettings;
use ots_gateway_core::model::Credentials;
use ots_gateway_core::ots::{ApiChoice, OtsClient, OtsClientConfig};
use ots_gateway_core::simulator::{Simulator, SimulatorConfig};
use ots_gateway_core::upstream::Upstream;
use ots_gateway_rest::{RestConfig, SimulatedApis};
use tokio::net::TcpListener;
use url::Url;

pub const TEAM_USER: &str = "team@example.com";
pub const TEAM_KEY: &str = "team-api-key-e2e";

pub struct Served {
    pub url: Url,
    _server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Serves `router` until the test ends (the task is dropped with the runtime).
pub async fn serve(router: axum::Router) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let server = tokio::spawn(ots_gateway_rest::serve(
        listener,
        router,
        std::future::pending(),
    ));
    Served {
        url: Url::parse(&format!("http://{addr}")).expect("url"),
        _server: server,
    }
}

/// The simulator as an OTS server on a real socket, with the team account registered.
pub async fn simulator_over_http(
    configure: impl FnOnce(&mut SimulatorConfig),
) -> (Simulator, Served) {
    simulator_speaking(SimulatedApis::Both, configure).await
}

/// [`simulator_over_http`] serving only the given APIs, like `simulate --api`.
pub async fn simulator_speaking(
    apis: SimulatedApis,
    configure: impl FnOnce(&mut SimulatorConfig),
) -> (Simulator, Served) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let url = Url::parse(&format!("http://{addr}")).expect("url");
    let mut config = SimulatorConfig::new(url.clone());
    configure(&mut config);
    let simulator = Simulator::new(config);
    simulator.add_account(&Credentials::new(TEAM_USER, TEAM_KEY));
    let router =
        ots_gateway_rest::simulator_router_speaking(simulator.clone(), RestConfig::default(), apis);
    let server = tokio::spawn(ots_gateway_rest::serve(
        listener,
        router,
        std::future::pending(),
    ));
    (
        simulator,
        Served {
            url,
            _server: server,
        },
    )
}

pub fn client(base: &Url, credentials: Option<Credentials>) -> OtsClient {
    client_speaking(base, credentials, ApiChoice::Auto)
}

pub fn client_speaking(base: &Url, credentials: Option<Credentials>, api: ApiChoice) -> OtsClient {
    OtsClient::new(OtsClientConfig {
        base_url: base.clone(),
        credentials,
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
        read_retries: 1,
        retry_backoff: Duration::from_millis(10),
        api,
    })
    .expect("client")
}

pub fn team() -> Option<Credentials> {
    Some(Credentials::new(TEAM_USER, TEAM_KEY))
}

/// The gateway's REST endpoint in front of `upstream_url` over HTTP, with team credentials.
pub async fn gateway_over_http(upstream_url: &Url, quotas: QuotaSettings) -> Served {
    let upstream = Upstream::Ots(client(upstream_url, team()));
    let ledger = Arc::new(SqliteLedger::open_in_memory().expect("ledger"));
    let gateway = Gateway::builder(upstream, ledger).quotas(quotas).build();
    serve(ots_gateway_rest::gateway_router(
        gateway,
        RestConfig::default(),
    ))
    .await
}
