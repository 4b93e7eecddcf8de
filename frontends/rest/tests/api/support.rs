//! Starting a router on a free loopback port and talking to it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use ots_gateway_core::Gateway;
use ots_gateway_core::ledger::SqliteLedger;
use ots_gateway_core::simulator::{Simulator, SimulatorConfig};
use ots_gateway_core::upstream::Upstream;
use ots_gateway_rest::{ListenerLoad, ListenerSettings, serve_with};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

pub struct Server {
    pub base: String,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Graceful shutdown, checking that `serve` returned cleanly.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The listener is bound before this returns, so requests can be sent at once: the kernel
/// queues connections until the server task accepts them.
pub async fn start(router: Router) -> Server {
    let settings = ListenerSettings::default();
    start_with(
        router,
        &settings,
        ListenerLoad::new(&settings, Default::default()),
    )
    .await
}

/// [`start`] with the listener's bounds and load reporting chosen by the test.
pub async fn start_with(router: Router, settings: &ListenerSettings, load: ListenerLoad) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_with(listener, router, *settings, load, async {
        let _ = stopped.await;
    }));
    Server {
        base: format!("http://{addr}"),
        addr,
        stop: Some(stop),
        task: Some(task),
    }
}

pub fn simulator() -> Simulator {
    Simulator::new(SimulatorConfig::new(sim_url()))
}

pub fn sim_url() -> Url {
    Url::parse("https://sim.ots.test").unwrap()
}

/// A gateway over `upstream` with a fresh in-memory ledger and the default policy.
pub fn gateway_over(upstream: Upstream) -> Gateway {
    let ledger = SqliteLedger::open_in_memory().unwrap();
    Gateway::new(upstream, Arc::new(ledger))
}

/// A gateway whose upstream is never reached by the tests using it.
pub fn idle_gateway() -> Gateway {
    gateway_over(Upstream::Simulated(simulator().as_caller(None, None)))
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends a request and insists on OTS's JSON Content-Type, whatever the status.
pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json; charset=utf-8"),
        "status {status}, body {text}"
    );
    let body = serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"));
    Reply {
        status,
        headers,
        body,
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}
