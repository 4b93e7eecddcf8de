//! The MCP frontend: the gateway's operations as tools for AI assistants, served over stdio and
//! Streamable HTTP with the official Rust SDK (`rmcp`).
//!
//! Layout:
//! - [`settings`]: what the binary configures.
//! - `server`: the tools, the server instructions and annotations.
//! - `arguments`: the tools' argument types (their JSON Schemas are what models see) and the
//!   check of each call against them, as structured `invalid_input` errors naming the field.
//! - `output`: the tools' result types.
//! - `errors`: core errors as `isError` tool results with a machine-readable code.
//! - `schema`: JSON Schema adjustments for interop, and output schemas that admit error bodies.
//! - `keys`: bare keys or pasted links, to core key types.
//! - `entry`: out-of-band secret entry, the one-time page a person types a secret into.
//! - `identity`: the caller id a request is attributed to.
//! - `transport`: [`http_service`] and [`serve_stdio`].
//! - `http_errors`: HTTP-level failures on `/mcp` as JSON-RPC errors, and the body bound.
//!
//! Invariant: no result other than `retrieve_secret`'s (and `generate_secret`'s, when the
//! operator enables `return_generated_value`) carries a secret value or passphrase, and nothing
//! here logs arguments.

// The binary's allocator is the project's only unsafe code (ARCHITECTURE.md, "Invariants").
#![forbid(unsafe_code)]

mod arguments;
mod elicit;
mod entry;
mod errors;
mod http_errors;
mod identity;
mod keys;
mod output;
mod schema;
mod server;
mod sessions;
pub mod settings;
mod transport;

pub use entry::{EntryDesk, EntryPages};
pub use identity::CLIENT_HEADER;
pub use server::McpServer;
pub use settings::McpSettings;
pub use transport::{
    McpHttpService, ServeError, entry_desk, entry_pages, http_service, serve_io, serve_stdio,
};

/// `tracing` filter directives the binary must add to its subscriber's filter (after its own).
///
/// rmcp logs every request it receives and every result it sends, arguments and all, at DEBUG
/// and TRACE: with a verbose filter, secrets, passphrases and revealed plaintext would reach the
/// logs. Capping rmcp at INFO keeps its lifecycle and error events and drops those.
pub const LOG_FILTER: &str = "rmcp=info";
