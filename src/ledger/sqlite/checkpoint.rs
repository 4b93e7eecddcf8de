//! Checkpoints kept out of commits that run on async workers.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that commit
//! then copies the WAL into the database file and syncs both, which takes milliseconds. Commits
//! run on async workers when they are brief (see `LedgerWriter`), where such a pause would stall
//! every request on that worker. Instead the WAL hook only marks a checkpoint as due, and the
//! next caller that holds the connection on a thread allowed to block (the ledger writer thread,
//! or any blocking-pool caller) runs it before letting go. Holding the connection, it is the only
//! writer, so the checkpoint completes and the next commit starts the WAL over from its
//! beginning; meanwhile commits from async workers find the connection busy and go to the writer
//! thread instead of waiting for it.

use std::ffi::c_int;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::{Connection, MAIN_DB, wal::CheckpointMode};

use crate::ledger::LedgerError;

/// Whether the WAL has grown past the threshold since the last checkpoint.
#[derive(Debug, Default)]
pub(super) struct CheckpointDue(AtomicBool);

impl CheckpointDue {
    pub(super) fn is_due(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Checkpoints `conn` if one is due. `conn` must be held exclusively by the caller, on a
    /// thread that may block for the checkpoint's syncs.
    pub(super) fn run_if_due(&self, conn: &Connection) {
        if !self.0.swap(false, Ordering::Relaxed) {
            return;
        }
        // With no other writer, PASSIVE copies every frame. Its failure loses nothing (the WAL
        // still holds every commit); the next commit marks the checkpoint due again.
        if let Err(error) = conn.wal_checkpoint_v2(Some(MAIN_DB), CheckpointMode::PASSIVE) {
            tracing::warn!(%error, "ledger checkpoint failed; retried after the next commit");
        }
    }
}

/// Replaces SQLite's automatic checkpoint on `conn` (at `threshold_pages` WAL pages) with a mark
/// that [`CheckpointDue::run_if_due`] acts on.
pub(super) fn defer_checkpoints(
    conn: &mut Connection,
    threshold_pages: c_int,
) -> Result<Arc<CheckpointDue>, LedgerError> {
    let due = Arc::new(CheckpointDue::default());
    let mark = Arc::clone(&due);
    conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: c_int| {
        if pages >= threshold_pages {
            mark.0.store(true, Ordering::Relaxed);
        }
        Ok(())
    }))
    .map_err(LedgerError::database("installing the WAL hook"))?;
    Ok(due)
}
