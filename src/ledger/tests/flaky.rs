//! A test store whose writes can be switched to fail, for the code that must survive that.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::ledger::{EntryId, LedgerEntry, LedgerError, LedgerStore, SqliteLedger, StateUpdate};
use crate::model::{Frontend, ReceiptKey, ReceiptState};

/// An in-memory SQLite store whose writes can be made to fail, as a full disk or a held lock
/// would make them.
pub(crate) struct FlakyStore {
    inner: SqliteLedger,
    failing: AtomicBool,
}

impl FlakyStore {
    pub(crate) fn new() -> Arc<FlakyStore> {
        Arc::new(FlakyStore {
            inner: SqliteLedger::open_in_memory().expect("in-memory ledger"),
            failing: AtomicBool::new(false),
        })
    }

    pub(crate) fn fail_writes(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl LedgerStore for FlakyStore {
    fn record(&self, entry: &LedgerEntry) -> Result<(), LedgerError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(LedgerError::BatchNotCommitted {
                reason: "database or disk is full".to_owned(),
            });
        }
        self.inner.record(entry)
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
