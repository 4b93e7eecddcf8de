//! The vocabulary every layer shares: secrets, keys, receipts and the requests that make them.
//!
//! These are our types, not OTS wire types. The OTS client converts its private wire structs into
//! them, the simulator produces them directly, and each frontend renders them in its own protocol.
//! Secret-bearing values wrap [`SecretString`] so that `Debug`, `Display` and tracing fields can
//! never print them by accident; reading one is always a visible `expose_secret()` call.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;

// Defined apart from this module so that `error` can name them without `model` and `error`
// depending on each other.
pub use crate::operation::{Frontend, Operation};

/// Who is asking: the frontend plus a caller id that frontend vouches for (a client label, an MCP
/// client name, a Discord user id). Never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Caller {
    pub frontend: Frontend,
    pub id: String,
    pub identity: Identity,
}

/// How a caller's id was established, which decides whether it can have quotas of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Identity {
    /// Established by something the caller cannot choose freely: a client token, a Discord
    /// user id. Each proven caller has quotas of its own.
    Proven,
    /// A name the caller gave itself (`X-OTS-Gateway-Client`, an MCP client name). Anyone can
    /// pick any, so declared callers also share one aggregate quota per frontend: minting new
    /// names buys no more than that.
    Declared,
}

impl Caller {
    /// A proven caller (see [`Identity::Proven`]).
    pub fn new(frontend: Frontend, id: impl Into<String>) -> Self {
        Caller {
            frontend,
            id: id.into(),
            identity: Identity::Proven,
        }
    }

    /// A caller known only by the name it declared (see [`Identity::Declared`]).
    pub fn declared(frontend: Frontend, id: impl Into<String>) -> Self {
        Caller {
            identity: Identity::Declared,
            ..Caller::new(frontend, id)
        }
    }
}

/// The header a local client names itself with, on the REST API and on `/mcp` alike.
pub const CLIENT_ID_HEADER: &str = "x-ots-gateway-client";

/// A caller id a client chose: a client token's label, the [`CLIENT_ID_HEADER`], an MCP client's
/// declared name. 1 to 64 characters of `[A-Za-z0-9._-]`, so it is safe verbatim in logs,
/// metrics, quota keys and the ledger. The one rule for all of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallerId(String);

impl CallerId {
    pub const MAX_CHARS: usize = 64;

    /// Strict, for ids a client states on purpose (the header, a token label): anything else is
    /// refused, so the client learns its id is not what it meant.
    pub fn parse(raw: &str) -> Option<CallerId> {
        let fits =
            (1..=CallerId::MAX_CHARS).contains(&raw.len()) && raw.bytes().all(CallerId::is_allowed);
        fits.then(|| CallerId(raw.to_owned()))
    }

