//! Arguments that do not match a tool's schema, as the same structured errors the tools return.
//!
//! rmcp turns a deserialisation failure into a plain-text `isError` result carrying serde's
//! message. That message can quote the offending value (`invalid type: string "…"`), which may
//! be a secret a model put in the wrong field, so the value is cut out before the client sees it.

use rmcp::model::{CallToolResponse, CallToolResult};
use serde_json::json;

/// Gives rmcp's unstructured argument errors the `{code, message}` shape, with values redacted.
/// Every error the tools produce themselves is already structured, so an unstructured one can
/// only be rmcp's.
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
    tracing::debug!(
        code = "invalid_input",
        message = %ots_gateway_core::log_safe::LogSafe(&text),
        "tool arguments rejected"
    );
    CallToolResult::structured_error(json!({"code": "invalid_input", "message": text})).into()
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
    use rmcp::model::ContentBlock;

    use super::*;

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

    #[test]
    fn successes_and_structured_errors_pass_through() {
        let ok = CallToolResult::structured(json!({"a": 1}));
        let CallToolResponse::Complete(result) = structure_argument_error(ok.into()) else {
            panic!("not complete");
        };
        assert_eq!(result.structured_content.unwrap()["a"], 1);
    }
}
