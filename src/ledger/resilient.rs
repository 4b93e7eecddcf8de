//! A ledger that keeps what it could not write, and says so.
//!
//! A share that OTS accepted exists upstream whether or not the ledger could record it, so its
//! receipt goes back to its creator either way. When the store refuses the write (disk full, a
//! lock held by another process past the bounded wait, an I/O error), the entry is kept in an
//! in-memory backlog instead of being dropped: reads see it, state updates apply to it, and it is
//! written, oldest first, as soon as the store takes writes again. Until then [`LedgerHealth`]
//! reports the backlog, for `/readyz`, the metrics and the frontends' answers.
//!
//! The backlog lives in memory, so it does not survive the process: a gateway killed while its
//! store is failing loses the backlog's entries (the secrets themselves still live and expire
//! upstream). The backlog is bounded; when it is full, new secrets are refused before they are
//! created upstream, so nothing is created that the gateway could not keep track of.

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{EntryId, LedgerEntry, LedgerError, LedgerStore, StateUpdate};
use crate::model::{Frontend, ReceiptKey, ReceiptState};

/// Most acknowledged entries kept in memory while the store fails: a few MiB at most.
pub const BACKLOG_CAPACITY: usize = 10_000;

/// What [`ResilientLedger::record`] did with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The store committed it.
    Committed,
    /// The store failed; the entry is in the backlog and will be written when the store recovers.
    Deferred,
}

/// The ledger's write health, as operators and callers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerHealth {
    /// Acknowledged entries not yet written to the store.
    pub backlog: usize,
    /// Whether the last write the store was asked for failed.
    pub last_write_failed: bool,
    /// Writes the store refused since the gateway started.
    pub write_failures: u64,
}

impl LedgerHealth {
    /// Healthy means every acknowledged entry is in the store and the store takes writes.
    pub fn is_healthy(&self) -> bool {
        self.backlog == 0 && !self.last_write_failed
    }
}

impl fmt::Display for LedgerHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_healthy() {
            return f.write_str("the ledger is writing normally");
        }
        write!(
            f,
            "the ledger is failing to write: {} receipt(s) are kept in memory and will be \
             recorded once it recovers",
            self.backlog
        )
    }
}

fn outcome_missing() -> LedgerError {
    LedgerError::BatchNotCommitted {
        reason: "the store returned no outcome for this entry".to_owned(),
    }
}

/// A [`LedgerStore`] with a backlog for entries it could not write. Reads it does not need to
/// change reach the store through `Deref`.
pub struct ResilientLedger {
    store: Arc<dyn LedgerStore>,
    /// Oldest first.
    backlog: Mutex<Vec<LedgerEntry>>,
    /// Held while the backlog is written out, so two writers cannot record an entry twice.
    flushing: Mutex<()>,
    last_write_failed: AtomicBool,
    write_failures: AtomicU64,
}

impl Deref for ResilientLedger {
    type Target = dyn LedgerStore;

