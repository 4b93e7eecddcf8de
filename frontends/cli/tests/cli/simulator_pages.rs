//! The pages behind `ots-gateway simulate`'s links, used in a real browser: Debian's Chromium,
//! driven headless through npm `puppeteer-core` (installed on first use into target/test-tools;
//! it never downloads a browser). `.ci/run` must provide `chromium`.

use serde_json::Value;
use tokio::process::Command;

use crate::support::{self, clients_dir};

const ACCOUNT: &str = "pages@example.com";
const TOKEN: &str = "pages-token";

async fn share(http: &reqwest::Client, base: &str, secret: &str, passphrase: &str) -> Value {
    http.post(format!("{base}/api/v1/share"))
        .basic_auth(ACCOUNT, Some(TOKEN))
        .form(&[("secret", secret), ("passphrase", passphrase)])
        .send()
        .await
        .expect("share")
        .json()
        .await
        .expect("json")
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().expect(key).to_owned()
}

#[tokio::test]
async fn the_simulators_pages_reveal_show_and_burn_in_a_browser() {
    let puppeteer = support::install_puppeteer().await;
    for api in ["both", "v1"] {
        let simulator = support::simulator(api, ACCOUNT, TOKEN).await;
        let base = simulator.base_url.trim_end_matches('/').to_owned();
        let http = reqwest::Client::new();
        let revealed = share(&http, &base, "page-secret-<b>value</b>", "pass-1234").await;
        let burned = share(&http, &base, "page-burn-value", "").await;
        let output = Command::new(&puppeteer.node)
            .arg(clients_dir().join("browser_simulator_pages.js"))
            .args([
                base.as_str(),
                &text(&revealed, "secret_key"),
                &text(&revealed, "metadata_key"),
                "pass-1234",
                "page-secret-<b>value</b>",
                &text(&burned, "metadata_key"),
            ])
            .env("PUPPETEER_MODULES", &puppeteer.modules)
            .output()
            .await
            .expect("run node");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{api}: browser run failed:\n{stdout}\n{stderr}"
        );
        for step in ["receipt-new", "reveal", "receipt-revealed", "burn"] {
            assert!(
                stdout.lines().any(|l| l == format!("ok {step}")),
                "{api}: step {step} missing:\n{stdout}\n{stderr}"
            );
        }
    }
}
