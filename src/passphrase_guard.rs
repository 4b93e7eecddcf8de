//! Wrong-passphrase attempts, counted by the gateway before the upstream counts them.
//!
//! OTS locks a secret after 20 wrong passphrases within 600 s, for 1800 s, and on v1 it cannot
//! tell one client from another behind the same address (docs/passphrase-lockout.md). Every
//! caller of the gateway is that one address, so without this guard one local caller guessing
//! a passphrase would lock the secret for its real recipient, who would then get an opaque
//! error for half an hour.
//!
//! The guard counts failures per secret and per (secret, caller) in a window as long as the
//! upstream's, and refuses further attempts *before* they reach OTS: a caller may fail
//! [`GuardLimits::per_caller`] times on one secret, and all callers together
//! [`GuardLimits::per_secret`] times, which is below the upstream's threshold. So the upstream
//! lock is never tripped through the gateway, the guard's own lock ends with its window (sooner
//! than the upstream's), and the caller is told why.
//!
//! Only attempts that carry a non-empty passphrase are counted and checked, as upstream counts
//! only those. On v1 a wrong passphrase on retrieve looks exactly like an unknown secret, so
//! such an answer counts as a failure: a key that does not exist cannot be locked out of
//! anything that matters.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Error, LockScope};
use crate::model::Caller;

/// How many failures the guard tolerates, and for how long it remembers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardLimits {
    /// Failures one caller may have on one secret per window (OTS v2's per-address tier is 5).
    pub per_caller: u32,
    /// Failures all callers together may have on one secret per window; below the upstream's
    /// 20 so the gateway never trips the upstream's own lock.
    pub per_secret: u32,
    /// As long as the upstream's counting window.
    pub window: Duration,
    /// Secrets remembered at once; the oldest windows are forgotten first when it is full.
    pub max_tracked: usize,
}

impl Default for GuardLimits {
    fn default() -> Self {
        GuardLimits {
            per_caller: 5,
            per_secret: 15,
            window: Duration::from_secs(600),
            max_tracked: 10_000,
        }
    }
}

#[derive(Debug)]
struct Attempts {
    window_start: Instant,
    total: u32,
    /// At most `per_secret` entries: no failure is recorded once the total is reached.
    by_caller: HashMap<(crate::model::Frontend, String), u32>,
}

#[derive(Debug, Default)]
pub struct PassphraseGuard {
    limits: GuardLimits,
    secrets: Mutex<HashMap<String, Attempts>>,
}

impl PassphraseGuard {
    pub fn new(limits: GuardLimits) -> Self {
        PassphraseGuard {
            limits,
            secrets: Mutex::default(),
        }
    }

    /// Refuses an attempt on `key` by `caller` when one of its budgets is spent.
    pub fn admit(&self, key: &str, caller: &Caller, now: Instant) -> Result<(), Error> {
        let secrets = self.lock();
        let Some(attempts) = secrets.get(key) else {
            return Ok(());
        };
        let elapsed = now.saturating_duration_since(attempts.window_start);
        if elapsed >= self.limits.window {
            return Ok(());
        }
        let retry_after = Some(self.limits.window - elapsed);
        let own = attempts
            .by_caller
            .get(&(caller.frontend, caller.id.clone()))
            .copied()
            .unwrap_or(0);
        if own >= self.limits.per_caller {
            return Err(Error::PassphraseLocked {
                scope: LockScope::Caller,
                retry_after,
            });
        }
        if attempts.total >= self.limits.per_secret {
            return Err(Error::PassphraseLocked {
                scope: LockScope::Secret,
                retry_after,
            });
        }
        Ok(())
    }

    /// Counts one wrong passphrase on `key` by `caller`.
    pub fn record_failure(&self, key: &str, caller: &Caller, now: Instant) {
        let mut secrets = self.lock();
        if !secrets.contains_key(key) && secrets.len() >= self.limits.max_tracked {
            let window = self.limits.window;
            secrets.retain(|_, a| now.saturating_duration_since(a.window_start) < window);
            if secrets.len() >= self.limits.max_tracked
                && let Some(oldest) = secrets
                    .iter()
                    .min_by_key(|(_, a)| a.window_start)
                    .map(|(k, _)| k.clone())
            {
                secrets.remove(&oldest);
            }
        }
        let attempts = secrets.entry(key.to_owned()).or_insert_with(|| Attempts {
            window_start: now,
            total: 0,
            by_caller: HashMap::new(),
        });
        if now.saturating_duration_since(attempts.window_start) >= self.limits.window {
            *attempts = Attempts {
                window_start: now,
                total: 0,
                by_caller: HashMap::new(),
            };
        }
        attempts.total = attempts.total.saturating_add(1);
        *attempts
            .by_caller
            .entry((caller.frontend, caller.id.clone()))
            .or_insert(0) += 1;
    }

    /// The right passphrase was given: the secret is consumed (retrieve) or burned, so there is
    /// nothing left to protect.
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    pub fn tracked_secrets(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Attempts>> {
        // Counters only; still usable if a panic interrupted an update.
        self.secrets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Frontend;

    fn caller(id: &str) -> Caller {
        Caller::new(Frontend::Rest, id)
    }

    fn scope(result: Result<(), Error>) -> Option<LockScope> {
        match result {
            Err(Error::PassphraseLocked { scope, .. }) => Some(scope),
            _ => None,
        }
    }

    #[test]
    fn one_caller_cannot_use_up_the_secret() {
        let guard = PassphraseGuard::default();
        let now = Instant::now();
        let mallory = caller("mallory");
        for _ in 0..5 {
            assert!(guard.admit("k", &mallory, now).is_ok());
            guard.record_failure("k", &mallory, now);
        }
        assert_eq!(
            scope(guard.admit("k", &mallory, now)),
            Some(LockScope::Caller)
        );
        assert!(guard.admit("k", &caller("recipient"), now).is_ok());
        assert!(guard.admit("other", &mallory, now).is_ok(), "per secret");
    }

    #[test]
    fn all_callers_together_stay_below_the_upstream_lockout() {
        let guard = PassphraseGuard::default();
        let now = Instant::now();
        let mut failures = 0;
        for n in 0..100 {
            let who = caller(&format!("label-{n}"));
            while guard.admit("k", &who, now).is_ok() {
                guard.record_failure("k", &who, now);
                failures += 1;
            }
        }
        assert_eq!(failures, 15);
        assert!(failures < 20, "OTS locks at 20");
        assert_eq!(
            scope(guard.admit("k", &caller("recipient"), now)),
            Some(LockScope::Secret)
        );
        let later = now + Duration::from_secs(600);
        assert!(guard.admit("k", &caller("recipient"), later).is_ok());
    }

    #[test]
    fn memory_is_bounded() {
        let guard = PassphraseGuard::new(GuardLimits {
            max_tracked: 100,
            ..GuardLimits::default()
        });
        let now = Instant::now();
        for n in 0..1_000 {
            guard.record_failure(&format!("key-{n}"), &caller("x"), now);
        }
        assert!(guard.tracked_secrets() <= 100);
    }
}
