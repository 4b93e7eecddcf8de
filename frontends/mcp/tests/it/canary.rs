//! A unique secret and passphrase go through every tool. They may appear in retrieve_secret's
//! result and nowhere else: not in any other result, and not in any log line at TRACE level.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result, ensure};
use serde_json::json;
use tracing_subscriber::EnvFilter;

use crate::support::{Served, Setup, Via, call, rendered, str_field};

/// Every log line of this test binary, from every thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut lines) = self.0.lock() {
            lines.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        self.0
            .lock()
            .map(|lines| String::from_utf8_lossy(&lines).into_owned())
            .unwrap_or_default()
    }
}

/// Installs a TRACE subscriber for the whole binary, once, with the filter the binary is told
/// to use (see `ots_gateway_mcp::LOG_FILTER`).
fn capture() -> Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let writer = captured.clone();
            let filter = EnvFilter::new(format!("trace,{}", ots_gateway_mcp::LOG_FILTER));
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(move || writer.clone())
                .try_init();
            captured
        })
        .clone()
}

#[tokio::test]
async fn secrets_and_passphrases_appear_only_in_retrieve_results() -> Result<()> {
    let logs = capture();
    for via in Via::ALL {
        let nonce = format!("{:?}-{}", via, std::process::id());
        let secret = format!("canary-secret-{nonce}-7f3a");
        let passphrase = format!("canary-pass-{nonce}-91c2");
        let served = Served::start(via, &Setup::default().with_retrieve()).await?;
        let client = served.client("canary-agent").await?;
        let mut outside_retrieve = String::new();

        let shared = call(
            &client,
            "share_secret",
            json!({"secret": secret, "passphrase": passphrase, "ttl": 600}),
        )
        .await?;
        outside_retrieve.push_str(&rendered(&shared));
        let created = shared.structured_content.context("share failed")?;
        let key = str_field(&created, "metadata_key")?.to_owned();
        let link = str_field(&created, "share_url")?.to_owned();

        // Every other tool, including error paths that take the passphrase.
        for (tool, args) in [
            ("secret_status", json!({"metadata_key": key})),
            ("list_recent_secrets", json!({})),
            ("gateway_status", json!({})),
            ("generate_secret", json!({"passphrase": passphrase})),
            (
                "burn_secret",
                json!({"metadata_key": key, "passphrase": format!("{passphrase}x")}),
            ),
            ("secret_status", json!({"metadata_key": secret})),
            (
                "share_secret",
                json!({"secret": secret, "ttl": "not a number"}),
            ),
            // Values in the wrong field: argument errors must not quote them back.
            ("share_secret", json!({"secret": "x", "ttl": secret})),
            (
                "burn_secret",
                json!({"metadata_key": key, "passphrase": [passphrase]}),
            ),
            (
                "share_secret",
                json!({"secret": "x", "ttl": 5, "recipient": passphrase.len()}),
            ),
        ] {
            outside_retrieve.push_str(&rendered(&call(&client, tool, args).await?));
        }
        let wrong = call(
            &client,
            "retrieve_secret",
            json!({"secret_key": link, "passphrase": "wrong"}),
        )
        .await?;
        outside_retrieve.push_str(&rendered(&wrong));

        let revealed = call(
            &client,
            "retrieve_secret",
            json!({"secret_key": link, "passphrase": passphrase}),
        )
        .await?;
        let revealed = rendered(&revealed);
        ensure!(
            revealed.contains(&secret),
            "{via:?}: retrieve did not return the secret"
        );
        ensure!(
            !revealed.contains(&passphrase),
            "{via:?}: retrieve echoed the passphrase"
        );

        let burned = call(
            &client,
            "burn_secret",
            json!({"metadata_key": key, "passphrase": passphrase}),
        )
        .await?;
        outside_retrieve.push_str(&rendered(&burned));
        client.cancel().await?;

        for canary in [&secret, &passphrase] {
            ensure!(
                !outside_retrieve.contains(canary.as_str()),
                "{via:?}: a result leaked {canary}"
            );
            ensure!(
                !logs.text().contains(canary.as_str()),
                "{via:?}: the logs leaked {canary}"
            );
        }
    }
    // The capture itself worked: TRACE lines from the gateway and rmcp are there.
    let text = logs.text();
    ensure!(
        text.contains("audit") && text.contains("TRACE"),
        "nothing captured"
    );
    Ok(())
}