    /// Lenient, for names a client mentions in passing (MCP's `clientInfo.name`, such as
    /// "Claude Desktop"): other characters become `_` and the end is cut. `None` when nothing
    /// recognisable is left.
    pub fn sanitise(raw: &str) -> Option<CallerId> {
        let id: String = raw
            .trim()
            .chars()
            .take(CallerId::MAX_CHARS)
            .map(|c| {
                if c.is_ascii() && CallerId::is_allowed(c as u8) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        id.chars()
            .any(|c| c.is_ascii_alphanumeric())
            .then_some(CallerId(id))
    }

    fn is_allowed(byte: u8) -> bool {
        byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The label of the client token a request authenticated with (`[server] client_tokens_file`).
/// Frontends that see one use it as the caller id: unlike a name a client declares, it is proven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLabel(pub String);

/// Fewest characters a gateway token (the shared bearer token or a client token) may have.
/// A token is the only thing standing between another host (or another local user) and the
/// team's OTS account, and it can be guessed online: 16 random characters put that out of reach
/// even without the per-peer throttle on failed attempts.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The one rule for what makes an acceptable gateway token: long enough, and made of visible
/// ASCII so it survives an `Authorization` header unchanged. `Err` says what is wrong, never
/// echoing the token itself. Configuration validation calls this for every token it loads.
pub fn check_token_strength(token: &str) -> Result<(), String> {
    if token.chars().count() < MIN_TOKEN_CHARS {
        return Err(format!(
            "the token must be at least {MIN_TOKEN_CHARS} characters"
        ));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the token must be visible ASCII characters, with no spaces".to_owned());
    }
    Ok(())
}

/// A per-client access token and the label that names its holder in quotas, ownership and audit.
#[derive(Clone)]
pub struct ClientToken {
    pub label: String,
    pub token: SecretString,
}

impl fmt::Debug for ClientToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientToken")
            .field("label", &self.label)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// The plaintext of a secret. `Debug` is redacted.
#[derive(Clone)]
pub struct SecretText(SecretString);

impl SecretText {
    pub fn new(value: impl Into<String>) -> Self {
        SecretText(SecretString::from(value.into()))
    }
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
    pub fn byte_len(&self) -> usize {
        self.0.expose_secret().len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.expose_secret().is_empty()
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(<redacted>)")
    }
}

/// A passphrase that gates a secret. `Debug` is redacted.
#[derive(Clone)]
pub struct Passphrase(SecretString);

impl Passphrase {
    pub fn new(value: impl Into<String>) -> Self {
        Passphrase(SecretString::from(value.into()))
    }
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
    /// Length in characters, which is how OTS counts its passphrase limits.
    pub fn char_len(&self) -> usize {
        self.0.expose_secret().chars().count()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// The team's OTS account: username (email or customer id) and API token.
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub api_key: SecretString,
}

impl Credentials {
    pub fn new(username: impl Into<String>, api_key: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            api_key: SecretString::from(api_key.into()),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

/// Characters OTS keeps in a key after sanitising: `[a-zA-Z0-9_-]`.
fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// A key from a URL path reduced the way OTS reduces it (v1 after its length guard, v2 always):
/// every character outside `[a-zA-Z0-9_-]` dropped.
pub fn sanitize_key(raw: &str) -> String {
    raw.chars().filter(|c| is_key_char(*c)).collect()
}

fn parse_key(field: &'static str, raw: &str) -> Result<String, Error> {
    if raw.is_empty() {
        return Err(Error::InvalidInput {
            field,
            reason: "must not be empty".into(),
        });
    }
    if !raw.chars().all(is_key_char) {
        return Err(Error::InvalidInput {
            field,
            reason: "may only contain letters, digits, '_' and '-'".into(),
        });
    }
    Ok(raw.to_owned())
}

/// Keys are bearer capabilities: whoever holds one can reveal (secret key) or inspect and burn
/// (receipt key). `Debug` therefore shows only the short id OTS itself uses in burn responses.
fn fmt_short_key(name: &str, key: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{name}({}…)", short_id(key))
}

/// The first eight characters of a key: OTS's own "short key", safe for logs and audit events.
pub fn short_id(key: &str) -> &str {
    let end = key.char_indices().nth(8).map_or(key.len(), |(i, _)| i);
    &key[..end]
}

/// The key in a share link: `/secret/<key>`. Opaque, of variable length (31 or 62 characters on
/// real servers).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretKey(String);

impl SecretKey {
    /// Accepts only `[a-zA-Z0-9_-]+`, so a key can be placed in a URL path without escaping.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        parse_key("secret_key", raw).map(SecretKey)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn short_id(&self) -> &str {
        short_id(&self.0)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_short_key("SecretKey", &self.0, f)
    }
}

/// The creator's private key to a secret's receipt (OTS v1 calls it `metadata_key`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ReceiptKey(String);

impl ReceiptKey {
    /// Accepts only `[a-zA-Z0-9_-]+`, so a key can be placed in a URL path without escaping.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        parse_key("metadata_key", raw).map(ReceiptKey)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn short_id(&self) -> &str {
        short_id(&self.0)
    }
}

impl fmt::Debug for ReceiptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_short_key("ReceiptKey", &self.0, f)
    }
}

/// A receipt's state in OTS v1 vocabulary. Servers may add states; those are kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReceiptState {
    New,
    /// Current servers only report this for legacy records; v0.23 set it on the first receipt view.
    Viewed,
    /// The secret was revealed.
    Received,
    Burned,
    Expired,
    Orphaned,
    Other(String),
}

impl ReceiptState {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "new" => ReceiptState::New,
            "viewed" => ReceiptState::Viewed,
            "received" => ReceiptState::Received,
            "burned" => ReceiptState::Burned,
            "expired" => ReceiptState::Expired,
            "orphaned" => ReceiptState::Orphaned,
            other => ReceiptState::Other(other.to_owned()),
        }
    }

    /// The name as the server sent it.
    pub fn as_str(&self) -> &str {
        match self {
            ReceiptState::Other(raw) => raw,
            known => known.reported_name(),
        }
    }

    /// Every name [`Self::reported_name`] can return: the closed list frontends publish (MCP's
    /// output schemas), where a state this gateway does not know is reported as `other`.
    pub const REPORTED_NAMES: [&'static str; 7] = [
        "new", "viewed", "received", "burned", "expired", "orphaned", "other",
    ];

