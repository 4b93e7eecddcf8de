//! The ledger's part in read receipts: which entries the watcher should ask upstream about, which
//! finished ones their owner has not heard of yet, and who opted out.
//!
//! Kept apart from the ownership queries in `sqlite.rs`: these run on the watcher's schedule,
//! not on a caller's request, and write only the announcement and opt-out tables (schema
//! version 2).

use rusqlite::{OptionalExtension, params};

use super::{SqliteLedger, StoredRow, columns, frontend_to_stored};
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

/// The watcher's query: `frontend`'s live, unexpired entries whose owner gets read receipts.
pub(super) fn select_watch_due() -> String {
    format!(
        "SELECT {} FROM receipts WHERE frontend = ?1 AND state IN ({}) AND receipt_expires > ?2 \
         AND {NOT_OPTED_OUT} ORDER BY state_updated ASC, rowid ASC LIMIT ?3",
        columns!(),
        sql_list(&LIVE)
    )
}

/// Finished entries of `frontend` not yet announced to an owner who gets read receipts.
pub(super) fn select_unannounced() -> String {
    format!(
        "SELECT {} FROM receipts WHERE frontend = ?1 AND state IN ({}) AND {NOT_ANNOUNCED} \
         AND {NOT_OPTED_OUT} ORDER BY state_updated ASC, rowid ASC LIMIT ?2",
        columns!(),
        sql_list(&FINISHED)
    )
}

pub(super) const RECORD_ANNOUNCED: &str = "INSERT OR REPLACE INTO read_receipt_announced \
     (entry_id, announced_state) SELECT id, ?1 FROM receipts \
     WHERE metadata_key_hash = receipt_key_hash(?2) AND metadata_key = ?2";

/// Counts one owner's finished entries as announced, when they turn read receipts back on.
pub(super) fn announce_finished_of_owner() -> String {
    format!(
        "INSERT OR IGNORE INTO read_receipt_announced (entry_id, announced_state) \
         SELECT id, state FROM receipts WHERE frontend = ?1 AND caller = ?2 AND state IN ({})",
        sql_list(&FINISHED)
    )
}

