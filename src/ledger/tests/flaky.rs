//! A test store whose writes can be switched to fail, for the code that must survive that, and
//! which notes the thread of each write, for the code that chooses where writes run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::ledger::{EntryId, LedgerEntry, LedgerError, LedgerStore, SqliteLedger, StateUpdate};
use crate::model::{Frontend, ReceiptKey, ReceiptState};

/// An in-memory SQLite store whose writes can be made to fail, as a full disk or a held lock
/// would make them.
pub(crate) struct FlakyStore {
    inner: SqliteLedger,
    failing: AtomicBool,
    pretences: Pretences,
    /// The name of the thread each write (or batch) ran on, in order.
    write_threads: Mutex<Vec<String>>,
    checkpoint_threads: Mutex<Vec<String>>,
}

/// What a [`FlakyStore`] claims about itself, for the code that decides where writes run.
#[derive(Default)]
pub(crate) struct Pretences {
    pub(crate) commits_wait_for_disk: bool,
    /// [`LedgerStore::try_record_batch`] always finds the store busy.
    pub(crate) always_busy: bool,
    pub(crate) checkpoint_always_due: bool,
}

impl FlakyStore {
    pub(crate) fn new() -> Arc<FlakyStore> {
        FlakyStore::pretending(Pretences::default())
    }

    pub(crate) fn pretending(pretences: Pretences) -> Arc<FlakyStore> {
        Arc::new(FlakyStore {
            inner: SqliteLedger::open_in_memory().expect("in-memory ledger"),
            failing: AtomicBool::new(false),
            pretences,
            write_threads: Mutex::default(),
            checkpoint_threads: Mutex::default(),
        })
    }

    pub(crate) fn fail_writes(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    pub(crate) fn write_threads(&self) -> Vec<String> {
        self.write_threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn checkpoint_threads(&self) -> Vec<String> {
        self.checkpoint_threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn note_thread(list: &Mutex<Vec<String>>) {
        let name = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_owned();
        list.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(name);
    }

    fn disk_full() -> LedgerError {
        LedgerError::BatchNotCommitted {
            reason: "database or disk is full".to_owned(),
        }
    }
}

impl LedgerStore for FlakyStore {
    fn record(&self, entry: &LedgerEntry) -> Result<(), LedgerError> {
        Self::note_thread(&self.write_threads);
        if self.failing.load(Ordering::SeqCst) {
            return Err(Self::disk_full());
        }
        self.inner.record(entry)
    }
    fn record_batch(&self, entries: &[LedgerEntry]) -> Vec<Result<(), LedgerError>> {
        Self::note_thread(&self.write_threads);
        if self.failing.load(Ordering::SeqCst) {
            return entries.iter().map(|_| Err(Self::disk_full())).collect();
        }
        self.inner.record_batch(entries)
    }
    fn try_record_batch(&self, entries: &[LedgerEntry]) -> Option<Vec<Result<(), LedgerError>>> {
        if self.pretences.always_busy {
            return None;
        }
        Some(self.record_batch(entries))
    }
    fn commits_wait_for_disk(&self) -> bool {
        self.pretences.commits_wait_for_disk
    }
    fn checkpoint_due(&self) -> bool {
        self.pretences.checkpoint_always_due
    }
    fn checkpoint(&self) {
        Self::note_thread(&self.checkpoint_threads);
    }
    fn by_metadata_key(&self, key: &ReceiptKey) -> Result<Option<LedgerEntry>, LedgerError> {
        self.inner.by_metadata_key(key)
    }
    fn by_id(&self, id: &EntryId) -> Result<Option<LedgerEntry>, LedgerError> {
        self.inner.by_id(id)
    }
    fn recent(
        &self,
        frontend: Frontend,
        caller: &str,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, LedgerError> {
        self.inner.recent(frontend, caller, limit)
    }
    fn update_state(
        &self,
        key: &ReceiptKey,
        state: ReceiptState,
        at: i64,
    ) -> Result<StateUpdate, LedgerError> {
        self.inner.update_state(key, state, at)
    }
    fn prune(&self, now: i64) -> Result<usize, LedgerError> {
        self.inner.prune(now)
    }
    fn count(&self) -> Result<u64, LedgerError> {
        self.inner.count()
    }
    fn watch_due(
        &self,
        frontend: Frontend,
        now: i64,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, LedgerError> {
        self.inner.watch_due(frontend, now, limit)
    }
    fn unannounced(
        &self,
        frontend: Frontend,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, LedgerError> {
        self.inner.unannounced(frontend, limit)
    }
    fn mark_announced(&self, key: &ReceiptKey, state: &ReceiptState) -> Result<(), LedgerError> {
        self.inner.mark_announced(key, state)
    }
    fn set_read_receipts(
        &self,
        frontend: Frontend,
        caller: &str,
        enabled: bool,
    ) -> Result<(), LedgerError> {
        self.inner.set_read_receipts(frontend, caller, enabled)
    }
    fn read_receipts_enabled(&self, frontend: Frontend, caller: &str) -> Result<bool, LedgerError> {
        self.inner.read_receipts_enabled(frontend, caller)
    }
}
