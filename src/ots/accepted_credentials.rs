//! Remembers, for a few seconds, that the server accepted the team's credentials.
//!
//! On v2, `status` ignores credentials, so the client follows each status with a credential check
//! (see [`super::OtsClient::status`]). Done on every call, that doubled the upstream requests of
//! the most frequent call, status polling, and halved its throughput. A check that passed a moment
//! ago says the same as a new one: the server's answer can only change when the token is revoked,
//! and any call refused for its credentials forgets the acceptance at once, so the next status
//! checks again.

use std::sync::Mutex;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

/// How long an accepted credential check stands in for a new one. Short enough that a token
/// revoked between calls shows in status within a readiness probe or two.
pub(super) const ACCEPTANCE_LASTS: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub(super) struct AcceptedCredentials {
    since: Mutex<Option<Instant>>,
}

impl AcceptedCredentials {
    /// Whether a check passed within [`ACCEPTANCE_LASTS`] and nothing was refused since.
    pub(super) fn still_accepted(&self, now: Instant) -> bool {
        self.lock()
            .is_some_and(|since| now.saturating_duration_since(since) < ACCEPTANCE_LASTS)
    }

    pub(super) fn accepted(&self, now: Instant) {
        *self.lock() = Some(now);
    }

    /// The server refused the credentials: the next status checks them again.
    pub(super) fn refused(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        // The guarded value is a plain timestamp; a panic elsewhere cannot leave it half-written.
        self.since.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_acceptance_stands_only_for_its_window() {
        let memo = AcceptedCredentials::default();
        let start = Instant::now();
        assert!(!memo.still_accepted(start), "nothing checked yet");
        memo.accepted(start);
        assert!(memo.still_accepted(start + Duration::from_secs(1)));
        assert!(!memo.still_accepted(start + ACCEPTANCE_LASTS));
    }

    #[test]
    fn a_refusal_forgets_the_acceptance() {
        let memo = AcceptedCredentials::default();
        let start = Instant::now();
        memo.accepted(start);
        memo.refused();
        assert!(!memo.still_accepted(start));
    }
}
