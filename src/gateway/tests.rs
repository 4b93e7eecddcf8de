use std::sync::Arc;

use url::Url;

use super::*;
use crate::ledger::{SqliteLedger, StateUpdate};
use crate::model::{CreateOptions, Credentials, Frontend, SecretText};
use crate::simulator::{Simulator, SimulatorConfig};

fn simulator() -> Simulator {
    let url = Url::parse("http://127.0.0.1:9").expect("url");
    let simulator = Simulator::new(SimulatorConfig::new(url));
    simulator.add_account(&Credentials::new("team@example.com", "team-key"));
    simulator
}

fn gateway_with(ledger: Arc<dyn LedgerStore>) -> (Gateway, Simulator) {
    let simulator = simulator();
    let team = Credentials::new("team@example.com", "team-key");
    let upstream = Upstream::Simulated(simulator.as_caller(Some(team), None));
    (Gateway::new(upstream, ledger), simulator)
}

fn gateway() -> (Gateway, Arc<SqliteLedger>, Simulator) {
    let ledger = Arc::new(SqliteLedger::open_in_memory().expect("ledger"));
    let (gateway, simulator) = gateway_with(ledger.clone());
    (gateway, ledger, simulator)
}

fn share_request(secret: &str) -> ShareRequest {
    ShareRequest {
        secret: SecretText::new(secret),
        options: CreateOptions {
            ttl: Some(600),
            passphrase: None,
            recipient: None,
            share_domain: None,
        },
    }
}

#[tokio::test]
async fn shares_are_recorded_for_their_caller_without_the_value() {
    let (gateway, ledger, _sim) = gateway();
    let alice = Caller::new(Frontend::Mcp, "alice");
    let receipt = gateway
        .share(&alice, share_request("v"))
        .await
        .expect("share");
    let entry = ledger
        .by_metadata_key(&receipt.metadata_key)
        .expect("lookup")
        .expect("recorded");
    assert!(entry.is_owned_by(&alice));
    assert_eq!(entry.secret_key, receipt.secret_key);
    assert_eq!(entry.receipt_expires - entry.created, 1200, "2 x ttl");
    assert_eq!(entry.state, ReceiptState::New);
}

#[tokio::test]
async fn ownership_is_enforced_where_the_frontend_asks_for_it() {
    let (gateway, _ledger, _sim) = gateway();
    let alice = Caller::new(Frontend::Mcp, "alice");
    let bob = Caller::new(Frontend::Mcp, "bob");
    let receipt = gateway
        .share(&alice, share_request("v"))
        .await
        .expect("share");

    assert!(gateway.receipt(&alice, &receipt.metadata_key).await.is_ok());
    assert!(matches!(
        gateway.receipt(&bob, &receipt.metadata_key).await,
        Err(Error::NotOwned)
    ));
    assert!(matches!(
        gateway.burn(&bob, &receipt.metadata_key, None).await,
        Err(Error::NotOwned)
    ));
    // A key nobody created through the gateway gets the very same answer.
    let stranger = ReceiptKey::parse(&"z".repeat(62)).expect("key");
    assert!(matches!(
        gateway.receipt(&alice, &stranger).await,
        Err(Error::NotOwned)
    ));
    // REST keeps OTS's semantics: holding the key is enough.
    let rest = Caller::new(Frontend::Rest, "local");
    assert!(gateway.receipt(&rest, &receipt.metadata_key).await.is_ok());
}

#[tokio::test]
async fn disallowed_operations_are_refused_before_any_upstream_call() {
    let (gateway, _ledger, _sim) = gateway();
    let agent = Caller::new(Frontend::Mcp, "agent");
    let key = SecretKey::parse(&"a".repeat(62)).expect("key");
    assert!(matches!(
        gateway.retrieve(&agent, &key, None).await,
        Err(Error::NotAllowed {
            operation: Operation::Retrieve
        })
    ));
    let metrics = gateway.metrics_text();
    assert!(
        !metrics.contains("upstream_request_duration_seconds_count{operation=\"retrieve\"}"),
        "no upstream call was made: {metrics}"
    );
}

