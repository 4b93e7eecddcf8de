//! Read receipts: a background watcher that notices when a secret made through one frontend is
//! opened, burned or expires, and tells that frontend's [`ReceiptSubscriber`] so it can tell
//! the secret's owner.
//!
//! It is frontend-neutral and cheap on purpose:
//! - it polls only the ledger's live entries (state `new`/`viewed`, receipt still upstream) of
//!   owners who did not opt out, at most `batch` per round, least recently observed first;
//! - with the team's account, one `recent` call covers a whole batch; every upstream call is
//!   admitted by the shared upstream budget, so the watcher can never starve callers of it;
//! - when the budget, the upstream or the subscriber says "not now", the pause between rounds
//!   doubles, up to `max_backoff`, and returns to `interval` after a clean round;
//! - what each owner was told is kept in the ledger, so a restart neither repeats news nor loses
//!   changes that happened while the gateway was down.
//!
//! A change is announced within `interval × ⌈live entries / batch⌉` while nothing throttles
//! (plus the back-off when something does).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::gateway::{Gateway, PollOutcome};
use crate::ledger::{EntryId, LedgerEntry};
use crate::model::{Frontend, ReceiptState};

/// How often and how much the watcher polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatcherSettings {
    /// The pause between rounds when all is well.
    pub interval: Duration,
    /// Most entries asked about upstream in one round.
    pub batch: usize,
    /// The longest pause when backing off.
    pub max_backoff: Duration,
}

impl Default for WatcherSettings {
    /// Half a minute between rounds of up to ten entries: a team with a few dozen secrets in
    /// flight hears about a reveal within a couple of minutes, at a cost of at most one call per
    /// three seconds to OTS (one per round with the team's account).
    fn default() -> Self {
        WatcherSettings {
            interval: Duration::from_secs(30),
            batch: 10,
            max_backoff: Duration::from_secs(600),
        }
    }
}

/// News for a secret's owner. It carries no key or value: only what the owner needs to tell
/// which of their secrets it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptNews {
    /// The caller id of the owner, as the frontend vouched for it.
    pub owner: String,
    pub entry: EntryId,
    /// Unix seconds when the secret was made.
    pub created: i64,
    /// What happened: received (opened), burned, expired or orphaned.
    pub state: ReceiptState,
    /// Unix seconds when the gateway learned of it.
    pub observed: i64,
}

impl ReceiptNews {
    fn from_entry(entry: &LedgerEntry) -> Self {
        ReceiptNews {
            owner: entry.caller.clone(),
            entry: entry.id.clone(),
            created: entry.created,
            state: entry.state.clone(),
            observed: entry.state_updated,
        }
    }
}

/// What became of one announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// It can never be delivered (the owner closed their DMs, say); do not try again.
    Undeliverable,
    /// The frontend could not deliver it now; keep it for a later round.
    RetryLater,
}

/// The frontend side of read receipts.
pub trait ReceiptSubscriber: Send + Sync {
    fn announce(&self, news: ReceiptNews) -> Pin<Box<dyn Future<Output = Delivery> + Send + '_>>;
}

/// Most announcements sent in one round, so a backlog (after a long outage) goes out at a pace
/// the frontend's own rate limits can take.
const ANNOUNCEMENTS_PER_ROUND: usize = 25;

pub struct ReceiptWatcher {
    gateway: Gateway,
    frontend: Frontend,
    settings: WatcherSettings,
    /// Cleared once `recent` fails for a reason other than throttling: that server's `recent`
    /// is broken, so per-receipt calls are the only way.
    recent_usable: bool,
}

/// What one round did, for back-off and for tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub observed: usize,
    pub announced: usize,
    /// Something said "not now"; the next pause is longer.
    pub held_back: bool,
}

impl ReceiptWatcher {
    pub fn new(gateway: Gateway, frontend: Frontend, settings: WatcherSettings) -> Self {
        ReceiptWatcher {
            gateway,
            frontend,
            settings,
            recent_usable: true,
        }
    }

    /// Runs rounds until `shutdown` completes. The first round starts at once, so news from
    /// while the gateway was down goes out on start.
    pub async fn run(
        mut self,
        subscriber: impl ReceiptSubscriber,
        shutdown: impl Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let mut pause = self.settings.interval;
        loop {
            let round = self.round(&subscriber).await;
            pause = if round.held_back {
                let longer = pause.saturating_mul(2).min(self.settings.max_backoff);
                if longer != pause {
                    tracing::info!(pause_secs = longer.as_secs(), "read receipts: backing off");
                }
                longer
            } else {
                self.settings.interval
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = &mut shutdown => return,
            }
        }
    }

    /// One round: announce what is already known, poll a batch, announce what that found.
    pub async fn round(&mut self, subscriber: &impl ReceiptSubscriber) -> Round {
        let mut round = Round::default();
        self.announce(subscriber, &mut round).await;
        match self
            .gateway
            .watch_due(self.frontend, self.settings.batch)
            .await
        {
            Ok(due) if due.is_empty() => {}
            Ok(due) => {
                let (outcome, recent_worked) =
                    self.gateway.poll_states(&due, self.recent_usable).await;
                if recent_worked == Some(false) {
                    tracing::info!(
                        "read receipts: the upstream's recent list is unusable; asking per receipt"
                    );
                    self.recent_usable = false;
                }
                let PollOutcome {
                    observed,
                    throttled,
                    failed,
                } = outcome;
                round.observed = observed;
                round.held_back |= throttled || failed;
            }
            Err(_) => round.held_back = true,
        }
        self.announce(subscriber, &mut round).await;
        round
    }

    async fn announce(&self, subscriber: &impl ReceiptSubscriber, round: &mut Round) {
        let pending = match self
            .gateway
            .unannounced(self.frontend, ANNOUNCEMENTS_PER_ROUND)
            .await
        {
            Ok(pending) => pending,
            Err(_) => {
                round.held_back = true;
                return;
            }
        };
        for entry in pending {
            match subscriber.announce(ReceiptNews::from_entry(&entry)).await {
                Delivery::Delivered => round.announced += 1,
                Delivery::Undeliverable => {}
                Delivery::RetryLater => {
                    round.held_back = true;
                    return;
                }
            }
            if self
                .gateway
                .mark_announced(&entry.metadata_key, entry.state.clone())
                .await
                .is_err()
            {
                // Not recorded means it would go out again next round; stop rather than repeat.
                round.held_back = true;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
