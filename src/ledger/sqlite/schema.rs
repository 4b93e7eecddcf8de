//! The ledger's tables and how a database gets from any older version to the current one.
//!
//! `PRAGMA user_version` holds the version. Each migration runs in the same transaction as the
//! version bump, so a crash mid-migration leaves the old schema intact rather than half of a new
//! one. Migrations are append-only: a released one is never edited, only followed by another.

use std::path::Path;

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, TransactionBehavior};

use crate::ledger::LedgerError;

/// `MIGRATIONS[n]` takes a database from version `n` to `n + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    // Version 1. STRICT makes SQLite reject a value of the wrong type instead of storing it, so a
    // bug cannot quietly write something the reader then fails on. The owner index serves
    // `recent` (its implicit rowid suffix breaks ties between entries of the same second); the
    // expiry index keeps pruning from scanning the table.
    "CREATE TABLE receipts (
        id              TEXT    NOT NULL PRIMARY KEY,
        frontend        TEXT    NOT NULL,
        caller          TEXT    NOT NULL,
        metadata_key    TEXT    NOT NULL UNIQUE,
        secret_key      TEXT,
        created         INTEGER NOT NULL,
        secret_expires  INTEGER NOT NULL,
        receipt_expires INTEGER NOT NULL,
        state           TEXT    NOT NULL,
        state_updated   INTEGER NOT NULL,
        has_passphrase  INTEGER NOT NULL CHECK (has_passphrase IN (0, 1))
    ) STRICT;
    CREATE INDEX receipts_by_owner ON receipts (frontend, caller, created);
    CREATE INDEX receipts_by_expiry ON receipts (receipt_expires);",
    // Version 2: read receipts, in tables of their own so the receipts table keeps its shape.
    // `read_receipt_announced` holds the state each entry's owner was last told about; entries
    // already finished when this migration runs count as announced, so upgrading does not flood
    // anyone with news about old secrets, and a trigger drops the row when pruning drops the
    // entry. The observation index serves the watcher's least-recently-observed-first query.
    // `read_receipt_optouts` lists owners who turned read receipts off (everyone else gets them).
    "CREATE TABLE read_receipt_announced (
        entry_id        TEXT NOT NULL PRIMARY KEY,
        announced_state TEXT NOT NULL
    ) STRICT;
    INSERT INTO read_receipt_announced (entry_id, announced_state)
        SELECT id, state FROM receipts WHERE state NOT IN ('new', 'viewed');
    CREATE TRIGGER read_receipt_announced_pruned AFTER DELETE ON receipts BEGIN
        DELETE FROM read_receipt_announced WHERE entry_id = old.id;
    END;
    CREATE INDEX receipts_by_observation ON receipts (frontend, state, state_updated);
    CREATE TABLE read_receipt_optouts (
        frontend TEXT NOT NULL,
        caller   TEXT NOT NULL,
        PRIMARY KEY (frontend, caller)
    ) STRICT;",
    // Version 3: receipt keys are found through an index on a 64-bit hash of the key instead of
    // the key's text (`UNIQUE`). Keys come from upstream and are random, so every new entry
    // lands on a page of that index of its own, which each checkpoint then copies; an index a
    // quarter the size has fewer such pages (BENCHMARKS.md, fifth round). Uniqueness is checked
    // by the insert (see `insert_row`), since a hash cannot enforce it. SQLite cannot drop a
    // constraint in place, so the table is rebuilt, rowids kept (`recent` breaks ties on them);
    // dropping the old table drops its indexes and the pruning trigger, which are made again.
    "CREATE TABLE receipts_v3 (
        id                TEXT    NOT NULL PRIMARY KEY,
        frontend          TEXT    NOT NULL,
        caller            TEXT    NOT NULL,
        metadata_key      TEXT    NOT NULL,
        secret_key        TEXT,
        created           INTEGER NOT NULL,
        secret_expires    INTEGER NOT NULL,
        receipt_expires   INTEGER NOT NULL,
        state             TEXT    NOT NULL,
        state_updated     INTEGER NOT NULL,
        has_passphrase    INTEGER NOT NULL CHECK (has_passphrase IN (0, 1)),
        metadata_key_hash INTEGER NOT NULL
    ) STRICT;
    INSERT INTO receipts_v3 (rowid, id, frontend, caller, metadata_key, secret_key, created,
            secret_expires, receipt_expires, state, state_updated, has_passphrase,
            metadata_key_hash)
        SELECT rowid, id, frontend, caller, metadata_key, secret_key, created, secret_expires,
            receipt_expires, state, state_updated, has_passphrase, receipt_key_hash(metadata_key)
        FROM receipts;
    DROP TABLE receipts;
    ALTER TABLE receipts_v3 RENAME TO receipts;
    CREATE INDEX receipts_by_owner ON receipts (frontend, caller, created);
    CREATE INDEX receipts_by_expiry ON receipts (receipt_expires);
    CREATE INDEX receipts_by_observation ON receipts (frontend, state, state_updated);
    CREATE INDEX receipts_by_key_hash ON receipts (metadata_key_hash);
    CREATE TRIGGER read_receipt_announced_pruned AFTER DELETE ON receipts BEGIN
        DELETE FROM read_receipt_announced WHERE entry_id = old.id;
    END;",
];

