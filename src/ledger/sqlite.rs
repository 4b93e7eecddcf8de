//! The embedded ledger: one SQLite file in WAL mode, private to the gateway's user.

mod checkpoint;
mod files;
mod read_receipts;
mod schema;
#[cfg(test)]
mod tests;

use std::ffi::c_int;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use rusqlite::{
    CachedStatement, Connection, ErrorCode, OpenFlags, OptionalExtension, Row, Transaction,
    TransactionBehavior, params,
};

use super::{EntryId, LedgerEntry, LedgerError, LedgerStore, StateUpdate};
use crate::model::{Frontend, ReceiptKey, ReceiptState, SecretKey};

/// How hard a commit works to survive failures beyond the gateway's own process.
///
/// Both modes run SQLite in WAL mode, where a commit appends to the `-wal` file.
/// - `Normal` hands that append to the operating system and returns. A killed or crashed gateway
///   loses nothing it acknowledged, since the kernel still writes the data out; a power cut or
///   kernel crash may lose the last commits (never corrupting the file). Commits cost no fsync.
/// - `Full` also fsyncs the WAL on every commit, so acknowledged entries survive power loss, at
///   the price of one disk flush per recorded share (milliseconds on SSDs, more on slow disks).
///
/// `Normal` is the default: losing a few entries on power loss only means their owners cannot list
/// or burn those secrets through the gateway, and the secrets still expire upstream on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    #[default]
    Normal,
    Full,
}

impl Durability {
    fn synchronous_pragma(self) -> &'static str {
        match self {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        }
    }
}

/// How long opening the ledger waits for another process holding the file (a second gateway
/// starting on the same path, a backup tool) before refusing to start.
const OPEN_BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// Page size of a new ledger file: SQLite's default, set explicitly so that a different build
/// default cannot change it. 1 KiB pages were tried, because a commit writes every page it
/// changed to the WAL in full and each entry's random receipt key changes an index page of its
/// own: they cut the WAL a batch of five entries writes from about 37 to 17 KiB. But on a ledger
/// of 300 000 entries shares were slower with them (p90 7-11 against 7-7.5 ms, CPU 86-101 against
/// 87-89 µs per share; `bench/ledger_pages.sh`, BENCHMARKS.md): the b-trees are deeper and an
/// insert reads more pages. An existing file keeps the page size it was made with (SQLite
/// changes it only by rebuilding the whole file), so files made with 1 KiB pages keep them.
const NEW_FILE_PAGE_SIZE: i64 = 4096;

/// WAL bytes after which the WAL is checkpointed into the database file, kept in bytes so that
/// smaller pages do not mean more frequent checkpoints. Four times SQLite's default (1000 pages
/// of 4 KiB): the WAL holds many versions of the few pages every share rewrites (the ends of the
/// time-ordered indexes), and a checkpoint copies only the last, so fewer checkpoints copy less
/// in all; with most of each checkpoint beside commits (see [`checkpoint`]), paced shares had a
/// shorter tail at 16 MiB than at 4 (p90 lower in nine alternations of nine) and a longer one at
/// 64 (BENCHMARKS.md, fourth round). (32 MiB was tried when checkpoints still ran inside
/// commits, and each held the writer for tens of milliseconds.)
const CHECKPOINT_AFTER_WAL_BYTES: i64 = 16 * 1024 * 1024;

/// WAL bytes written out to disk at a time between checkpoints (see [`checkpoint`]). At 3 000
/// shares a second that is one installment every 20 ms or so, the interval at which an outside
/// process syncing the WAL shortened paced shares' p99 in four runs of four (BENCHMARKS.md,
/// fifth round).
const WRITE_OUT_WAL_EVERY_BYTES: i64 = 1024 * 1024;

/// How long a statement waits for another process holding the file before failing. Short,
/// because a share waits on it: a receipt that cannot be written in time is kept in memory and
/// written later (see [`super::ResilientLedger`]) rather than holding its caller for seconds.
const BUSY_TIMEOUT: Duration = Duration::from_millis(250);

/// The receipts table's columns in the order [`StoredRow::read`] reads them. A macro, not a
/// `const`, so that statements can be spelled out at compile time with `concat!`.
macro_rules! columns {
    () => {
        "id, frontend, caller, metadata_key, secret_key, created, secret_expires, \
         receipt_expires, state, state_updated, has_passphrase"
    };
}
use columns;

