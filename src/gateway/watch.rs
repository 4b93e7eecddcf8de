//! What the receipt watcher (`crate::watcher`) needs from the gateway: the ledger's live entries,
//! their current state from upstream within the shared budget, and who has been told what. Also
//! the owner-facing switch for read receipts.

use std::collections::HashMap;

use super::{Gateway, unix_now};
use crate::error::{Error, Result};
use crate::ledger::LedgerEntry;
use crate::model::{Caller, Frontend, Operation, ReceiptKey, ReceiptState};

/// What one round of polling achieved, so the watcher can back off when it should.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PollOutcome {
    /// Entries whose state the upstream reported (changed or not).
    pub observed: usize,
    /// The shared budget or the upstream said "not now": stop early and wait longer.
    pub throttled: bool,
    /// The upstream failed otherwise (network, status, malformed answer).
    pub failed: bool,
}

impl Gateway {
    /// Whether `caller` gets read receipts.
    pub async fn read_receipts_enabled(&self, caller: &Caller) -> Result<bool> {
        let (frontend, id) = (caller.frontend, caller.id.clone());
        self.with_ledger(move |ledger| ledger.read_receipts_enabled(frontend, &id))
            .await
    }

    /// Turns read receipts on or off for `caller`'s own secrets.
    pub async fn set_read_receipts(&self, caller: &Caller, enabled: bool) -> Result<()> {
        let (frontend, id) = (caller.frontend, caller.id.clone());
        self.with_ledger(move |ledger| ledger.set_read_receipts(frontend, &id, enabled))
            .await
    }

    pub(crate) async fn watch_due(
        &self,
        frontend: Frontend,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>> {
        let now = unix_now();
        self.with_ledger(move |ledger| ledger.watch_due(frontend, now, limit))
            .await
    }

    pub(crate) async fn unannounced(
        &self,
        frontend: Frontend,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>> {
        self.with_ledger(move |ledger| ledger.unannounced(frontend, limit))
            .await
    }

    pub(crate) async fn mark_announced(&self, key: &ReceiptKey, state: ReceiptState) -> Result<()> {
        let key = key.clone();
        self.with_ledger(move |ledger| ledger.mark_announced(&key, &state))
            .await
    }

    /// Asks upstream about `entries` and records what it says in the ledger. With the team's
    /// account and more than one entry, one `recent` call (the account's receipts of the last
    /// 30 days, states included) stands in for a receipt call each; entries it does not list,
    /// and every entry without an account or when `recent` is unusable, get their own receipt
    /// call. Every call is admitted by the shared upstream budget first.
    pub(crate) async fn poll_states(
        &self,
        entries: &[LedgerEntry],
        batch_with_recent: bool,
    ) -> (PollOutcome, Option<bool>) {
        let mut outcome = PollOutcome::default();
        let mut recent_worked = None;
        let mut remaining: Vec<&LedgerEntry> = entries.iter().collect();
        if batch_with_recent && self.has_team_credentials() && entries.len() > 1 {
            match self
                .upstream_call(Operation::Recent, || self.inner.upstream.recent())
                .await
            {
                Ok(receipts) => {
                    recent_worked = Some(true);
                    let states: HashMap<&str, &ReceiptState> = receipts
                        .iter()
                        .map(|receipt| (receipt.metadata_key.as_str(), &receipt.state))
                        .collect();
                    let mut unlisted = Vec::new();
                    for entry in remaining {
                        match states.get(entry.metadata_key.as_str()) {
                            Some(state) => {
                                outcome.observed += 1;
                                self.note_state(&entry.metadata_key, (*state).clone()).await;
                            }
                            None => unlisted.push(entry),
                        }
                    }
                    remaining = unlisted;
                }
                Err(error) if is_throttle(&error) => {
                    outcome.throttled = true;
                    return (outcome, recent_worked);
                }
                // Servers where `recent` is broken (v0.23.6) answer with an error every time;
                // the watcher stops trying it.
                Err(_) => recent_worked = Some(false),
            }
        }
        for entry in remaining {
            let key = &entry.metadata_key;
            match self
                .upstream_call(Operation::Receipt, || self.inner.upstream.receipt(key))
                .await
            {
                Ok(receipt) => {
                    outcome.observed += 1;
                    self.note_state(key, receipt.state).await;
                }
                // Gone upstream: the receipt itself expired.
                Err(Error::UnknownSecret) => {
                    outcome.observed += 1;
                    self.note_state(key, ReceiptState::Expired).await;
                }
                Err(error) if is_throttle(&error) => {
                    outcome.throttled = true;
                    break;
                }
                Err(_) => outcome.failed = true,
            }
        }
        (outcome, recent_worked)
    }

    /// One upstream call no caller asked for: admitted by the shared budget, timed, and never
    /// charged to anyone's quota.
    async fn upstream_call<T, F: std::future::Future<Output = Result<T>>>(
        &self,
        operation: Operation,
        call: impl FnOnce() -> F,
    ) -> Result<T> {
        self.inner.limits.admit_upstream_call()?;
        self.timed(operation, call).await
    }
}

fn is_throttle(error: &Error) -> bool {
    matches!(error, Error::RateLimited { .. })
}
