//! Quotas, enforced with `governor`: one shared budget for calls to the OTS upstream, and
//! per-caller quotas for each class of operation, set per frontend.
//!
//! The caller quota is checked before the upstream budget, so a caller who is over their own
//! quota cannot spend the team's shared budget. Every refusal carries how long to wait, which
//! each frontend shows in its own way (HTTP `Retry-After`, MCP `retry_after_seconds`, Discord
//! "try again in N s").

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use crate::error::{Error, RateLimitScope};
use crate::model::{Caller, Frontend, Identity};

/// Declared callers together get this many times one caller's quota (see
/// [`Identity::Declared`]): room for a few honest scripts that name themselves, and no more for a
/// script that rotates names. Callers that need more prove who they are with a client token.
pub const DECLARED_AGGREGATE_FACTOR: NonZeroU32 = NonZeroU32::new(4).expect("non-zero");

/// Callers with quota state at once, per frontend and class. Past this, state that has fully
/// refilled is dropped at once; if the table is still full, further callers share one entry
/// (and still the declared aggregate), so churning names cannot grow memory.
pub const MAX_TRACKED_CALLERS: usize = 10_000;

/// The key callers share once the table is full; not a valid caller id on any frontend.
const OVERFLOW_KEY: &str = "\u{0}overflow";

/// Operations grouped by what they cost and risk, so one quota covers similar operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OperationClass {
    /// share, generate: each creates a secret upstream.
    Create,
    /// retrieve: consumes a secret.
    Reveal,
    /// status, receipt, burn, recent.
    Manage,
}

impl OperationClass {
    pub const ALL: [OperationClass; 3] = [
        OperationClass::Create,
        OperationClass::Reveal,
        OperationClass::Manage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OperationClass::Create => "create",
            OperationClass::Reveal => "reveal",
            OperationClass::Manage => "manage",
        }
    }
}

/// A sustained rate with a burst allowance: `per_minute` cells refill evenly over a minute, and
/// up to `burst` can be spent at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Rate {
    fn quota(self) -> Quota {
        Quota::per_minute(self.per_minute).allow_burst(self.burst)
    }

    /// What all declared callers of one frontend share for a class with this per-caller rate.
    pub fn declared_aggregate(self) -> Rate {
        let scale = |n: NonZeroU32| n.saturating_mul(DECLARED_AGGREGATE_FACTOR);
        Rate {
            per_minute: scale(self.per_minute),
            burst: scale(self.burst),
        }
    }
}

/// Which quotas apply. A missing entry means "unlimited".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuotaSettings {
    pub upstream: Option<Rate>,
    pub callers: BTreeMap<(Frontend, OperationClass), Rate>,
}

type DirectLimiter<C> =
    RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;
type KeyedLimiter<C> =
    RateLimiter<String, DashMapStateStore<String>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The live limiters. Generic over the clock so tests can move time by hand.
pub struct Limits<C: Clock = DefaultClock> {
    clock: C,
    settings: QuotaSettings,
    upstream: Option<DirectLimiter<C>>,
    // Ordered maps: with a dozen scopes at most, comparing two small enums finds one sooner
    // than hashing the pair does, and every admitted request looks up two.
    callers: BTreeMap<(Frontend, OperationClass), KeyedLimiter<C>>,
    declared: BTreeMap<(Frontend, OperationClass), DirectLimiter<C>>,
    /// [`OVERFLOW_KEY`], owned once so a lookup never has to make a key.
    overflow_key: String,
}

impl Limits<DefaultClock> {
    pub fn new(settings: QuotaSettings) -> Self {
        Limits::with_clock(settings, DefaultClock::default())
    }
}

impl<C: Clock + Clone> Limits<C> {
    pub fn with_clock(settings: QuotaSettings, clock: C) -> Self {
        let upstream = settings
            .upstream
            .map(|rate| RateLimiter::direct_with_clock(rate.quota(), clock.clone()));
        let callers = settings
            .callers
            .iter()
            .map(|(scope, rate)| {
                (
                    *scope,
                    RateLimiter::dashmap_with_clock(rate.quota(), clock.clone()),
                )
            })
            .collect();
        let declared = settings
            .callers
            .iter()
            .map(|(scope, rate)| {
                (
                    *scope,
                    RateLimiter::direct_with_clock(
                        rate.declared_aggregate().quota(),
                        clock.clone(),
                    ),
                )
            })
            .collect();
        Limits {
            clock,
            settings,
            upstream,
            callers,
            declared,
            overflow_key: OVERFLOW_KEY.to_owned(),
        }
    }

    pub fn settings(&self) -> &QuotaSettings {
        &self.settings
    }

