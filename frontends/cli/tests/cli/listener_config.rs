//! The listener's bounds come from `[server]` as users write them (integers, `"45s"` strings):
//! `check-config` shows them, and the real listener runs with them.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::process::Command;

use crate::support;

/// Bounds a wait that only a broken cap would exhaust; not a timing assertion. Below the
/// configured header timeout, so the idle socket can only have been closed by the cap.
const CLOSE_LIMIT: Duration = Duration::from_secs(30);

const CONFIG: &str =
    "[server]\nmax_connections = 1\nheader_timeout = \"45s\"\nbody_timeout = \"1m\"\n";

fn config_file() -> String {
    let dir = support::scratch_root().join(format!("ots-gateway-listener-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("listener.toml");
    std::fs::write(&path, CONFIG).expect("write config");
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn check_config_shows_the_configured_listener_bounds() {
    let output = Command::new(support::BIN)
        .args(["check-config", "--config", &config_file()])
        .env("XDG_DATA_HOME", support::isolated_data_home())
        .env_remove("OTS_GATEWAY_CONFIG")
        .output()
        .await
        .expect("run check-config");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    for line in [
        "max connections          1\n",
        "header timeout           45s\n",
        "body timeout             60s\n",
    ] {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }
}

#[tokio::test]
async fn the_listener_runs_with_the_configured_bounds() {
    let config = config_file();
    let gateway = support::start(
        &[
            "serve",
            "--dev",
            "--listen",
            "127.0.0.1:0",
            "--config",
            &config,
        ],
        &[],
    )
    .await;
    // With room for one connection, an idle one gives its place to a caller with a request.
    let addr = gateway.base_url.trim_start_matches("http://").to_owned();
    let mut idle = TcpStream::connect(&addr).await.expect("connect");
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let health = client
        .get(format!("{}/healthz", gateway.base_url))
        .send()
        .await
        .expect("healthz answered at the cap");
    assert_eq!(health.status(), 200);
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(CLOSE_LIMIT, idle.read(&mut byte))
        .await
        .expect("the idle connection was closed to make room");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let metrics = support::metrics_text(client.get(format!("{}/metrics", gateway.base_url))).await;
    assert!(
        metrics.contains("ots_gateway_listener_evicted_connections_total")
            && !metrics.contains("ots_gateway_listener_evicted_connections_total 0"),
        "{metrics}"
    );
    // The line is logged before `listening on`, but on stderr, which is collected apart.
    let bounds = logged_line(&gateway, "listener bounds").await;
    for field in [
        "max_connections=1",
        "header_timeout=45s",
        "body_timeout=60s",
    ] {
        assert!(bounds.contains(field), "{field} missing from: {bounds}");
    }
    let status = gateway.terminate().await;
    assert!(status.success(), "exit status {status}");
}

/// The first log line containing `needle`, waiting (boundedly) for the stderr collector.
async fn logged_line(gateway: &support::Running, needle: &str) -> String {
    for _ in 0..100 {
        if let Some(line) = gateway.output().lines().find(|line| line.contains(needle)) {
            return line.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {needle:?} logged:\n{}", gateway.output());
}