/// The SQL function `receipt_key_hash(key)`: 64-bit FNV-1a of the key's UTF-8 bytes. It is part
/// of the file format (the index stores its values), so it must never change. Not a defence
/// against chosen collisions, and it need not be: every lookup also compares the key's text,
/// so a collision costs a row read, never a wrong answer.
pub(super) fn receipt_key_hash(key: &[u8]) -> i64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let hash = key.iter().fold(OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
    });
    // SQLite integers are signed; the bits are what matter.
    hash.cast_signed()
}

/// Makes `receipt_key_hash` callable from SQL on `conn`, which every statement that finds an
/// entry by its receipt key needs (and the version 3 migration).
fn register_functions(conn: &Connection) -> Result<(), LedgerError> {
    conn.create_scalar_function(
        "receipt_key_hash",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| match ctx.get_raw(0) {
            // As SQL's own functions do with NULL.
            ValueRef::Null => Ok(None),
            ValueRef::Text(key) => Ok(Some(receipt_key_hash(key))),
            _ => Err(rusqlite::Error::UserFunctionError(
                "receipt_key_hash takes text".into(),
            )),
        },
    )
    .map_err(LedgerError::database(
        "registering the ledger's SQL functions",
    ))
}

/// The version this build reads and writes.
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Fails unless this build can read the file's schema. Run before changing anything in the file
/// (even its journal mode), so a ledger from a newer release is left as it was found.
pub(super) fn ensure_supported(conn: &Connection, path: &Path) -> Result<(), LedgerError> {
    supported_version(conn, path).map(|_| ())
}

/// Longest integrity-check detail quoted in an error; SQLite can list thousands of problems.
const MAX_DAMAGE_DETAIL: usize = 200;

/// Fails if SQLite finds the file damaged. `quick_check` reads every page and checks the b-tree
/// structure (not index contents against rows), in time linear in the file's size, which for a
/// ledger pruned of expired receipts is a few milliseconds. A damaged page found here would
/// otherwise surface later as writes failing one by one while shares keep being acknowledged.
pub(super) fn ensure_intact(conn: &Connection, path: &Path) -> Result<(), LedgerError> {
    let damaged = |detail: String| LedgerError::Damaged {
        path: path.to_path_buf(),
        detail,
    };
    let verdict = conn.query_row("PRAGMA quick_check(1)", [], |row| row.get::<_, String>(0));
    match verdict {
        Ok(verdict) if verdict == "ok" => Ok(()),
        Ok(problem) => Err(damaged(problem.chars().take(MAX_DAMAGE_DETAIL).collect())),
        Err(rusqlite::Error::SqliteFailure(failure, _))
            if matches!(
                failure.code,
                rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
            ) =>
        {
            Err(damaged(failure.to_string()))
        }
        Err(other) => Err(LedgerError::database("checking the file's integrity")(
            other,
        )),
    }
}

/// Brings the schema up to [`SCHEMA_VERSION`], after registering the SQL functions the ledger's
/// statements use on `conn`. `path` only labels errors.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), LedgerError> {
    register_functions(conn)?;
    // IMMEDIATE takes the write lock before reading the version, so two gateways opening the same
    // new file cannot both decide to create the tables.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(LedgerError::database("starting the schema migration"))?;
    let found = supported_version(&tx, path)?;
    if (1..MIGRATIONS.len()).contains(&found) {
        // Version 3 rebuilds the receipts table: about a second per 200 000 entries, once.
        tracing::info!(path = %path.display(), from = found, to = SCHEMA_VERSION, "upgrading the ledger's schema");
    }
    for sql in MIGRATIONS.iter().skip(found) {
        tx.execute_batch(sql)
            .map_err(LedgerError::database("migrating the schema"))?;
    }
    if found != MIGRATIONS.len() {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(LedgerError::database("recording the schema version"))?;
    }
    tx.commit()
        .map_err(LedgerError::database("committing the schema migration"))
}

/// The file's schema version, if this build knows how to handle it.
fn supported_version(conn: &Connection, path: &Path) -> Result<usize, LedgerError> {
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(LedgerError::database("reading the schema version"))?;
    if found > SCHEMA_VERSION {
        return Err(LedgerError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    usize::try_from(found).map_err(|_| LedgerError::UnusablePath {
        path: path.to_path_buf(),
        reason: "negative schema version: not a ledger database",
    })
}