    /// Spends one cell of `caller`'s quota for `class`, then one of the upstream budget.
    /// A declared caller also spends one cell of the aggregate all declared callers of its
    /// frontend share.
    pub fn admit(&self, caller: &Caller, class: OperationClass) -> Result<(), Error> {
        let scope = (caller.frontend, class);
        let over_quota = |not_until: governor::NotUntil<C::Instant>| Error::RateLimited {
            scope: RateLimitScope::Caller,
            retry_after: Some(not_until.wait_time_from(self.clock.now())),
        };
        if let Some(limiter) = self.callers.get(&scope) {
            let key = bounded_key(limiter, &caller.id, &self.overflow_key);
            limiter.check_key(key).map_err(over_quota)?;
        }
        if caller.identity == Identity::Declared
            && let Some(aggregate) = self.declared.get(&scope)
        {
            aggregate.check().map_err(over_quota)?;
        }
        self.admit_upstream_call()
    }

    /// Spends one cell of the shared upstream budget; for calls no caller asked for directly
    /// (readiness probes, state refreshes).
    pub fn admit_upstream_call(&self) -> Result<(), Error> {
        if let Some(limiter) = &self.upstream {
            limiter.check().map_err(|not_until| Error::RateLimited {
                scope: RateLimitScope::GatewayUpstreamBudget,
                retry_after: Some(not_until.wait_time_from(self.clock.now())),
            })?;
        }
        Ok(())
    }

