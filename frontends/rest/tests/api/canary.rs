//! Secret hygiene (ARCHITECTURE.md, "Where secrets flow"): with every log level on, no secret value, passphrase, token,
//! API key or full key reaches a log line, on success paths and error paths alike.

use std::io::Write;
use std::sync::{Arc, Mutex};

use ots_gateway_core::model::Credentials;
use ots_gateway_core::upstream::Upstream;
use ots_gateway_rest::{RestConfig, gateway_router, simulator_router};
use serde_json::Value;
use tracing_subscriber::fmt::MakeWriter;

use crate::flows::{Api, str_of};
use crate::support::{gateway_over, send, simulator, start};

const SECRET: &str = "canary-secret-value-7f3a";
const PASSPHRASE: &str = "canary-passphrase-91bc";
const WRONG_PASSPHRASE: &str = "canary-wrong-pass-44de";
const API_KEY: &str = "canary-team-api-key-0d2e";
const BEARER: &str = "canary-bearer-token-c55f";
const CLIENT_TOKEN: &str = "canary-client-token-a1b9";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut logs) = self.0.lock() {
            logs.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        self.0
            .lock()
            .map(|logs| String::from_utf8_lossy(&logs).into_owned())
            .unwrap_or_default()
    }
}

/// Share with a passphrase, view, reveal wrongly then rightly, burn, and hit the refusals.
async fn exercise(api: &Api) -> Vec<String> {
    let created = send(api.post("/api/v1/share").form(&[
        ("secret", SECRET),
        ("passphrase", PASSPHRASE),
        ("ttl", "600"),
    ]))
    .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let skey = str_of(&created.body, "secret_key").to_owned();
    let mkey = str_of(&created.body, "metadata_key").to_owned();
    send(api.get(&format!("/api/v1/private/{mkey}"))).await;
    let wrong = send(
        api.post(&format!("/api/v1/secret/{skey}"))
            .form(&[("passphrase", WRONG_PASSPHRASE)]),
    )
    .await;
    assert_eq!(wrong.status, 404);
    let revealed = send(
        api.post(&format!("/api/v1/secret/{skey}"))
            .form(&[("passphrase", PASSPHRASE)]),
    )
    .await;
    assert_eq!(revealed.body["value"], SECRET);
    send(api.post(&format!("/api/v1/secret/{skey}"))).await;
    send(
        api.post(&format!("/api/v1/private/{mkey}/burn"))
            .form(&[("passphrase", WRONG_PASSPHRASE)]),
    )
    .await;
    let generated = send(
        api.post("/api/v1/generate")
            .form(&[("passphrase", PASSPHRASE)]),
    )
    .await;
    let generated_value = generated.body["value"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    send(
        api.post("/api/v1/share")
            .header("content-type", "application/json")
            .body(format!("{{\"secret\":\"{SECRET}\"")),
    )
    .await;
    let recent: Value = send(api.get("/api/v1/private/recent")).await.body;
    assert!(recent.is_array() || recent.is_object());
    vec![skey, mkey, generated_value]
}

#[tokio::test(flavor = "current_thread")]
async fn no_secret_material_reaches_the_logs() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    // The current-thread runtime runs the servers on this thread, so a thread-local default
    // subscriber sees all of their logs.
    let _guard = tracing::subscriber::set_default(subscriber);

    let team = Credentials::new("team@example.com", API_KEY);
    let sim = simulator();
    sim.add_account(&team);
    let config = RestConfig {
        bearer_token: Some(BEARER.to_owned().into()),
        ..RestConfig::default()
    };
    let gateway = gateway_over(Upstream::Simulated(sim.as_caller(Some(team), None)));
    let through_gateway = Api::new(
        start(gateway_router(gateway, config)).await,
        Some(("someone", BEARER)),
        true,
    );
    let mut keys = exercise(&through_gateway).await;
    // A wrong token and a client's own credentials are refused or ignored, never logged.
    send(
        through_gateway
            .get("/api/v1/status")
            .bearer_auth(CLIENT_TOKEN),
    )
    .await;

    let direct = Api::new(
        start(simulator_router(sim.clone(), RestConfig::default())).await,
        Some(("team@example.com", API_KEY)),
        true,
    )
    .simulator();
    keys.extend(exercise(&direct).await);
    send(
        direct
            .get("/api/v1/status")
            .basic_auth("team@example.com", Some(CLIENT_TOKEN)),
    )
    .await;

    let logs = captured.text();
    assert!(
        logs.contains("request refused"),
        "the capture saw nothing:\n{logs}"
    );
    // Logs name the route pattern, which is what makes leaving out the URI affordable.
    assert!(logs.contains("/api/v1/secret/{key}"), "{logs}");
    for canary in [
        SECRET,
        PASSPHRASE,
        WRONG_PASSPHRASE,
        API_KEY,
        BEARER,
        CLIENT_TOKEN,
    ]
    .into_iter()
    .chain(keys.iter().map(String::as_str).filter(|k| !k.is_empty()))
    {
        assert!(!logs.contains(canary), "{canary} is in the logs:\n{logs}");
    }
}

/// A recipient is personal data and caller text: at every level it is obscured, and a newline
/// or an ANSI sequence in it cannot forge or repaint a log line.
#[tokio::test(flavor = "current_thread")]
async fn recipients_never_reach_the_logs_and_cannot_forge_lines() {
    const ADDRESS: &str = "canary.recipient@example.com";
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let team = Credentials::new("team@example.com", API_KEY);
    let sim = simulator();
    sim.add_account(&team);
    let gateway = gateway_over(Upstream::Simulated(sim.as_caller(Some(team), None)));
    let api = Api::new(
        start(gateway_router(gateway, RestConfig::default())).await,
        None,
        true,
    );
    let forged = format!(
        "{ADDRESS}\n2026-11-30T00:00:00.000000Z  INFO ots_gateway::audit: audit outcome=\"forged\"\u{1b}[31m"
    );
    let refused = send(
        api.post("/api/v1/share")
            .form(&[("secret", SECRET), ("recipient", forged.as_str())]),
    )
    .await;
    assert_ne!(refused.status, 200, "{}", refused.body);
    let shared = send(
        api.post("/api/v1/share")
            .form(&[("secret", SECRET), ("recipient", ADDRESS)]),
    )
    .await;
    assert_eq!(shared.status, 200, "{}", shared.body);

    let logs = captured.text();
    assert!(
        logs.contains("request refused"),
        "the refusal was logged:\n{logs}"
    );
    assert!(
        !logs.contains(ADDRESS),
        "a recipient address reached the logs:\n{logs}"
    );
    assert!(
        !logs.contains('\u{1b}'),
        "an escape sequence reached the logs"
    );
    assert!(
        !logs
            .lines()
            .any(|line| line.contains("outcome=\"forged\"")
                && line.starts_with("2026-11-30T00:00:00")),
        "a forged line:\n{logs}"
    );
}
