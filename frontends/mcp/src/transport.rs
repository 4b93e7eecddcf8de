//! The two ways a client reaches the tools: Streamable HTTP (mounted by the binary at `/mcp`) and
//! stdio (`ots-gateway mcp`).

use std::sync::Arc;

use ots_gateway_core::Gateway;
use rmcp::ServiceExt;
use rmcp::service::ServerInitializeError;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::http_errors;
use crate::identity::Transport;
use crate::server::McpServer;
use crate::settings::{LOOPBACK_HOSTS, McpSettings};

/// What [`http_service`] returns; mount it with `Router::nest_service("/mcp", ..)`.
pub type McpHttpService = axum::Router;

/// Why an MCP stdio session ended with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The client closed the connection or sent something other than a valid opening request.
    #[error("the MCP client did not complete the handshake")]
    Handshake(#[source] Box<ServerInitializeError>),
    /// The task running the session panicked or was cancelled.
    #[error("the MCP session ended abnormally")]
    Session(#[source] tokio::task::JoinError),
}

/// The MCP tools over Streamable HTTP: stateless for 2026-07-28 clients, with sessions for
/// older ones (so that each connected client is its own caller, see `identity`), a body-size
/// cap, rmcp's Host check, and every HTTP-level failure answered as a JSON-RPC error.
pub fn http_service(gateway: Gateway, settings: McpSettings) -> McpHttpService {
    let prototype = McpServer::new(gateway, &settings, Transport::Http);
    let allowed_hosts = LOOPBACK_HOSTS
        .iter()
        .map(|host| (*host).to_owned())
        .chain(settings.allowed_hosts.iter().cloned());
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(true)
        .with_json_response(true)
        .with_allowed_hosts(allowed_hosts)
        .with_max_request_body_bytes(settings.max_body_bytes);
    let service = StreamableHttpService::new(
        move || Ok(prototype.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    axum::Router::new()
        .fallback_service(service)
        .layer(axum::middleware::from_fn_with_state(
            settings.max_body_bytes,
            http_errors::jsonrpc_errors,
        ))
}

/// The MCP tools over this process's stdin and stdout, until the client disconnects. stdout
/// carries the protocol, so the binary must send logs to stderr.
pub async fn serve_stdio(gateway: Gateway, settings: McpSettings) -> Result<(), ServeError> {
    let (stdin, stdout) = rmcp::transport::stdio();
    serve_io(gateway, settings, stdin, stdout).await
}

/// The MCP tools over any byte stream pair, framed as stdio is (one JSON message per line): the
/// seam `serve_stdio` uses, and tests use with an in-memory pipe.
pub async fn serve_io<R, W>(
    gateway: Gateway,
    settings: McpSettings,
    read: R,
    write: W,
) -> Result<(), ServeError>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let server = McpServer::new(gateway, &settings, Transport::Stdio);
    let running = server
        .serve((read, write))
        .await
        .map_err(|error| ServeError::Handshake(Box::new(error)))?;
    running.waiting().await.map_err(ServeError::Session)?;
    Ok(())
}
