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
//!
//! A checkpoint's first act is to sync the WAL, and at 16 MiB that sync wrote all of it to disk
//! at once: on a machine whose disk interrupts land on the gateway's core, the completions held
//! that core for milliseconds, and requests queued behind them (paced shares had their slowest
//! responses in bursts during step 1, with every commit on time and the async worker idle). So
//! the WAL is also written out in installments as it grows ([`Checkpointer::install`]'s
//! `write_out_every`): the same bytes reach the disk, spread over the interval, and the sync at
//! the checkpoint finds little left. The promise does not change (a commit is acknowledged once
//! it is in the WAL, synced or not); a WAL synced sooner only loses less to a power cut.

use std::ffi::c_int;
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, TryLockError};

use rusqlite::{Connection, ErrorCode, MAIN_DB, OpenFlags, wal::CheckpointMode};

use crate::ledger::LedgerError;

pub(super) struct Checkpointer {
    /// Set by the WAL hook once the WAL outgrows its threshold: the copy into the database file
    /// is due.
    due: Arc<AtomicBool>,
    /// Set by the WAL hook each time the WAL has grown by another installment to write out.
    write_out_due: Arc<AtomicBool>,
    /// Set by a complete checkpoint, cleared by the WAL hook after the next commit.
    restart_pending: Arc<AtomicBool>,
    /// Held while [`Self::run_if_due`] works, so that one checkpoint runs at a time.
    pub(super) running: Mutex<()>,
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
    /// The WAL, opened once here only to write it out in installments. `None` if it could not
    /// be opened, or if commits sync it themselves; the checkpoint's own sync then does it all.
    wal_file: Option<File>,
}

impl Checkpointer {
    /// For a ledger without a WAL: never due.
    pub(super) fn none() -> Checkpointer {
        Checkpointer {
            due: Arc::default(),
            write_out_due: Arc::default(),
            restart_pending: Arc::default(),
            running: Mutex::default(),
            side: None,
        }
    }

    /// Replaces SQLite's automatic checkpoint on `main` (at `threshold_pages` WAL pages) with
    /// a mark that [`Self::run_if_due`] acts on, and opens the second connection to `path`.
    /// With `write_out_every` pages, the WAL is also marked for writing out each time it has
    /// grown by that many; `None` when every commit syncs the WAL anyway.
    pub(super) fn install(
        main: &mut Connection,
        path: &Path,
        flags: OpenFlags,
        threshold_pages: c_int,
        write_out_every: Option<c_int>,
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
        let write_out_due = Arc::new(AtomicBool::new(false));
        let restart_pending = Arc::new(AtomicBool::new(false));
        let mark = Arc::clone(&due);
        let mark_write_out = Arc::clone(&write_out_due);
        let restarted = Arc::clone(&restart_pending);
        // Frames in the WAL when the last installment was marked.
        let mut marked_at: c_int = 0;
        main.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: c_int| {
            // Called after every commit that wrote frames: if a checkpoint had completed, this
            // commit started the WAL over (or a reader elsewhere kept it from doing so, and
            // then no commit will until the next complete checkpoint).
            restarted.store(false, Ordering::Relaxed);
            if pages < marked_at {
                marked_at = 0;
            }
            if let Some(every) = write_out_every
                && pages - marked_at >= every
            {
                marked_at = pages;
                mark_write_out.store(true, Ordering::Relaxed);
            }
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
        // SQLite names the WAL after the database file; it exists once a connection has read
        // the file in WAL mode, as the one above did.
        let wal_file = write_out_every.and_then(|_| {
            let mut wal_path = path.as_os_str().to_owned();
            wal_path.push("-wal");
            File::open(wal_path)
                .inspect_err(|error| {
                    tracing::warn!(%error, "the ledger's WAL cannot be opened to write it out early; checkpoints sync all of it");
                })
                .ok()
        });
        Ok(Checkpointer {
            due,
            write_out_due,
            restart_pending,
            running: Mutex::default(),
            side: Some(Side {
                conn: Mutex::new(side),
                database_file,
                wal_file,
            }),
        })
    }

    /// Whether [`Self::run_if_due`] has anything to do.
    pub(super) fn is_due(&self) -> bool {
        self.copy_due() || self.write_out_due.load(Ordering::Relaxed)
    }

    /// Whether the WAL has outgrown its threshold and waits to be copied.
    pub(super) fn copy_due(&self) -> bool {
        self.due.load(Ordering::Relaxed)
    }

    /// Whether the next commit starts the WAL over, and so syncs.
    pub(super) fn restart_pending(&self) -> bool {
        self.restart_pending.load(Ordering::Relaxed)
    }

    /// Checkpoints if one is due, in the two steps above, or else writes out the WAL if an
    /// installment is due. The caller must not hold `main`, and must be on a thread that may
    /// block for the syncs.
    pub(super) fn run_if_due(&self, main: &Mutex<Connection>) {
        let Some(side) = &self.side else { return };
        // Commits made during a checkpoint's first step mark it due again, and another writer
        // letting go of the connection then started a second one, which SQLite refused while
        // the first held its second step ("database is locked", a warning each time under a
        // mixed load). The running checkpoint copies those commits anyway; the due mark stays
        // for whatever it leaves.
        let _one_at_a_time = match self.running.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        if !self.due.swap(false, Ordering::Relaxed) {
            if self.write_out_due.swap(false, Ordering::Relaxed)
                && let Some(wal) = &side.wal_file
                && let Err(error) = wal.sync_data()
            {
                // Nothing is lost: the checkpoint syncs the WAL before copying it.
                tracing::warn!(%error, "writing out the ledger's WAL failed");
            }
            return;
        }
        // Step 1 starts by syncing the WAL.
        self.write_out_due.store(false, Ordering::Relaxed);
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
            // Set with the connection held, so no commit can come between. The commits made
            // during step 1 marked the copy due again (the WAL was still past its threshold),
            // but this step copied them too: a second checkpoint right away would only make
            // the next commit start the WAL over (and sync) a second time.
            self.restart_pending.store(true, Ordering::Relaxed);
            self.due.store(false, Ordering::Relaxed);
        }
    }
}

/// Whether the checkpoint copied every frame in the WAL. (SQLite reports -1 frames when the
/// checkpoint could not run.)
fn passive_checkpoint(conn: &Connection) -> bool {
    match conn.wal_checkpoint_v2(Some(MAIN_DB), CheckpointMode::PASSIVE) {
        Ok((frames_in_wal, frames_copied)) => frames_in_wal >= 0 && frames_in_wal == frames_copied,
        // Another process sharing the file is checkpointing it; its copy serves us too.
        Err(error) if error.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) => {
            tracing::debug!(%error, "ledger checkpoint left to another process's");
            false
        }
        Err(error) => {
            tracing::warn!(%error, "ledger checkpoint failed; retried after the next commit");
            false
        }
    }
}
