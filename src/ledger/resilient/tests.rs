use super::*;
use crate::ledger::FlakyStore;
use crate::model::{Caller, SecretKey};

fn entry(caller: &str, created: i64) -> LedgerEntry {
    LedgerEntry::new_receipt(
        &Caller::new(Frontend::Mcp, caller),
        ReceiptKey::parse(&format!("rk{}", EntryId::generate())).expect("receipt key"),
        Some(SecretKey::parse(&format!("sk{}", EntryId::generate())).expect("secret key")),
        created,
        600,
        false,
    )
}

#[test]
fn an_entry_the_store_refuses_is_kept_readable_and_reported() {
    let store = FlakyStore::new();
    let ledger = ResilientLedger::new(store.clone());
    let kept = entry("agent", 1_000);
    store.fail_writes(true);

    assert!(matches!(
        ledger.record(kept.clone()),
        Ok(Recorded::Deferred)
    ));

    let health = ledger.health();
    assert!(!health.is_healthy());
    assert_eq!(health.backlog, 1);
    assert!(health.last_write_failed);
    assert_eq!(health.write_failures, 1);
    assert!(health.to_string().contains("1 receipt(s)"), "{health}");
    assert_eq!(
        store.count().expect("count"),
        0,
        "nothing reached the store"
    );
    // Owners still find it, by key, by id and in their list; nobody else does.
    assert_eq!(
        ledger.by_metadata_key(&kept.metadata_key).expect("read"),
        Some(kept.clone())
    );
    assert_eq!(ledger.by_id(&kept.id).expect("read"), Some(kept.clone()));
    assert_eq!(
        ledger.recent(Frontend::Mcp, "agent", 10).expect("read"),
        vec![kept.clone()]
    );
    assert_eq!(
        ledger
            .recent(Frontend::Mcp, "someone-else", 10)
            .expect("read"),
        vec![]
    );
    assert_eq!(ledger.count().expect("count"), 1);
}

#[test]
fn the_backlog_is_written_in_order_once_the_store_recovers() {
    let store = FlakyStore::new();
    let ledger = ResilientLedger::new(store.clone());
    store.fail_writes(true);
    let first = entry("agent", 1_000);
    let second = entry("agent", 1_001);
    ledger.record(first.clone()).expect("deferred");
    ledger.record(second.clone()).expect("deferred");
    assert!(ledger.flush().is_err(), "still failing");
    assert_eq!(ledger.health().backlog, 2);

    store.fail_writes(false);
    assert_eq!(ledger.flush().expect("flushed"), 2);

    assert!(ledger.health().is_healthy());
    assert_eq!(store.count().expect("count"), 2);
    assert_eq!(
        store.recent(Frontend::Mcp, "agent", 10).expect("read"),
        vec![second, first],
        "the store holds both, newest first"
    );
}

#[test]
fn a_new_entry_after_recovery_goes_in_after_the_waiting_ones() {
    let store = FlakyStore::new();
    let ledger = ResilientLedger::new(store.clone());
    store.fail_writes(true);
    let waiting = entry("agent", 1_000);
    ledger.record(waiting.clone()).expect("deferred");

    store.fail_writes(false);
    let fresh = entry("agent", 1_000);
    assert!(matches!(
        ledger.record(fresh.clone()),
        Ok(Recorded::Committed)
    ));

    assert!(ledger.health().is_healthy());
    // Same second: the store lists the later-recorded first, so order of writing is visible.
    assert_eq!(
        store.recent(Frontend::Mcp, "agent", 10).expect("read"),
        vec![fresh, waiting]
    );
}

#[test]
fn lists_merge_waiting_and_stored_entries_newest_first_up_to_the_limit() {
    let store = FlakyStore::new();
    let ledger = ResilientLedger::new(store.clone());
    let stored_old = entry("agent", 1_000);
    let stored_new = entry("agent", 3_000);
    ledger.record(stored_old.clone()).expect("committed");
    ledger.record(stored_new.clone()).expect("committed");
    store.fail_writes(true);
    let waiting_mid = entry("agent", 2_000);
    let waiting_newest = entry("agent", 4_000);
    ledger.record(waiting_mid.clone()).expect("deferred");
    ledger.record(waiting_newest.clone()).expect("deferred");

    assert_eq!(
        ledger.recent(Frontend::Mcp, "agent", 10).expect("read"),
        vec![
            waiting_newest.clone(),
            stored_new.clone(),
            waiting_mid,
            stored_old
        ]
    );
    assert_eq!(
        ledger.recent(Frontend::Mcp, "agent", 2).expect("read"),
        vec![waiting_newest, stored_new]
    );
}

#[test]
fn state_changes_apply_to_waiting_entries_and_survive_the_flush() {
    let store = FlakyStore::new();
    let ledger = ResilientLedger::new(store.clone());
    store.fail_writes(true);
    let waiting = entry("agent", 1_000);
    ledger.record(waiting.clone()).expect("deferred");

    assert_eq!(
        ledger
            .update_state(&waiting.metadata_key, ReceiptState::Burned, 1_100)
            .expect("update"),
        StateUpdate::Applied
    );
    assert_eq!(
        ledger
            .update_state(&waiting.metadata_key, ReceiptState::New, 1_050)
            .expect("update"),
        StateUpdate::Stale,
        "an older observation does not roll the state back"
    );
    store.fail_writes(false);
    ledger.flush().expect("flushed");

    let stored = store
        .by_metadata_key(&waiting.metadata_key)
        .expect("read")
        .expect("present");
    assert_eq!(stored.state, ReceiptState::Burned);
    assert_eq!(stored.state_updated, 1_100);
    assert_eq!(stored.secret_key, None, "a burned secret's key is not kept");
}

#[test]
fn a_full_backlog_says_so_before_anything_is_created() {
    let store = FlakyStore::new();
    let ledger = ResilientLedger::new(store.clone());
    store.fail_writes(true);
    for n in 0..BACKLOG_CAPACITY {
        assert!(ledger.has_room());
        let created = i64::try_from(n).expect("small");
        assert!(matches!(
            ledger.record(entry("agent", created)),
            Ok(Recorded::Deferred)
        ));
    }
    assert!(!ledger.has_room());
    assert!(ledger.record(entry("agent", 0)).is_err());
    assert_eq!(ledger.health().backlog, BACKLOG_CAPACITY);
}

#[test]
fn a_duplicate_is_refused_not_queued() {
    let store = FlakyStore::new();
    let ledger = ResilientLedger::new(store.clone());
    let once = entry("agent", 1_000);
    ledger.record(once.clone()).expect("committed");
    assert!(matches!(
        ledger.record(once),
        Err(LedgerError::AlreadyRecorded { .. })
    ));
    assert!(ledger.health().is_healthy());
}