// Every statement on the receipts table, named so that a test can check each one's query plan
// (see `every_statement_is_served_by_an_index` in the tests).
pub(super) const SELECT_BY_METADATA_KEY: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM receipts WHERE metadata_key_hash = receipt_key_hash(?1) AND metadata_key = ?1"
);
pub(super) const SELECT_BY_ID: &str =
    concat!("SELECT ", columns!(), " FROM receipts WHERE id = ?1");
pub(super) const SELECT_RECENT: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM receipts WHERE frontend = ?1 AND caller = ?2 \
     ORDER BY created DESC, rowid DESC LIMIT ?3"
);
pub(super) const UPDATE_STATE: &str = "UPDATE receipts SET state = ?1, state_updated = ?2, \
     secret_key = CASE WHEN ?3 THEN NULL ELSE secret_key END \
     WHERE metadata_key_hash = receipt_key_hash(?4) AND metadata_key = ?4 \
     AND state_updated <= ?2";
pub(super) const EXISTS_BY_METADATA_KEY: &str = "SELECT 1 FROM receipts \
     WHERE metadata_key_hash = receipt_key_hash(?1) AND metadata_key = ?1";
pub(super) const PRUNE: &str = "DELETE FROM receipts WHERE receipt_expires <= ?1";
pub(super) const INSERT: &str = concat!(
    "INSERT INTO receipts (",
    columns!(),
    ", metadata_key_hash) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, receipt_key_hash(?4))"
);

/// A [`LedgerStore`] in one SQLite database file.
///
/// One connection behind a `Mutex`: `rusqlite::Connection` is not `Sync`, SQLite admits a single
/// writer at a time anyway, and each ledger operation is a short indexed statement, so a pool
/// would add a dependency and contention on the file lock for no throughput gain. Entries recorded
/// close together are batched by [`super::LedgerWriter`], which hands them over as one
/// [`LedgerStore::record_batch`] (one transaction); a lone `record` commits on its own.
pub struct SqliteLedger {
    conn: Mutex<Connection>,
    durability: Durability,
    /// After `conn`, so dropped after it: its file must close last (see `checkpoint::Side`).
    checkpointer: checkpoint::Checkpointer,
    /// `None` for in-memory ledgers. Kept to name the file in `Debug` output.
    path: Option<PathBuf>,
}

impl fmt::Debug for SqliteLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteLedger")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteLedger {
    /// Opens (creating if needed) the ledger at `path` with [`Durability::Normal`].
    pub fn open(path: &Path) -> Result<SqliteLedger, LedgerError> {
        Self::open_with_durability(path, Durability::default())
    }

    /// Opens (creating if needed) the ledger at `path`.
    ///
    /// Missing parent directories are created with mode 0700, the file with mode 0600, and an
    /// existing file (or leftover `-wal`/`-shm`) with looser permissions is tightened to 0600, all
    /// before SQLite reads it. Symbolic links are refused.
    pub fn open_with_durability(
        path: &Path,
        durability: Durability,
    ) -> Result<SqliteLedger, LedgerError> {
        files::prepare_database_file(path)?;
        // No CREATE flag: the file was just made with the right mode, and if it vanished since,
        // failing beats SQLite recreating it with the umask's permissions.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let mut conn = Connection::open_with_flags(path, flags)
            .map_err(LedgerError::database("opening the database"))?;
        conn.busy_timeout(OPEN_BUSY_TIMEOUT)
            .map_err(LedgerError::database("setting the busy timeout"))?;
        schema::ensure_intact(&conn, path)?;
        schema::ensure_supported(&conn, path)?;
        // Takes effect only on a file without pages yet, so it must precede the switch to WAL
        // (which writes the header); on an existing file SQLite ignores it.
        conn.pragma_update(None, "page_size", NEW_FILE_PAGE_SIZE)
            .map_err(LedgerError::database("setting the page size"))?;
        enable_wal(&conn, path)?;
        conn.pragma_update(None, "synchronous", durability.synchronous_pragma())
            .map_err(LedgerError::database("setting the durability level"))?;
        schema::migrate(&mut conn, path)?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(LedgerError::database("setting the busy timeout"))?;
        // Last, so that nothing can fail between opening the checkpointer's file and handing it
        // to the ledger, which closes it only after both connections (see `checkpoint::Side`).
        let checkpointer = checkpoint_outside_commits(&mut conn, path, flags, durability)?;
        Ok(SqliteLedger {
            conn: Mutex::new(conn),
            durability,
            checkpointer,
            path: Some(path.to_path_buf()),
        })
    }

    /// A ledger that lives and dies with this value, for tests of components that need a store.
    pub fn open_in_memory() -> Result<SqliteLedger, LedgerError> {
        let mut conn = Connection::open_in_memory()
            .map_err(LedgerError::database("opening an in-memory database"))?;
        schema::migrate(&mut conn, Path::new(":memory:"))?;
        Ok(SqliteLedger {
            conn: Mutex::new(conn),
            durability: Durability::Normal,
            checkpointer: checkpoint::Checkpointer::none(),
            path: None,
        })
    }

    /// The connection, for a read on a thread that may block. A read never runs a checkpoint, so
    /// that looking up a receipt never waits for one.
    ///
    /// A panic while the lock was held cannot have left the database half-written: SQLite rolls
    /// back any statement or transaction that did not finish, so the connection is still sound.
    fn conn(&self) -> HeldConnection<'_> {
        HeldConnection {
            conn: Some(self.conn.lock().unwrap_or_else(PoisonError::into_inner)),
            checkpoint_after: None,
        }
    }

    /// The connection, for a write on a thread that may block: once it lets go, it runs a due
    /// checkpoint.
    fn conn_for_writing(&self) -> HeldConnection<'_> {
        HeldConnection {
            conn: Some(self.conn.lock().unwrap_or_else(PoisonError::into_inner)),
            checkpoint_after: Some(self),
        }
    }

    /// The connection if nobody holds it, for a caller on an async worker: it never waits for
    /// the lock, and leaves a due checkpoint to a caller of [`Self::conn_for_writing`]. Nor does
    /// it take the commit that starts the WAL over after a checkpoint, which syncs.
    fn try_conn(&self) -> Option<HeldConnection<'_>> {
        if self.checkpointer.restart_pending() {
            return None;
        }
        let conn = match self.conn.try_lock() {
            Ok(conn) => conn,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        Some(HeldConnection {
            conn: Some(conn),
            checkpoint_after: None,
        })
    }
}

