//! The pages behind `serve --dev`'s links in a real browser (Debian's Chromium, driven by npm
//! `puppeteer-core`, which never downloads a browser): the receipt page shows the state, the
//! reveal page reveals with a passphrase, and the receipt page burns, all under the pages'
//! same-origin-only content security policy and the gateway's cross-site checks.

use std::path::PathBuf;
use std::process::Command as StdCommand;

use tokio::process::Command;

use crate::support::{self, clients_dir, tools_dir};

const PUPPETEER: &str = "puppeteer-core@25.16.0";
const CHROMIUM: &str = "/usr/bin/chromium";

async fn install_puppeteer() -> PathBuf {
    let _installing = support::INSTALL_LOCK.lock().await;
    let dir = tools_dir("puppeteer");
    if !support::is_installed(&dir) {
        let prefix = dir.to_string_lossy().into_owned();
        let status = StdCommand::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                &prefix,
                PUPPETEER,
            ])
            .env("PUPPETEER_SKIP_DOWNLOAD", "1")
            .status()
            .unwrap_or_else(|e| panic!("cannot run npm (install it; .ci/run does): {e}"));
        assert!(status.success(), "npm install {PUPPETEER} failed: {status}");
        support::mark_installed(&dir);
    }
    dir.join("node_modules")
}

#[tokio::test]
async fn receipt_and_reveal_pages_work_in_a_real_browser() {
    let modules = install_puppeteer().await;
    let gateway = support::start(&["serve", "--dev", "--listen", "127.0.0.1:0"], &[]).await;
    let profile = std::env::temp_dir().join(format!("ots-gateway-pages-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let output = Command::new("node")
        .arg(clients_dir().join("browser_pages.js"))
        .arg(CHROMIUM)
        .arg(&profile)
        .arg(&gateway.base_url)
        .env("NODE_PATH", &modules)
        .output()
        .await
        .expect("run node");
    let _ = std::fs::remove_dir_all(&profile);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for step in [
        "receipt-new",
        "reveal",
        "receipt-received",
        "burn",
        "clean-console",
    ] {
        assert!(
            stdout.lines().any(|line| line == format!("ok {step}")),
            "step {step} missing:\n{stdout}\n{stderr}"
        );
    }
}