    /// The state's name from the closed list [`Self::REPORTED_NAMES`]: [`Self::as_str`], except
    /// that an unknown state becomes `other` (its raw name could be anything the server sends).
    pub fn reported_name(&self) -> &'static str {
        match self {
            ReceiptState::New => "new",
            ReceiptState::Viewed => "viewed",
            ReceiptState::Received => "received",
            ReceiptState::Burned => "burned",
            ReceiptState::Expired => "expired",
            ReceiptState::Orphaned => "orphaned",
            ReceiptState::Other(_) => "other",
        }
    }

    /// Whether the secret behind the receipt may still be revealed or burned: the one rule for
    /// the ledger (keep the key?), the watchers and the frontends (offer burn?). A state this
    /// gateway does not know counts as live, since a newer server's state might be one; treating
    /// it as gone would throw away a key that still works.
    pub fn is_live(&self) -> bool {
        match self {
            ReceiptState::New | ReceiptState::Viewed | ReceiptState::Other(_) => true,
            ReceiptState::Received
            | ReceiptState::Burned
            | ReceiptState::Expired
            | ReceiptState::Orphaned => false,
        }
    }
}

/// The creator's record of one secret, as OTS v1 reports it (its "metadata" object).
///
/// Optional fields mirror what OTS omits in some views, so a frontend that speaks v1 can render
/// exactly what the upstream said.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// The caller's account email, or `anon`.
    pub custid: String,
    pub metadata_key: ReceiptKey,
    /// `None` once the secret is gone (received, burned, expired, orphaned) or in `recent` lists.
    pub secret_key: Option<SecretKey>,
    /// The requested TTL after clamping, in seconds.
    pub ttl: u64,
    /// Seconds left on the receipt itself.
    pub metadata_ttl: u64,
    /// Seconds left on the secret; `None` once the secret is gone.
    pub secret_ttl: Option<u64>,
    /// `https://<host>/receipt/<metadata_key>`; absent from v0.23 servers.
    pub metadata_url: Option<String>,
    pub state: ReceiptState,
    /// Unix seconds.
    pub created: i64,
    pub updated: i64,
    /// Unix seconds of the reveal; only when `state` is `received`.
    pub received: Option<i64>,
    /// Obscured recipient emails, e.g. `al***@e***.com`.
    pub recipients: Vec<String>,
    /// `""` unless the secret was made for a custom domain.
    pub share_domain: String,
    /// Absent from burn responses and recent lists.
    pub passphrase_required: Option<bool>,
    /// The generated password: in `generate` responses, and once in a receipt view shortly after.
    pub value: Option<SecretText>,
    /// The full link a recipient opens, built from the upstream base URL or `share_domain`.
    /// Not an OTS field; `None` when there is no live secret key.
    pub share_url: Option<String>,
}

/// What every create operation (share and generate) takes besides its content. OTS reads these
/// the same way on both, so one type holds them and every layer handles them once.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Seconds; OTS clamps silently, so no range is enforced here.
    pub ttl: Option<i64>,
    pub passphrase: Option<Passphrase>,
    /// Email address; only authenticated callers may set one.
    pub recipient: Option<String>,
    pub share_domain: Option<String>,
}

/// What `POST /share` takes.
#[derive(Debug, Clone)]
pub struct ShareRequest {
    pub secret: SecretText,
    pub options: CreateOptions,
}

/// Which character classes a generated password draws from. `None` means the server default
/// (every class on, ambiguous characters excluded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CharacterSets {
    pub uppercase: Option<bool>,
    pub lowercase: Option<bool>,
    pub numbers: Option<bool>,
    pub symbols: Option<bool>,
    pub exclude_ambiguous: Option<bool>,
}

/// What `POST /generate` takes.
#[derive(Debug, Clone, Default)]
pub struct GenerateRequest {
    /// Password length; OTS defaults to 12 and allows at most 128.
    pub length: Option<i64>,
    pub character_sets: CharacterSets,
    pub options: CreateOptions,
}

/// What a successful reveal returns.
#[derive(Debug, Clone)]
pub struct Revealed {
    pub value: SecretText,
    pub secret_key: SecretKey,
    /// Scheme and host the secret belongs to, e.g. `https://onetimesecret.com`.
    pub share_domain: String,
}

/// What a successful burn returns. OTS serialises the receipt as it was *before* the burn.
#[derive(Debug, Clone)]
pub struct Burned {
    pub receipt: Receipt,
    pub secret_shortkey: String,
}

