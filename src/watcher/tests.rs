use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use url::Url;

use super::*;
use crate::ledger::{LedgerStore, SqliteLedger};
use crate::limits::{QuotaSettings, Rate};
use crate::model::{
    Caller, CreateOptions, Credentials, ReceiptKey, SecretKey, SecretText, ShareRequest,
};
use crate::simulator::{Simulator, SimulatorConfig};
use crate::upstream::Upstream;

fn simulator() -> Simulator {
    let simulator = Simulator::new(SimulatorConfig::new(
        Url::parse("http://127.0.0.1:9").unwrap(),
    ));
    simulator.add_account(&team());
    simulator
}

fn team() -> Credentials {
    Credentials::new("team@example.com", "team-key")
}

fn gateway_over(
    simulator: &Simulator,
    ledger: Arc<dyn LedgerStore>,
    quotas: QuotaSettings,
) -> Gateway {
    let upstream = Upstream::Simulated(simulator.as_caller(Some(team()), None));
    Gateway::builder(upstream, ledger).quotas(quotas).build()
}

fn alice() -> Caller {
    Caller::new(Frontend::Discord, "alice")
}

fn watcher(gateway: &Gateway) -> ReceiptWatcher {
    ReceiptWatcher::new(
        gateway.clone(),
        Frontend::Discord,
        WatcherSettings::default(),
    )
}

async fn share(gateway: &Gateway, caller: &Caller) -> (ReceiptKey, SecretKey) {
    let receipt = gateway
        .share(
            caller,
            ShareRequest {
                secret: SecretText::new("watched-value"),
                options: CreateOptions {
                    ttl: Some(600),
                    passphrase: None,
                    recipient: None,
                    share_domain: None,
                },
            },
        )
        .await
        .unwrap();
    (receipt.metadata_key, receipt.secret_key.unwrap())
}

/// Reveals through the gateway's REST frontend, the way a recipient's browser or client would.
async fn reveal(gateway: &Gateway, key: &SecretKey) {
    gateway
        .retrieve(&Caller::new(Frontend::Rest, "recipient"), key, None)
        .await
        .unwrap();
}

/// Records every announcement and answers with a scripted delivery (then `Delivered`).
#[derive(Default)]
struct Inbox {
    received: Mutex<Vec<ReceiptNews>>,
    script: Mutex<Vec<Delivery>>,
}

impl Inbox {
    fn news(&self) -> Vec<ReceiptNews> {
        self.received.lock().unwrap().clone()
    }
}

impl ReceiptSubscriber for Inbox {
    fn announce(&self, news: ReceiptNews) -> Pin<Box<dyn Future<Output = Delivery> + Send + '_>> {
        Box::pin(async move {
            let delivery = self
                .script
                .lock()
                .unwrap()
                .pop()
                .unwrap_or(Delivery::Delivered);
            if delivery != Delivery::RetryLater {
                self.received.lock().unwrap().push(news);
            }
            delivery
        })
    }
}

#[tokio::test]
async fn a_revealed_secret_is_announced_once_to_its_owner() {
    let simulator = simulator();
    let ledger = Arc::new(SqliteLedger::open_in_memory().unwrap());
    let gateway = gateway_over(&simulator, ledger, QuotaSettings::default());
    let (_, key) = share(&gateway, &alice()).await;
    let mut watcher = watcher(&gateway);
    let inbox = Inbox::default();

    let quiet = watcher.round(&inbox).await;
    assert_eq!((quiet.observed, quiet.announced), (1, 0));

    reveal(&gateway, &key).await;
    let round = watcher.round(&inbox).await;
    assert_eq!(round.announced, 1);
    let news = inbox.news();
    assert_eq!(news[0].owner, "alice");
    assert_eq!(news[0].state, ReceiptState::Received);
    // The news names the entry, never a key.
    assert!(!format!("{news:?}").contains(key.as_str()));

    let again = watcher.round(&inbox).await;
    assert_eq!(
        (again.observed, again.announced),
        (0, 0),
        "nothing live, nothing new"
    );
    assert_eq!(inbox.news().len(), 1);
}