    /// Drops per-caller state that has fully refilled, so memory tracks active callers only.
    /// Run periodically: keyed state never shrinks on its own.
    pub fn forget_idle_callers(&self) {
        for limiter in self.callers.values() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// How many callers currently have state, across every frontend and class.
    pub fn tracked_callers(&self) -> usize {
        self.callers.values().map(|limiter| limiter.len()).sum()
    }
}

/// `id`, or the shared overflow key when the limiter already tracks as many callers as it may.
/// Both are borrowed: the limiter clones a key only when it first stores it.
fn bounded_key<'a, C: Clock>(
    limiter: &KeyedLimiter<C>,
    id: &'a String,
    overflow: &'a String,
) -> &'a String {
    if limiter.len() < MAX_TRACKED_CALLERS {
        return id;
    }
    limiter.retain_recent();
    if limiter.len() < MAX_TRACKED_CALLERS {
        id
    } else {
        overflow
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use governor::clock::FakeRelativeClock;

    use super::*;

    fn rate(per_minute: u32, burst: u32) -> Rate {
        Rate {
            per_minute: NonZeroU32::new(per_minute).expect("non-zero"),
            burst: NonZeroU32::new(burst).expect("non-zero"),
        }
    }

    fn caller(frontend: Frontend, id: &str) -> Caller {
        Caller::new(frontend, id)
    }

    fn retry_after(result: Result<(), Error>) -> (RateLimitScope, Duration) {
        match result {
            Err(Error::RateLimited {
                scope,
                retry_after: Some(wait),
            }) => (scope, wait),
            other => panic!("expected a rate limit, got {other:?}"),
        }
    }

    fn limits(settings: QuotaSettings) -> (Limits<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (Limits::with_clock(settings, clock.clone()), clock)
    }

    #[test]
    fn burst_then_refill_with_exact_retry_after() {
        let mut settings = QuotaSettings::default();
        settings
            .callers
            .insert((Frontend::Rest, OperationClass::Create), rate(5, 2));
        let (limits, clock) = limits(settings);
        let alice = caller(Frontend::Rest, "alice");

        assert!(limits.admit(&alice, OperationClass::Create).is_ok());
        assert!(limits.admit(&alice, OperationClass::Create).is_ok());
        let (scope, wait) = retry_after(limits.admit(&alice, OperationClass::Create));
        assert_eq!(scope, RateLimitScope::Caller);
        assert_eq!(
            wait,
            Duration::from_secs(12),
            "5 per minute refills one cell every 12 s"
        );

        clock.advance(Duration::from_secs(11));
        let (_, wait) = retry_after(limits.admit(&alice, OperationClass::Create));
        assert_eq!(wait, Duration::from_secs(1));
        clock.advance(Duration::from_secs(1));
        assert!(limits.admit(&alice, OperationClass::Create).is_ok());
    }

    #[test]
    fn quotas_are_per_caller_per_class_and_per_frontend() {
        let mut settings = QuotaSettings::default();
        settings
            .callers
            .insert((Frontend::Rest, OperationClass::Reveal), rate(1, 1));
        let (limits, _clock) = limits(settings);
        let alice = caller(Frontend::Rest, "alice");

        assert!(limits.admit(&alice, OperationClass::Reveal).is_ok());
        assert!(limits.admit(&alice, OperationClass::Reveal).is_err());
        assert!(
            limits
                .admit(&caller(Frontend::Rest, "bob"), OperationClass::Reveal)
                .is_ok()
        );
        assert!(
            limits.admit(&alice, OperationClass::Create).is_ok(),
            "other class unlimited"
        );
        assert!(
            limits
                .admit(&caller(Frontend::Mcp, "alice"), OperationClass::Reveal)
                .is_ok(),
            "same id on another frontend is another caller"
        );
    }

    #[test]
    fn the_upstream_budget_is_shared_by_everyone() {
        let settings = QuotaSettings {
            upstream: Some(rate(60, 3)),
            ..QuotaSettings::default()
        };
        let (limits, clock) = limits(settings);
        for id in ["a", "b", "c"] {
            assert!(
                limits
                    .admit(&caller(Frontend::Rest, id), OperationClass::Manage)
                    .is_ok()
            );
        }
        let (scope, wait) =
            retry_after(limits.admit(&caller(Frontend::Discord, "d"), OperationClass::Create));
        assert_eq!(scope, RateLimitScope::GatewayUpstreamBudget);
        assert_eq!(wait, Duration::from_secs(1));
        clock.advance(Duration::from_secs(1));
        assert!(
            limits
                .admit(&caller(Frontend::Mcp, "e"), OperationClass::Create)
                .is_ok()
        );
    }

    #[test]
    fn a_caller_over_quota_does_not_spend_the_shared_budget() {
        let mut settings = QuotaSettings {
            upstream: Some(rate(60, 2)),
            ..QuotaSettings::default()
        };
        settings
            .callers
            .insert((Frontend::Rest, OperationClass::Create), rate(1, 1));
        let (limits, _clock) = limits(settings);
        let greedy = caller(Frontend::Rest, "greedy");
        assert!(limits.admit(&greedy, OperationClass::Create).is_ok());
        for _ in 0..10 {
            let (scope, _) = retry_after(limits.admit(&greedy, OperationClass::Create));
            assert_eq!(scope, RateLimitScope::Caller);
        }
        assert!(
            limits
                .admit(&caller(Frontend::Rest, "other"), OperationClass::Manage)
                .is_ok(),
            "one cell of the shared budget is still left"
        );
    }

    #[test]
    fn idle_callers_leave_no_residue() {
        let mut settings = QuotaSettings::default();
        settings
            .callers
            .insert((Frontend::Discord, OperationClass::Manage), rate(60, 5));
        let (limits, clock) = limits(settings);
        for n in 0..5_000 {
            let id = format!("user-{n}");
            assert!(
                limits
                    .admit(&caller(Frontend::Discord, &id), OperationClass::Manage)
                    .is_ok()
            );
        }
        assert_eq!(limits.tracked_callers(), 5_000);
        limits.forget_idle_callers();
        assert_eq!(limits.tracked_callers(), 5_000, "recent callers are kept");

        clock.advance(Duration::from_secs(10));
        let active = caller(Frontend::Discord, "still-active");
        assert!(limits.admit(&active, OperationClass::Manage).is_ok());
        limits.forget_idle_callers();
        assert_eq!(
            limits.tracked_callers(),
            1,
            "only the active caller remains"
        );
    }

    #[test]
    fn name_churn_cannot_grow_memory_between_prunes() {
        let mut settings = QuotaSettings::default();
        settings
            .callers
            .insert((Frontend::Discord, OperationClass::Manage), rate(60, 5));
        let (limits, _clock) = limits(settings);
        for n in 0..(MAX_TRACKED_CALLERS + 5_000) {
            let id = format!("user-{n}");
            let _ = limits.admit(&caller(Frontend::Discord, &id), OperationClass::Manage);
        }
        assert!(
            limits.tracked_callers() <= MAX_TRACKED_CALLERS + 1,
            "{} tracked",
            limits.tracked_callers()
        );
    }

    #[test]
    fn declared_names_share_an_aggregate_and_proven_ones_do_not() {
        let mut settings = QuotaSettings::default();
        settings
            .callers
            .insert((Frontend::Rest, OperationClass::Create), rate(2, 2));
        let (limits, _clock) = limits(settings);
        let mut admitted = 0;
        for n in 0..100 {
            let churned = Caller::declared(Frontend::Rest, format!("label-{n}"));
            if limits.admit(&churned, OperationClass::Create).is_ok() {
                admitted += 1;
            }
        }
        assert_eq!(
            admitted,
            2 * DECLARED_AGGREGATE_FACTOR.get(),
            "a hundred names buy no more than the aggregate"
        );
        let proven = caller(Frontend::Rest, "token-holder");
        assert!(
            limits.admit(&proven, OperationClass::Create).is_ok(),
            "a client token's holder keeps its own quota"
        );
        let other_frontend = Caller::declared(Frontend::Mcp, "label-0");
        assert!(
            limits
                .admit(&other_frontend, OperationClass::Create)
                .is_ok()
        );
    }
}
