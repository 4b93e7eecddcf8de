//! The simulator's notion of "now". Injectable so tests can run a secret past its TTL, a receipt
//! past 2×TTL or a lockout past 1800 s without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time since the Unix epoch. Plain `Duration` rather than `Instant` because receipts report
/// `created`/`updated` as Unix seconds and a manual clock has to be able to invent them.
pub(crate) type UnixTime = Duration;

/// Where the simulator reads the time.
#[derive(Debug, Clone, Default)]
pub enum SimClock {
    /// The machine's wall clock; what `--dev` uses.
    #[default]
    System,
    /// A clock that only moves when told to; what tests use.
    Manual(ManualClock),
}

impl SimClock {
    pub(crate) fn now(&self) -> UnixTime {
        match self {
            // A wall clock before 1970 is a broken machine, not an input; epoch is a harmless answer.
            SimClock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO),
            SimClock::Manual(clock) => clock.now(),
        }
    }
}

/// A shared, thread-safe clock that stands still until [`ManualClock::advance`] is called.
/// Clones share the same time, so a test keeps one handle and gives another to the simulator.
#[derive(Debug, Clone)]
pub struct ManualClock {
    // Nanoseconds since the epoch: an atomic avoids a lock on every simulator call, and u64
    // nanoseconds reach the year 2554.
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock reading `unix_secs` seconds after the epoch.
    pub fn starting_at(unix_secs: u64) -> Self {
        ManualClock {
            nanos: Arc::new(AtomicU64::new(unix_secs.saturating_mul(1_000_000_000))),
        }
    }

    /// Moves the clock forward; it never moves backward.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update with a saturating add so a huge advance pins the clock instead of wrapping.
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                Some(now.saturating_add(by))
            });
    }

    /// The current reading, as time since the epoch.
    pub fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}
