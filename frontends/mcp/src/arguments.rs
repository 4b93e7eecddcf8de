//! Tool arguments: their types (whose JSON Schemas are what models read), the check of a call's
//! arguments against the tool's own input schema, and rmcp's leftover deserialisation errors.
//!
//! The input schema is the one statement of every argument rule: the check below reads its
//! limits, so an error names the field and the range the schema promised. Unknown arguments are
//! refused: a misspelt `passphrase` silently ignored would create an unprotected secret. Secret
//! values are held in secret types from the moment they are parsed, and no error quotes a value.

use std::borrow::Cow;

use ots_gateway_core::Error;
use ots_gateway_core::model::{Passphrase, SecretText};
use rmcp::model::{CallToolResponse, JsonObject};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::errors::ToolError;

/// Passphrase length the current OTS server accepts (shorter or longer ones are refused upstream).
const PASSPHRASE_CHARS: (u64, u64) = (4, 128);

#[derive(Deserialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShareArgs {
    /// The secret text to share (at most 10 000 bytes). It is stored once upstream and never
    /// returned by this server. Leave it out when the user has not given you the secret: if
    /// your client can open links for the user (URL elicitation), the user types it into a
    /// one-time page and this call returns the link once they have; otherwise use
    /// ask_user_for_secret.
    #[serde(default)]
    pub secret: Option<SecretArg>,
    /// Optional passphrase (4 to 128 characters) the recipient must enter to open the link. Send
    /// it to them through a different channel than the link.
    #[serde(default)]
    #[schemars(length(min = PASSPHRASE_CHARS.0, max = PASSPHRASE_CHARS.1))]
    pub passphrase: Option<PassphraseArg>,
    /// Lifetime of the link in seconds. The OTS server applies its own bounds: under 60 becomes
    /// 60, and over the account's maximum (7 days anonymous, 30 days with a team account) becomes
    /// that maximum; the result's expires_in_seconds shows what applied. Default: 7 days.
    #[serde(default)]
    #[schemars(range(min = 0, max = 4_294_967_295u32))]
    pub ttl: Option<u32>,
    /// Optional email address OTS sends the link to. Needs the gateway to have a team account.
    #[serde(default)]
    pub recipient: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct GenerateArgs {
    /// Length of the generated password, 1 to 128 characters. Default: 12.
    #[serde(default)]
    #[schemars(range(min = 1, max = 128))]
    pub length: Option<u32>,
    /// Lifetime of the link in seconds. The OTS server applies its own bounds: under 60 becomes
    /// 60, and over the account's maximum (7 days anonymous, 30 days with a team account) becomes
    /// that maximum; the result's expires_in_seconds shows what applied. Default: 7 days.
    #[serde(default)]
    #[schemars(range(min = 0, max = 4_294_967_295u32))]
    pub ttl: Option<u32>,
    /// Optional passphrase (4 to 128 characters) the recipient must enter to open the link. Send
    /// it to them through a different channel than the link.
    #[serde(default)]
    #[schemars(length(min = PASSPHRASE_CHARS.0, max = PASSPHRASE_CHARS.1))]
    pub passphrase: Option<PassphraseArg>,
    /// Optional email address OTS sends the link to. Needs the gateway to have a team account.
    #[serde(default)]
    pub recipient: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusArgs {
    /// The metadata_key returned when the secret was created, or its receipt link
    /// (`https://host/receipt/<key>` or `https://host/private/<key>`). Not the share link.
    pub metadata_key: String,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct BurnArgs {
    /// The metadata_key returned when the secret was created, or its receipt link
    /// (`https://host/receipt/<key>` or `https://host/private/<key>`). Not the share link.
    pub metadata_key: String,
    /// The secret's passphrase, if it was created with one.
    #[serde(default)]
    pub passphrase: Option<PassphraseArg>,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetrieveArgs {
    /// The share link (`https://host/secret/<key>`) or just its key.
    pub secret_key: String,
    /// The secret's passphrase, if it has one.
    #[serde(default)]
    pub passphrase: Option<PassphraseArg>,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct AskArgs {
    /// Lifetime of the link once the person has typed the secret, in seconds; the same bounds
    /// as share_secret's ttl apply. Default: 7 days.
    #[serde(default)]
    #[schemars(range(min = 0, max = 4_294_967_295u32))]
    pub ttl: Option<u32>,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntryArgs {
    /// The entry_id ask_user_for_secret returned.
    pub entry_id: String,
}

/// For tools that take nothing: an object with no properties, closed to additions, so a call
/// with arguments the model invented is told so rather than silently obeyed.
#[derive(Deserialize, JsonSchema)]
#[schemars(transform = crate::schema::portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoArgs {}

/// A secret value as an argument: a plain JSON string on the wire, a [`SecretText`] from the
/// moment it is parsed.
pub(crate) struct SecretArg(pub SecretText);

impl<'de> Deserialize<'de> for SecretArg {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| SecretArg(SecretText::new(text)))
    }
}

impl JsonSchema for SecretArg {
    fn schema_name() -> Cow<'static, str> {
        "SecretText".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string"})
    }
}

/// A passphrase as an argument. OTS treats an empty passphrase as none, and so does the gateway,
/// rather than create a secret whose passphrase is the empty string.
pub(crate) struct PassphraseArg(Option<Passphrase>);

impl PassphraseArg {
    pub(crate) fn into_passphrase(arg: Option<PassphraseArg>) -> Option<Passphrase> {
        arg.and_then(|PassphraseArg(passphrase)| passphrase)
    }
}

impl<'de> Deserialize<'de> for PassphraseArg {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(PassphraseArg(
            (!text.is_empty()).then(|| Passphrase::new(text)),
        ))
    }
}

impl JsonSchema for PassphraseArg {
    fn schema_name() -> Cow<'static, str> {
        "Passphrase".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string"})
    }
}