#[tokio::test]
async fn recent_is_the_team_list_for_rest_and_the_callers_own_elsewhere() {
    let (gateway, _ledger, _sim) = gateway();
    let alice = Caller::new(Frontend::Mcp, "alice");
    let bob = Caller::new(Frontend::Mcp, "bob");
    let rest = Caller::new(Frontend::Rest, "local");
    let by_alice = gateway
        .share(&alice, share_request("a"))
        .await
        .expect("share");
    let by_bob = gateway
        .share(&bob, share_request("b"))
        .await
        .expect("share");

    let team_list = gateway.recent(&rest).await.expect("recent");
    assert_eq!(
        team_list.len(),
        2,
        "REST with team credentials sees the account's list"
    );

    let alices = gateway.owned_recent(&alice).await.expect("owned recent");
    assert_eq!(alices.len(), 1);
    assert_eq!(alices[0].entry.metadata_key, by_alice.metadata_key);
    let alices_as_receipts = gateway.recent(&alice).await.expect("recent");
    let keys: Vec<_> = alices_as_receipts.iter().map(|r| &r.metadata_key).collect();
    assert_eq!(keys, [&by_alice.metadata_key]);
    assert!(!keys.contains(&&by_bob.metadata_key));
}

#[tokio::test]
async fn owned_recent_refreshes_live_entries_and_records_what_it_learns() {
    let (gateway, ledger, simulator) = gateway();
    let alice = Caller::new(Frontend::Discord, "1234");
    let receipt = gateway
        .share(&alice, share_request("v"))
        .await
        .expect("share");
    let secret_key = receipt.secret_key.clone().expect("live key");
    simulator
        .as_caller(None, None)
        .retrieve(&secret_key, None)
        .expect("the recipient opens the link");

    let listed = gateway.owned_recent(&alice).await.expect("owned recent");
    assert_eq!(listed[0].entry.state, ReceiptState::Received);
    let stored = ledger
        .by_metadata_key(&receipt.metadata_key)
        .expect("lookup")
        .expect("entry");
    assert_eq!(
        stored.state,
        ReceiptState::Received,
        "the ledger learned it too"
    );

    let burned_elsewhere = gateway
        .share(&alice, share_request("w"))
        .await
        .expect("share");
    let entry = gateway
        .entry_for(&alice, &burned_elsewhere.metadata_key)
        .await
        .expect("own entry");
    gateway
        .burn_entry(&alice, &entry.id, None)
        .await
        .expect("burn by entry id");
    let stored = ledger.by_id(&entry.id).expect("lookup").expect("entry");
    assert_eq!(stored.state, ReceiptState::Burned);
    assert!(matches!(
        gateway
            .burn_entry(&Caller::new(Frontend::Discord, "999"), &entry.id, None)
            .await,
        Err(Error::NotOwned)
    ));
}

/// A ledger whose writes always fail, to show a broken ledger never costs the caller a secret
/// that already exists upstream.
struct BrokenLedger;

