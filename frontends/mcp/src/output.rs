//! Tool results. Each is a `Json<T>`, so clients get `structuredContent` and `tools/list` an
//! `outputSchema` generated from these types.
//!
//! None of them has a field for a secret value or passphrase except [`RetrievedSecret`] (the retrieve
//! tool) and [`Created::generated_value`] (only when the operator enabled it). Integers are `u32`:
//! `u64` puts `"format": "uint64"` in the schema, which some clients' validators reject.

use std::time::{Duration, UNIX_EPOCH};

use ots_gateway_core::gateway::{GatewayOverview, OwnedReceipt};
use ots_gateway_core::limits::{OperationClass, Rate};
use ots_gateway_core::model::{Burned, Frontend, Receipt, ReceiptState, SecretText};
use schemars::JsonSchema;
use serde::Serialize;

/// RFC 3339 in UTC, which models read more reliably than Unix seconds.
fn timestamp(unix_secs: i64) -> String {
    let secs = u64::try_from(unix_secs).unwrap_or(0);
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

fn saturating_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// What `share_secret` and `generate_secret` return. No `Debug`: it can hold a generated value.
#[derive(Serialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
pub(crate) struct Created {
    /// The one-time link to give the recipient. Opening it reveals the secret once and destroys
    /// it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_url: Option<String>,
    /// Private key for secret_status and burn_secret. Keep it; never send it to the recipient.
    pub metadata_key: String,
    /// Seconds until the link expires unread.
    pub expires_in_seconds: u32,
    /// Present when the OTS server applied a different lifetime than the ttl asked for (it
    /// raises values under its minimum and lowers values over the account's maximum).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_note: Option<String>,
    /// When the link expires unread (RFC 3339, UTC).
    pub expires_at: String,
    /// Whether opening the link needs a passphrase.
    pub passphrase_required: bool,
    /// Where OTS emailed the link, obscured (`al***@e***.com`); empty if nowhere.
    pub recipients: Vec<String>,
    /// The generated password. Present only on generate_secret, and only when the gateway is
    /// configured to return it; otherwise the recipient sees it by opening the link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_value: Option<ExposedSecret>,
}

impl Created {
    pub fn from_receipt(
        receipt: &Receipt,
        passphrase_required: bool,
        requested_ttl: Option<u32>,
    ) -> Self {
        let ttl = receipt.secret_ttl.unwrap_or(receipt.ttl);
        let ttl_note = requested_ttl
            .filter(|requested| u64::from(*requested) != receipt.ttl)
            .map(|requested| {
                format!(
                    "ttl {requested} was adjusted by the OTS server to {} seconds",
                    receipt.ttl
                )
            });
        Created {
            share_url: receipt.share_url.clone(),
            metadata_key: receipt.metadata_key.as_str().to_owned(),
            expires_in_seconds: saturating_u32(ttl),
            ttl_note,
            expires_at: timestamp(
                receipt
                    .created
                    .saturating_add(i64::try_from(receipt.ttl).unwrap_or(i64::MAX)),
            ),
            passphrase_required: receipt.passphrase_required.unwrap_or(passphrase_required),
            recipients: receipt.recipients.clone(),
            generated_value: None,
        }
    }
}

/// A secret's state, as `secret_status` and `list_recent_secrets` report it: one of
/// [`ReceiptState::REPORTED_NAMES`], published as an `enum` in their output schemas. `new` and
/// `viewed`: not opened yet (`viewed` only from old OTS servers, after the creator looked at the
/// receipt). `received`: the recipient opened the link and the secret is gone. `burned`:
/// destroyed before anyone opened it. `expired`: not opened in time. `orphaned`: OTS lost the
/// secret behind the receipt. `other`: a state this gateway does not know, from a newer OTS
/// server; counted as still available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub(crate) struct SecretState(&'static str);

impl From<&ReceiptState> for SecretState {
    fn from(state: &ReceiptState) -> Self {
        SecretState(state.reported_name())
    }
}

impl JsonSchema for SecretState {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SecretState".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": ReceiptState::REPORTED_NAMES,
            "description": "new and viewed: not opened yet; received: opened, gone; burned: \
                destroyed unread; expired: not opened in time; orphaned: lost upstream; other: \
                a state from a newer OTS server, still available",
        })
    }
}

