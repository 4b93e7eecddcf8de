//! A ledger that fails does so loudly and loses nothing: a damaged file refuses the start, and a
//! file locked by another process (here Python's own sqlite3 module, as a backup tool would hold
//! it) delays no share for long, shows in `/readyz` and the metrics, and receives the waiting
//! receipts once it is released.

use std::process::Stdio;
use std::time::Duration;

use ots_gateway_core::ledger::{LedgerEntry, LedgerStore, SqliteLedger};
use ots_gateway_core::model::{Caller, Frontend, ReceiptKey};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::support::{self, BIN};

/// A directory for one test's ledger, removed when dropped.
struct LedgerDir(std::path::PathBuf);

impl LedgerDir {
    fn new(label: &str) -> LedgerDir {
        let dir = support::scratch_root()
            .join(format!("ots-gateway-ledger-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("ledger dir");
        LedgerDir(dir)
    }

    fn file(&self) -> std::path::PathBuf {
        self.0.join("ledger.sqlite3")
    }
}

impl Drop for LedgerDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn a_damaged_ledger_refuses_the_start_and_says_what_to_do() {
    let dir = LedgerDir::new("damaged");
    {
        let ledger = SqliteLedger::open(&dir.file()).expect("new ledger");
        let owner = Caller::new(Frontend::Rest, "script");
        for n in 0..200 {
            let key = ReceiptKey::parse(&format!("receiptkey{n:06}")).expect("key");
            let entry = LedgerEntry::new_receipt(&owner, key, None, 1_000 + n, 3_600, false);
            ledger.record(&entry).expect("record");
        }
    }
    // Closing checkpointed the WAL into the file. Overwrite the 4 KiB after the first, as a bad
    // sector or a stray write would, leaving the header intact: whatever the page size, whole
    // b-tree pages lie there.
    let mut bytes = std::fs::read(dir.file()).expect("read ledger");
    assert!(bytes.len() > 3 * 4096, "the ledger spans several pages");
    bytes[4096..8192].fill(0xA5);
    std::fs::write(dir.file(), &bytes).expect("damage ledger");

    let ledger_path = dir.file().to_string_lossy().into_owned();
    let output = Command::new(BIN)
        .args(["serve", "--dev", "--listen", "127.0.0.1:0"])
        .env_remove("OTS_GATEWAY_CONFIG")
        .env("OTS_GATEWAY__LEDGER__PATH", &ledger_path)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run ots-gateway");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "started on a damaged ledger");
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("listening on"),
        "it must not listen"
    );
    assert!(stderr.contains("damaged"), "{stderr}");
    assert!(stderr.contains(&ledger_path), "{stderr}");
    assert!(stderr.contains("Move it aside"), "{stderr}");
    assert_eq!(
        std::fs::read(dir.file()).expect("read ledger"),
        bytes,
        "the refused file is left as it was"
    );
}

#[tokio::test]
async fn a_locked_ledger_keeps_shares_answered_reports_it_and_catches_up() {
    let dir = LedgerDir::new("locked");
    let ledger_path = dir.file().to_string_lossy().into_owned();
    let gateway = support::start(
        &["serve", "--dev", "--listen", "127.0.0.1:0"],
        &[("OTS_GATEWAY__LEDGER__PATH", &ledger_path)],
    )
    .await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", gateway.base_url);

    // Another process takes the write lock and keeps it until told to let go.
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\n\
             db = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
             db.execute('BEGIN IMMEDIATE')\n\
             print('locked', flush=True)\n\
             sys.stdin.readline()\n\
             db.execute('ROLLBACK')\n",
            &ledger_path,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs");
    let mut holder_out = BufReader::new(holder.stdout.take().expect("stdout")).lines();
    assert_eq!(
        holder_out.next_line().await.expect("read").as_deref(),
        Some("locked")
    );

    let shared: Value = http
        .post(url("/api/v1/share"))
        .form(&[("secret", "kept-while-locked"), ("ttl", "3600")])
        .send()
        .await
        .expect("share")
        .error_for_status()
        .expect("the share is answered although the ledger is locked")
        .json()
        .await
        .expect("json");
    let key = ReceiptKey::parse(shared["metadata_key"].as_str().expect("metadata_key"))
        .expect("receipt key");

    let ready = http.get(url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 503);
    let why = ready.text().await.expect("text");
    assert!(why.contains("ledger"), "{why}");
    let metrics = support::metrics_text(http.get(url("/metrics"))).await;
    assert!(
        metrics.contains("ots_gateway_ledger_backlog 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ots_gateway_ledger_write_failing 1"),
        "{metrics}"
    );

    // Released: the gateway writes the receipt it kept and becomes ready again. The loop bounds
    // a hang; it does not time anything.
    let stdin = holder.stdin.as_mut().expect("stdin");
    stdin.write_all(b"release\n").await.expect("release");
    assert!(holder.wait().await.expect("python exits").success());
    let mut recovered = false;
    for _ in 0..150 {
        let ready = http.get(url("/readyz")).send().await.expect("readyz");
        if ready.status() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "still not ready after the lock was released");
    let metrics = support::metrics_text(http.get(url("/metrics"))).await;
    assert!(
        metrics.contains("ots_gateway_ledger_backlog 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ots_gateway_ledger_entries_recovered_total 1"),
        "{metrics}"
    );

    let status = gateway.terminate().await;
    assert!(status.success(), "{status}");
    let ledger = SqliteLedger::open(&dir.file()).expect("reopen");
    assert!(
        ledger.by_metadata_key(&key).expect("lookup").is_some(),
        "the receipt kept in memory reached the file"
    );
}
