//! Checkpoints kept out of commits that run on async workers, and mostly beside commits.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that commit
//! then copies the WAL into the database file and syncs both, which takes milliseconds. Commits
//! run on async workers when they are brief (see `LedgerWriter`), where such a pause would stall
//! every request on that worker. Instead the WAL hook only marks a checkpoint as due, and a
//! caller on a thread allowed to block (the ledger writer thread, or any blocking-pool caller
//! after a write) runs it in two steps:
//!
//! 1. on a second connection, without the main one: this copies everything committed so far,
//!    the slow part (tens of milliseconds for 16 MiB of WAL), while commits go on. SQLite syncs
//!    the database file at the end of a checkpoint only if it copied every frame, which this
//!    step, racing new commits, rarely does; so the step ends by syncing the file itself;
//! 2. on the main connection, held: this copies only what was committed during step 1 and syncs
//!    it. As the only writer it completes, so the next commit starts the WAL over from its
//!    beginning. Without the sync at the end of step 1, this step's sync flushed every page
//!    step 1 wrote: 8-60 ms with the connection held on a ledger of 300 000 entries.
//!
//! A checkpoint run only on the second connection, as step 1 alone, was tried: under steady load
//! it never caught up with the frames committed meanwhile, so the WAL never restarted. Run only
//! on the main connection, as step 2 alone, it held every commit for the whole copy.
//!
//! The commit after a complete checkpoint starts the WAL over, and SQLite syncs the new WAL
//! header in that commit (even at `synchronous = NORMAL`). So until some commit has done that,
//! [`Checkpointer::restart_pending`] is set, and commits that must not block leave it to the
//! writer thread: an fsync on an async worker stalls every request on it.

use std::ffi::c_int;
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, MAIN_DB, OpenFlags, wal::CheckpointMode};

use crate::ledger::LedgerError;

pub(super) struct Checkpointer {
    /// Set by the WAL hook once the WAL outgrows its threshold.
    due: Arc<AtomicBool>,
    /// Set by a complete checkpoint, cleared by the WAL hook after the next commit.
    restart_pending: Arc<AtomicBool>,
    /// `None` for in-memory ledgers, which have no WAL.
    side: Option<Side>,
}

/// What step 1 works through. Field order is drop order: the connection closes before the file.
struct Side {
    conn: Mutex<Connection>,
    /// The database file, opened once here only to sync it. It must stay open until every
    /// connection to the file has closed: closing any descriptor of a file drops all of the
    /// process's POSIX locks on it, SQLite's included. `None` if it could not be opened; step
    /// 2's sync then does all of it.
    database_file: Option<File>,
}

impl Checkpointer {
    /// For a ledger without a WAL: never due.
    pub(super) fn none() -> Checkpointer {
        Checkpointer {
            due: Arc::default(),
            restart_pending: Arc::default(),
            side: None,
        }
    }

    /// Replaces SQLite's automatic checkpoint on `main` (at `threshold_pages` WAL pages) with
    /// a mark that [`Self::run_if_due`] acts on, and opens the second connection to `path`.
    pub(super) fn install(
        main: &mut Connection,
        path: &Path,
        flags: OpenFlags,
        threshold_pages: c_int,
    ) -> Result<Checkpointer, LedgerError> {
        let side = Connection::open_with_flags(path, flags)
            .map_err(LedgerError::database("opening the checkpoint connection"))?;
        // A connection learns that the file is in WAL mode (and opens the WAL) on its first
        // read; until then a checkpoint through it does nothing.
        side.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
            .map_err(LedgerError::database(
                "reading through the checkpoint connection",
            ))?;
        let due = Arc::new(AtomicBool::new(false));
        let restart_pending = Arc::new(AtomicBool::new(false));
        let mark = Arc::clone(&due);
        let restarted = Arc::clone(&restart_pending);
        main.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: c_int| {
            // Called after every commit that wrote frames: if a checkpoint had completed, this
            // commit started the WAL over (or a reader elsewhere kept it from doing so, and
            // then no commit will until the next complete checkpoint).
            restarted.store(false, Ordering::Relaxed);
            if pages >= threshold_pages {
                mark.store(true, Ordering::Relaxed);
            }
            Ok(())
        }))
        .map_err(LedgerError::database("installing the WAL hook"))?;
        let database_file = File::open(path)
            .inspect_err(|error| {
                tracing::warn!(%error, "the ledger file cannot be opened to sync it; checkpoints hold commits longer");
            })
            .ok();
        Ok(Checkpointer {
            due,
            restart_pending,
            side: Some(Side {
                conn: Mutex::new(side),
                database_file,
            }),
        })
    }

    pub(super) fn is_due(&self) -> bool {
        self.due.load(Ordering::Relaxed)
    }

    /// Whether the next commit starts the WAL over, and so syncs.
    pub(super) fn restart_pending(&self) -> bool {
        self.restart_pending.load(Ordering::Relaxed)
    }

    /// Checkpoints if one is due, in the two steps above. The caller must not hold `main`, and
    /// must be on a thread that may block for the syncs.
    pub(super) fn run_if_due(&self, main: &Mutex<Connection>) {
        let Some(side) = &self.side else { return };
        if !self.due.swap(false, Ordering::Relaxed) {
            return;
        }
        // A failed step loses nothing (the WAL still holds every commit); the next commit marks
        // the checkpoint due again.
        passive_checkpoint(&side.conn.lock().unwrap_or_else(PoisonError::into_inner));
        if let Some(file) = &side.database_file
            && let Err(error) = file.sync_data()
        {
            tracing::warn!(%error, "syncing the ledger file failed; the checkpoint's last step syncs it");
        }
        let main = main.lock().unwrap_or_else(PoisonError::into_inner);
        if passive_checkpoint(&main) {
            // Set with the connection held, so no commit can come between.
            self.restart_pending.store(true, Ordering::Relaxed);
        }
    }
}

/// Whether the checkpoint copied every frame in the WAL. (SQLite reports -1 frames when the
/// checkpoint could not run.)
fn passive_checkpoint(conn: &Connection) -> bool {
    match conn.wal_checkpoint_v2(Some(MAIN_DB), CheckpointMode::PASSIVE) {
        Ok((frames_in_wal, frames_copied)) => frames_in_wal >= 0 && frames_in_wal == frames_copied,
        Err(error) => {
            tracing::warn!(%error, "ledger checkpoint failed; retried after the next commit");
            false
        }
    }
}