/// What `secret_status` returns.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
pub(crate) struct Status {
    pub metadata_key: String,
    pub state: SecretState,
    /// Whether the recipient can still open the link.
    pub secret_available: bool,
    /// The one-time link, while the secret is still available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_url: Option<String>,
    /// Seconds until the secret expires unread; absent once it is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_expires_in_seconds: Option<u32>,
    /// Seconds until this receipt itself is deleted.
    pub receipt_expires_in_seconds: u32,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// When the state last changed (RFC 3339, UTC).
    pub updated_at: String,
    /// When the recipient opened the link (RFC 3339, UTC), if they did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_at: Option<String>,
    /// Whether the secret was created with a passphrase. Fixed at creation: it does not change
    /// when the secret is opened or burned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passphrase_required: Option<bool>,
    /// Where OTS emailed the link, obscured.
    pub recipients: Vec<String>,
}

impl Status {
    /// `created_with_passphrase` is the gateway's own record from creation, when it has one:
    /// OTS reports a burned or received secret as no longer protected.
    pub(crate) fn new(receipt: &Receipt, created_with_passphrase: Option<bool>) -> Self {
        Status {
            metadata_key: receipt.metadata_key.as_str().to_owned(),
            state: SecretState::from(&receipt.state),
            secret_available: receipt.state.is_live() && receipt.secret_key.is_some(),
            share_url: receipt.share_url.clone(),
            secret_expires_in_seconds: receipt.secret_ttl.map(saturating_u32),
            receipt_expires_in_seconds: saturating_u32(receipt.metadata_ttl),
            created_at: timestamp(receipt.created),
            updated_at: timestamp(receipt.updated),
            received_at: receipt.received.map(timestamp),
            passphrase_required: created_with_passphrase.or(receipt.passphrase_required),
            recipients: receipt.recipients.clone(),
        }
    }
}

/// What `burn_secret` returns.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
pub(crate) struct BurnResult {
    pub metadata_key: String,
    /// Always `burned`: the link no longer opens.
    pub state: String,
    /// The first characters of the burned secret's key, as OTS reports them.
    pub secret_shortkey: String,
}

impl From<&Burned> for BurnResult {
    fn from(burned: &Burned) -> Self {
        BurnResult {
            metadata_key: burned.receipt.metadata_key.as_str().to_owned(),
            state: "burned".to_owned(),
            secret_shortkey: burned.secret_shortkey.clone(),
        }
    }
}

/// What `list_recent_secrets` returns.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
pub(crate) struct RecentList {
    /// Newest first; only secrets this client created through the gateway.
    pub secrets: Vec<RecentItem>,
    /// Present while the gateway's ledger fails to write: the list still includes secrets kept
    /// in memory, but they are not yet on disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_warning: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
pub(crate) struct RecentItem {
    /// For secret_status and burn_secret.
    pub metadata_key: String,
    /// The last state the gateway saw (see `state_is_fresh`).
    pub state: SecretState,
    /// Whether the state was just confirmed with the OTS server (otherwise it is the last one
    /// the gateway saw).
    pub state_is_fresh: bool,
    /// The one-time link, while the secret is still available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_url: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// When the secret expires unread (RFC 3339, UTC).
    pub expires_at: String,
    pub passphrase_required: bool,
}

impl From<&OwnedReceipt> for RecentItem {
    fn from(owned: &OwnedReceipt) -> Self {
        let entry = &owned.entry;
        RecentItem {
            metadata_key: entry.metadata_key.as_str().to_owned(),
            state: SecretState::from(&entry.state),
            state_is_fresh: owned.receipt.is_some(),
            share_url: owned
                .receipt
                .as_ref()
                .filter(|receipt| receipt.state.is_live())
                .and_then(|receipt| receipt.share_url.clone()),
            created_at: timestamp(entry.created),
            expires_at: timestamp(entry.secret_expires),
            passphrase_required: entry.has_passphrase,
        }
    }
}

/// What `retrieve_secret` returns: the only result that carries a secret.
#[derive(Serialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
pub(crate) struct RetrievedSecret {
    /// The secret's plaintext. It no longer exists upstream: the link is used up.
    pub secret: ExposedSecret,
}

/// A secret value a result hands to its owner (a retrieved secret, or a generated value when
/// the operator allows it). It stays a [`SecretText`] until the moment it is serialised, and has
/// no `Debug`.
pub(crate) struct ExposedSecret(pub SecretText);

impl Serialize for ExposedSecret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.expose())
    }
}

