//! The ledger is crash-safe: every share the gateway acknowledged is in the ledger after the
//! process is killed with SIGKILL, and a restarted gateway opens the same file.

use ots_gateway_core::ledger::{LedgerStore, SqliteLedger};
use ots_gateway_core::model::ReceiptKey;
use serde_json::Value;

use crate::support;

#[tokio::test]
async fn acknowledged_receipts_survive_sigkill() {
    let dir = support::scratch_root().join(format!("ots-gateway-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let ledger_path = dir.join("ledger.sqlite3");
    let ledger_env = ledger_path.to_string_lossy().into_owned();
    let env = [
        ("OTS_GATEWAY__LEDGER__PATH", ledger_env.as_str()),
        // The batch is larger than the default create burst; quotas are not under test here.
        (
            "OTS_GATEWAY__REST__QUOTA_CREATE",
            "{ per_minute = 0, burst = 0 }",
        ),
        (
            "OTS_GATEWAY__UPSTREAM__BUDGET",
            "{ per_minute = 0, burst = 0 }",
        ),
    ];

    let mut gateway = support::start(&["serve", "--dev", "--listen", "127.0.0.1:0"], &env).await;
    let http = reqwest::Client::new();
    let mut acknowledged = Vec::new();
    for n in 0..25 {
        let response = http
            .post(format!("{}/api/v1/share", gateway.base_url))
            .form(&[
                ("secret", format!("crash-test-{n}")),
                ("ttl", "3600".to_owned()),
            ])
            .send()
            .await
            .expect("share");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        acknowledged.push(
            body["metadata_key"]
                .as_str()
                .expect("metadata_key")
                .to_owned(),
        );
    }
    // Shares sent together are committed together (group commit); each is still on disk
    // before its answer.
    let mut concurrent = tokio::task::JoinSet::new();
    for n in 0..40 {
        let http = http.clone();
        let url = format!("{}/api/v1/share", gateway.base_url);
        concurrent.spawn(async move {
            let response = http
                .post(url)
                .form(&[
                    ("secret", format!("crash-test-concurrent-{n}")),
                    ("ttl", "3600".to_owned()),
                ])
                .send()
                .await
                .expect("share");
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.expect("json");
            body["metadata_key"]
                .as_str()
                .expect("metadata_key")
                .to_owned()
        });
    }
    while let Some(key) = concurrent.join_next().await {
        acknowledged.push(key.expect("share task"));
    }
    // No graceful shutdown: the process dies the moment the last answer has arrived.
    gateway.child.start_kill().expect("SIGKILL");
    let status = gateway.child.wait().await.expect("wait");
    assert!(!status.success(), "killed, not exited: {status}");

    let ledger = SqliteLedger::open(&ledger_path).expect("reopen the ledger");
    for key in &acknowledged {
        let key = ReceiptKey::parse(key).expect("key");
        assert!(
            ledger.by_metadata_key(&key).expect("lookup").is_some(),
            "an acknowledged receipt ({}) is missing after SIGKILL",
            key.short_id()
        );
    }
    assert_eq!(ledger.count().expect("count"), 65);
    drop(ledger);

    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&ledger_path)
            .expect("ledger file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "ledger file mode");

    // A restarted gateway reopens the same file and counts what is there.
    let restarted = support::start(&["serve", "--dev", "--listen", "127.0.0.1:0"], &env).await;
    let metrics = support::metrics_text(http.get(format!("{}/metrics", restarted.base_url))).await;
    assert!(
        metrics.contains("ots_gateway_ledger_entries 65"),
        "{metrics}"
    );
    drop(restarted);
    let _ = std::fs::remove_dir_all(&dir);
}
