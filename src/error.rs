//! The one error type of the core. Every frontend matches it exhaustively, so adding a variant
//! forces each of them to decide how its users see it.
//!
//! Display strings are shown to callers and written to logs. They therefore never contain a
//! secret, a passphrase, a credential, a key or an upstream URL (OTS puts keys in URL paths).

use std::time::Duration;

use thiserror::Error;

use crate::operation::{Frontend, Operation};

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
    /// Could not connect, or the connection broke before an answer arrived; the cause says which
    /// step failed, so an operator knows where to look.
    Network(NetworkCause),
    /// An answer with an HTTP status OTS does not use for this route (5xx, a proxy's 502...).
    Status(u16),
    /// A 200 (or OTS-style error) whose body is not what OTS sends.
    MalformedResponse,
    /// An answer longer than the gateway reads for that request (`limit_bytes`): not an OTS
    /// answer, or a list of receipts beyond any the gateway is made for.
    AnswerTooLarge { limit_bytes: usize },
}

/// Where talking to the upstream broke down before any answer arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkCause {
    /// The upstream's host name did not resolve (DNS).
    NameNotResolved,
    /// Nothing accepted the connection at that address and port.
    ConnectionRefused,
    /// The TLS handshake failed: an untrusted or mismatched certificate, or not TLS at all.
    Tls,
    /// The connection could not be made or broke off for another reason.
    Other,
}

/// The words for [`Error::NotAuthorized`] when the gateway sent the team's credentials: the
/// caller did nothing wrong, and the operator has to fix the gateway's configuration. Share,
/// readiness and status all say it this way.
pub const TEAM_CREDENTIALS_REJECTED: &str =
    "the gateway's OTS credentials were rejected by the upstream";

#[derive(Debug, Clone, Error)]
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
        UpstreamFailure::Network(cause) => {
            let why = match cause {
                NetworkCause::NameNotResolved => ": its host name does not resolve (DNS)",
                NetworkCause::ConnectionRefused => ": the connection was refused",
                NetworkCause::Tls => {
                    ": the TLS handshake failed (certificate not trusted or not for this host, \
                     or the server does not speak TLS)"
                }
                NetworkCause::Other => "",
            };
            format!("the OTS server could not be reached{why}")
        }
        UpstreamFailure::Status(code) => format!("the OTS server answered with HTTP {code}"),
        UpstreamFailure::MalformedResponse => {
            "the OTS server sent a response the gateway could not read".to_owned()
        }
        UpstreamFailure::AnswerTooLarge { limit_bytes } => format!(
            "the OTS server's answer was larger than the {} MiB the gateway reads for this request",
            limit_bytes / (1024 * 1024)
        ),
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

/// Who has to act for the same request to succeed. It decides how loudly a frontend logs the
/// failure (see [`Error::log`]) and nothing else: what the caller is told stays each frontend's
/// own rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The caller asked for something that cannot be done as asked: a wrong key or passphrase,
    /// invalid input, a disallowed operation, a spent personal quota. Routine; nobody else needs
    /// to hear about it.
    Caller,
    /// The gateway's own setup is broken: its OTS account is refused or missing, its ledger is
    /// unavailable. Nothing works until the operator acts.
    Operator,
    /// The OTS server (or the path to it) failed or is holding the gateway back. Usually passes,
    /// but an operator watching the logs should see it.
    Upstream,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Caller => "caller",
            Fault::Operator => "operator",
            Fault::Upstream => "upstream",
        }
    }
}

impl Error {
    /// Whose fault the failure is. Exhaustive on purpose: a new variant must be placed.
    pub fn fault(&self) -> Fault {
        match self {
            Error::UnknownSecret
            | Error::IncorrectPassphrase
            | Error::PassphraseLocked { .. }
            | Error::SecretTooLarge { .. }
            | Error::InvalidInput { .. }
            | Error::NotAllowed { .. }
            | Error::NotOwned => Fault::Caller,
            // The gateway never forwards a caller's own credentials, so "Not authorized" is always
            // about the gateway's account: refused, or absent for a route that needs one.
            Error::NotAuthorized | Error::Ledger => Fault::Operator,
            // OTS's refusals are about the request (a missing secret, a bad recipient), except
            // the ones it marks as its own failure.
            Error::Refused {
                intended_status, ..
            } => match intended_status {
                Some(status) if *status >= 500 => Fault::Upstream,
                Some(_) | None => Fault::Caller,
            },
            Error::RateLimited { scope, .. } => match scope {
                RateLimitScope::Caller => Fault::Caller,
                // The shared budget exists to keep the gateway inside OTS's limits, so running
                // out of it is the upstream's constraint showing, as is OTS's own refusal.
                RateLimitScope::GatewayUpstreamBudget | RateLimitScope::Upstream => Fault::Upstream,
            },
            Error::Upstream(_) => Fault::Upstream,
        }
    }

