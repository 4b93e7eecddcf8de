//! Adjustments to the JSON Schemas schemars generates for tool arguments and results.

use schemars::Schema;
use schemars::transform::transform_subschemas;

/// Removes `format` from integer schemas (`"format": "uint32"`): it is a schemars convention,
/// not a JSON Schema format, and AJV-based clients (the MCP Inspector, the conformance suite)
/// print "unknown format" for every one. `minimum: 0` still says the number is non-negative.
pub(crate) fn plain_integers(schema: &mut Schema) {
    let is_integer = match schema.get("type") {
        Some(serde_json::Value::String(kind)) => kind == "integer",
        Some(serde_json::Value::Array(kinds)) => kinds.iter().any(|k| k == "integer"),
        _ => false,
    };
    if is_integer {
        schema.remove("format");
    }
    transform_subschemas(&mut plain_integers, schema);
}

#[cfg(test)]
mod tests {
    use schemars::{JsonSchema, schema_for};

    #[derive(JsonSchema)]
    #[schemars(transform = super::plain_integers)]
    #[allow(dead_code)]
    struct Sample {
        count: u32,
        maybe: Option<u32>,
        name: String,
    }

    #[test]
    fn integer_formats_are_removed_and_minimums_kept() {
        let schema = serde_json::to_value(schema_for!(Sample)).unwrap();
        let text = schema.to_string();
        assert!(!text.contains("uint32"), "{text}");
        assert_eq!(schema["properties"]["count"]["minimum"], 0);
    }
}
