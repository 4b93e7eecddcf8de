//! Which OTS API the client speaks, and the choice `auto` makes and revises.
//!
//! The facts relied on are in `docs/ots-api-v2-notes.md` ("Detecting v2" and "Falling back").
//! In short: only a server whose unauthenticated `GET /api/v2/status` answers 200 with a JSON
//! object holding `"success": true` and `"status": "nominal"` speaks the v2 this client knows.
//! Older servers answer the same path without `success` and carry an incompatible v2, so they
//! count as v1 servers. A server that passes the probe can still fail v2 calls (a region deployed
//! apart from the others), so the choice is revised per call, not only at start-up.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::error::{Error, UpstreamFailure};

/// The `upstream.api` setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiChoice {
    /// v2 where the server offers it, v1 where it does not or while v2 is failing.
    #[default]
    Auto,
    /// Only v2: for servers whose v1 is switched off or broken.
    V2,
    /// Only v1: every OTS release since v0.12 serves it.
    V1,
}

impl ApiChoice {
    /// The setting as written in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiChoice::Auto => "auto",
            ApiChoice::V2 => "v2",
            ApiChoice::V1 => "v1",
        }
    }
}

/// One of the two wire formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiVersion {
    V1,
    V2,
}

impl ApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1",
            ApiVersion::V2 => "v2",
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// After a fall-back to v1, how long before v2 is probed again. Long enough that a server whose
/// v2 is down is not probed on every call, short enough that a fixed region is used again soon.
pub(super) const REDETECT_AFTER_FALLBACK: Duration = Duration::from_secs(300);

/// What `auto` currently believes about the server.
#[derive(Debug, Clone, Copy)]
struct Belief {
    api: ApiVersion,
    /// True when v1 was chosen because v2 failed, not because the server lacks v2.
    fell_back: bool,
    since: Instant,
}

/// The `auto` state: undecided until the first call probes, then revised after failures.
#[derive(Debug, Default)]
pub(super) struct AutoApi {
    belief: Mutex<Option<Belief>>,
    fallbacks: AtomicU64,
}

impl AutoApi {
    /// The API to use now, or `None` when a probe is due.
    pub(super) fn current(&self) -> Option<ApiVersion> {
        let belief = *self.lock();
        match belief {
            Some(b) if b.fell_back && b.since.elapsed() >= REDETECT_AFTER_FALLBACK => None,
            Some(b) => Some(b.api),
            None => None,
        }
    }

    pub(super) fn detected(&self, api: ApiVersion) {
        let mut belief = self.lock();
        let previous = belief.map(|b| b.api);
        *belief = Some(Belief {
            api,
            fell_back: false,
            since: Instant::now(),
        });
        if previous.is_some_and(|p| p != api) {
            warn!(
                api = api.as_str(),
                "the OTS server's API changed on re-detection"
            );
        }
    }

    /// v2 failed in a way that says "not available here": use v1 until re-detection.
    pub(super) fn fall_back(&self) {
        let mut belief = self.lock();
        if belief.is_some_and(|b| b.fell_back) {
            return;
        }
        *belief = Some(Belief {
            api: ApiVersion::V1,
            fell_back: true,
            since: Instant::now(),
        });
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        // Once per switch, not per call: the belief holds until re-detection.
        warn!("OTS API v2 is failing on this server; using v1 until it is probed again");
    }

    /// v1 failed in the same way: forget what was believed, so the next call probes again.
    pub(super) fn forget(&self) {
        *self.lock() = None;
    }

    pub(super) fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    pub(super) fn fell_back(&self) -> bool {
        self.lock().is_some_and(|b| b.fell_back)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Belief>> {
        // The guarded value is a plain Copy struct; a panic elsewhere cannot leave it torn.
        self.belief
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Failures that say "this API is not served here or is broken", as opposed to an answer about
/// the request: the route is missing, the server crashed, or the body is not what OTS sends.
/// Timeouts and network errors are left out: they say nothing about which API works. Nor does
/// an answer over the size limit: a long list of receipts is a working API with a busy account.
pub(super) fn means_unavailable(err: &Error) -> bool {
    match err.upstream_failure() {
        Some(UpstreamFailure::Status(code)) => code == 404 || code >= 500,
        Some(UpstreamFailure::MalformedResponse) => true,
        Some(
            UpstreamFailure::Timeout
            | UpstreamFailure::Network(_)
            | UpstreamFailure::AnswerTooLarge { .. },
        )
        | None => false,
    }
}

/// What `auto` has decided so far, for `/gateway/status` and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiInUse {
    pub choice: ApiChoice,
    /// `None` until the first call has probed the server (`auto` only).
    pub api: Option<ApiVersion>,
    /// Whether `auto` is on v1 because v2 failed.
    pub fell_back: bool,
    /// How many times `auto` has fallen back since start.
    pub fallbacks: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_reads_lowercase_and_defaults_to_auto() {
        #[derive(Deserialize)]
        struct Probe {
            #[serde(default)]
            api: ApiChoice,
        }
        let parsed: Probe = toml::from_str("").expect("empty");
        assert_eq!(parsed.api, ApiChoice::Auto);
        let parsed: Probe = toml::from_str("api = \"v2\"").expect("v2");
        assert_eq!(parsed.api, ApiChoice::V2);
        assert!(toml::from_str::<Probe>("api = \"v3\"").is_err());
    }

    #[test]
    fn falling_back_is_counted_once_per_switch() {
        let auto = AutoApi::default();
        assert_eq!(auto.current(), None);
        auto.detected(ApiVersion::V2);
        assert_eq!(auto.current(), Some(ApiVersion::V2));
        auto.fall_back();
        auto.fall_back();
        assert_eq!(auto.current(), Some(ApiVersion::V1));
        assert_eq!(auto.fallbacks(), 1);
        assert!(auto.fell_back());
        auto.forget();
        assert_eq!(auto.current(), None);
    }

    #[test]
    fn only_failures_about_the_api_itself_mean_unavailable() {
        assert!(means_unavailable(&Error::Upstream(
            UpstreamFailure::Status(404)
        )));
        assert!(means_unavailable(&Error::Upstream(
            UpstreamFailure::Status(500)
        )));
        assert!(!means_unavailable(&Error::Upstream(
            UpstreamFailure::Network(crate::error::NetworkCause::Other)
        )));
        assert!(!means_unavailable(&Error::UnknownSecret));
        assert!(!means_unavailable(&Error::NotAuthorized));
    }
}