    /// Whether sending the same request again at once may succeed: the failure was transient
    /// and says nothing about the request. Only safe to act on for requests that change nothing
    /// upstream (a timed-out share may have created a secret). Rate limits are not retryable in
    /// this sense: they say how long to wait, and asking sooner only spends more.
    pub fn is_retryable(&self) -> bool {
        match self.upstream_failure() {
            // A certificate or protocol mismatch does not mend itself within a retry.
            Some(UpstreamFailure::Network(NetworkCause::Tls)) => false,
            Some(UpstreamFailure::Timeout | UpstreamFailure::Network(_)) => true,
            Some(UpstreamFailure::Status(code)) => (500..600).contains(&code),
            Some(UpstreamFailure::MalformedResponse | UpstreamFailure::AnswerTooLarge { .. })
            | None => false,
        }
    }

    /// How talking to the upstream failed, when that is what this error is; every other error
    /// is an answer (the upstream's, or the gateway's own).
    pub fn upstream_failure(&self) -> Option<UpstreamFailure> {
        match self {
            Error::Upstream(failure) => Some(*failure),
            Error::UnknownSecret
            | Error::IncorrectPassphrase
            | Error::PassphraseLocked { .. }
            | Error::NotAuthorized
            | Error::SecretTooLarge { .. }
            | Error::Refused { .. }
            | Error::InvalidInput { .. }
            | Error::RateLimited { .. }
            | Error::NotAllowed { .. }
            | Error::NotOwned
            | Error::Ledger => None,
        }
    }

    /// Logs this failure once, where a frontend turns it into its answer, at the level its
    /// [`Fault`] calls for: caller faults at debug, upstream faults at warn, operator faults at
    /// error. `place` says where in the frontend (a route pattern, a tool, a command), never
    /// anything the caller typed.
    pub fn log(&self, frontend: Frontend, place: &str) {
        let kind = self.kind();
        let fault = self.fault().as_str();
        let detail = self.for_log();
        match self.fault() {
            Fault::Caller => {
                tracing::debug!(%frontend, place, kind, fault, error = %detail, "request refused")
            }
            Fault::Upstream => {
                tracing::warn!(%frontend, place, kind, fault, error = %detail, "request failed")
            }
            Fault::Operator => {
                tracing::error!(%frontend, place, kind, fault, error = %detail, "request failed")
            }
        }
    }

    /// What a log line may say about this error: [`Self::log_detail`] made safe by
    /// [`crate::log_safe::LogSafe`] (control characters escaped, addresses obscured), since some
    /// Display texts carry caller input (an invalid field's reason).
    pub fn for_log(&self) -> String {
        crate::log_safe::LogSafe(&self.log_detail()).to_string()
    }

    /// The Display text, except OTS's own refusal messages: those may quote what the caller
    /// sent (a recipient address), which must not reach a log line.
    fn log_detail(&self) -> String {
        match self {
            Error::Refused {
                intended_status, ..
            } => match intended_status {
                Some(status) => format!("the OTS server refused the request ({status})"),
                None => "the OTS server refused the request".to_owned(),
            },
            other => other.to_string(),
        }
    }
}