impl LedgerStore for BrokenLedger {
    fn record(&self, _: &LedgerEntry) -> std::result::Result<(), LedgerError> {
        Err(LedgerError::CorruptEntry { column: "test" })
    }
    fn by_metadata_key(
        &self,
        _: &ReceiptKey,
    ) -> std::result::Result<Option<LedgerEntry>, LedgerError> {
        Err(LedgerError::CorruptEntry { column: "test" })
    }
    fn by_id(&self, _: &EntryId) -> std::result::Result<Option<LedgerEntry>, LedgerError> {
        Err(LedgerError::CorruptEntry { column: "test" })
    }
    fn recent(
        &self,
        _: Frontend,
        _: &str,
        _: usize,
    ) -> std::result::Result<Vec<LedgerEntry>, LedgerError> {
        Err(LedgerError::CorruptEntry { column: "test" })
    }
    fn update_state(
        &self,
        _: &ReceiptKey,
        _: ReceiptState,
        _: i64,
    ) -> std::result::Result<StateUpdate, LedgerError> {
        Err(LedgerError::CorruptEntry { column: "test" })
    }
    fn prune(&self, _: i64) -> std::result::Result<usize, LedgerError> {
        Err(LedgerError::CorruptEntry { column: "test" })
    }
    fn count(&self) -> std::result::Result<u64, LedgerError> {
        Err(LedgerError::CorruptEntry { column: "test" })
    }
    fn watch_due(
        &self,
        _: Frontend,
        _: i64,
        _: usize,
    ) -> std::result::Result<Vec<LedgerEntry>, LedgerError> {
        Err(LedgerError::CorruptEntry { column: "test" })
    }
    fn unannounced(
        &self,
        _: Frontend,
        _: usize,
    ) -> std::result::Result<Vec<LedgerEntry>, LedgerError> {
        Err(LedgerError::CorruptEntry { column: "test" })
    }
    fn mark_announced(
        &self,
        _: &ReceiptKey,
        _: &ReceiptState,
    ) -> std::result::Result<(), LedgerError> {
        Err(LedgerError::CorruptEntry { column: "test" })
    }
    fn set_read_receipts(
        &self,
        _: Frontend,
        _: &str,
        _: bool,
    ) -> std::result::Result<(), LedgerError> {
        Err(LedgerError::CorruptEntry { column: "test" })
    }
    fn read_receipts_enabled(
        &self,
        _: Frontend,
        _: &str,
    ) -> std::result::Result<bool, LedgerError> {
        Err(LedgerError::CorruptEntry { column: "test" })
    }
}

#[tokio::test]
async fn a_failing_ledger_never_loses_a_created_secret() {
    let (gateway, _sim) = gateway_with(Arc::new(BrokenLedger));
    let rest = Caller::new(Frontend::Rest, "local");
    let receipt = gateway
        .share(&rest, share_request("keep-me"))
        .await
        .expect("share still answers");
    assert!(
        receipt.share_url.is_some(),
        "the caller still gets the link"
    );
    // Where the ledger is needed to answer, the failure is explicit.
    let agent = Caller::new(Frontend::Mcp, "agent");
    assert!(matches!(
        gateway.owned_recent(&agent).await,
        Err(Error::Ledger)
    ));
    let elsewhere = ReceiptKey::parse("receiptmadeelsewhere").expect("key");
    assert!(matches!(
        gateway.receipt(&agent, &elsewhere).await,
        Err(Error::Ledger)
    ));
    // The receipt the store could not take is kept, and still not shown to anyone else.
    assert_eq!(gateway.ledger_health().backlog, 1);
    assert!(matches!(
        gateway.receipt(&agent, &receipt.metadata_key).await,
        Err(Error::NotOwned)
    ));
}

#[tokio::test]
async fn a_ledger_that_cannot_write_keeps_receipts_listed_reports_it_and_catches_up() {
    let store = crate::ledger::FlakyStore::new();
    let (gateway, _sim) = gateway_with(store.clone());
    let agent = Caller::new(Frontend::Mcp, "agent");
    store.fail_writes(true);

    let receipt = gateway
        .share(&agent, share_request("kept-while-failing"))
        .await
        .expect("the share is still answered");

    // The owner still sees and can manage it: never an empty list posing as the truth.
    let listed = gateway.owned_recent(&agent).await.expect("owned recent");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].entry.metadata_key, receipt.metadata_key);
    assert!(gateway.receipt(&agent, &receipt.metadata_key).await.is_ok());
    let health = gateway.ledger_health();
    assert!(!health.is_healthy());
    assert_eq!(health.backlog, 1);
    let metrics = gateway.metrics_text();
    assert!(
        metrics.contains("ots_gateway_ledger_backlog 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ots_gateway_ledger_write_failing 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ots_gateway_ledger_write_failures_total 1"),
        "{metrics}"
    );

    store.fail_writes(false);
    gateway.write_ledger_backlog().await;

    assert!(gateway.ledger_health().is_healthy());
    assert_eq!(
        store.count().expect("count"),
        1,
        "the receipt reached the store"
    );
    let metrics = gateway.metrics_text();
    assert!(
        metrics.contains("ots_gateway_ledger_backlog 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ots_gateway_ledger_entries_recovered_total 1"),
        "{metrics}"
    );
}
