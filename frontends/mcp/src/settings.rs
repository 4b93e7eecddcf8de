//! How the MCP frontend behaves, beyond what the core's policy decides.

pub use crate::entry::EntryPages;

/// Loopback names rmcp's Host check always accepts: the gateway binds loopback by default, and a
/// DNS-rebinding page can only reach it under some other name.
pub(crate) const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Settings for [`crate::http_service`] and [`crate::serve_stdio`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpSettings {
    /// Whether `generate_secret` hands the generated value to the agent. Off by default: the
    /// person opens the link to see it, and the value never enters model context.
    pub return_generated_value: bool,
    /// Host names (or `host:port`) accepted in the HTTP `Host` header besides the loopback ones,
    /// for a gateway reached through another name. Unused on stdio.
    pub allowed_hosts: Vec<String>,
    /// Largest HTTP request body accepted; larger ones get 413. Unused on stdio.
    pub max_body_bytes: usize,
    /// Where the one-time secret entry pages are served (the gateway's own loopback origin).
    /// `None` hides `ask_user_for_secret` and `secret_entry_result`.
    pub entry_pages: Option<EntryPages>,
    /// Operator switch: secrets reach the gateway only through the entry page, and
    /// `share_secret` refuses a `secret` argument, so no secret value passes through a model.
    pub out_of_band_only: bool,
}

impl Default for McpSettings {
    fn default() -> Self {
        McpSettings {
            return_generated_value: false,
            allowed_hosts: Vec::new(),
            max_body_bytes: ots_gateway_core::config::DEFAULT_MAX_BODY_BYTES,
            entry_pages: None,
            out_of_band_only: false,
        }
    }
}
