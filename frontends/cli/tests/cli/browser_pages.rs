//! The pages behind `serve --dev`'s links in a real browser (Debian's Chromium, driven by npm
//! `puppeteer-core`, which never downloads a browser): the receipt page shows the state, the
//! reveal page reveals with a passphrase, and the receipt page burns, all under the pages'
//! same-origin-only content security policy and the gateway's cross-site checks.

use tokio::process::Command;

use crate::support::{self, clients_dir};

#[tokio::test]
async fn receipt_and_reveal_pages_work_in_a_real_browser() {
    let puppeteer = support::install_puppeteer().await;
    let gateway = support::start(&["serve", "--dev", "--listen", "127.0.0.1:0"], &[]).await;
    let profile = support::scratch_root().join(format!("ots-gateway-pages-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let output = Command::new(&puppeteer.node)
        .arg(clients_dir().join("browser_pages.js"))
        .arg(support::CHROMIUM)
        .arg(&profile)
        .arg(&gateway.base_url)
        .env("NODE_PATH", &puppeteer.modules)
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