/// The locked connection. Taken by [`SqliteLedger::conn_for_writing`], it runs a due checkpoint
/// after letting go (the checkpoint takes the connection again only for its short second step).
struct HeldConnection<'a> {
    /// `Some` until dropped.
    conn: Option<MutexGuard<'a, Connection>>,
    checkpoint_after: Option<&'a SqliteLedger>,
}

impl Deref for HeldConnection<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("held until dropped")
    }
}

impl DerefMut for HeldConnection<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("held until dropped")
    }
}

impl Drop for HeldConnection<'_> {
    fn drop(&mut self) {
        drop(self.conn.take());
        if let Some(ledger) = self.checkpoint_after {
            ledger.checkpointer.run_if_due(&ledger.conn);
        }
    }
}

fn enable_wal(conn: &Connection, path: &Path) -> Result<(), LedgerError> {
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(LedgerError::database("switching to WAL mode"))?;
    if mode.eq_ignore_ascii_case("wal") {
        Ok(())
    } else {
        Err(LedgerError::NoWal {
            path: path.to_path_buf(),
            mode,
        })
    }
}

/// Checkpoints at [`CHECKPOINT_AFTER_WAL_BYTES`] of WAL, and writes the WAL out every
/// [`WRITE_OUT_WAL_EVERY_BYTES`] unless commits sync it, both run by callers that may block
/// rather than inside the commit that crosses the threshold (see [`checkpoint`]).
fn checkpoint_outside_commits(
    conn: &mut Connection,
    path: &Path,
    flags: OpenFlags,
    durability: Durability,
) -> Result<checkpoint::Checkpointer, LedgerError> {
    let page_size: i64 = conn
        .pragma_query_value(None, "page_size", |row| row.get(0))
        .map_err(LedgerError::database("reading the page size"))?;
    // SQLite page sizes are powers of two from 512 to 65536, so these are at least 16.
    let in_pages = |bytes: i64| c_int::try_from(bytes / page_size.max(1)).unwrap_or(c_int::MAX);
    let write_out_every = match durability {
        Durability::Normal => Some(in_pages(WRITE_OUT_WAL_EVERY_BYTES)),
        Durability::Full => None,
    };
    checkpoint::Checkpointer::install(
        conn,
        path,
        flags,
        in_pages(CHECKPOINT_AFTER_WAL_BYTES),
        write_out_every,
    )
}

impl LedgerStore for SqliteLedger {
    fn record(&self, entry: &LedgerEntry) -> Result<(), LedgerError> {
        insert(&self.conn_for_writing(), entry)
    }

