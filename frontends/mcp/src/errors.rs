//! Core errors as MCP tool results.
//!
//! Everything a caller can act on is a tool result with `isError: true` and a structured body
//! `{"code", "message", "retry_after_seconds"?}`, so a model reads it and can react; protocol
//! errors are left to rmcp for protocol faults (unknown tool, malformed request).

use ots_gateway_core::Error;
use ots_gateway_core::error::UpstreamFailure;
use ots_gateway_core::model::{Frontend, retry_after_secs};
use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::model::{CallToolResponse, CallToolResult};
use serde::Serialize;
use serde_json::json;

/// The body of every failed tool call.
#[derive(Debug, Serialize)]
struct ErrorBody {
    /// [`Error::kind`]: stable, for programs.
    code: &'static str,
    /// For the model and the person: what happened and what to do about it.
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_seconds: Option<u64>,
}

/// A failed tool call. Returned as the `Err` side of a tool, it becomes an `isError` result.
#[derive(Debug)]
pub(crate) struct ToolError(pub(crate) Error);

impl From<Error> for ToolError {
    fn from(error: Error) -> Self {
        ToolError(error)
    }
}

impl ToolError {
    fn body(&self) -> ErrorBody {
        let error = &self.0;
        let retry_after_seconds = match error {
            Error::RateLimited {
                retry_after: Some(wait),
                ..
            }
            | Error::PassphraseLocked {
                retry_after: Some(wait),
                ..
            } => Some(retry_after_secs(*wait)),
            _ => None,
        };
        ErrorBody {
            code: error.kind(),
            message: message_for(error),
            retry_after_seconds,
        }
    }

    /// Logged once, here, where the error becomes a response; the core returns errors unlogged
    /// and decides the level from whose fault the failure is.
    fn log(&self) {
        self.0.log(Frontend::Mcp, "tool call");
    }
}

/// The core's wording, plus what a model should do next where that is not obvious.
fn message_for(error: &Error) -> String {
    match error {
        Error::UnknownSecret => "Unknown secret: it was already viewed or burned, it expired, \
                                 the key is wrong, or (on retrieve) the passphrase is wrong"
            .to_owned(),
        Error::IncorrectPassphrase => {
            "Incorrect passphrase: this secret is passphrase-protected; pass its passphrase"
                .to_owned()
        }
        Error::NotAuthorized => "the gateway's OTS credentials were refused, or this needs an \
                                 OTS account; ask the gateway's operator"
            .to_owned(),
        Error::PassphraseLocked { retry_after, .. } => match retry_after {
            Some(wait) => format!(
                "{error}: the secret is protected against guessing; do not retry with other \
                 passphrases, ask its sender (the lock lifts in {} s)",
                retry_after_secs(*wait)
            ),
            None => format!(
                "{error}: the secret is protected against guessing; do not retry with other \
                 passphrases, ask its sender"
            ),
        },
        Error::RateLimited { retry_after, .. } => match retry_after {
            Some(wait) => format!("rate limited: try again in {} s", retry_after_secs(*wait)),
            None => "rate limited: try again later".to_owned(),
        },
        Error::NotOwned => "no receipt of yours matches that key: you can only inspect or burn \
                            secrets you created through this gateway"
            .to_owned(),
        Error::NotAllowed { .. } => {
            format!("{error}; the gateway's operator can enable it in the configuration")
        }
        Error::Upstream(UpstreamFailure::Timeout) => format!(
            "{error}; the request may still have taken effect, so check with list_recent_secrets \
             before creating the secret again"
        ),
        Error::SecretTooLarge { .. }
        | Error::Refused { .. }
        | Error::InvalidInput { .. }
        | Error::Ledger
        | Error::Upstream(_) => error.to_string(),
    }
}

impl ToolError {
    /// Arguments rmcp could not deserialise, described by `reason` (already free of values).
    pub(crate) fn invalid_arguments(reason: String) -> Self {
        ToolError(Error::InvalidInput {
            field: "arguments",
            reason,
        })
    }

    /// The `isError` result, logged once here.
    pub(crate) fn into_response(self) -> CallToolResponse {
        self.log();
        let ErrorBody {
            code,
            message,
            retry_after_seconds,
        } = self.body();
        let mut body = json!({"code": code, "message": message});
        if let Some(wait) = retry_after_seconds {
            body["retry_after_seconds"] = json!(wait);
        }
        CallToolResult::structured_error(body).into()
    }
}

impl IntoCallToolResult for ToolError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        Ok(self.into_response())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use ots_gateway_core::error::RateLimitScope;

    fn body(error: Error) -> serde_json::Value {
        serde_json::to_value(ToolError(error).body()).unwrap()
    }

    #[test]
    fn rate_limits_carry_whole_seconds_to_wait() {
        let value = body(Error::RateLimited {
            scope: RateLimitScope::Caller,
            retry_after: Some(Duration::from_millis(2_500)),
        });
        assert_eq!(value["code"], "rate_limited");
        assert_eq!(value["retry_after_seconds"], 3);
        assert_eq!(value["message"], "rate limited: try again in 3 s");
    }

    #[test]
    fn other_errors_have_no_retry_field() {
        let value = body(Error::NotOwned);
        assert_eq!(value["code"], "not_owned");
        assert!(value.get("retry_after_seconds").is_none());
    }

    #[test]
    fn results_are_flagged_as_errors_with_structured_content() {
        let response = ToolError(Error::UnknownSecret)
            .into_call_tool_result()
            .unwrap();
        let CallToolResponse::Complete(result) = response else {
            panic!("not a complete result");
        };
        assert_eq!(result.is_error, Some(true));
        assert_eq!(result.structured_content.unwrap()["code"], "unknown_secret");
    }
}
