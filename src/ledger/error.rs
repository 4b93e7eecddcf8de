//! Why a ledger operation failed.
//!
//! Display strings end up in logs and possibly in front of users, so they never contain a key
//! (short ids at most). They may name the database path: that is configuration, not a secret.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum LedgerError {
    /// Preparing the database file or its directory failed.
    /// The cause is part of the message and deliberately not a `source()`: chains printed by
    /// `anyhow` would show it twice.
    #[error("ledger {}: could not {action}: {cause}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        cause: io::Error,
    },

    /// The path exists but is not something the ledger will write to.
    #[error("ledger {}: {reason}", path.display())]
    UnusablePath { path: PathBuf, reason: &'static str },

    /// The database file could not be put in WAL mode (some network filesystems refuse it), so a
    /// commit would not be crash-safe in the way the ledger promises.
    #[error("ledger {}: journal mode is {mode:?}, WAL is required", path.display())]
    NoWal { path: PathBuf, mode: String },

    /// The file was written by a newer gateway; writing to a schema we do not know could corrupt it.
    #[error(
        "ledger {}: schema version {found} is newer than this gateway supports ({supported})",
        path.display()
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    /// The file fails SQLite's integrity check at start. Writing to a damaged file could lose
    /// more, so the gateway refuses to start on it. The detail names pages and indexes, never
    /// row contents.
    #[error(
        "ledger {}: the database file is damaged ({detail}); the gateway will not use it. Move \
         it aside (a new, empty ledger is created in its place) or restore a backup, then start \
         again",
        path.display()
    )]
    Damaged { path: PathBuf, detail: String },

    /// A transaction holding several entries did not commit, so none of them was recorded.
    /// `reason` is SQLite's message, which names no bound value.
    #[error("ledger database error while recording an entry: {reason}")]
    BatchNotCommitted { reason: String },

    /// The store is failing and the in-memory backlog of entries waiting for it is full.
    #[error("ledger is failing to write and {capacity} receipts already wait in memory")]
    BacklogFull { capacity: usize },

    /// An entry for this receipt (or with this id) is already recorded.
    #[error("ledger already has an entry for receipt {metadata_short_id}…")]
    AlreadyRecorded { metadata_short_id: String },

    /// A stored row cannot be read back as an entry. The value itself is not quoted, as the damaged
    /// column might hold a key.
    #[error("ledger entry has an unreadable {column}")]
    CorruptEntry { column: &'static str },

    /// SQLite reported an error. Its messages name tables and columns, never bound values, and all
    /// our SQL binds keys as parameters, so no key can reach this text.
    #[error("ledger database error while {action}: {cause}")]
    Database {
        action: &'static str,
        cause: rusqlite::Error,
    },
}

impl LedgerError {
    pub(crate) fn database(action: &'static str) -> impl FnOnce(rusqlite::Error) -> LedgerError {
        move |cause| LedgerError::Database { action, cause }
    }

    pub(crate) fn io(
        path: &std::path::Path,
        action: &'static str,
    ) -> impl FnOnce(io::Error) -> LedgerError {
        let path = path.to_path_buf();
        move |cause| LedgerError::Io {
            path,
            action,
            cause,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_is_printed_once_in_an_error_chain() {
        let error = LedgerError::io(std::path::Path::new("/x/ledger"), "create the directory")(
            io::Error::new(io::ErrorKind::PermissionDenied, "permission denied"),
        );
        let chain = format!("{:#}", anyhow_like_chain(&error));
        assert_eq!(chain.matches("permission denied").count(), 1, "{chain}");
    }

    /// What `anyhow`'s `{:#}` prints: each error in the `source()` chain, joined by ": ".
    fn anyhow_like_chain(error: &dyn std::error::Error) -> String {
        let mut parts = vec![error.to_string()];
        let mut next = error.source();
        while let Some(cause) = next {
            parts.push(cause.to_string());
            next = cause.source();
        }
        parts.join(": ")
    }
}