    fn record_batch(&self, entries: &[LedgerEntry]) -> Vec<Result<(), LedgerError>> {
        self.commit_batch(entries)
    }

    fn try_record_batch(&self, entries: &[LedgerEntry]) -> Option<Vec<Result<(), LedgerError>>> {
        let mut conn = self.try_conn()?;
        // Another process holding the file's write lock (a backup, an operator's `sqlite3`)
        // must not hold an async worker for the busy timeout, stalling every request on it:
        // such a batch fails at once, with nothing written, and goes to a caller that may wait.
        conn.busy_timeout(Duration::ZERO).ok()?;
        let committed = commit_all(&mut conn, entries);
        // Cannot fail on an open connection; if it ever did, writers that may wait would fail
        // at once and their entries go to the backlog, not lost.
        let _ = conn.busy_timeout(BUSY_TIMEOUT);
        match committed {
            Err(err) if is_lock_held_elsewhere(&err) => None,
            committed => Some(batch_outcomes(entries, committed)),
        }
    }

    fn commits_wait_for_disk(&self) -> bool {
        self.durability == Durability::Full
    }

    fn checkpoint_due(&self) -> bool {
        self.checkpointer.is_due()
    }

    fn checkpoint(&self) {
        self.checkpointer.run_if_due(&self.conn);
    }

    fn by_metadata_key(&self, key: &ReceiptKey) -> Result<Option<LedgerEntry>, LedgerError> {
        self.find_one(SELECT_BY_METADATA_KEY, key.as_str())
    }

    fn by_id(&self, id: &EntryId) -> Result<Option<LedgerEntry>, LedgerError> {
        self.find_one(SELECT_BY_ID, id.as_str())
    }

    fn recent(
        &self,
        frontend: Frontend,
        caller: &str,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, LedgerError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(SELECT_RECENT)
            .map_err(LedgerError::database("preparing to list recent entries"))?;
        let rows = stmt
            .query_map(
                params![frontend_to_stored(frontend), caller, limit],
                StoredRow::read,
            )
            .map_err(LedgerError::database("listing recent entries"))?;
        rows.map(|row| {
            row.map_err(LedgerError::database("reading a recent entry"))?
                .into_entry()
        })
        .collect()
    }

    fn update_state(
        &self,
        key: &ReceiptKey,
        state: ReceiptState,
        at: i64,
    ) -> Result<StateUpdate, LedgerError> {
        let conn = self.conn_for_writing();
        let changed = conn
            .prepare_cached(UPDATE_STATE)
            .and_then(|mut stmt| {
                stmt.execute(params![state.as_str(), at, !state.is_live(), key.as_str()])
            })
            .map_err(LedgerError::database("updating an entry's state"))?;
        if changed > 0 {
            return Ok(StateUpdate::Applied);
        }
        let exists = conn
            .prepare_cached(EXISTS_BY_METADATA_KEY)
            .and_then(|mut stmt| stmt.exists([key.as_str()]))
            .map_err(LedgerError::database("looking up an entry"))?;
        Ok(if exists {
            StateUpdate::Stale
        } else {
            StateUpdate::Unknown
        })
    }

    fn prune(&self, now: i64) -> Result<usize, LedgerError> {
        self.conn_for_writing()
            .prepare_cached(PRUNE)
            .and_then(|mut stmt| stmt.execute([now]))
            .map_err(LedgerError::database("pruning expired entries"))
    }

    fn count(&self) -> Result<u64, LedgerError> {
        let count: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM receipts", [], |row| row.get(0))
            .map_err(LedgerError::database("counting entries"))?;
        // COUNT(*) is never negative; the fallback only satisfies the type.
        Ok(u64::try_from(count).unwrap_or(0))
    }

