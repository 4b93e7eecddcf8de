//! The small things a new user meets in the first hour: addresses typed without a scheme, a port
//! already taken, what `serve --dev` says about credentials, and why an upstream is unreachable.

use std::process::Stdio;

use tokio::process::Command;

use crate::support::{self, BIN};

async fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .env("XDG_DATA_HOME", support::isolated_data_home())
        .env_remove("OTS_GATEWAY_CONFIG")
        .env_remove("OTS_GATEWAY_BEARER_TOKEN")
        .output()
        .await
        .expect("run ots-gateway")
}

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A ledger file in the temp dir, so a live `serve` never writes to the user's data directory.
pub fn scratch_ledger(name: &str) -> String {
    support::scratch_root()
        .join(format!("ots-gateway-{name}-{}.sqlite3", std::process::id()))
        .to_string_lossy()
        .into_owned()
}

/// The child's logs once they contain `needle` (they are read in the background), or after a
/// bound that only guards against a hang.
async fn logs_once_they_mention(gateway: &support::Running, needle: &str) -> String {
    for _ in 0..300 {
        let logs = gateway.output();
        if logs.contains(needle) {
            return logs;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    gateway.output()
}

#[tokio::test]
async fn status_and_health_accept_an_address_without_a_scheme() {
    let gateway = support::start(&["serve", "--dev", "--listen", "127.0.0.1:0"], &[]).await;
    let bare = gateway.base_url.trim_start_matches("http://").to_owned();
    let status = run(&["status", "--url", &bare]).await;
    assert!(status.status.success(), "{}", text(&status));
    assert!(text(&status).contains(": ready"), "{}", text(&status));
    let health = run(&["health", "--ready", "--url", &bare]).await;
    assert!(health.status.success(), "{}", text(&health));
}

#[tokio::test]
async fn a_taken_port_suggests_listen() {
    let first = support::start(&["serve", "--dev", "--listen", "127.0.0.1:0"], &[]).await;
    let taken = first.base_url.trim_start_matches("http://").to_owned();
    let second = run(&["serve", "--dev", "--listen", &taken]).await;
    assert!(!second.status.success());
    let said = text(&second);
    assert!(said.contains("already in use"), "{said}");
    assert!(said.contains("--listen"), "{said}");
}

#[tokio::test]
async fn serve_dev_does_not_claim_team_credentials() {
    let gateway = support::start(&["serve", "--dev", "--listen", "127.0.0.1:0"], &[]).await;
    let logs = logs_once_they_mention(&gateway, "ots-gateway starting").await;
    assert!(!logs.contains("team_credentials=\"set\""), "{logs}");
    assert!(logs.contains("dev simulator account"), "{logs}");
}

#[tokio::test]
async fn an_unreachable_upstream_says_why_in_the_log_and_in_status() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let upstream = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let gateway = support::start(
        &["serve", "--listen", "127.0.0.1:0", "--upstream", &upstream],
        &[
            ("OTS_GATEWAY__UPSTREAM__READ_RETRIES", "0"),
            ("OTS_GATEWAY__LEDGER__PATH", &scratch_ledger("unreachable")),
        ],
    )
    .await;
    let status = run(&["status", "--url", &gateway.base_url]).await;
    assert!(!status.status.success(), "not ready: {}", text(&status));
    assert!(
        text(&status).contains("connection was refused"),
        "{}",
        text(&status)
    );
    let health = run(&["health", "--ready", "--url", &gateway.base_url]).await;
    assert!(!health.status.success());
    assert!(
        text(&health).contains("connection was refused"),
        "{}",
        text(&health)
    );
    // The startup probe's WARN line names the cause too.
    let logs = logs_once_they_mention(&gateway, "not usable").await;
    let warn = logs
        .lines()
        .find(|line| line.contains("not usable"))
        .unwrap_or_else(|| panic!("no WARN line about the upstream:\n{logs}"));
    assert!(warn.contains("WARN"), "{warn}");
    assert!(warn.contains("connection was refused"), "{warn}");
}

#[tokio::test]
async fn status_and_readiness_name_rejected_team_credentials() {
    let simulator = support::start(
        &[
            "simulate",
            "--listen",
            "127.0.0.1:0",
            "--account",
            "team@example.com:the-current-token",
        ],
        &[],
    )
    .await;
    let gateway = support::serve_in_front_of(
        &simulator.base_url,
        &[
            ("OTS_GATEWAY_USERNAME", "team@example.com"),
            ("OTS_GATEWAY_API_KEY", "a-revoked-token"),
            ("OTS_GATEWAY__LEDGER__PATH", &scratch_ledger("rejected")),
        ],
    )
    .await;
    let rejected = "the gateway's OTS credentials were rejected by the upstream";
    let status = run(&["status", "--url", &gateway.base_url]).await;
    assert!(!status.status.success(), "{}", text(&status));
    assert!(text(&status).contains(rejected), "{}", text(&status));
    let health = run(&["health", "--ready", "--url", &gateway.base_url]).await;
    assert!(!health.status.success());
    assert!(text(&health).contains(rejected), "{}", text(&health));
    assert!(
        !text(&status).contains("a-revoked-token") && !gateway.output().contains("a-revoked-token"),
        "the key leaked"
    );
}
