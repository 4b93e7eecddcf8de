//! The shipped quota defaults against OTS's own per-client limits (docs/ots-api.md §9): a client
//! that OTS would serve is never refused by a gateway running on defaults, in the worst burst
//! pattern a fixed 20-minute window allows, and the quotas are still on.

use std::time::Duration;

use governor::clock::FakeRelativeClock;
use ots_gateway_core::config::{CommandLineOverrides, MapEnvironment, ValidConfig, load};
use ots_gateway_core::limits::{Limits, OperationClass};
use ots_gateway_core::model::{Caller, Frontend};

/// OTS v1 counts creates and reveals per IP in fixed windows of this length.
const OTS_WINDOW: Duration = Duration::from_secs(20 * 60);
/// OTS's cap per window for `create_secret` and for `show_secret`.
const OTS_CAP_PER_WINDOW: u32 = 1000;
/// OTS v0.23's `check_status` cap, the highest it ever put on a manage-class call.
const OTS_V023_STATUS_CAP: u32 = 10_000;

fn defaults() -> ValidConfig {
    load(
        None,
        &MapEnvironment::default(),
        &CommandLineOverrides::default(),
    )
    .expect("the defaults are valid")
}

fn shipped() -> ValidConfig {
    let text = include_str!("../../config/ots-gateway.toml");
    load(
        Some(("config/ots-gateway.toml", text)),
        &MapEnvironment::default(),
        &CommandLineOverrides::default(),
    )
    .expect("the shipped config is valid")
}

/// Sends `count` calls of `class` as one caller and returns how many were refused.
fn refusals(
    limits: &Limits<FakeRelativeClock>,
    caller: &Caller,
    class: OperationClass,
    count: u32,
) -> u32 {
    (0..count)
        .filter(|_| limits.admit(caller, class).is_err())
        .count()
        .try_into()
        .expect("fits")
}

fn one_client_at_the_worst_moments(config: &ValidConfig, frontend: Frontend) {
    let clock = FakeRelativeClock::default();
    let limits = Limits::with_clock(config.quotas.clone(), clock.clone());
    let client = Caller::new(frontend, "local");
    // A full window's worth just before a window boundary, then another just after it, then a
    // full window's worth at every following boundary: everything OTS accepts.
    let moments = [
        Duration::ZERO,
        Duration::from_millis(1),
        OTS_WINDOW,
        OTS_WINDOW,
    ];
    for (n, wait) in moments.into_iter().enumerate() {
        clock.advance(wait);
        for (class, cap) in [
            (OperationClass::Create, OTS_CAP_PER_WINDOW),
            (OperationClass::Reveal, OTS_CAP_PER_WINDOW),
            (OperationClass::Manage, OTS_V023_STATUS_CAP),
        ] {
            assert_eq!(
                refusals(&limits, &client, class, cap),
                0,
                "{frontend:?} {class:?}: burst {n} refused although OTS accepts it"
            );
        }
    }
    // Quotas are still on: a create beyond what OTS allows is refused.
    assert!(
        refusals(&limits, &client, OperationClass::Create, OTS_CAP_PER_WINDOW) > 0,
        "{frontend:?}: the create quota must still hold a runaway client back"
    );
}

#[test]
fn default_quotas_admit_everything_ots_accepts_from_one_client() {
    for config in [defaults(), shipped()] {
        for frontend in Frontend::ALL {
            one_client_at_the_worst_moments(&config, frontend);
        }
    }
}
