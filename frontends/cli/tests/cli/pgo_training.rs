//! The training run of `bench/pgo_build.sh` (`bench/pgo_train.py`), at a hundredth of its size,
//! against the real binary: it checks every answer it gets, so an endpoint or tool that changes
//! under it fails here rather than in the middle of a fifteen-minute release build.

use std::path::PathBuf;

use tokio::process::Command;

use crate::support::{self, BIN, scratch_root};

const ACCOUNT: &str = "training@example.com";
const TOKEN: &str = "training-token";
const HUGE_QUOTA: &str = "{ per_minute = 1000000, burst = 100000 }";

#[tokio::test]
async fn the_pgo_training_run_passes_against_the_binary() {
    let simulator = support::simulator("v2", ACCOUNT, TOKEN).await;
    let serve_ledger = scratch_root().join("pgo-training-serve.sqlite3");
    let mcp_ledger = scratch_root().join("pgo-training-mcp.sqlite3");
    let quotas = [
        ("OTS_GATEWAY__REST__QUOTA_CREATE", HUGE_QUOTA),
        ("OTS_GATEWAY__REST__QUOTA_MANAGE", HUGE_QUOTA),
        ("OTS_GATEWAY__UPSTREAM__BUDGET", HUGE_QUOTA),
    ];
    let mut serve_env = vec![
        ("OTS_GATEWAY_USERNAME", ACCOUNT),
        ("OTS_GATEWAY_API_KEY", TOKEN),
    ];
    serve_env.extend(quotas);
    let serve_ledger_path = serve_ledger.to_string_lossy();
    serve_env.push(("OTS_GATEWAY__LEDGER__PATH", &serve_ledger_path));
    let gateway = support::serve_in_front_of(&simulator.base_url, &serve_env).await;

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/pgo_train.py");
    // The stdio server is started by the script, with its settings passed through `env` as
    // bench/pgo_build.sh passes them.
    let output = Command::new("python3")
        .arg(&script)
        .arg(&gateway.base_url)
        .arg("env")
        .arg(format!("OTS_GATEWAY_USERNAME={ACCOUNT}"))
        .arg(format!("OTS_GATEWAY_API_KEY={TOKEN}"))
        .arg(format!(
            "OTS_GATEWAY__LEDGER__PATH={}",
            mcp_ledger.to_string_lossy()
        ))
        .args(quotas.iter().map(|(name, value)| format!("{name}={value}")))
        .arg(BIN)
        .args(["mcp", "--upstream", &simulator.base_url])
        .env("PGO_TRAINING_SCALE", "0.01")
        .output()
        .await
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "training run failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(
            "trained on every REST endpoint, status and share bursts, MCP over HTTP and stdio"
        ),
        "the run did not reach its end: {stdout}"
    );
    gateway.terminate().await;
    simulator.terminate().await;
}
