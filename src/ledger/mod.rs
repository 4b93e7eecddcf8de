//! The ownership ledger: a durable record of every receipt created through the gateway.
//!
//! It lets each caller list their own recent secrets and lets a frontend refuse to inspect or
//! burn a receipt someone else created. It never holds a secret value or a passphrase (see
//! [`LedgerEntry`]).
//!
//! Storage sits behind [`LedgerStore`] so that a team running several gateways can later back it
//! with a shared database; [`SqliteLedger`] is the embedded default.

mod entry;
mod error;
mod resilient;
mod sqlite;
#[cfg(test)]
mod tests;
mod writer;

pub use entry::{EntryId, LedgerEntry};
pub use error::LedgerError;
pub use resilient::{BACKLOG_CAPACITY, LedgerHealth, Recorded, ResilientLedger};
pub use sqlite::{Durability, SqliteLedger};
#[cfg(test)]
pub(crate) use tests::{FlakyStore, Pretences};
pub use writer::LedgerWriter;

use crate::model::{Frontend, ReceiptKey, ReceiptState};

/// What [`LedgerStore::update_state`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateUpdate {
    /// The entry now holds the new state.
    Applied,
    /// The entry already holds a state observed later; it was left alone so that a slow response
    /// cannot roll back what a faster one reported.
    Stale,
    /// No entry for that receipt: it was not created through this ledger, or was pruned.
    Unknown,
}

/// Where ledger entries live.
///
/// Methods block (disk or network I/O); async callers run them on `spawn_blocking`. Once a
/// method that writes returns `Ok`, the change is committed: a gateway that acknowledged a share
/// must still know its owner after a crash.
pub trait LedgerStore: Send + Sync + 'static {
    /// Stores a new entry. Fails with [`LedgerError::AlreadyRecorded`] if its id or receipt key
    /// is already present, rather than silently changing who owns a receipt.
    fn record(&self, entry: &LedgerEntry) -> Result<(), LedgerError>;

    /// Stores several entries, as one commit where the store can, and returns one outcome per
    /// entry, in order. Once it returns, every `Ok` entry is committed, as with [`Self::record`].
    fn record_batch(&self, entries: &[LedgerEntry]) -> Vec<Result<(), LedgerError>> {
        entries.iter().map(|entry| self.record(entry)).collect()
    }

    /// [`Self::record_batch`] if it can start at once, for a caller on an async worker: `None`
    /// if it would first wait for another caller (who holds the store, or a checkpoint), for
    /// another process (SQLite: one holding the file's write lock), or for the disk (SQLite:
    /// the commit that starts the WAL over), and never runs a checkpoint itself.
    fn try_record_batch(&self, entries: &[LedgerEntry]) -> Option<Vec<Result<(), LedgerError>>> {
        Some(self.record_batch(entries))
    }

    /// Whether a commit waits for the disk to confirm it (an fsync: milliseconds), rather than
    /// only handing the data to the operating system (microseconds). [`LedgerWriter`] commits
    /// on an async worker only when it does not.
    fn commits_wait_for_disk(&self) -> bool {
        true
    }

    /// Whether housekeeping that [`Self::try_record_batch`] leaves undone (SQLite: writing the
    /// WAL out as it grows, and checkpointing it) waits for a caller that may block.
    fn checkpoint_due(&self) -> bool {
        false
    }

    /// Does that housekeeping, blocking; any blocking write also does it on the way out.
    fn checkpoint(&self) {}

    fn by_metadata_key(&self, key: &ReceiptKey) -> Result<Option<LedgerEntry>, LedgerError>;

    fn by_id(&self, id: &EntryId) -> Result<Option<LedgerEntry>, LedgerError>;

    /// The caller's entries on that frontend, newest first, at most `limit`. Entries already
    /// pruned are gone; entries past expiry but not yet pruned are still listed.
    fn recent(
        &self,
        frontend: Frontend,
        caller: &str,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, LedgerError>;

    /// Records the state observed at unix time `at`, unless a later observation is already
    /// stored. Once the state says the secret is gone, its key is forgotten: it opens nothing any
    /// more, and a key not kept cannot leak.
    fn update_state(
        &self,
        key: &ReceiptKey,
        state: ReceiptState,
        at: i64,
    ) -> Result<StateUpdate, LedgerError>;

    /// Deletes entries whose receipt can no longer exist upstream (`receipt_expires <= now`) and
    /// returns how many.
    fn prune(&self, now: i64) -> Result<usize, LedgerError>;

    fn count(&self) -> Result<u64, LedgerError>;

    // Read receipts: what the receipt watcher polls and what each owner has been told.

    /// Up to `limit` of `frontend`'s entries worth asking upstream about: state still live,
    /// receipt still in existence at `now`, owner not opted out of read receipts. Least recently
    /// observed first, so that repeated calls go round all of them.
    fn watch_due(
        &self,
        frontend: Frontend,
        now: i64,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, LedgerError>;

    /// Up to `limit` of `frontend`'s entries whose secret is gone (received, burned, expired,
    /// orphaned) and whose owner, not opted out, has not been told yet. Oldest change first.
    fn unannounced(
        &self,
        frontend: Frontend,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, LedgerError>;

    /// Records that the owner now knows about `state`, so it is not announced again.
    fn mark_announced(&self, key: &ReceiptKey, state: &ReceiptState) -> Result<(), LedgerError>;

    /// Turns read receipts on or off for one owner. Turning them on counts everything already
    /// finished as announced: the owner asked for news from now on, not a backlog.
    fn set_read_receipts(
        &self,
        frontend: Frontend,
        caller: &str,
        enabled: bool,
    ) -> Result<(), LedgerError>;

    /// Whether the owner gets read receipts (on unless they opted out).
    fn read_receipts_enabled(&self, frontend: Frontend, caller: &str) -> Result<bool, LedgerError>;
}
