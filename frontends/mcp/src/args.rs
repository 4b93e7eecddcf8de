//! Tool arguments. Field doc comments become the JSON Schema descriptions a model reads.
//!
//! Unknown fields are refused: a misspelt `passphrase` silently ignored would create an
//! unprotected secret. Nothing here derives `Debug`, so secrets cannot reach a log by accident.

use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
#[schemars(transform = crate::schema::plain_integers)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShareArgs {
    /// The secret text to share (at most 10 000 bytes). It is stored once upstream and never
    /// returned by this server.
    pub secret: String,
    /// Optional passphrase the recipient must enter to open the link. Send it to them through a
    /// different channel than the link.
    #[serde(default)]
    pub passphrase: Option<String>,
    /// Lifetime of the link in seconds; the server clamps it to its own limits (typically 60 s
    /// to 7 days, longer for paid accounts). Default: the server's default, usually 7 days.
    #[serde(default)]
    pub ttl: Option<u32>,
    /// Optional email address OTS sends the link to. Needs the gateway to have a team account.
    #[serde(default)]
    pub recipient: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(transform = crate::schema::plain_integers)]
#[serde(deny_unknown_fields)]
pub(crate) struct GenerateArgs {
    /// Length of the generated password, 1 to 128 characters. Default: 12.
    #[serde(default)]
    pub length: Option<u32>,
    /// Lifetime of the link in seconds; the server clamps it to its own limits. Default: the
    /// server's default, usually 7 days.
    #[serde(default)]
    pub ttl: Option<u32>,
    /// Optional passphrase the recipient must enter to open the link. Send it to them through a
    /// different channel than the link.
    #[serde(default)]
    pub passphrase: Option<String>,
    /// Optional email address OTS sends the link to. Needs the gateway to have a team account.
    #[serde(default)]
    pub recipient: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(transform = crate::schema::plain_integers)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusArgs {
    /// The metadata_key returned when the secret was created, or its receipt link
    /// (`https://host/receipt/<key>` or `https://host/private/<key>`). Not the share link.
    pub metadata_key: String,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(transform = crate::schema::plain_integers)]
#[serde(deny_unknown_fields)]
pub(crate) struct BurnArgs {
    /// The metadata_key returned when the secret was created, or its receipt link
    /// (`https://host/receipt/<key>` or `https://host/private/<key>`). Not the share link.
    pub metadata_key: String,
    /// The secret's passphrase, if it was created with one.
    #[serde(default)]
    pub passphrase: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(transform = crate::schema::plain_integers)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetrieveArgs {
    /// The share link (`https://host/secret/<key>`) or just its key.
    pub secret_key: String,
    /// The secret's passphrase, if it has one.
    #[serde(default)]
    pub passphrase: Option<String>,
}

/// OTS treats an empty passphrase as none; so does the gateway, rather than create a secret
/// whose passphrase is the empty string.
pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.is_empty())
}