/// OTS treats an empty recipient as none; so does the gateway.
pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.is_empty())
}

/// Every argument name a tool declares, as the `'static` names the core's error carries.
const FIELDS: [&str; 8] = [
    "entry_id",
    "secret",
    "passphrase",
    "ttl",
    "recipient",
    "length",
    "metadata_key",
    "secret_key",
];

fn static_field(name: &str) -> &'static str {
    FIELDS
        .into_iter()
        .find(|field| *field == name)
        .unwrap_or("arguments")
}

/// Checks a call's arguments against the tool's input schema: unknown names, missing required
/// ones, wrong JSON types and values outside the stated limits. `null` and (for optional text)
/// `""` count as absent, as the tools treat them.
pub(crate) fn check_arguments(
    schema: &JsonObject,
    arguments: Option<&JsonObject>,
) -> Result<(), Error> {
    let empty = JsonObject::new();
    let arguments = arguments.unwrap_or(&empty);
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for name in arguments.keys() {
        if !properties.contains_key(name) {
            return Err(unknown_argument(name, properties));
        }
    }
    for name in &required {
        if arguments.get(*name).is_none_or(Value::is_null) {
            return Err(Error::InvalidInput {
                field: static_field(name),
                reason: "this argument is required".into(),
            });
        }
    }
    for (name, value) in arguments {
        let Some(property) = properties.get(name).and_then(Value::as_object) else {
            continue;
        };
        let optional = !required.contains(&name.as_str());
        if value.is_null() && optional {
            continue;
        }
        check_value(property, value, optional).map_err(|reason| Error::InvalidInput {
            field: static_field(name),
            reason,
        })?;
    }
    Ok(())
}

fn unknown_argument(name: &str, properties: &JsonObject) -> Error {
    // The name is quoted back only when it looks like an identifier: a model may put anything in
    // a key, a secret included.
    let shown = if name.len() <= 32 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("unknown argument `{name}`")
    } else {
        "an unknown argument".to_owned()
    };
    let known: Vec<&str> = properties.keys().map(String::as_str).collect();
    let takes = if known.is_empty() {
        "this tool takes no arguments".to_owned()
    } else {
        format!("this tool takes: {}", known.join(", "))
    };
    Error::InvalidInput {
        field: "arguments",
        reason: format!("{shown}; {takes}"),
    }
}

fn check_value(property: &JsonObject, value: &Value, optional: bool) -> Result<(), String> {
    let kind = property.get("type").and_then(Value::as_str).unwrap_or("");
    let number = |key: &str| property.get(key).and_then(Value::as_u64);
    match kind {
        "integer" => {
            let (min, max) = (number("minimum").unwrap_or(0), number("maximum"));
            let range = match max {
                Some(max) => format!("a whole number from {min} to {max}"),
                None => format!("a whole number of at least {min}"),
            };
            match value.as_u64() {
                Some(n) if n >= min && max.is_none_or(|max| n <= max) => Ok(()),
                _ => Err(format!("must be {range} (got {})", json_kind(value))),
            }
        }
        "string" => {
            let Some(text) = value.as_str() else {
                return Err(format!("must be a string (got {})", json_kind(value)));
            };
            if text.is_empty() && optional {
                return Ok(());
            }
            let chars = text.chars().count() as u64;
            let (min, max) = (number("minLength").unwrap_or(0), number("maxLength"));
            if chars < min || max.is_some_and(|max| chars > max) {
                let range = match max {
                    Some(max) => format!("{min} to {max} characters"),
                    None => format!("at least {min} characters"),
                };
                return Err(format!("must be {range} long (got {chars})"));
            }
            Ok(())
        }
        "boolean" if !value.is_boolean() => {
            Err(format!("must be true or false (got {})", json_kind(value)))
        }
        _ => Ok(()),
    }
}

/// What kind of JSON value was given, never the value itself.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_u64() => "a number out of range",
        Value::Number(n) if n.is_i64() => "a negative number",
        Value::Number(_) => "a fractional number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Gives rmcp's own unstructured argument errors (left over when the check above passed but
/// deserialisation still failed) the tools' error shape, with any quoted value cut out.
pub(crate) fn structure_argument_error(response: CallToolResponse) -> CallToolResponse {
    let CallToolResponse::Complete(result) = &response else {
        return response;
    };
    if result.is_error != Some(true) || result.structured_content.is_some() {
        return response;
    }
    let text = result
        .content
        .first()
        .and_then(|block| block.as_text())
        .map(|content| redact_values(&content.text))
        .unwrap_or_else(|| "the arguments do not match the tool's input schema".to_owned());
    ToolError::invalid_arguments(text).into_response()
}

