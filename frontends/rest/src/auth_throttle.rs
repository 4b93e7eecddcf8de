//! Failed token attempts, counted per peer address, so a token cannot be guessed at network
//! speed, and reported in logs at a bounded rate, so guessing cannot flood them either.
//!
//! A peer that fails [`MAX_FAILURES`] times within [`WINDOW`] is refused outright (429 with
//! `Retry-After`) until its window ends, right token or not: checking the token first would
//! keep answering the guesser's question. The table is capped at [`MAX_PEERS`]; when it is full,
//! peers it has no room for share one overflow entry, so address churn cannot grow memory and
//! cannot escape the throttle either.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong or missing tokens a peer may present per window.
pub const MAX_FAILURES: u32 = 10;
/// How long a peer's failures are remembered.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Peers remembered at once.
pub const MAX_PEERS: usize = 4096;
/// At most one log line about failed attempts per this long; the line says how many it covers.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Stands in for every peer the table has no room for.
const OVERFLOW_PEER: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

#[derive(Debug, Clone, Copy)]
struct Strikes {
    count: u32,
    window_start: Instant,
}

#[derive(Debug, Default)]
struct State {
    peers: HashMap<IpAddr, Strikes>,
    last_log: Option<Instant>,
    unlogged: u64,
}

#[derive(Debug, Default)]
pub struct AuthThrottle {
    state: Mutex<State>,
}

/// What to do with a failure that was just recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogDue {
    /// Failures since the previous log line, this one included.
    pub failures: u64,
}

impl AuthThrottle {
    /// `Some(wait)` when `peer` has used up its failures and must wait before trying again.
    pub fn blocked_for(&self, peer: IpAddr, now: Instant) -> Option<Duration> {
        let state = self.lock();
        let strikes = state
            .peers
            .get(&peer)
            .or_else(|| state.peers.get(&OVERFLOW_PEER))?;
        let elapsed = now.saturating_duration_since(strikes.window_start);
        (strikes.count >= MAX_FAILURES && elapsed < WINDOW).then(|| WINDOW - elapsed)
    }

    /// Records one failure by `peer`; returns when a log line is due.
    pub fn record_failure(&self, peer: IpAddr, now: Instant) -> Option<LogDue> {
        let mut state = self.lock();
        if !state.peers.contains_key(&peer) && state.peers.len() >= MAX_PEERS {
            state
                .peers
                .retain(|_, s| now.saturating_duration_since(s.window_start) < WINDOW);
        }
        let key = if state.peers.contains_key(&peer) || state.peers.len() < MAX_PEERS {
            peer
        } else {
            OVERFLOW_PEER
        };
        let strikes = state.peers.entry(key).or_insert(Strikes {
            count: 0,
            window_start: now,
        });
        if now.saturating_duration_since(strikes.window_start) >= WINDOW {
            *strikes = Strikes {
                count: 0,
                window_start: now,
            };
        }
        strikes.count = strikes.count.saturating_add(1);
        state.unlogged += 1;
        let due = state
            .last_log
            .is_none_or(|last| now.saturating_duration_since(last) >= LOG_EVERY);
        if !due {
            return None;
        }
        state.last_log = Some(now);
        let failures = std::mem::take(&mut state.unlogged);
        Some(LogDue { failures })
    }

    #[cfg(test)]
    pub fn tracked_peers(&self) -> usize {
        self.lock().peers.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a few counters; one left half-updated by a panic is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[test]
    fn a_peer_is_blocked_after_its_failures_until_the_window_ends() {
        let throttle = AuthThrottle::default();
        let start = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert_eq!(throttle.blocked_for(ip(1), start), None);
            throttle.record_failure(ip(1), start);
        }
        assert_eq!(throttle.blocked_for(ip(1), start), Some(WINDOW));
        assert_eq!(
            throttle.blocked_for(ip(2), start),
            None,
            "others unaffected"
        );
        let later = start + WINDOW;
        assert_eq!(throttle.blocked_for(ip(1), later), None);
    }

    #[test]
    fn logging_is_bounded_and_counts_what_it_skipped() {
        let throttle = AuthThrottle::default();
        let start = Instant::now();
        assert_eq!(
            throttle.record_failure(ip(1), start),
            Some(LogDue { failures: 1 })
        );
        for _ in 0..99 {
            assert_eq!(throttle.record_failure(ip(1), start), None);
        }
        assert_eq!(
            throttle.record_failure(ip(1), start + LOG_EVERY),
            Some(LogDue { failures: 100 })
        );
    }

    #[test]
    fn address_churn_neither_grows_the_table_nor_escapes_the_throttle() {
        let throttle = AuthThrottle::default();
        let now = Instant::now();
        for n in 0..(MAX_PEERS as u32 + 1_000) {
            throttle.record_failure(ip(n), now);
        }
        assert!(
            throttle.tracked_peers() <= MAX_PEERS + 1,
            "the peers plus the overflow entry"
        );
        let newcomer = ip(9_999_999);
        assert!(
            throttle.blocked_for(newcomer, now).is_some(),
            "peers beyond the table share the overflow entry, which has failed 1000 times"
        );
    }
}
