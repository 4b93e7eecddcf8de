//! The one error type of the core. Every frontend matches it exhaustively, so adding a variant
//! forces each of them to decide how its users see it.
//!
//! Display strings are shown to callers and written to logs. They therefore never contain a
//! secret, a passphrase, a credential, a key or an upstream URL (OTS puts keys in URL paths).

use std::time::Duration;

use thiserror::Error;

use crate::model::Operation;

/// Who refused a request for being too frequent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitScope {
    /// The OTS server itself said "rate limited".
    Upstream,
    /// The gateway's shared budget for calls to OTS is spent.
    GatewayUpstreamBudget,
    /// This caller's own quota for this kind of operation is spent.
    Caller,
}

/// Whose count of wrong passphrases locked a secret (see `passphrase_guard`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockScope {
    /// This caller used up its own attempts on this secret at the gateway.
    Caller,
    /// All callers together used up the secret's attempts at the gateway.
    Secret,
    /// The OTS server itself has locked the secret.
    Upstream,
}

/// Why talking to the upstream failed, as far as the caller needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFailure {
    /// No answer within the configured time. The request may still have taken effect upstream.
    Timeout,
    /// Could not connect, or the connection broke before an answer arrived.
    Network,
    /// An answer with an HTTP status OTS does not use for this route (5xx, a proxy's 502...).
    Status(u16),
    /// A 200 (or OTS-style error) whose body is not what OTS sends.
    MalformedResponse,
}

#[derive(Debug, Error)]
pub enum Error {
    /// The secret or receipt does not exist, was already revealed or burned, or has expired. On
    /// retrieve, OTS gives the same answer for a wrong passphrase.
    #[error("Unknown secret")]
    UnknownSecret,

    /// Burning a passphrase-protected secret needs its passphrase.
    #[error("Incorrect passphrase")]
    IncorrectPassphrase,

    /// Too many wrong passphrases for this secret: further attempts are refused until
    /// `retry_after` (when known), whatever passphrase they carry.
    #[error("too many incorrect passphrase attempts for this secret; try again later")]
    PassphraseLocked {
        scope: LockScope,
        retry_after: Option<Duration>,
    },

    /// The upstream rejected the credentials, or the route needs an account and none was sent.
    #[error("Not authorized")]
    NotAuthorized,

    /// The secret is larger than the upstream accepts.
    #[error("Secret value exceeds the maximum size of {max_bytes} bytes")]
    SecretTooLarge { max_bytes: u64 },

    /// The upstream refused the request with a message of its own (validation failures, its
    /// "unexpected error"). `intended_status` is OTS's `X-OTS-Intended-Status`, when it sent one.
    #[error("{message}")]
    Refused {
        message: String,
        intended_status: Option<u16>,
    },

    /// Input the gateway itself rejects before anything is sent upstream.
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },

    /// Too many requests. `retry_after` is known for the gateway's own limits and sometimes for
    /// the upstream's.
    #[error("rate limited")]
    RateLimited {
        scope: RateLimitScope,
        retry_after: Option<Duration>,
    },

    /// This frontend is not allowed to perform this operation (see the frontend's
    /// `allowed_operations` in the configuration).
    #[error("{operation} is not enabled for this frontend")]
    NotAllowed { operation: Operation },

    /// The receipt was not created by this caller through the gateway. Deliberately the same
    /// answer whether or not the key exists, so it cannot be used to probe for keys.
    #[error("no receipt of yours matches that key")]
    NotOwned,

    /// The gateway's own ledger could not be read or written.
    #[error("the gateway's ledger is unavailable")]
    Ledger,

    /// The upstream could not be reached or answered in a way OTS never does.
    #[error("{}", describe_upstream_failure(.0))]
    Upstream(UpstreamFailure),
}

fn describe_upstream_failure(failure: &UpstreamFailure) -> String {
    match failure {
        UpstreamFailure::Timeout => "the OTS server did not answer in time".to_owned(),
        UpstreamFailure::Network => "the OTS server could not be reached".to_owned(),
        UpstreamFailure::Status(code) => format!("the OTS server answered with HTTP {code}"),
        UpstreamFailure::MalformedResponse => {
            "the OTS server sent a response the gateway could not read".to_owned()
        }
    }
}

impl Error {
    /// A stable, machine-readable name for the condition: metric labels, MCP error codes, audit
    /// outcomes. Never contains anything caller-supplied.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::UnknownSecret => "unknown_secret",
            Error::IncorrectPassphrase => "incorrect_passphrase",
            Error::PassphraseLocked { .. } => "passphrase_locked",
            Error::NotAuthorized => "not_authorized",
            Error::SecretTooLarge { .. } => "secret_too_large",
            Error::Refused { .. } => "refused",
            Error::InvalidInput { .. } => "invalid_input",
            Error::RateLimited { .. } => "rate_limited",
            Error::NotAllowed { .. } => "not_allowed",
            Error::NotOwned => "not_owned",
            Error::Ledger => "ledger_unavailable",
            Error::Upstream(UpstreamFailure::Timeout) => "upstream_timeout",
            Error::Upstream(_) => "upstream_unavailable",
        }
    }
}

impl Error {
    /// The Display text made safe for a log line (see [`crate::log_safe`]): an upstream message
    /// may echo what the caller sent, a recipient address included.
    pub fn for_log(&self) -> String {
        crate::log_safe::LogSafe(&self.to_string()).to_string()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_the_ots_wording_clients_look_for() {
        assert_eq!(Error::UnknownSecret.to_string(), "Unknown secret");
        assert_eq!(Error::NotAuthorized.to_string(), "Not authorized");
        assert_eq!(
            Error::SecretTooLarge { max_bytes: 10_000 }.to_string(),
            "Secret value exceeds the maximum size of 10000 bytes"
        );
    }

    #[test]
    fn upstream_failures_describe_the_problem_without_a_url() {
        let text = Error::Upstream(UpstreamFailure::Status(503)).to_string();
        assert_eq!(text, "the OTS server answered with HTTP 503");
        assert!(!text.contains("http://") && !text.contains("https://"));
    }
}