impl SqliteLedger {
    fn entries_where(
        &self,
        sql: &str,
        bind: impl rusqlite::Params,
        what: &'static str,
    ) -> Result<Vec<LedgerEntry>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(sql)
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
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.entries_where(
            &select_watch_due(),
            params![frontend_to_stored(frontend), now, limit],
            "listing entries to watch",
        )
    }

    pub(super) fn unannounced_entries(
        &self,
        frontend: Frontend,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, LedgerError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.entries_where(
            &select_unannounced(),
            params![frontend_to_stored(frontend), limit],
            "listing unannounced entries",
        )
    }

    pub(super) fn record_announced(
        &self,
        key: &ReceiptKey,
        state: &ReceiptState,
    ) -> Result<(), LedgerError> {
        self.conn_for_writing()
            .prepare_cached(RECORD_ANNOUNCED)
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
        let mut conn = self.conn_for_writing();
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
            tx.execute(&announce_finished_of_owner(), params![stored, caller])
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rusqlite::Connection;

    use super::*;
    use crate::ledger::sqlite::schema;
    use crate::ledger::{EntryId, LedgerStore};
    use crate::model::{Caller, SecretKey};

    fn entry(caller: &str, created: i64) -> LedgerEntry {
        LedgerEntry::new_receipt(
            &Caller::new(Frontend::Discord, caller),
            ReceiptKey::parse(&format!("rk{}", EntryId::generate())).unwrap(),
            Some(SecretKey::parse(&format!("sk{}", EntryId::generate())).unwrap()),
            created,
            600,
            false,
        )
    }

    fn ids(entries: &[LedgerEntry]) -> Vec<EntryId> {
        entries.iter().map(|e| e.id.clone()).collect()
    }

    #[test]
    fn only_live_unexpired_entries_of_the_frontend_are_due_least_recently_observed_first() {
        let ledger = SqliteLedger::open_in_memory().unwrap();
        let older = entry("alice", 1_000);
        let newer = entry("alice", 1_100);
        let opened = entry("alice", 1_050);
        let mut elsewhere = entry("alice", 1_000);
        elsewhere.frontend = Frontend::Mcp;
        for e in [&older, &newer, &opened, &elsewhere] {
            ledger.record(e).unwrap();
        }
        ledger
            .update_state(&opened.metadata_key, ReceiptState::Received, 1_060)
            .unwrap();
        let due = ledger.watch_due(Frontend::Discord, 1_200, 10).unwrap();
        assert_eq!(ids(&due), vec![older.id.clone(), newer.id.clone()]);
        // Observing the older one again sends it to the back of the queue.
        ledger
            .update_state(&older.metadata_key, ReceiptState::New, 1_300)
            .unwrap();
        let due = ledger.watch_due(Frontend::Discord, 1_300, 1).unwrap();
        assert_eq!(ids(&due), vec![newer.id.clone()]);
        // Past the receipt's life (created + 2 × ttl) nothing is left to ask about.
        assert!(
            ledger
                .watch_due(Frontend::Discord, 2_400, 10)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn finished_entries_are_announced_once_and_never_to_owners_who_opted_out() {
        let ledger = SqliteLedger::open_in_memory().unwrap();
        let alices = entry("alice", 1_000);
        let bobs = entry("bob", 1_000);
        for e in [&alices, &bobs] {
            ledger.record(e).unwrap();
            ledger
                .update_state(&e.metadata_key, ReceiptState::Received, 1_010)
                .unwrap();
        }
        ledger
            .set_read_receipts(Frontend::Discord, "bob", false)
            .unwrap();
        assert!(
            !ledger
                .read_receipts_enabled(Frontend::Discord, "bob")
                .unwrap()
        );
        let pending = ledger.unannounced(Frontend::Discord, 10).unwrap();
        assert_eq!(ids(&pending), vec![alices.id.clone()]);
        ledger
            .mark_announced(&alices.metadata_key, &ReceiptState::Received)
            .unwrap();
        assert!(
            ledger
                .unannounced(Frontend::Discord, 10)
                .unwrap()
                .is_empty()
        );
        // Turning receipts back on does not deliver the backlog.
        ledger
            .set_read_receipts(Frontend::Discord, "bob", true)
            .unwrap();
        assert!(
            ledger
                .read_receipts_enabled(Frontend::Discord, "bob")
                .unwrap()
        );
        assert!(
            ledger
                .unannounced(Frontend::Discord, 10)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn pruning_an_entry_drops_its_announcement() {
        let ledger = SqliteLedger::open_in_memory().unwrap();
        let e = entry("alice", 1_000);
        ledger.record(&e).unwrap();
        ledger
            .mark_announced(&e.metadata_key, &ReceiptState::Burned)
            .unwrap();
        assert_eq!(ledger.prune(10_000).unwrap(), 1);
        let left: i64 = ledger
            .conn()
            .query_row("SELECT COUNT(*) FROM read_receipt_announced", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(left, 0);
    }

    #[test]
    fn upgrading_a_version_1_ledger_announces_nothing_that_was_already_finished() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(schema::MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        let finished = entry("alice", 1_000);
        let live = entry("alice", 1_000);
        for (e, state) in [(&finished, "received"), (&live, "new")] {
            conn.execute(
                concat!(
                    "INSERT INTO receipts (",
                    columns!(),
                    ") VALUES (?1, 'discord', ?2, ?3, NULL, ?4, ?5, ?6, ?7, ?4, 0)"
                ),
                rusqlite::params![
                    e.id.as_str(),
                    e.caller,
                    e.metadata_key.as_str(),
                    e.created,
                    e.secret_expires,
                    e.receipt_expires,
                    state
                ],
            )
            .unwrap();
        }
        schema::migrate(&mut conn, Path::new(":memory:")).unwrap();
        let ledger = SqliteLedger {
            conn: std::sync::Mutex::new(conn),
            path: None,
            durability: crate::ledger::Durability::Normal,
            checkpointer: crate::ledger::sqlite::checkpoint::Checkpointer::none(),
        };
        assert!(
            ledger
                .unannounced(Frontend::Discord, 10)
                .unwrap()
                .is_empty()
        );
        // The live one is still watched, and announced once it finishes.
        assert_eq!(
            ids(&ledger.watch_due(Frontend::Discord, 1_100, 10).unwrap()),
            vec![live.id.clone()]
        );
        ledger
            .update_state(&live.metadata_key, ReceiptState::Expired, 1_700)
            .unwrap();
        assert_eq!(
            ids(&ledger.unannounced(Frontend::Discord, 10).unwrap()),
            vec![live.id.clone()]
        );
    }
}
