//! Test gateways on the simulator, and rmcp clients connected to them over both transports.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use ots_gateway_core::Gateway;
use ots_gateway_core::ledger::SqliteLedger;
use ots_gateway_core::limits::{OperationClass, QuotaSettings, Rate};
use ots_gateway_core::model::{Credentials, Frontend, Operation};
use ots_gateway_core::policy::{FrontendPolicy, Policy};
use ots_gateway_core::simulator::{Simulator, SimulatorConfig};
use ots_gateway_core::upstream::Upstream;
use ots_gateway_mcp::{McpSettings, http_service, serve_io};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation,
    ProtocolVersion,
};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientLifecycleMode, ClientServiceExt, RoleClient};
use serde_json::Value;

pub const BASE_URL: &str = "https://ots.example";

pub type Client<H = ClientConfig> = RunningService<RoleClient, H>;

/// How a test gateway differs from the default one.
#[derive(Default, Clone)]
pub struct Setup {
    pub allow_retrieve: bool,
    /// Share/generate calls per MCP caller before refusals start (refills at one a minute).
    pub create_quota: Option<u32>,
    pub settings: McpSettings,
}

impl Setup {
    pub fn with_retrieve(mut self) -> Self {
        self.allow_retrieve = true;
        self
    }

    pub fn returning_generated_values(mut self) -> Self {
        self.settings.return_generated_value = true;
        self
    }

    pub fn create_quota(mut self, burst: u32) -> Self {
        self.create_quota = Some(burst);
        self
    }

    pub fn gateway(&self) -> Result<Gateway> {
        let credentials = Credentials::new("team@example.com", "team-api-key");
        let simulator = Simulator::new(SimulatorConfig::new(BASE_URL.parse()?));
        simulator.add_account(&credentials);
        let upstream = Upstream::Simulated(simulator.as_caller(Some(credentials), None));
        let ledger = Arc::new(SqliteLedger::open_in_memory()?);
        let mut builder = Gateway::builder(upstream, ledger);
        if self.allow_retrieve {
            let mut policy = Policy::default();
            // The MCP defaults, plus retrieve.
            let mut mcp = FrontendPolicy::default_for(Frontend::Mcp);
            mcp.allowed_operations.insert(Operation::Retrieve);
            policy.frontends.insert(Frontend::Mcp, mcp);
            builder = builder.policy(policy);
        }
        if let Some(burst) = self.create_quota {
            let burst = NonZeroU32::new(burst).context("quota must be positive")?;
            let mut quotas = QuotaSettings::default();
            quotas.callers.insert(
                (Frontend::Mcp, OperationClass::Create),
                Rate {
                    per_minute: NonZeroU32::MIN,
                    burst,
                },
            );
            builder = builder.quotas(quotas);
        }
        Ok(builder.build())
    }
}

/// Which transport, and how the client introduces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// stdio framing over an in-memory pipe, legacy `initialize` handshake.
    Stdio,
    /// stdio framing, 2026-07-28 `server/discover` with per-request metadata.
    StdioModern,
    /// Streamable HTTP on a real socket, legacy handshake.
    Http,
    /// Streamable HTTP, 2026-07-28.
    HttpModern,
}

impl Via {
    pub const ALL: [Via; 4] = [Via::Stdio, Via::StdioModern, Via::Http, Via::HttpModern];

    fn lifecycle(self) -> ClientLifecycleMode {
        match self {
            Via::Stdio | Via::Http => ClientLifecycleMode::Initialize,
            Via::StdioModern | Via::HttpModern => ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        }
    }

    pub fn is_http(self) -> bool {
        matches!(self, Via::Http | Via::HttpModern)
    }
}

fn client_config(name: &str) -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new(name, "1.0.0"),
    )
}

/// One gateway served over one transport; clients connect to it by name.
pub struct Served {
    pub via: Via,
    pub gateway: Gateway,
    settings: McpSettings,
    http: Option<HttpServer>,
}

pub struct HttpServer {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HttpServer {
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }
}