/// What `GET /status` and `GET /authcheck` return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamStatus {
    pub status: String,
    pub locale: String,
}

/// How long to wait before trying again, rounded up to whole seconds the way `Retry-After` wants.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs();
    if wait.subsec_nanos() > 0 {
        secs + 1
    } else {
        secs.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_must_be_long_and_printable() {
        assert!(check_token_strength("x").is_err());
        assert!(check_token_strength(&"a".repeat(MIN_TOKEN_CHARS - 1)).is_err());
        assert!(check_token_strength(&"a".repeat(MIN_TOKEN_CHARS)).is_ok());
        let spaced = format!("{} x", "a".repeat(MIN_TOKEN_CHARS));
        let problem = check_token_strength(&spaced).unwrap_err();
        assert!(!problem.contains(&spaced), "the token is never echoed");
    }

    #[test]
    fn debug_output_never_contains_secret_material() {
        let text = SecretText::new("canary-value-1");
        let pass = Passphrase::new("canary-pass-1");
        let creds = Credentials::new("team@example.com", "canary-key-1");
        let printed = format!("{text:?} {pass:?} {creds:?}");
        assert!(!printed.contains("canary-value-1"));
        assert!(!printed.contains("canary-pass-1"));
        assert!(!printed.contains("canary-key-1"));
        assert!(printed.contains("team@example.com"));
    }

    #[test]
    fn key_debug_shows_only_the_short_id() {
        let key = SecretKey::parse("abcdefgh0123456789abcdefgh").unwrap();
        assert_eq!(format!("{key:?}"), "SecretKey(abcdefgh…)");
    }

    #[test]
    fn keys_reject_characters_that_could_escape_a_url_path() {
        for bad in ["", "../etc", "a/b", "a?b", "a b", "a%2f"] {
            assert!(SecretKey::parse(bad).is_err(), "{bad:?} accepted");
            assert!(ReceiptKey::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(SecretKey::parse("Az09_-").is_ok());
    }

    #[test]
    fn caller_ids_are_parsed_strictly_or_sanitised() {
        let longest = "a".repeat(CallerId::MAX_CHARS);
        for good in ["deploy-bot.v2_1", longest.as_str()] {
            assert_eq!(
                CallerId::parse(good).map(CallerId::into_string).as_deref(),
                Some(good)
            );
        }
        let too_long = "a".repeat(CallerId::MAX_CHARS + 1);
        for bad in ["", "has space", "slash/y", "ünï", too_long.as_str(), "a\tb"] {
            assert_eq!(CallerId::parse(bad), None, "{bad:?}");
        }
        let sanitised = |raw: &str| CallerId::sanitise(raw).map(CallerId::into_string);
        assert_eq!(
            sanitised("Claude Desktop").as_deref(),
            Some("Claude_Desktop")
        );
        assert_eq!(sanitised("日本語"), None);
        assert_eq!(sanitised(&"x".repeat(200)).map(|id| id.len()), Some(64));
    }

    #[test]
    fn every_state_reports_a_name_from_the_published_list() {
        for raw in ReceiptState::REPORTED_NAMES
            .iter()
            .copied()
            .chain(["previewed", ""])
        {
            let state = ReceiptState::parse(raw);
            assert!(
                ReceiptState::REPORTED_NAMES.contains(&state.reported_name()),
                "{raw:?}"
            );
            if raw != "other" && ReceiptState::REPORTED_NAMES.contains(&raw) {
                assert_eq!(state.reported_name(), raw);
                assert_eq!(state.as_str(), raw);
            }
        }
        assert_eq!(ReceiptState::parse("previewed").reported_name(), "other");
        assert_eq!(ReceiptState::parse("previewed").as_str(), "previewed");
    }

    #[test]
    fn unknown_states_are_kept_verbatim() {
        let state = ReceiptState::parse("previewed");
        assert_eq!(state, ReceiptState::Other("previewed".into()));
        assert_eq!(state.as_str(), "previewed");
        assert_eq!(ReceiptState::parse("received"), ReceiptState::Received);
    }

    #[test]
    fn only_known_final_states_are_not_live() {
        let live: Vec<&str> = [
            "new",
            "viewed",
            "received",
            "burned",
            "expired",
            "orphaned",
            "previewed",
        ]
        .into_iter()
        .filter(|raw| ReceiptState::parse(raw).is_live())
        .collect();
        assert_eq!(live, ["new", "viewed", "previewed"]);
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(12_001)), 13);
        assert_eq!(retry_after_secs(Duration::from_secs(12)), 12);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