    fn watch_due(
        &self,
        frontend: Frontend,
        now: i64,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, LedgerError> {
        self.watch_due_entries(frontend, now, limit)
    }

    fn unannounced(
        &self,
        frontend: Frontend,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, LedgerError> {
        self.unannounced_entries(frontend, limit)
    }

    fn mark_announced(&self, key: &ReceiptKey, state: &ReceiptState) -> Result<(), LedgerError> {
        self.record_announced(key, state)
    }

    fn set_read_receipts(
        &self,
        frontend: Frontend,
        caller: &str,
        enabled: bool,
    ) -> Result<(), LedgerError> {
        self.store_read_receipts(frontend, caller, enabled)
    }

    fn read_receipts_enabled(&self, frontend: Frontend, caller: &str) -> Result<bool, LedgerError> {
        self.load_read_receipts(frontend, caller)
    }
}

impl SqliteLedger {
    /// Inserts a batch of entries in one transaction and reports each entry's own outcome. The
    /// transaction commits (per `Durability`) before any caller hears `Ok`, so an acknowledged
    /// share survives a crash exactly as with one commit per entry; what the batch saves is
    /// writing the same table and index pages to the WAL once per entry.
    fn commit_batch(&self, batch: &[LedgerEntry]) -> Vec<Result<(), LedgerError>> {
        commit_batch(&mut self.conn_for_writing(), batch)
    }

    fn find_one(&self, sql: &str, key: &str) -> Result<Option<LedgerEntry>, LedgerError> {
        let conn = self.conn();
        let row = conn
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.query_row([key], StoredRow::read).optional())
            .map_err(LedgerError::database("looking up an entry"))?;
        row.map(StoredRow::into_entry).transpose()
    }
}

fn commit_batch(conn: &mut Connection, batch: &[LedgerEntry]) -> Vec<Result<(), LedgerError>> {
    batch_outcomes(batch, commit_all(conn, batch))
}

fn is_lock_held_elsewhere(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Each entry's outcome, from [`commit_all`]'s.
fn batch_outcomes(
    batch: &[LedgerEntry],
    committed: Result<Vec<Result<(), LedgerError>>, rusqlite::Error>,
) -> Vec<Result<(), LedgerError>> {
    match committed {
        Ok(outcomes) => outcomes,
        // The shared transaction failed as a whole (lock not granted in time, disk full, I/O
        // error) and nothing in it was kept. Retrying entry by entry would only repeat the
        // wait for each, so every entry reports the same cause.
        Err(source) => {
            let reason = source.to_string();
            batch
                .iter()
                .map(|_| {
                    Err(LedgerError::BatchNotCommitted {
                        reason: reason.clone(),
                    })
                })
                .collect()
        }
    }
}

/// Each entry's outcome, or the error that failed the whole batch with nothing written. A
/// refused duplicate fails only its own entry: SQLite undoes just that statement and the
/// transaction carries on. Any other failure abandons the whole batch (dropping the transaction
/// rolls it back), since SQLite may already have rolled it back on its own. Even a single entry
/// takes a transaction: its uniqueness check and its insert are two statements, and another
/// process must not slip the same receipt key in between.
fn commit_all(
    conn: &mut Connection,
    batch: &[LedgerEntry],
) -> Result<Vec<Result<(), LedgerError>>, rusqlite::Error> {
    // IMMEDIATE takes the write lock up front, so waiting for another process happens once per
    // batch, before anything is inserted.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let outcomes = {
        let mut statements = prepare_insert(&tx)?;
        batch
            .iter()
            .map(|entry| insert_row(&mut statements, entry))
            .collect::<rusqlite::Result<Vec<_>>>()?
    };
    tx.commit()?;
    Ok(outcomes)
}

fn already_recorded(entry: &LedgerEntry) -> LedgerError {
    LedgerError::AlreadyRecorded {
        metadata_short_id: entry.metadata_key.short_id().to_owned(),
    }
}

fn insert(conn: &Connection, entry: &LedgerEntry) -> Result<(), LedgerError> {
    // A transaction for the same reason as in `commit_all`.
    Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .and_then(|tx| {
            let outcome = insert_row(&mut prepare_insert(&tx)?, entry)?;
            tx.commit()?;
            Ok(outcome)
        })
        .unwrap_or_else(|err| Err(LedgerError::database("recording an entry")(err)))
}

/// The statements an insert runs, taken from the connection's cache once per batch rather than
/// per entry.
struct InsertStatements<'conn> {
    exists: CachedStatement<'conn>,
    insert: CachedStatement<'conn>,
}

fn prepare_insert(conn: &Connection) -> rusqlite::Result<InsertStatements<'_>> {
    Ok(InsertStatements {
        exists: conn.prepare_cached(EXISTS_BY_METADATA_KEY)?,
        insert: conn.prepare_cached(INSERT)?,
    })
}

