//! The ledger's part in read receipts: which entries the watcher should ask upstream about, which
//! finished ones their owner has not heard of yet, and who opted out.
//!
//! Kept apart from the ownership queries in `sqlite.rs`: these run on the watcher's schedule,
//! not on a caller's request, and write only the announcement and opt-out tables (schema
//! version 2).

use rusqlite::{OptionalExtension, params};

use super::{COLUMNS, SqliteLedger, StoredRow, frontend_to_stored};
use crate::ledger::{LedgerEntry, LedgerError};
use crate::model::{Frontend, ReceiptKey, ReceiptState};

/// States in which the secret can still be opened or burned: the ones worth polling. Mirrors
/// [`ReceiptState::is_live`].
const LIVE: [ReceiptState; 2] = [ReceiptState::New, ReceiptState::Viewed];

/// States an owner is told about: the secret is gone, one way or another.
const FINISHED: [ReceiptState; 4] = [
    ReceiptState::Received,
    ReceiptState::Burned,
    ReceiptState::Expired,
    ReceiptState::Orphaned,
];

/// `'new', 'viewed'` for an SQL `IN` list. The states are fixed words from [`ReceiptState`],
/// never user input, so writing them into the statement is safe.
fn sql_list(states: &[ReceiptState]) -> String {
    states
        .iter()
        .map(|state| format!("'{}'", state.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

const NOT_ANNOUNCED: &str = "NOT EXISTS (SELECT 1 FROM read_receipt_announced a \
                             WHERE a.entry_id = receipts.id)";

const NOT_OPTED_OUT: &str = "NOT EXISTS (SELECT 1 FROM read_receipt_optouts o \
                             WHERE o.frontend = receipts.frontend AND o.caller = receipts.caller)";

impl SqliteLedger {
    fn entries_where(
        &self,
        condition: &str,
        order: &str,
        bind: impl rusqlite::Params,
        what: &'static str,
    ) -> Result<Vec<LedgerEntry>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM receipts WHERE {condition} ORDER BY {order}"
            ))
            .map_err(LedgerError::database(what))?;
        let rows = stmt
            .query_map(bind, StoredRow::read)
            .map_err(LedgerError::database(what))?;
        rows.map(|row| row.map_err(LedgerError::database(what))?.into_entry())
            .collect()
    }

    pub(super) fn watch_due_entries(
        &self,
        frontend: Frontend,
        now: i64,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, LedgerError> {
        let condition = format!(
            "frontend = ?1 AND state IN ({}) AND receipt_expires > ?2 AND {NOT_OPTED_OUT}",
            sql_list(&LIVE)
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.entries_where(
            &condition,
            "state_updated ASC, rowid ASC LIMIT ?3",
            params![frontend_to_stored(frontend), now, limit],
            "listing entries to watch",
        )
    }

    pub(super) fn unannounced_entries(
        &self,
        frontend: Frontend,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, LedgerError> {
        let condition = format!(
            "frontend = ?1 AND state IN ({}) AND {NOT_ANNOUNCED} AND {NOT_OPTED_OUT}",
            sql_list(&FINISHED)
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.entries_where(
            &condition,
            "state_updated ASC, rowid ASC LIMIT ?2",
            params![frontend_to_stored(frontend), limit],
            "listing unannounced entries",
        )
    }

    pub(super) fn record_announced(
        &self,
        key: &ReceiptKey,
        state: &ReceiptState,
    ) -> Result<(), LedgerError> {
        self.conn()
            .prepare_cached(
                "INSERT OR REPLACE INTO read_receipt_announced (entry_id, announced_state) \
                 SELECT id, ?1 FROM receipts WHERE metadata_key = ?2",
            )
            .and_then(|mut stmt| stmt.execute(params![state.as_str(), key.as_str()]))
            .map(drop)
            .map_err(LedgerError::database("recording an announcement"))
    }

    pub(super) fn store_read_receipts(
        &self,
        frontend: Frontend,
        caller: &str,
        enabled: bool,
    ) -> Result<(), LedgerError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction()
            .map_err(LedgerError::database("changing read receipts"))?;
        let stored = frontend_to_stored(frontend);
        if enabled {
            tx.execute(
                "DELETE FROM read_receipt_optouts WHERE frontend = ?1 AND caller = ?2",
                params![stored, caller],
            )
            .map_err(LedgerError::database("turning read receipts on"))?;
            tx.execute(
                &format!(
                    "INSERT OR IGNORE INTO read_receipt_announced (entry_id, announced_state) \
                     SELECT id, state FROM receipts WHERE frontend = ?1 AND caller = ?2 \
                     AND state IN ({})",
                    sql_list(&FINISHED)
                ),
                params![stored, caller],
            )
            .map_err(LedgerError::database("turning read receipts on"))?;
        } else {
            tx.execute(
                "INSERT OR IGNORE INTO read_receipt_optouts (frontend, caller) VALUES (?1, ?2)",
                params![stored, caller],
            )
            .map_err(LedgerError::database("turning read receipts off"))?;
        }
        tx.commit()
            .map_err(LedgerError::database("changing read receipts"))
    }

    pub(super) fn load_read_receipts(
        &self,
        frontend: Frontend,
        caller: &str,
    ) -> Result<bool, LedgerError> {
        let opted_out = self
            .conn()
            .prepare_cached(
                "SELECT 1 FROM read_receipt_optouts WHERE frontend = ?1 AND caller = ?2",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![frontend_to_stored(frontend), caller], |_| Ok(()))
                    .optional()
            })
            .map_err(LedgerError::database("reading the read-receipt setting"))?;
        Ok(opted_out.is_none())
    }
}