/// A real axum server on 127.0.0.1, port chosen by the OS, mounting the service as the binary does.
pub async fn spawn_http(gateway: Gateway, settings: McpSettings) -> Result<HttpServer> {
    let router = axum::Router::new().nest_service("/mcp", http_service(gateway, settings));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(HttpServer { addr, task })
}

impl Served {
    pub async fn start(via: Via, setup: &Setup) -> Result<Served> {
        let gateway = setup.gateway()?;
        let http = if via.is_http() {
            Some(spawn_http(gateway.clone(), setup.settings.clone()).await?)
        } else {
            None
        };
        Ok(Served {
            via,
            gateway,
            settings: setup.settings.clone(),
            http,
        })
    }

    /// A client declaring `name` as its clientInfo.
    pub async fn client(&self, name: &str) -> Result<Client> {
        self.client_with_headers(name, HashMap::new()).await
    }

    /// A client that names itself both ways: in clientInfo and in the `X-OTS-Gateway-Client`
    /// header (which only HTTP carries), so it is told apart even as a legacy HTTP client.
    pub async fn named_client(&self, name: &str) -> Result<Client> {
        let mut headers = HashMap::new();
        headers.insert(
            http::HeaderName::from_static(ots_gateway_mcp::CLIENT_HEADER),
            http::HeaderValue::from_str(name)?,
        );
        self.client_with_headers(name, headers).await
    }

    pub async fn client_with_headers(
        &self,
        name: &str,
        headers: HashMap<http::HeaderName, http::HeaderValue>,
    ) -> Result<Client> {
        let config = client_config(name);
        let client = match &self.http {
            Some(server) => {
                let transport = StreamableHttpClientTransport::from_config(
                    StreamableHttpClientTransportConfig::with_uri(server.url())
                        .custom_headers(headers),
                );
                config
                    .serve_with_lifecycle(transport, self.via.lifecycle())
                    .await?
            }
            None => {
                let (server_io, client_io) = tokio::io::duplex(256 * 1024);
                let (read, write) = tokio::io::split(server_io);
                let gateway = self.gateway.clone();
                let settings = self.settings.clone();
                tokio::spawn(async move {
                    let desk = ots_gateway_mcp::entry_desk(&gateway, &settings);
                    let _ = serve_io(gateway, settings, desk, read, write).await;
                });
                config
                    .serve_with_lifecycle(client_io, self.via.lifecycle())
                    .await?
            }
        };
        Ok(client)
    }
}

/// Calls a tool with JSON arguments; protocol errors are test failures.
pub async fn call<H: rmcp::ClientHandler>(
    client: &Client<H>,
    tool: &'static str,
    args: Value,
) -> Result<CallToolResult> {
    let Value::Object(arguments) = args else {
        bail!("arguments must be a JSON object");
    };
    let params = CallToolRequestParams::new(tool).with_arguments(arguments);
    Ok(client.call_tool(params).await?)
}

/// The structured content of a successful call.
pub async fn ok<H: rmcp::ClientHandler>(
    client: &Client<H>,
    tool: &'static str,
    args: Value,
) -> Result<Value> {
    let result = call(client, tool, args).await?;
    if result.is_error == Some(true) {
        bail!("{tool} failed: {:?}", result.structured_content);
    }
    result
        .structured_content
        .with_context(|| format!("{tool} returned no structured content"))
}

/// The structured error body of a failed call.
pub async fn err<H: rmcp::ClientHandler>(
    client: &Client<H>,
    tool: &'static str,
    args: Value,
) -> Result<Value> {
    let result = call(client, tool, args).await?;
    if result.is_error != Some(true) {
        bail!(
            "{tool} unexpectedly succeeded: {:?}",
            result.structured_content
        );
    }
    Ok(result.structured_content.unwrap_or(Value::Null))
}

/// Everything a result shows a client, as one string, for "never contains" checks.
pub fn rendered(result: &CallToolResult) -> String {
    serde_json::to_string(result).unwrap_or_default()
}

pub fn str_field<'a>(value: &'a Value, field: &str) -> Result<&'a str> {
    value[field]
        .as_str()
        .with_context(|| format!("no string {field} in {value}"))
}
