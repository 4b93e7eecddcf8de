//! Retrying reads, and only reads.
//!
//! share, generate, retrieve and burn are never retried: a request that timed out or whose
//! connection broke may still have taken effect upstream, and repeating it would create a second
//! secret, or find the secret already consumed by our own first attempt and report it as unknown.
//! status, authcheck, receipt and recent change nothing, so repeating them is harmless.

use std::future::Future;
use std::time::Duration;

use tracing::debug;

use crate::error::{Error, Result};

/// However many retries are configured, one wait never exceeds this.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
pub(super) struct RetryPolicy {
    pub(super) retries: u32,
    pub(super) first_backoff: Duration,
}

impl RetryPolicy {
    /// Exponential: `first_backoff`, then twice that, and so on. No jitter: one gateway makes
    /// few calls, so there is no herd of clients to spread out.
    fn backoff_before_retry(&self, retry_index: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry_index);
        self.first_backoff.saturating_mul(factor).min(MAX_BACKOFF)
    }
}

/// Failures that say nothing about the request itself and may well not recur; the rule is the
/// core error's own.
pub(super) fn is_transient(err: &Error) -> bool {
    err.is_retryable()
}

/// Runs `attempt` once, then again up to `policy.retries` times while it fails transiently.
pub(super) async fn with_retries<T, F, Fut>(
    policy: RetryPolicy,
    operation: &'static str,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut retries_done = 0;
    loop {
        match attempt().await {
            Err(err) if retries_done < policy.retries && is_transient(&err) => {
                let wait = policy.backoff_before_retry(retries_done);
                retries_done += 1;
                debug!(
                    operation,
                    retry = retries_done,
                    wait_ms = wait.as_millis() as u64,
                    "retrying a read after a transient failure"
                );
                tokio::time::sleep(wait).await;
            }
            outcome => return outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::error::{NetworkCause, RateLimitScope, UpstreamFailure};

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy {
            retries: 40,
            first_backoff: Duration::from_millis(100),
        };
        assert_eq!(policy.backoff_before_retry(0), Duration::from_millis(100));
        assert_eq!(policy.backoff_before_retry(1), Duration::from_millis(200));
        assert_eq!(policy.backoff_before_retry(3), Duration::from_millis(800));
        assert_eq!(policy.backoff_before_retry(39), MAX_BACKOFF);
    }

    #[test]
    fn only_failures_unrelated_to_the_request_are_transient() {
        assert!(is_transient(&Error::Upstream(UpstreamFailure::Timeout)));
        assert!(is_transient(&Error::Upstream(UpstreamFailure::Network(
            NetworkCause::Other
        ))));
        assert!(is_transient(&Error::Upstream(UpstreamFailure::Status(503))));
        assert!(!is_transient(&Error::Upstream(UpstreamFailure::Status(
            404
        ))));
        assert!(!is_transient(&Error::Upstream(UpstreamFailure::Status(
            302
        ))));
        assert!(!is_transient(&Error::Upstream(
            UpstreamFailure::MalformedResponse
        )));
        assert!(!is_transient(&Error::UnknownSecret));
        assert!(!is_transient(&Error::RateLimited {
            scope: RateLimitScope::Upstream,
            retry_after: None
        }));
    }

    #[tokio::test]
    async fn stops_after_the_configured_retries() {
        let attempts = AtomicU32::new(0);
        let policy = RetryPolicy {
            retries: 2,
            first_backoff: Duration::from_millis(1),
        };
        let outcome: Result<()> = with_retries(policy, "test", || async {
            attempts.fetch_add(1, Ordering::SeqCst);
            Err(Error::Upstream(UpstreamFailure::Network(
                NetworkCause::Other,
            )))
        })
        .await;
        assert!(outcome.is_err());
        assert_eq!(attempts.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn does_not_retry_a_definite_answer() {
        let attempts = AtomicU32::new(0);
        let policy = RetryPolicy {
            retries: 5,
            first_backoff: Duration::from_millis(1),
        };
        let outcome: Result<()> = with_retries(policy, "test", || async {
            attempts.fetch_add(1, Ordering::SeqCst);
            Err(Error::UnknownSecret)
        })
        .await;
        assert!(matches!(outcome, Err(Error::UnknownSecret)));
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }
}