/// Inserts `entry` unless it is already recorded: `Ok(Err(AlreadyRecorded))` then, and `Err`
/// only for a failure that abandons the transaction. The receipt key's index is on a hash of it
/// (schema version 3), which cannot enforce uniqueness, so this checks first; within a
/// transaction the check sees the entries inserted before it, batch-mates included.
fn insert_row(
    statements: &mut InsertStatements<'_>,
    entry: &LedgerEntry,
) -> rusqlite::Result<Result<(), LedgerError>> {
    if statements.exists.exists([entry.metadata_key.as_str()])? {
        return Ok(Err(already_recorded(entry)));
    }
    match statements.insert.execute(stored_values(entry)) {
        Ok(_) => Ok(Ok(())),
        Err(err) if is_uniqueness_violation(&err) => Ok(Err(already_recorded(entry))),
        Err(err) => Err(err),
    }
}

/// The values an entry is stored as, in [`columns!`] order.
type StoredValues<'a> = (
    &'a str,
    &'static str,
    &'a str,
    &'a str,
    Option<&'a str>,
    i64,
    i64,
    i64,
    &'a str,
    i64,
    bool,
);

fn stored_values(entry: &LedgerEntry) -> StoredValues<'_> {
    (
        entry.id.as_str(),
        frontend_to_stored(entry.frontend),
        &entry.caller,
        entry.metadata_key.as_str(),
        entry.secret_key.as_ref().map(SecretKey::as_str),
        entry.created,
        entry.secret_expires,
        entry.receipt_expires,
        entry.state.as_str(),
        entry.state_updated,
        entry.has_passphrase,
    )
}

fn is_uniqueness_violation(err: &rusqlite::Error) -> bool {
    match err {
        rusqlite::Error::SqliteFailure(failure, _) => {
            failure.code == ErrorCode::ConstraintViolation
                && matches!(
                    failure.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                )
        }
        _ => false,
    }
}

/// The stored name of a frontend. Spelled out here rather than taken from `Display` so that a
/// change of display name cannot orphan stored entries. A new variant fails to compile here;
/// add it to [`frontend_from_stored`] too.
fn frontend_to_stored(frontend: Frontend) -> &'static str {
    match frontend {
        Frontend::Rest => "rest",
        Frontend::Mcp => "mcp",
        Frontend::Discord => "discord",
        Frontend::Cli => "cli",
    }
}

fn frontend_from_stored(stored: &str) -> Option<Frontend> {
    match stored {
        "rest" => Some(Frontend::Rest),
        "mcp" => Some(Frontend::Mcp),
        "discord" => Some(Frontend::Discord),
        "cli" => Some(Frontend::Cli),
        _ => None,
    }
}

/// A row as SQLite returns it, before validation. Reading and validating are separate so that a
/// damaged row becomes a [`LedgerError::CorruptEntry`] naming the column, not an SQLite error.
struct StoredRow {
    id: String,
    frontend: String,
    caller: String,
    metadata_key: String,
    secret_key: Option<String>,
    created: i64,
    secret_expires: i64,
    receipt_expires: i64,
    state: String,
    state_updated: i64,
    has_passphrase: bool,
}

impl StoredRow {
    /// Column order follows [`columns!`].
    fn read(row: &Row<'_>) -> rusqlite::Result<StoredRow> {
        Ok(StoredRow {
            id: row.get(0)?,
            frontend: row.get(1)?,
            caller: row.get(2)?,
            metadata_key: row.get(3)?,
            secret_key: row.get(4)?,
            created: row.get(5)?,
            secret_expires: row.get(6)?,
            receipt_expires: row.get(7)?,
            state: row.get(8)?,
            state_updated: row.get(9)?,
            has_passphrase: row.get(10)?,
        })
    }

    fn into_entry(self) -> Result<LedgerEntry, LedgerError> {
        let corrupt = |column| LedgerError::CorruptEntry { column };
        Ok(LedgerEntry {
            id: EntryId::parse(&self.id).map_err(|_| corrupt("id"))?,
            frontend: frontend_from_stored(&self.frontend).ok_or_else(|| corrupt("frontend"))?,
            caller: self.caller,
            metadata_key: ReceiptKey::parse(&self.metadata_key)
                .map_err(|_| corrupt("metadata_key"))?,
            secret_key: self
                .secret_key
                .as_deref()
                .map(SecretKey::parse)
                .transpose()
                .map_err(|_| corrupt("secret_key"))?,
            created: self.created,
            secret_expires: self.secret_expires,
            receipt_expires: self.receipt_expires,
            state: ReceiptState::parse(&self.state),
            state_updated: self.state_updated,
            has_passphrase: self.has_passphrase,
        })
    }
}