#[tokio::test]
async fn owners_who_opt_out_are_neither_polled_nor_told() {
    let simulator = simulator();
    let ledger = Arc::new(SqliteLedger::open_in_memory().unwrap());
    let gateway = gateway_over(&simulator, ledger, QuotaSettings::default());
    let (_, key) = share(&gateway, &alice()).await;
    gateway.set_read_receipts(&alice(), false).await.unwrap();
    assert!(!gateway.read_receipts_enabled(&alice()).await.unwrap());
    reveal(&gateway, &key).await;
    let inbox = Inbox::default();
    let round = watcher(&gateway).round(&inbox).await;
    assert_eq!((round.observed, round.announced), (0, 0));
    assert!(inbox.news().is_empty());
    // Someone else's setting is their own.
    assert!(
        gateway
            .read_receipts_enabled(&Caller::new(Frontend::Discord, "bob"))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_burn_by_the_owner_is_not_news_to_them() {
    let simulator = simulator();
    let ledger = Arc::new(SqliteLedger::open_in_memory().unwrap());
    let gateway = gateway_over(&simulator, ledger, QuotaSettings::default());
    let (metadata_key, _) = share(&gateway, &alice()).await;
    let entry = gateway.entry_for(&alice(), &metadata_key).await.unwrap();
    gateway.burn_entry(&alice(), &entry.id, None).await.unwrap();
    let inbox = Inbox::default();
    let round = watcher(&gateway).round(&inbox).await;
    assert_eq!(round.announced, 0);
    assert!(inbox.news().is_empty());
}

#[tokio::test]
async fn news_that_could_not_be_delivered_is_kept_for_the_next_round() {
    let simulator = simulator();
    let ledger = Arc::new(SqliteLedger::open_in_memory().unwrap());
    let gateway = gateway_over(&simulator, ledger, QuotaSettings::default());
    let (_, key) = share(&gateway, &alice()).await;
    reveal(&gateway, &key).await;
    let inbox = Inbox::default();
    // The poll finds the reveal; the one attempt to tell the owner fails.
    *inbox.script.lock().unwrap() = vec![Delivery::RetryLater];
    let mut watcher = watcher(&gateway);
    let failed = watcher.round(&inbox).await;
    assert!(failed.held_back);
    assert!(inbox.news().is_empty());
    let delivered = watcher.round(&inbox).await;
    assert_eq!(delivered.announced, 1);
    assert!(!delivered.held_back);
}

#[tokio::test]
async fn what_was_announced_survives_a_restart_and_so_does_what_was_not() {
    let dir = std::env::temp_dir().join(format!(
        "ots-watcher-{}",
        crate::ledger::EntryId::generate()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ledger.db");
    let simulator = simulator();

    // First life: two secrets, one opened and announced.
    let first = gateway_over(
        &simulator,
        Arc::new(SqliteLedger::open(&path).unwrap()),
        QuotaSettings::default(),
    );
    let (_, opened_before) = share(&first, &alice()).await;
    let (_, opened_while_down) = share(&first, &alice()).await;
    reveal(&first, &opened_before).await;
    let inbox = Inbox::default();
    assert_eq!(watcher(&first).round(&inbox).await.announced, 1);
    drop(first);

    // Down: the second one is opened (straight at OTS, nothing tells the ledger).
    simulator
        .as_caller(None, None)
        .retrieve(&opened_while_down, None)
        .unwrap();

    // Second life: only the news it has not told yet.
    let second = gateway_over(
        &simulator,
        Arc::new(SqliteLedger::open(&path).unwrap()),
        QuotaSettings::default(),
    );
    let after = Inbox::default();
    let round = watcher(&second).round(&after).await;
    assert_eq!(round.announced, 1);
    assert_eq!(after.news().len(), 1);
    assert_ne!(after.news()[0].entry, inbox.news()[0].entry);
    let _ = std::fs::remove_dir_all(&dir);
}

fn budget(burst: u32) -> QuotaSettings {
    let one = NonZeroU32::new(1).unwrap();
    QuotaSettings {
        upstream: Some(Rate {
            per_minute: one,
            burst: NonZeroU32::new(burst).unwrap(),
        }),
        ..QuotaSettings::default()
    }
}

#[tokio::test]
async fn an_exhausted_upstream_budget_holds_the_watcher_back() {
    let simulator = simulator();
    let ledger = Arc::new(SqliteLedger::open_in_memory().unwrap());
    // One call in the budget, spent by the share itself.
    let gateway = gateway_over(&simulator, ledger, budget(1));
    let (_, key) = share(&gateway, &alice()).await;
    reveal_directly(&simulator, &key).await;
    let inbox = Inbox::default();
    let round = watcher(&gateway).round(&inbox).await;
    assert!(round.held_back);
    assert_eq!((round.observed, round.announced), (0, 0));
}

async fn reveal_directly(simulator: &Simulator, key: &SecretKey) {
    simulator.as_caller(None, None).retrieve(key, None).unwrap();
}

#[tokio::test]
async fn with_the_team_account_one_recent_call_covers_a_batch() {
    let simulator = simulator();
    let ledger = Arc::new(SqliteLedger::open_in_memory().unwrap());
    // Three shares, then room for exactly one more upstream call.
    let gateway = gateway_over(&simulator, ledger, budget(4));
    let mut keys = Vec::new();
    for _ in 0..3 {
        keys.push(share(&gateway, &alice()).await.1);
    }
    for key in &keys {
        reveal_directly(&simulator, key).await;
    }
    let inbox = Inbox::default();
    let round = watcher(&gateway).round(&inbox).await;
    assert_eq!(round.observed, 3, "{round:?}");
    assert_eq!(round.announced, 3);
    assert!(
        inbox
            .news()
            .iter()
            .all(|news| news.state == ReceiptState::Received)
    );
}
