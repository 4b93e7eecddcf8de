//! A scriptable stand-in for an OTS server, plus helpers shared by the client tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use url::Url;

use crate::model::Credentials;
use crate::ots::{OtsClient, OtsClientConfig};

pub(super) const TEAM_USER: &str = "team@example.com";
pub(super) const TEAM_KEY: &str = "team-api-key-0123";

/// What the fake saw of one request.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) headers: HeaderMap,
    pub(super) body: Vec<u8>,
}

impl Seen {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(super) fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    pub(super) fn form_value(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub(super) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// How the fake answers one request.
#[derive(Clone)]
pub(super) enum Answer {
    Respond {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Never answers, so the client's timeout fires.
    Hang,
}

impl Answer {
    pub(super) fn json(status: u16, body: Value) -> Self {
        Answer::Respond {
            status,
            headers: vec![("content-type", "application/json; charset=utf-8".into())],
            body: body.to_string(),
        }
    }

    pub(super) fn ok(body: Value) -> Self {
        Answer::json(200, body)
    }

    /// OTS's v1 error: 404 with a `message`.
    pub(super) fn ots_error(message: &str) -> Self {
        Answer::json(404, serde_json::json!({ "message": message }))
    }

    pub(super) fn text(status: u16, body: &str) -> Self {
        Answer::Respond {
            status,
            headers: vec![("content-type", "text/html".into())],
            body: body.to_owned(),
        }
    }

    pub(super) fn with_header(mut self, name: &'static str, value: &str) -> Self {
        if let Answer::Respond { headers, .. } = &mut self {
            headers.push((name, value.to_owned()));
        }
        self
    }
}

type Script = dyn Fn(&Seen) -> Answer + Send + Sync;

#[derive(Clone)]
struct FakeState {
    script: Arc<Script>,
    seen: Arc<Mutex<Vec<Seen>>>,
    hits: Arc<AtomicUsize>,
}

pub(super) struct FakeOts {
    pub(super) base_url: Url,
    seen: Arc<Mutex<Vec<Seen>>>,
    hits: Arc<AtomicUsize>,
}

impl FakeOts {
    /// Serves `answer` to every request.
    pub(super) async fn answering(answer: Answer) -> Self {
        Self::scripted(move |_| answer.clone()).await
    }

    /// Serves whatever `script` decides for each request. The listener is bound before this
    /// returns, so clients may connect at once.
    pub(super) async fn scripted(script: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Self {
        Self::scripted_under(script, "").await
    }

    pub(super) async fn scripted_under(
        script: impl Fn(&Seen) -> Answer + Send + Sync + 'static,
        sub_path: &str,
    ) -> Self {
        let state = FakeState {
            script: Arc::new(script),
            seen: Arc::default(),
            hits: Arc::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("bound address");
        let app = Router::new().fallback(handle).with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let base_url =
            Url::parse(&format!("http://{addr}{sub_path}")).expect("fake base URL parses");
        FakeOts {
            base_url,
            seen: state.seen,
            hits: state.hits,
        }
    }

    pub(super) fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub(super) fn requests(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(super) fn only_request(&self) -> Seen {
        let mut seen = self.requests();
        assert_eq!(seen.len(), 1, "expected exactly one request");
        seen.remove(0)
    }

    pub(super) fn config(&self) -> OtsClientConfig {
        OtsClientConfig {
            base_url: self.base_url.clone(),
            credentials: None,
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            read_retries: 2,
            retry_backoff: Duration::from_millis(1),
            // These fakes answer v1; v2 has its own tests.
            api: crate::ots::ApiChoice::V1,
        }
    }

    pub(super) fn anonymous_client(&self) -> OtsClient {
        OtsClient::new(self.config()).expect("client builds")
    }

    pub(super) fn team_client(&self) -> OtsClient {
        OtsClient::new(OtsClientConfig {
            credentials: Some(Credentials::new(TEAM_USER, TEAM_KEY)),
            ..self.config()
        })
        .expect("client builds")
    }

    /// A client whose requests time out quickly, for a fake that hangs.
    pub(super) fn impatient_client(&self) -> OtsClient {
        OtsClient::new(OtsClientConfig {
            request_timeout: Duration::from_millis(200),
            ..self.config()
        })
        .expect("client builds")
    }
}

async fn handle(
    State(state): State<FakeState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.hits.fetch_add(1, Ordering::SeqCst);
    let seen = Seen {
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers,
        body: body.to_vec(),
    };
    let answer = (state.script)(&seen);
    state
        .seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(seen);
    match answer {
        Answer::Hang => std::future::pending().await,
        Answer::Respond {
            status,
            headers,
            body,
        } => {
            let mut response = Response::builder().status(status);
            for (name, value) in headers {
                response = response.header(name, value);
            }
            response
                .body(Body::from(body))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

/// A key of the given length in OTS's base36 alphabet, distinct per `seed`.
pub(super) fn key_of_len(seed: char, len: usize) -> String {
    std::iter::once(seed)
        .chain("0123456789abcdefghijklmnopqrstuvwxyz".chars().cycle())
        .take(len)
        .collect()
}

/// A receipt as a current (v0.26) server sends it from `/share`, with every alias.
pub(super) fn current_receipt(metadata_key: &str, secret_key: &str) -> Value {
    serde_json::json!({
        "custid": "anon",
        "metadata_key": metadata_key,
        "secret_key": secret_key,
        "ttl": 3600,
        "metadata_ttl": 7200,
        "secret_ttl": 3600,
        "metadata_url": format!("https://onetimesecret.com/receipt/{metadata_key}"),
        "state": "new",
        "updated": 1_780_000_000,
        "created": 1_780_000_000,
        "recipient": [],
        "share_domain": "",
        "passphrase_required": false,
        "identifier": metadata_key,
        "secret_identifier": secret_key,
        "has_passphrase": false,
        "recipients": [],
        "receipt_ttl": 7200,
        "receipt_url": format!("https://onetimesecret.com/receipt/{metadata_key}"),
    })
}