    fn deref(&self) -> &Self::Target {
        self.store.as_ref()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section below leaves the data consistent at each step.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ResilientLedger {
    pub fn new(store: Arc<dyn LedgerStore>) -> Self {
        ResilientLedger {
            store,
            backlog: Mutex::new(Vec::new()),
            flushing: Mutex::new(()),
            last_write_failed: AtomicBool::new(false),
            write_failures: AtomicU64::new(0),
        }
    }

    pub fn health(&self) -> LedgerHealth {
        LedgerHealth {
            backlog: lock(&self.backlog).len(),
            last_write_failed: self.last_write_failed.load(Ordering::Relaxed),
            write_failures: self.write_failures.load(Ordering::Relaxed),
        }
    }

    /// Whether one more entry could be kept if the store failed to write it. Checked before a
    /// secret is created upstream.
    pub fn has_room(&self) -> bool {
        lock(&self.backlog).len() < BACKLOG_CAPACITY
    }

    /// Records `entry`, or keeps it in the backlog if the store fails. Entries already waiting
    /// go first, so the store sees entries in the order they were acknowledged. Fails only if
    /// the store already holds the entry, or the backlog is full (after [`Self::has_room`] said
    /// otherwise, under a race); the error is then the store's.
    pub fn record(&self, entry: LedgerEntry) -> Result<Recorded, LedgerError> {
        self.record_batch(vec![entry])
            .pop()
            .unwrap_or_else(|| Err(outcome_missing()))
    }

    /// [`Self::record`] for several entries, handed to the store as one batch (one commit for
    /// SQLite). One outcome per entry, in order.
    pub fn record_batch(&self, entries: Vec<LedgerEntry>) -> Vec<Result<Recorded, LedgerError>> {
        if !lock(&self.backlog).is_empty() && self.flush().is_err() {
            return entries
                .into_iter()
                .map(|entry| self.defer(entry, None))
                .collect();
        }
        let outcomes = self.store.record_batch(&entries);
        self.settle(entries, outcomes)
    }

    /// [`Self::record_batch`] for a caller on an async worker: only if the store takes the batch
    /// at once (see [`LedgerStore::try_record_batch`]) and no backlog waits to be written first.
    /// Otherwise the entries come back untouched, for a caller that may block.
    pub fn try_record_batch(
        &self,
        entries: Vec<LedgerEntry>,
    ) -> Result<Vec<Result<Recorded, LedgerError>>, Vec<LedgerEntry>> {
        if !lock(&self.backlog).is_empty() {
            return Err(entries);
        }
        match self.store.try_record_batch(&entries) {
            Some(outcomes) => Ok(self.settle(entries, outcomes)),
            None => Err(entries),
        }
    }

    /// Turns the store's outcomes into the callers': an entry the store failed to write goes to
    /// the backlog.
    fn settle(
        &self,
        entries: Vec<LedgerEntry>,
        mut outcomes: Vec<Result<(), LedgerError>>,
    ) -> Vec<Result<Recorded, LedgerError>> {
        // A store that breaks the one-outcome-per-entry contract must not lose an entry.
        outcomes.resize_with(entries.len(), || Err(outcome_missing()));
        entries
            .into_iter()
            .zip(outcomes)
            .map(|(entry, outcome)| match outcome {
                Ok(()) => {
                    self.last_write_failed.store(false, Ordering::Relaxed);
                    Ok(Recorded::Committed)
                }
                Err(duplicate @ LedgerError::AlreadyRecorded { .. }) => Err(duplicate),
                Err(error) => {
                    self.note_write_failure(&error);
                    self.defer(entry, Some(error))
                }
            })
            .collect()
    }

    fn defer(
        &self,
        entry: LedgerEntry,
        error: Option<LedgerError>,
    ) -> Result<Recorded, LedgerError> {
        let mut backlog = lock(&self.backlog);
        if backlog.len() >= BACKLOG_CAPACITY {
            return Err(error.unwrap_or(LedgerError::BacklogFull {
                capacity: BACKLOG_CAPACITY,
            }));
        }
        backlog.push(entry);
        Ok(Recorded::Deferred)
    }

    fn note_write_failure(&self, error: &LedgerError) {
        self.last_write_failed.store(true, Ordering::Relaxed);
        self.write_failures.fetch_add(1, Ordering::Relaxed);
        tracing::error!(%error, "ledger write failed; the receipt is kept in memory until the ledger recovers");
    }

    /// Writes the backlog to the store, oldest first, and returns how many entries it wrote.
    /// Stops at the first failure, leaving that entry and the ones after it for the next try.
    pub fn flush(&self) -> Result<usize, LedgerError> {
        let _only_flusher = lock(&self.flushing);
        let mut written = 0;
        loop {
            let Some(oldest) = lock(&self.backlog).first().cloned() else {
                self.last_write_failed.store(false, Ordering::Relaxed);
                return Ok(written);
            };
            match self.store.record(&oldest) {
                // Already there: an earlier attempt committed although it reported a failure.
                Ok(()) | Err(LedgerError::AlreadyRecorded { .. }) => {
                    lock(&self.backlog).retain(|waiting| waiting.id != oldest.id);
                    written += 1;
                }
                Err(error) => {
                    self.note_write_failure(&error);
                    return Err(error);
                }
            }
        }
    }

    fn find_waiting(&self, matches: impl Fn(&LedgerEntry) -> bool) -> Option<LedgerEntry> {
        lock(&self.backlog)
            .iter()
            .find(|entry| matches(entry))
            .cloned()
    }

    pub fn by_metadata_key(&self, key: &ReceiptKey) -> Result<Option<LedgerEntry>, LedgerError> {
        match self.find_waiting(|entry| &entry.metadata_key == key) {
            Some(entry) => Ok(Some(entry)),
            None => self.store.by_metadata_key(key),
        }
    }

    pub fn by_id(&self, id: &EntryId) -> Result<Option<LedgerEntry>, LedgerError> {
        match self.find_waiting(|entry| &entry.id == id) {
            Some(entry) => Ok(Some(entry)),
            None => self.store.by_id(id),
        }
    }

    /// The store's answer with the caller's backlog entries merged in, newest first.
    pub fn recent(
        &self,
        frontend: Frontend,
        caller: &str,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, LedgerError> {
        let waiting: Vec<LedgerEntry> = lock(&self.backlog)
            .iter()
            .filter(|entry| entry.frontend == frontend && entry.caller == caller)
            .cloned()
            .collect();
        let mut entries = self.store.recent(frontend, caller, limit)?;
        if waiting.is_empty() {
            return Ok(entries);
        }
        // An entry being flushed right now may be in both.
        entries.retain(|stored| waiting.iter().all(|entry| entry.id != stored.id));
        // Waiting entries were acknowledged after the stored ones, so of two created in the same
        // second the waiting one goes first (the sort is stable), as the store itself orders
        // the later-recorded first. The backlog is oldest first, hence the reversal.
        let mut merged: Vec<LedgerEntry> = waiting.into_iter().rev().collect();
        merged.extend(entries);
        merged.sort_by_key(|entry| std::cmp::Reverse(entry.created));
        merged.truncate(limit);
        Ok(merged)
    }

    pub fn update_state(
        &self,
        key: &ReceiptKey,
        state: ReceiptState,
        at: i64,
    ) -> Result<StateUpdate, LedgerError> {
        {
            let mut backlog = lock(&self.backlog);
            if let Some(entry) = backlog.iter_mut().find(|entry| &entry.metadata_key == key) {
                if entry.state_updated > at {
                    return Ok(StateUpdate::Stale);
                }
                entry.apply_observed_state(state, at);
                return Ok(StateUpdate::Applied);
            }
        }
        self.store.update_state(key, state, at)
    }

    /// Entries in the store plus those waiting to be written.
    pub fn count(&self) -> Result<u64, LedgerError> {
        let waiting = u64::try_from(lock(&self.backlog).len()).unwrap_or(u64::MAX);
        Ok(self.store.count()?.saturating_add(waiting))
    }
}

#[cfg(test)]
mod tests;
