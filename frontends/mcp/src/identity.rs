//! Who is calling: the caller id the core keys quotas, ownership and audit on.
//!
//! On HTTP, a client token (`[server] client_tokens_file`) proves who is calling, and its label
//! is the id. Otherwise the id is what the client declares, or, for a client with an MCP
//! session, its declared name plus a tag derived from the session: that separates agents from
//! one another (two clients built on the same SDK declare the same name) but does not defend
//! against a client that lies, which the local trust model accepts.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use ots_gateway_core::model::{CLIENT_ID_HEADER, Caller, CallerId, Frontend, TokenLabel};
use rmcp::RoleServer;
use rmcp::service::RequestContext;

/// Request header an HTTP client may set to choose its caller id explicitly, e.g. when several
/// agents share one MCP client implementation. The core's, shared with the REST API.
pub const CLIENT_HEADER: &str = CLIENT_ID_HEADER;

/// The Streamable HTTP session header (legacy protocol versions only).
const SESSION_HEADER: &str = "mcp-session-id";

/// Longest caller id kept; ids end up in the ledger, audit events and quota keys.
const MAX_ID_CHARS: usize = CallerId::MAX_CHARS;

/// Which transport a server instance runs on, since the trustworthy identity sources differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Stdio,
    Http,
}

impl Transport {
    fn fallback_id(self) -> &'static str {
        match self {
            Transport::Stdio => "stdio",
            Transport::Http => "http",
        }
    }
}

/// Keeps `[A-Za-z0-9._-]`, replaces anything else with `_`, and cuts at 64 characters
/// ([`CallerId::sanitise`]). `None` when nothing recognisable is left, so the next source gets
/// its turn.
pub(crate) fn sanitise(raw: &str) -> Option<String> {
    CallerId::sanitise(raw).map(CallerId::into_string)
}

/// Who is calling, and whether that id tells this client apart from others.
pub(crate) struct Identified {
    pub caller: Caller,
    /// `false` for a stateless HTTP request that carried neither a client token, nor the
    /// `X-OTS-Gateway-Client` header, nor a session: its id is only the name its SDK declares,
    /// which every client built on that SDK shares.
    pub told_apart: bool,
}

/// The caller for one request.
///
/// - HTTP: the label of the client token the request presented, else the
///   `X-OTS-Gateway-Client` header, else, in an MCP session (legacy protocol versions), the name
///   the client declared at `initialize` tagged with its session (`mcp.3f9a0c1d`), else the
///   client name the request itself declares (`_meta` clientInfo, sent by 2026-07-28 clients on
///   every request), else `http`. The session id itself never becomes part of the caller id: it
///   would reach the ledger and audit log, and it is what lets a request join the session. The
///   last two do not tell clients apart ([`Identified::told_apart`]).
/// - stdio: the per-request declared name, else the name from the `initialize` handshake,
///   else `stdio`. One stdio server serves one client, so it is always told apart.
pub(crate) fn caller_for(transport: Transport, context: &RequestContext<RoleServer>) -> Identified {
    let declared = || {
        context
            .meta
            .client_info()
            .and_then(|info| sanitise(&info.name))
    };
    if let Transport::Http = transport
        && let Some(label) = token_label(context)
    {
        return Identified {
            caller: Caller::new(Frontend::Mcp, label),
            told_apart: true,
        };
    }
    let (id, told_apart) = match transport {
        Transport::Http => match header_id(context).or_else(|| session_caller(context)) {
            Some(id) => (Some(id), true),
            None => (declared(), false),
        },
        Transport::Stdio => (
            declared().or_else(|| {
                context
                    .peer
                    .peer_info()
                    .and_then(|info| sanitise(&info.client_info.name))
            }),
            true,
        ),
    };
    Identified {
        caller: Caller::declared(
            Frontend::Mcp,
            id.unwrap_or_else(|| transport.fallback_id().to_owned()),
        ),
        told_apart,
    }
}

/// A client token's label, proven by the listener's security layer.
fn token_label(context: &RequestContext<RoleServer>) -> Option<String> {
    let parts = context.extensions.get::<http::request::Parts>()?;
    let TokenLabel(label) = parts.extensions.get::<TokenLabel>()?;
    sanitise(label)
}

/// The self-declared `X-OTS-Gateway-Client` header. Held to the strict rule: the HTTP layer
/// already refused a request whose header breaks it.
fn header_id(context: &RequestContext<RoleServer>) -> Option<String> {
    let parts = context.extensions.get::<http::request::Parts>()?;
    let value = parts.headers.get(CLIENT_HEADER)?.to_str().ok()?;
    CallerId::parse(value).map(CallerId::into_string)
}

/// `<declared name>.<tag>` for a request inside an MCP session, the tag a keyed hash of the
/// session id (the key is random per process, so tags cannot be computed from outside).
fn session_caller(context: &RequestContext<RoleServer>) -> Option<String> {
    let parts = context.extensions.get::<http::request::Parts>()?;
    let session = parts.headers.get(SESSION_HEADER)?.to_str().ok()?;
    let name = context
        .peer
        .peer_info()
        .and_then(|info| sanitise(&info.client_info.name))
        .unwrap_or_else(|| Transport::Http.fallback_id().to_owned());
    Some(session_scoped(&name, session))
}

fn session_scoped(name: &str, session: &str) -> String {
    static KEY: OnceLock<RandomState> = OnceLock::new();
    let tag = KEY.get_or_init(RandomState::new).hash_one(session) as u32;
    let name: String = name.chars().take(MAX_ID_CHARS - 9).collect();
    format!("{name}.{tag:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_safe_characters_and_replaces_the_rest() {
        assert_eq!(sanitise("claude-code").as_deref(), Some("claude-code"));
        assert_eq!(
            sanitise("Claude Desktop").as_deref(),
            Some("Claude_Desktop")
        );
        assert_eq!(sanitise(" v1.2_x ").as_deref(), Some("v1.2_x"));
        assert_eq!(sanitise("a/../b").as_deref(), Some("a_.._b"));
    }

    #[test]
    fn empty_or_unrecognisable_names_fall_through() {
        assert_eq!(sanitise(""), None);
        assert_eq!(sanitise("   "), None);
        assert_eq!(sanitise("日本語"), None);
        assert_eq!(sanitise("..."), None);
    }

    #[test]
    fn sessions_get_distinct_stable_tags_that_do_not_contain_the_session_id() {
        let first = session_scoped("mcp", "session-one");
        assert_eq!(first, session_scoped("mcp", "session-one"));
        assert_ne!(first, session_scoped("mcp", "session-two"));
        assert!(first.starts_with("mcp.") && !first.contains("session"));
        assert_eq!(session_scoped(&"x".repeat(64), "s").len(), 64);
    }

    #[test]
    fn long_names_are_cut_at_64_characters() {
        let long = "x".repeat(200);
        assert_eq!(sanitise(&long).map(|id| id.len()), Some(64));
    }
}
