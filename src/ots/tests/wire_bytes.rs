//! The requests exactly as they go over the socket: every header line and every body byte. A
//! raw listener reads them, so nothing between the client and the assertion normalises them.

use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use super::fake::{TEAM_KEY, TEAM_USER, current_receipt, key_of_len};
use crate::model::{
    CharacterSets, CreateOptions, Credentials, GenerateRequest, Passphrase, SecretKey, SecretText,
    ShareRequest,
};
use crate::ots::{ApiChoice, OtsClient, OtsClientConfig};

/// One request as received: the head's lines in order (the request line first) and the body.
#[derive(Debug)]
struct RawRequest {
    lines: Vec<String>,
    body: Vec<u8>,
}

/// Answers every request with `reply_body` and keeps what it read. It serves one request per
/// connection, so each request is read whole and alone.
struct RawServer {
    base_url: Url,
    received: Arc<Mutex<Vec<RawRequest>>>,
}

impl RawServer {
    async fn start(reply_body: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let store = Arc::clone(&store);
                let reply_body = reply_body.clone();
                tokio::spawn(async move {
                    if let Some(request) = serve_one(socket, &reply_body).await {
                        store
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(request);
                    }
                });
            }
        });
        RawServer {
            base_url: Url::parse(&format!("http://{addr}")).expect("url"),
            received,
        }
    }

    fn client(&self, credentials: Option<Credentials>, api: ApiChoice) -> OtsClient {
        OtsClient::new(OtsClientConfig {
            credentials,
            api,
            read_retries: 0,
            ..OtsClientConfig::new(self.base_url.clone())
        })
        .expect("client builds")
    }

    fn only_request(&self) -> RawRequest {
        let mut received = self.received.lock().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(received.len(), 1, "{received:?}");
        received.remove(0)
    }

    fn host(&self) -> String {
        let port = self.base_url.port().expect("the fake has a port");
        format!("host: 127.0.0.1:{port}")
    }
}

async fn serve_one(mut socket: TcpStream, reply_body: &str) -> Option<RawRequest> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let mut chunk = [0u8; 4096];
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).ok()?;
    let lines: Vec<String> = head.split("\r\n").map(str::to_owned).collect();
    let declared = lines
        .iter()
        .find_map(|line| line.strip_prefix("content-length: "))
        .map_or(Some(0), |len| len.parse::<usize>().ok())?;
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < declared {
        let mut chunk = [0u8; 4096];
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    let reply = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{reply_body}",
        reply_body.len()
    );
    socket.write_all(reply.as_bytes()).await.ok()?;
    Some(RawRequest { lines, body })
}

fn team() -> Option<Credentials> {
    Some(Credentials::new(TEAM_USER, TEAM_KEY))
}

fn authorization_line() -> String {
    let pair = STANDARD.encode(format!("{TEAM_USER}:{TEAM_KEY}"));
    format!("authorization: Basic {pair}")
}

fn user_agent_line() -> String {
    format!("user-agent: ots-gateway/{}", env!("CARGO_PKG_VERSION"))
}

fn receipt_reply() -> String {
    current_receipt(&key_of_len('m', 62), &key_of_len('s', 62)).to_string()
}

/// Header lines compared as a set: their order is the HTTP stack's business, their presence
/// and bytes are the contract with the server.
fn sorted(lines: &[String]) -> Vec<String> {
    let mut sorted = lines.to_vec();
    sorted.sort();
    sorted
}

