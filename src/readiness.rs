//! Whether the upstream answers, for readiness probes and status displays.
//!
//! Probes come from orchestrators and monitoring, often many a minute, and must never mark the
//! gateway unready by using up quota meant for real work. So a probe spends no caller quota and
//! none of the shared upstream budget, and writes no audit event. What keeps it from hammering
//! OTS instead is this cache: at most one upstream `status` call per [`FRESH_FOR`], however many
//! probes arrive, and concurrent probes wait for the one call in flight rather than each making
//! their own.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::model::UpstreamStatus;

/// How long one upstream answer serves every probe. Short enough that an operator watching
/// `ots-gateway status` sees an outage or a recovery within a couple of seconds.
pub const FRESH_FOR: Duration = Duration::from_secs(2);

/// What a probe says when the upstream did not answer as it should: the reason, for people.
pub type NotReady = String;

/// The last probe result and when it was taken.
#[derive(Default)]
pub struct ReadinessCache {
    last: Mutex<Option<(Instant, std::result::Result<UpstreamStatus, NotReady>)>>,
}

impl ReadinessCache {
    /// The cached answer while fresh; otherwise runs `probe` (one at a time) and caches it.
    /// `describe` turns a failure into the words an operator sees.
    pub async fn get_or_probe(
        &self,
        probe: impl Future<Output = Result<UpstreamStatus>>,
        describe: impl FnOnce(&Error) -> NotReady,
    ) -> std::result::Result<UpstreamStatus, NotReady> {
        let mut last = self.last.lock().await;
        if let Some((taken, answer)) = last.as_ref()
            && taken.elapsed() < FRESH_FOR
        {
            return answer.clone();
        }
        let answer = probe.await.map_err(|error| describe(&error));
        *last = Some((Instant::now(), answer.clone()));
        answer
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn up() -> UpstreamStatus {
        UpstreamStatus {
            status: "nominal".to_owned(),
            locale: "en".to_owned(),
        }
    }

    #[tokio::test]
    async fn many_probes_make_one_upstream_call_while_fresh() {
        let cache = ReadinessCache::default();
        let calls = AtomicUsize::new(0);
        for _ in 0..200 {
            let answer = cache
                .get_or_probe(
                    async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        Ok(up())
                    },
                    |error| error.to_string(),
                )
                .await;
            assert_eq!(answer, Ok(up()));
        }
        // 200 probes cannot all fall in distinct 2-second windows within this test.
        assert!(calls.load(Ordering::SeqCst) < 200);
    }

    #[tokio::test]
    async fn a_failure_reaches_the_caller_in_the_operators_words() {
        let cache = ReadinessCache::default();
        let answer = cache
            .get_or_probe(async { Err(Error::NotAuthorized) }, |error| {
                format!("described: {}", error.kind())
            })
            .await;
        assert_eq!(answer, Err("described: not_authorized".to_owned()));
    }
}
