//! The two ways a client reaches the tools: Streamable HTTP (mounted by the binary at `/mcp`) and
//! stdio (`ots-gateway mcp`).

use std::sync::Arc;

use ots_gateway_core::Gateway;
use rmcp::ServiceExt;
use rmcp::service::ServerInitializeError;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::entry::{self, EntryDesk};
use crate::http_errors;
use crate::identity::Transport;
use crate::server::McpServer;
use crate::sessions::{BoundedSessions, MAX_SESSIONS};
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
    let desk = entry_desk(&gateway, &settings);
    let prototype = McpServer::new(gateway, &settings, Transport::Http, desk.clone());
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
        Arc::new(BoundedSessions::new(MAX_SESSIONS)),
        config,
    );
    let mcp =
        axum::Router::new()
            .fallback_service(service)
            .layer(axum::middleware::from_fn_with_state(
                settings.max_body_bytes,
                http_errors::jsonrpc_errors,
            ));
    // Added after the JSON-RPC layer, which must not see the page's form posts.
    match desk {
        Some(desk) => mcp.merge(entry::routes(desk)),
        None => mcp,
    }
}

/// The entry desk `settings` asks for, if any. The stdio server's pages need it outside the
/// MCP session: serve [`entry_pages`] with it on a loopback listener, under `/mcp`.
pub fn entry_desk(gateway: &Gateway, settings: &McpSettings) -> Option<EntryDesk> {
    settings
        .entry_pages
        .clone()
        .map(|pages| EntryDesk::new(gateway.clone(), pages))
}

/// The entry pages' routes for `desk`, to nest under `/mcp` on the pages' origin.
pub fn entry_pages(desk: EntryDesk) -> axum::Router {
    entry::routes(desk)
}

/// The MCP tools over this process's stdin and stdout, until the client disconnects. stdout
/// carries the protocol, so the binary must send logs to stderr.
/// `desk` serves the entry pages, when the binary set them up (see [`entry_desk`]).
pub async fn serve_stdio(
    gateway: Gateway,
    settings: McpSettings,
    desk: Option<EntryDesk>,
) -> Result<(), ServeError> {
    let (stdin, stdout) = rmcp::transport::stdio();
    serve_io(gateway, settings, desk, stdin, stdout).await
}

/// The MCP tools over any byte stream pair, framed as stdio is (one JSON message per line): the
/// seam `serve_stdio` uses, and tests use with an in-memory pipe.
pub async fn serve_io<R, W>(
    gateway: Gateway,
    settings: McpSettings,
    desk: Option<EntryDesk>,
    read: R,
    write: W,
) -> Result<(), ServeError>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let server = McpServer::new(gateway, &settings, Transport::Stdio, desk);
    let running = server
        .serve((read, write))
        .await
        .map_err(|error| ServeError::Handshake(Box::new(error)))?;
    running.waiting().await.map_err(ServeError::Session)?;
    Ok(())
}