impl Error {
    /// One error of each variant, and of each scope, cause and status that is answered
    /// differently, for tests (the core's and the frontends') that must cover every failure.
    pub fn one_of_each_kind() -> Vec<Error> {
        vec![
            Error::UnknownSecret,
            Error::IncorrectPassphrase,
            Error::PassphraseLocked {
                scope: LockScope::Secret,
                retry_after: Some(Duration::from_secs(90)),
            },
            Error::NotAuthorized,
            Error::SecretTooLarge { max_bytes: 1 },
            Error::Refused {
                message: "You did not provide anything to share".into(),
                intended_status: Some(400),
            },
            Error::Refused {
                message: "An unexpected error occurred".into(),
                intended_status: Some(500),
            },
            Error::InvalidInput {
                field: "ttl",
                reason: "bad".into(),
            },
            Error::RateLimited {
                scope: RateLimitScope::Caller,
                retry_after: None,
            },
            Error::RateLimited {
                scope: RateLimitScope::GatewayUpstreamBudget,
                retry_after: None,
            },
            Error::RateLimited {
                scope: RateLimitScope::Upstream,
                retry_after: None,
            },
            Error::NotAllowed {
                operation: Operation::Burn,
            },
            Error::NotOwned,
            Error::Ledger,
            Error::Upstream(UpstreamFailure::Timeout),
            Error::Upstream(UpstreamFailure::Network(NetworkCause::Other)),
            Error::Upstream(UpstreamFailure::Status(503)),
            Error::Upstream(UpstreamFailure::Status(302)),
            Error::Upstream(UpstreamFailure::MalformedResponse),
            Error::Upstream(UpstreamFailure::AnswerTooLarge {
                limit_bytes: 1024 * 1024,
            }),
        ]
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

    /// Names the variant; exhaustive, so a new variant fails to compile here until
    /// [`Error::one_of_each_kind`] has been given one.
    fn variant_name(error: &Error) -> &'static str {
        match error {
            Error::UnknownSecret => "UnknownSecret",
            Error::IncorrectPassphrase => "IncorrectPassphrase",
            Error::PassphraseLocked { .. } => "PassphraseLocked",
            Error::NotAuthorized => "NotAuthorized",
            Error::SecretTooLarge { .. } => "SecretTooLarge",
            Error::Refused { .. } => "Refused",
            Error::InvalidInput { .. } => "InvalidInput",
            Error::RateLimited { .. } => "RateLimited",
            Error::NotAllowed { .. } => "NotAllowed",
            Error::NotOwned => "NotOwned",
            Error::Ledger => "Ledger",
            Error::Upstream(_) => "Upstream",
        }
    }

    #[test]
    fn one_of_each_kind_has_every_variant() {
        let named: std::collections::BTreeSet<&str> =
            Error::one_of_each_kind().iter().map(variant_name).collect();
        assert_eq!(named.len(), 12, "{named:?}");
    }

    #[test]
    fn each_failure_is_placed_with_whoever_must_act() {
        let faults: Vec<(&str, Fault)> = Error::one_of_each_kind()
            .iter()
            .map(|error| (error.kind(), error.fault()))
            .collect();
        use Fault::*;
        assert_eq!(
            faults,
            vec![
                ("unknown_secret", Caller),
                ("incorrect_passphrase", Caller),
                ("passphrase_locked", Caller),
                ("not_authorized", Operator),
                ("secret_too_large", Caller),
                ("refused", Caller),
                ("refused", Upstream),
                ("invalid_input", Caller),
                ("rate_limited", Caller),
                ("rate_limited", Upstream),
                ("rate_limited", Upstream),
                ("not_allowed", Caller),
                ("not_owned", Caller),
                ("ledger_unavailable", Operator),
                ("upstream_timeout", Upstream),
                ("upstream_unavailable", Upstream),
                ("upstream_unavailable", Upstream),
                ("upstream_unavailable", Upstream),
                ("upstream_unavailable", Upstream),
                ("upstream_unavailable", Upstream),
            ]
        );
    }

    #[test]
    fn only_transient_upstream_failures_are_retryable() {
        let retryable: Vec<String> = Error::one_of_each_kind()
            .iter()
            .filter(|error| error.is_retryable())
            .map(|error| error.to_string())
            .collect();
        assert_eq!(
            retryable,
            vec![
                "the OTS server did not answer in time",
                "the OTS server could not be reached",
                "the OTS server answered with HTTP 503",
            ]
        );
    }

    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn each_fault_is_logged_once_at_its_level() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        // See ots/tests/canary.rs: a second dispatcher makes tracing ask this one at every
        // callsite, whatever other tests ran first.
        let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        tracing::subscriber::with_default(subscriber, || {
            Error::UnknownSecret.log(Frontend::Rest, "/api/v1/secret/{key}");
            Error::Upstream(UpstreamFailure::Timeout).log(Frontend::Mcp, "tool call");
            Error::Ledger.log(Frontend::Discord, "/ots");
        });
        let bytes = captured
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[0].contains("DEBUG") && lines[0].contains("caller"),
            "{text}"
        );
        assert!(
            lines[1].contains("WARN") && lines[1].contains("upstream"),
            "{text}"
        );
        assert!(
            lines[2].contains("ERROR") && lines[2].contains("discord"),
            "{text}"
        );
    }

    #[test]
    fn upstream_refusal_messages_stay_out_of_logs() {
        let error = Error::Refused {
            message: "Invalid recipient canary@example.com".into(),
            intended_status: Some(400),
        };
        assert!(!error.log_detail().contains("canary"));
        assert!(error.log_detail().contains("400"));
    }

    #[test]
    fn upstream_failures_describe_the_problem_without_a_url() {
        let text = Error::Upstream(UpstreamFailure::Status(503)).to_string();
        assert_eq!(text, "the OTS server answered with HTTP 503");
        assert!(!text.contains("http://") && !text.contains("https://"));
    }
}