impl JsonSchema for ExposedSecret {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ExposedSecret".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string"})
    }
}

/// What `gateway_status` returns.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
pub(crate) struct GatewayStatus {
    /// Scheme and host of the OTS server behind the gateway.
    pub upstream: String,
    /// Whether the OTS server answered its status check.
    pub upstream_reachable: bool,
    /// Why not, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_error: Option<String>,
    /// `team` when the gateway uses the team's OTS account, `anonymous` otherwise (then
    /// recipients and long TTLs are unavailable).
    pub account: String,
    /// The caller id this client is known by: its secrets and quotas are keyed on it.
    pub caller_id: String,
    /// Whether retrieve_secret is enabled for MCP clients.
    pub retrieve_enabled: bool,
    /// This client's quotas; absent classes are unlimited.
    pub quotas: Quotas,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
pub(crate) struct Quotas {
    /// share_secret and generate_secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create: Option<QuotaRate>,
    /// retrieve_secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reveal: Option<QuotaRate>,
    /// secret_status, burn_secret, list_recent_secrets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manage: Option<QuotaRate>,
    /// The whole gateway's budget of calls to the OTS server, shared by all clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_budget: Option<QuotaRate>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
pub(crate) struct QuotaRate {
    pub per_minute: u32,
    pub burst: u32,
}

impl From<Rate> for QuotaRate {
    fn from(rate: Rate) -> Self {
        QuotaRate {
            per_minute: rate.per_minute.get(),
            burst: rate.burst.get(),
        }
    }
}

impl GatewayStatus {
    pub fn new(overview: &GatewayOverview, caller_id: &str, retrieve_enabled: bool) -> Self {
        let rate = |class| {
            overview
                .quotas
                .callers
                .get(&(Frontend::Mcp, class))
                .copied()
                .map(QuotaRate::from)
        };
        GatewayStatus {
            upstream: overview.upstream_origin.clone(),
            upstream_reachable: overview.upstream.is_ok(),
            upstream_error: overview.upstream.as_ref().err().cloned(),
            account: if overview.team_account {
                "team"
            } else {
                "anonymous"
            }
            .to_owned(),
            caller_id: caller_id.to_owned(),
            retrieve_enabled,
            quotas: Quotas {
                create: rate(OperationClass::Create),
                reveal: rate(OperationClass::Reveal),
                manage: rate(OperationClass::Manage),
                upstream_budget: overview.quotas.upstream.map(QuotaRate::from),
            },
        }
    }
}

/// What `ask_user_for_secret` returns.
#[derive(Serialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
pub(crate) struct EntryOpened {
    /// The one-time page to give the person (show it as a link). They type the secret there;
    /// it never passes through this conversation.
    pub entry_url: String,
    /// For secret_entry_result, to learn the link once the person has submitted the page.
    pub entry_id: String,
    /// Seconds until the page expires unused.
    pub expires_in_seconds: u32,
}

/// What `secret_entry_result` returns.
#[derive(Serialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
pub(crate) struct EntryResult {
    pub entry_id: String,
    /// `waiting` (the page is open), `submitting`, `shared` (see `secret`) or `expired`.
    pub state: String,
    /// Once shared: the one-time link and receipt, as share_secret returns them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<Created>,
}