/// `invalid type: string "hunter2", expected u32` becomes `invalid type: string, expected u32`.
/// Field names (`missing field `secret``) are kept: they are what the model needs to fix.
fn redact_values(message: &str) -> String {
    for marker in ["invalid type: ", "invalid value: "] {
        let Some(start) = message.find(marker).map(|at| at + marker.len()) else {
            continue;
        };
        // The last one: a quoted value may itself contain ", expected".
        let Some(end) = message.rfind(", expected") else {
            continue;
        };
        if end < start {
            continue;
        }
        let kind: Vec<&str> = message[start..end]
            .split_whitespace()
            .take_while(|word| !word.starts_with(['"', '`', '\'']))
            .collect();
        return format!("{}{}{}", &message[..start], kind.join(" "), &message[end..]);
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use rmcp::model::{CallToolResult, ContentBlock};
    use schemars::schema_for;
    use serde_json::json;

    use super::*;

    fn schema_of<T: JsonSchema>() -> JsonObject {
        match serde_json::to_value(schema_for!(T)) {
            Ok(Value::Object(object)) => object,
            other => panic!("not an object schema: {other:?}"),
        }
    }

    fn check<T: JsonSchema>(arguments: Value) -> Result<(), String> {
        let Value::Object(arguments) = arguments else {
            panic!("arguments must be an object");
        };
        check_arguments(&schema_of::<T>(), Some(&arguments)).map_err(|e| e.to_string())
    }

    #[test]
    fn ttl_errors_name_the_field_and_range_without_the_value() {
        for bad in [json!(-1), json!(1u64 << 40), json!("600"), json!(1.5)] {
            let message = check::<ShareArgs>(json!({"secret": "s", "ttl": bad})).unwrap_err();
            assert!(
                message.starts_with("invalid ttl: must be a whole number from 0 to 4294967295"),
                "{message}"
            );
            assert!(
                !message.contains("600") && !message.contains("1.5"),
                "{message}"
            );
        }
        assert!(check::<ShareArgs>(json!({"secret": "s", "ttl": 0})).is_ok());
    }

    #[test]
    fn length_and_passphrase_limits_come_from_the_schema() {
        let zero = check::<GenerateArgs>(json!({"length": 0})).unwrap_err();
        assert_eq!(
            zero,
            "invalid length: must be a whole number from 1 to 128 (got a number out of range)"
        );
        let short = check::<GenerateArgs>(json!({"passphrase": "abc"})).unwrap_err();
        assert_eq!(
            short,
            "invalid passphrase: must be 4 to 128 characters long (got 3)"
        );
        assert!(check::<GenerateArgs>(json!({"passphrase": "", "length": 128})).is_ok());
    }

    #[test]
    fn unknown_and_missing_arguments_are_named() {
        let extra = check::<NoArgs>(json!({"limit": 5})).unwrap_err();
        assert_eq!(
            extra,
            "invalid arguments: unknown argument `limit`; this tool takes no arguments"
        );
        let odd = check::<NoArgs>(json!({"hunter2 is my password": 1})).unwrap_err();
        assert!(!odd.contains("hunter2"), "{odd}");
        let missing = check::<StatusArgs>(json!({})).unwrap_err();
        assert_eq!(missing, "invalid metadata_key: this argument is required");
        let wrong = check::<StatusArgs>(json!({"metadata_key": 5})).unwrap_err();
        assert_eq!(
            wrong,
            "invalid metadata_key: must be a string (got a number out of range)"
        );
    }

    #[test]
    fn quoted_values_are_cut_and_field_names_kept() {
        let cases = [
            (
                r#"failed to deserialize parameters: invalid type: string "hunter2", expected u32"#,
                "failed to deserialize parameters: invalid type: string, expected u32",
            ),
            (
                "failed to deserialize parameters: invalid value: integer `-5`, expected u32",
                "failed to deserialize parameters: invalid value: integer, expected u32",
            ),
            (
                r#"invalid type: string "a, expected b", expected a string"#,
                "invalid type: string, expected a string",
            ),
            (
                "failed to deserialize parameters: missing field `secret`",
                "failed to deserialize parameters: missing field `secret`",
            ),
        ];
        for (raw, redacted) in cases {
            assert_eq!(redact_values(raw), redacted);
        }
    }

    #[test]
    fn unstructured_errors_become_invalid_input() {
        let raw = CallToolResult::error(vec![ContentBlock::text(
            r#"failed to deserialize parameters: invalid type: string "s3cret", expected u32"#,
        )]);
        let CallToolResponse::Complete(result) = structure_argument_error(raw.into()) else {
            panic!("not complete");
        };
        let body = result.structured_content.unwrap();
        assert_eq!(body["code"], "invalid_input");
        assert!(!body.to_string().contains("s3cret"));
        assert_eq!(result.is_error, Some(true));
    }
}
