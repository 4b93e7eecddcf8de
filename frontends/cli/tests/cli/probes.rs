//! Readiness probes against the real binary with the shipped configuration: many in a row all
//! answer 200 and none reaches the audit log, which does record real operations.

use crate::support;

#[tokio::test]
async fn two_hundred_readiness_probes_pass_and_write_no_audit_event() {
    let dir = support::scratch_root().join(format!("ots-gateway-probes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let audit = dir.join("audit.jsonl");
    let config = format!(
        "{}/../../config/ots-gateway.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let gateway = support::start(
        &[
            "serve",
            "--dev",
            "--config",
            &config,
            "--listen",
            "127.0.0.1:0",
        ],
        &[("OTS_GATEWAY__AUDIT__FILE", &audit.to_string_lossy())],
    )
    .await;
    let http = reqwest::Client::new();
    for n in 0..200 {
        let response = http
            .get(format!("{}/readyz", gateway.base_url))
            .send()
            .await
            .expect("readyz answers");
        assert_eq!(response.status(), 200, "probe {n}");
    }
    let audited = || std::fs::read_to_string(&audit).unwrap_or_default();
    assert_eq!(audited(), "", "probes wrote audit events");

    // The audit log is live: a real operation is recorded.
    let shared = http
        .post(format!("{}/api/v1/share", gateway.base_url))
        .form(&[("secret", "audited")])
        .send()
        .await
        .expect("share");
    assert_eq!(shared.status(), 200);
    let status = gateway.terminate().await;
    assert!(status.success(), "{status}");
    assert_eq!(audited().lines().count(), 1, "{}", audited());
    let _ = std::fs::remove_dir_all(&dir);
}
