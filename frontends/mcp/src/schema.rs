//! Adjustments to the JSON Schemas schemars generates, so that every client's validator accepts
//! them and every result (errors included) validates against the tool's output schema.

use rmcp::model::JsonObject;
use schemars::Schema;
use schemars::transform::transform_subschemas;
use serde_json::{Value, json};

/// Makes a generated schema portable:
/// - drops `format` from integers (`"format": "uint32"` is a schemars convention, not a JSON
///   Schema format, and AJV-based clients such as the MCP Inspector print "unknown format" for
///   each); `minimum` still states the bounds;
/// - writes an optional field as its plain type instead of `type: [X, "null"]` or
///   `anyOf: [X, {type: null}]`, which strict validators flag as less portable. Optional fields
///   are left out of `required`, and results leave out an absent field rather than send `null`.
pub(crate) fn portable(schema: &mut Schema) {
    if let Some(Value::Array(kinds)) = schema.get("type") {
        let kinds: Vec<Value> = kinds.iter().filter(|k| *k != "null").cloned().collect();
        if let [single] = kinds.as_slice() {
            schema.insert("type".to_owned(), single.clone());
        } else {
            schema.insert("type".to_owned(), Value::Array(kinds));
        }
    }
    if let Some(Value::Array(options)) = schema.get("anyOf") {
        let options: Vec<Value> = options
            .iter()
            .filter(|option| option.get("type") != Some(&json!("null")))
            .cloned()
            .collect();
        if let [Value::Object(single)] = options.as_slice() {
            let single = single.clone();
            schema.remove("anyOf");
            for (key, value) in single {
                schema.insert(key, value);
            }
        }
    }
    if schema.get("type") == Some(&json!("integer")) {
        schema.remove("format");
    }
    transform_subschemas(&mut portable, schema);
}

/// The body of every failed tool call, as a schema: `code` always, `retry_after_seconds` when a
/// wait is known.
fn error_body_schema() -> Value {
    json!({
        "type": "object",
        "description": "A failed call (isError: true).",
        "properties": {
            "code": {
                "type": "string",
                "description": "Stable, machine-readable error code, e.g. rate_limited, \
                                invalid_input, unknown_secret."
            },
            "message": {
                "type": "string",
                "description": "What went wrong and what to do about it."
            },
            "retry_after_seconds": {
                "type": "integer",
                "minimum": 0,
                "description": "Seconds to wait before retrying, when known."
            }
        },
        "required": ["code", "message"]
    })
}

/// A tool's output schema widened to "the result, or an error body".
///
/// Clients such as the MCP Inspector and the TypeScript SDK validate `structuredContent` against
/// the output schema even on `isError` results; with the success schema alone, every error would
/// fail validation and its code would never reach the user. Definitions stay at the root so the
/// success schema's `$ref`s still resolve.
pub(crate) fn or_error(success: &JsonObject) -> JsonObject {
    let mut success = success.clone();
    let definitions = success.remove("$defs");
    success.remove("$schema");
    let mut widened = JsonObject::new();
    widened.insert("type".to_owned(), json!("object"));
    if let Some(definitions) = definitions {
        widened.insert("$defs".to_owned(), definitions);
    }
    widened.insert(
        "anyOf".to_owned(),
        json!([Value::Object(success), error_body_schema()]),
    );
    widened
}

#[cfg(test)]
mod tests {
    use schemars::{JsonSchema, schema_for};

    use super::*;

    #[derive(JsonSchema)]
    #[schemars(transform = super::portable)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    #[derive(JsonSchema)]
    #[schemars(transform = super::portable)]
    #[allow(dead_code)]
    struct Sample {
        count: u32,
        maybe: Option<u32>,
        name: Option<String>,
        inner: Option<Inner>,
    }

    #[test]
    fn integer_formats_and_null_types_are_removed() {
        let schema = serde_json::to_value(schema_for!(Sample)).unwrap();
        let text = schema.to_string();
        assert!(!text.contains("uint32"), "{text}");
        assert!(!text.contains("null"), "{text}");
        assert_eq!(schema["properties"]["count"]["minimum"], 0);
        assert_eq!(schema["properties"]["maybe"]["type"], "integer");
        assert_eq!(schema["required"], json!(["count"]), "{text}");
    }

    #[test]
    fn widened_schemas_keep_definitions_at_the_root() {
        let Value::Object(success) = serde_json::to_value(schema_for!(Sample)).unwrap() else {
            panic!("not an object");
        };
        let widened = or_error(&success);
        assert_eq!(widened["type"], "object");
        assert!(widened.contains_key("$defs"));
        assert_eq!(widened["anyOf"][1]["required"], json!(["code", "message"]));
        assert!(widened["anyOf"][0].get("$defs").is_none());
    }
}