#[tokio::test]
async fn a_team_status_is_a_bare_get_with_the_gateway_headers() {
    let server = RawServer::start(r#"{"status":"nominal","locale":"en"}"#.to_owned()).await;
    server
        .client(team(), ApiChoice::V1)
        .status()
        .await
        .expect("status");
    let request = server.only_request();
    assert_eq!(request.lines[0], "GET /api/v1/status HTTP/1.1");
    assert_eq!(
        sorted(&request.lines[1..]),
        sorted(&[
            "accept: */*".to_owned(),
            authorization_line(),
            server.host(),
            user_agent_line(),
        ])
    );
    assert!(request.body.is_empty());
}

#[tokio::test]
async fn a_share_is_a_form_encoded_byte_for_byte() {
    let server = RawServer::start(receipt_reply()).await;
    let request = ShareRequest {
        secret: SecretText::new("a b&c=d+é/ü?~*"),
        options: CreateOptions {
            ttl: Some(3600),
            passphrase: Some(Passphrase::new("pass word")),
            recipient: Some("alice+ops@example.com".to_owned()),
            share_domain: None,
        },
    };
    server
        .client(None, ApiChoice::V1)
        .share(&request)
        .await
        .expect("share");
    let sent = server.only_request();
    let body = "secret=a+b%26c%3Dd%2B%C3%A9%2F%C3%BC%3F%7E*&ttl=3600&passphrase=pass+word\
                &recipient=alice%2Bops%40example.com";
    assert_eq!(String::from_utf8_lossy(&sent.body), body);
    assert_eq!(sent.lines[0], "POST /api/v1/share HTTP/1.1");
    assert_eq!(
        sorted(&sent.lines[1..]),
        sorted(&[
            "accept: */*".to_owned(),
            "content-type: application/x-www-form-urlencoded".to_owned(),
            format!("content-length: {}", body.len()),
            server.host(),
            user_agent_line(),
        ])
    );
}

#[tokio::test]
async fn a_reveal_without_a_passphrase_sends_an_empty_form() {
    let key = key_of_len('s', 31);
    let server = RawServer::start(format!(r#"{{"value":"v","secret_key":"{key}"}}"#)).await;
    server
        .client(team(), ApiChoice::V1)
        .retrieve(&SecretKey::parse(&key).expect("key"), None)
        .await
        .expect("retrieve");
    let sent = server.only_request();
    assert_eq!(sent.lines[0], format!("POST /api/v1/secret/{key} HTTP/1.1"));
    assert_eq!(
        sorted(&sent.lines[1..]),
        sorted(&[
            "accept: */*".to_owned(),
            authorization_line(),
            "content-type: application/x-www-form-urlencoded".to_owned(),
            server.host(),
            user_agent_line(),
        ])
    );
    assert!(sent.body.is_empty());
}

#[tokio::test]
async fn a_json_generate_is_compact_json() {
    let mut reply = current_receipt(&key_of_len('m', 62), &key_of_len('s', 62));
    reply["passphrase_required"] = serde_json::json!(true);
    let server = RawServer::start(reply.to_string()).await;
    let request = GenerateRequest {
        length: Some(16),
        character_sets: CharacterSets {
            symbols: Some(false),
            ..CharacterSets::default()
        },
        options: CreateOptions {
            passphrase: Some(Passphrase::new("p\"q")),
            ..CreateOptions::default()
        },
    };
    server
        .client(None, ApiChoice::V1)
        .generate(&request)
        .await
        .expect("generate");
    let sent = server.only_request();
    let body = r#"{"character_sets":{"exclude_ambiguous":true,"lowercase":true,"numbers":true,"symbols":false,"uppercase":true},"length":16,"passphrase":"p\"q"}"#;
    assert_eq!(String::from_utf8_lossy(&sent.body), body);
    assert_eq!(sent.lines[0], "POST /api/v1/generate HTTP/1.1");
    assert_eq!(
        sorted(&sent.lines[1..]),
        sorted(&[
            "accept: */*".to_owned(),
            "content-type: application/json".to_owned(),
            format!("content-length: {}", body.len()),
            server.host(),
            user_agent_line(),
        ])
    );
}

#[tokio::test]
async fn a_v2_conceal_is_json_under_secret() {
    let server = RawServer::start(String::new()).await;
    let request = ShareRequest {
        secret: SecretText::new("v2 value"),
        options: CreateOptions {
            ttl: Some(600),
            ..CreateOptions::default()
        },
    };
    // The empty reply fails to parse; what was sent is the point here.
    let _ = server.client(team(), ApiChoice::V2).share(&request).await;
    let sent = server.only_request();
    let body = r#"{"secret":{"secret":"v2 value","ttl":600}}"#;
    assert_eq!(String::from_utf8_lossy(&sent.body), body);
    assert_eq!(sent.lines[0], "POST /api/v2/secret/conceal HTTP/1.1");
    assert_eq!(
        sorted(&sent.lines[1..]),
        sorted(&[
            "accept: */*".to_owned(),
            authorization_line(),
            "content-type: application/json".to_owned(),
            format!("content-length: {}", body.len()),
            server.host(),
            user_agent_line(),
        ])
    );
}
