//! Secret material must never reach an error or a log line, whatever goes wrong.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::fake::{Answer, FakeOts, current_receipt};
use crate::error::Error;
use crate::model::{
    CharacterSets, CreateOptions, Credentials, GenerateRequest, Passphrase, ReceiptKey, SecretKey,
    SecretText, ShareRequest,
};
use crate::ots::{OtsClient, OtsClientConfig};

#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl CapturedLog {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Canaries {
    secret: String,
    passphrase: String,
    api_key: String,
    secret_key: String,
    receipt_key: String,
}

impl Canaries {
    fn new() -> Self {
        let nonce = format!("{:016x}", rand::random::<u64>());
        Canaries {
            secret: format!("canary-secret-{nonce}"),
            passphrase: format!("canary-pass-{nonce}"),
            api_key: format!("canary-apikey-{nonce}"),
            secret_key: format!("canarysecretkey{nonce}"),
            receipt_key: format!("canaryreceiptkey{nonce}"),
        }
    }

    fn all(&self) -> Vec<String> {
        let basic = STANDARD.encode(format!("team@example.com:{}", self.api_key));
        vec![
            self.secret.clone(),
            self.passphrase.clone(),
            self.api_key.clone(),
            self.secret_key.clone(),
            self.receipt_key.clone(),
            basic,
            "/secret/".to_owned(),
            "/private/".to_owned(),
        ]
    }

    fn client_for(&self, fake: &FakeOts) -> OtsClient {
        OtsClient::new(OtsClientConfig {
            credentials: Some(Credentials::new("team@example.com", &self.api_key)),
            ..fake.config()
        })
        .expect("client builds")
    }

    fn impatient_client_for(&self, fake: &FakeOts) -> OtsClient {
        OtsClient::new(OtsClientConfig {
            credentials: Some(Credentials::new("team@example.com", &self.api_key)),
            request_timeout: std::time::Duration::from_millis(200),
            read_retries: 1,
            ..fake.config()
        })
        .expect("client builds")
    }
}

/// Every operation, each with the canaries wherever it takes them.
async fn run_every_operation(client: &OtsClient, canaries: &Canaries) -> Vec<Error> {
    let secret_key = SecretKey::parse(&canaries.secret_key).expect("key");
    let receipt_key = ReceiptKey::parse(&canaries.receipt_key).expect("key");
    let passphrase = Passphrase::new(canaries.passphrase.clone());
    let share = ShareRequest {
        secret: SecretText::new(canaries.secret.clone()),
        options: CreateOptions {
            ttl: Some(60),
            passphrase: Some(passphrase.clone()),
            recipient: None,
            share_domain: None,
        },
    };
    let generate = GenerateRequest {
        character_sets: CharacterSets {
            symbols: Some(false),
            ..CharacterSets::default()
        },
        options: CreateOptions {
            passphrase: Some(passphrase.clone()),
            ..CreateOptions::default()
        },
        ..GenerateRequest::default()
    };
    let outcomes = [
        client.status().await.err(),
        client.authcheck().await.err(),
        client.share(&share).await.err(),
        client.generate(&generate).await.err(),
        client.retrieve(&secret_key, Some(&passphrase)).await.err(),
        client.receipt(&receipt_key).await.err(),
        client.burn(&receipt_key, Some(&passphrase)).await.err(),
        client.recent().await.err(),
    ];
    outcomes.into_iter().flatten().collect()
}

/// Replies that carry the canaries back, in shapes that fail to parse in different ways.
fn echoing_answers(canaries: &Canaries) -> Vec<Answer> {
    let mut bad_type = current_receipt(&canaries.receipt_key, &canaries.secret_key);
    bad_type["metadata_key"] = json!(null);
    bad_type["value"] = json!(canaries.secret);
    vec![
        Answer::text(500, &canaries.secret),
        Answer::text(200, &format!("{{\"value\":\"{}\"", canaries.secret)),
        Answer::ok(json!({"value": [canaries.secret, canaries.passphrase]})),
        Answer::ok(bad_type),
        Answer::json(
            404,
            json!({"secret_key": canaries.secret_key, "message": "Unknown secret"}),
        ),
        Answer::text(302, "moved").with_header(
            "location",
            &format!("http://127.0.0.1:9/secret/{}", canaries.secret_key),
        ),
        Answer::ok(json!({
            "value": canaries.secret,
            "secret_key": canaries.secret_key,
            "status": "nominal",
            "state": current_receipt(&canaries.receipt_key, &canaries.secret_key),
        })),
    ]
}

#[tokio::test]
async fn no_secret_material_reaches_errors_or_logs() {
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // tracing caches per callsite whether anyone is interested. With a single registered
    // dispatcher it asks only the default of whichever thread hits the callsite first, so a
    // parallel test (with no subscriber) could mark the client's events "never" and this test
    // would pass without having seen them. A second registered dispatcher makes tracing ask all.
    let _second_dispatcher = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let _guard = tracing::subscriber::set_default(subscriber);

    let canaries = Canaries::new();
    let mut errors = Vec::new();
    for answer in echoing_answers(&canaries) {
        let fake = FakeOts::answering(answer).await;
        errors.extend(run_every_operation(&canaries.client_for(&fake), &canaries).await);
    }
    let hanging = FakeOts::answering(Answer::Hang).await;
    let client = canaries.impatient_client_for(&hanging);
    errors.extend(run_every_operation(&client, &canaries).await);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let mut config =
        OtsClientConfig::new(url::Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url"));
    config.credentials = Some(Credentials::new("team@example.com", &canaries.api_key));
    config.read_retries = 1;
    config.retry_backoff = std::time::Duration::from_millis(1);
    config.api = crate::ots::ApiChoice::V1;
    assert!(!format!("{config:?}").contains(&canaries.api_key));
    let unreachable = OtsClient::new(config).expect("client builds");
    errors.extend(run_every_operation(&unreachable, &canaries).await);

    let logs = log.text();
    assert!(
        [
            "OTS answered",
            "OTS request failed",
            "retrying a read",
            "not the JSON OTS sends"
        ]
        .iter()
        .all(|event| logs.contains(event)),
        "the capture saw the client's debug events:\n{logs}"
    );
    assert!(
        errors.len() > 40,
        "only {} failures exercised",
        errors.len()
    );
    for canary in canaries.all() {
        assert!(!logs.contains(&canary), "log contains {canary}:\n{logs}");
        for err in &errors {
            let printed = format!("{err} {err:?}");
            assert!(!printed.contains(&canary), "{printed} contains {canary}");
        }
    }
}
