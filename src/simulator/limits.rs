//! The two limiters current OTS applies on v1 (ots-api.md §9): per-IP fixed windows for
//! anonymous creates and reveals, and the per-secret passphrase lockout.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use super::clock::UnixTime;

/// OTS counts anonymous events in fixed 20-minute windows.
const RATE_WINDOW: Duration = Duration::from_secs(20 * 60);
/// 20 wrong passphrases within 600 s lock a secret for 1800 s.
const LOCKOUT_THRESHOLD: u32 = 20;
const LOCKOUT_WINDOW: Duration = Duration::from_secs(600);
const LOCKOUT_DURATION: Duration = Duration::from_secs(1800);

/// The rate-limited events, named after OTS's own (`create_secret`, `show_secret`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Event {
    Create,
    Reveal,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: UnixTime,
    count: u32,
}

/// Most client IPs tracked at once. Addresses are cheap to come by (an IPv6 /64 holds 2^64),
/// so without a bound the table itself would be the memory leak the store cap prevents.
const MAX_TRACKED: usize = 100_000;

/// OTS's anonymous rate limit: a fixed window of counts per event and client IP. `None` is one
/// shared bucket for callers whose address the frontend could not tell, so they cannot dodge
/// the limit by hiding it.
#[derive(Debug)]
pub(crate) struct IpRateWindows {
    windows: HashMap<(Event, Option<IpAddr>), Window>,
    max_tracked: usize,
}

impl Default for IpRateWindows {
    fn default() -> Self {
        IpRateWindows {
            windows: HashMap::new(),
            max_tracked: MAX_TRACKED,
        }
    }
}

impl IpRateWindows {
    /// Counts one event; `false` when the window's cap is already reached. Refused attempts are
    /// not counted, so a client hammering the limit does not extend its own penalty.
    pub(crate) fn admit(
        &mut self,
        event: Event,
        ip: Option<IpAddr>,
        cap: u32,
        now: UnixTime,
    ) -> bool {
        let key = self.bucket(event, ip, now);
        let window = self.windows.entry(key).or_insert(Window {
            start: now,
            count: 0,
        });
        if now >= window.start + RATE_WINDOW {
            *window = Window {
                start: now,
                count: 0,
            };
        }
        if window.count >= cap {
            return false;
        }
        window.count += 1;
        true
    }

    /// The bucket to count in. Once the table is full, new addresses share the anonymous
    /// bucket: they are still limited, just together, and memory stays bounded.
    fn bucket(
        &mut self,
        event: Event,
        ip: Option<IpAddr>,
        now: UnixTime,
    ) -> (Event, Option<IpAddr>) {
        let key = (event, ip);
        if self.windows.contains_key(&key) || self.windows.len() < self.max_tracked {
            return key;
        }
        self.sweep(now);
        if self.windows.len() < self.max_tracked {
            key
        } else {
            (event, None)
        }
    }

    /// Forgets finished windows so a stream of distinct IPs cannot grow the table forever.
    pub(crate) fn sweep(&mut self, now: UnixTime) {
        self.windows.retain(|_, w| now < w.start + RATE_WINDOW);
    }
}

/// Wrong-passphrase bookkeeping for one secret. It lives inside the secret's record, so it is
/// dropped together with the secret and needs no sweeping of its own.
#[derive(Debug, Default, Clone)]
pub(crate) struct PassphraseGuard {
    window_start: UnixTime,
    failures: u32,
    locked_until: Option<UnixTime>,
}

impl PassphraseGuard {
    /// How long the lock still holds, if it does.
    pub(crate) fn lock_remaining(&self, now: UnixTime) -> Option<Duration> {
        self.locked_until
            .filter(|until| now < *until)
            .map(|until| until - now)
    }

    pub(crate) fn record_failure(&mut self, now: UnixTime) {
        if self.failures == 0 || now >= self.window_start + LOCKOUT_WINDOW {
            self.window_start = now;
            self.failures = 0;
        }
        self.failures += 1;
        if self.failures >= LOCKOUT_THRESHOLD {
            self.locked_until = Some(now + LOCKOUT_DURATION);
            // A fresh count after the lock ends, rather than one more failure re-locking at once.
            self.failures = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_resets_after_twenty_minutes() {
        let mut limiter = IpRateWindows::default();
        let t0 = Duration::from_secs(1_000);
        assert!(limiter.admit(Event::Create, None, 1, t0));
        assert!(!limiter.admit(Event::Create, None, 1, t0 + Duration::from_secs(1199)));
        assert!(limiter.admit(Event::Create, None, 1, t0 + RATE_WINDOW));
    }

    #[test]
    fn sweep_drops_only_finished_windows() {
        let mut limiter = IpRateWindows::default();
        let t0 = Duration::from_secs(1_000);
        limiter.admit(Event::Create, None, 5, t0);
        limiter.admit(Event::Reveal, None, 5, t0 + Duration::from_secs(600));
        limiter.sweep(t0 + RATE_WINDOW);
        assert_eq!(limiter.windows.len(), 1);
    }

    #[test]
    fn a_full_table_puts_new_addresses_in_the_shared_bucket() {
        let mut limiter = IpRateWindows {
            max_tracked: 2,
            ..IpRateWindows::default()
        };
        let t0 = Duration::from_secs(1_000);
        let ip = |n| Some(IpAddr::from([192, 0, 2, n]));
        assert!(limiter.admit(Event::Create, ip(1), 1, t0));
        assert!(limiter.admit(Event::Create, None, 1, t0));
        // ip(3) is new and the table is full, so it lands in the spent shared bucket.
        assert!(!limiter.admit(Event::Create, ip(3), 1, t0));
        assert_eq!(limiter.windows.len(), 2);
        // Once the old windows end they are swept and ip(3) gets a bucket of its own.
        assert!(limiter.admit(Event::Create, ip(3), 1, t0 + RATE_WINDOW));
        assert!(limiter.windows.contains_key(&(Event::Create, ip(3))));
    }

    #[test]
    fn failures_spread_beyond_the_window_do_not_lock() {
        let mut guard = PassphraseGuard::default();
        let mut now = Duration::from_secs(1_000);
        for _ in 0..40 {
            guard.record_failure(now);
            now += Duration::from_secs(60);
        }
        assert!(guard.lock_remaining(now).is_none());
    }
}
