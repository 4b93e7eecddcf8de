//! Keep-alive connections: reused while open, replaced when the server has closed them, closed
//! by the client when idle past their lifetime. The server is a raw socket on 127.0.0.1 that
//! counts the connections it accepts and sees close.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Uri};
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use crate::ots::http_client;
use crate::ots::pool::Pool;
use crate::ots::{ApiChoice, OtsClient, OtsClientConfig};

const STATUS_REPLY: &str = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 20\r\n\r\n{\"status\":\"nominal\"}";
/// The same answer from a server that says it will close the connection after it.
const CLOSING_STATUS_REPLY: &str = "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 20\r\n\r\n{\"status\":\"nominal\"}";

#[derive(Default)]
struct Counts {
    accepted: AtomicUsize,
    closed_by_client: AtomicUsize,
    /// Every request head received, in order.
    heads: std::sync::Mutex<Vec<String>>,
}

impl Counts {
    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
    fn closed_by_client(&self) -> usize {
        self.closed_by_client.load(Ordering::SeqCst)
    }
}

/// Answers every request on a connection with a status, keeping the connection open, unless
/// `answers_per_connection` is reached: then the server closes it, without saying so first.
async fn keep_alive_server(answers_per_connection: usize) -> (SocketAddr, Arc<Counts>) {
    server_answering(STATUS_REPLY, answers_per_connection).await
}

async fn server_answering(
    reply: &'static str,
    answers_per_connection: usize,
) -> (SocketAddr, Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let counts = Arc::new(Counts::default());
    let shared = Arc::clone(&counts);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            shared.accepted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(
                socket,
                reply,
                answers_per_connection,
                Arc::clone(&shared),
            ));
        }
    });
    (addr, counts)
}

async fn serve(mut socket: TcpStream, reply: &str, answers: usize, counts: Arc<Counts>) {
    let mut answered = 0;
    let mut pending = Vec::new();
    let mut buffer = [0u8; 4096];
    while answered < answers {
        // The client's requests here are bodiless GETs: a head ends the request.
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = pending.drain(..end + 4).collect::<Vec<u8>>();
            counts
                .heads
                .lock()
                .expect("heads")
                .push(String::from_utf8_lossy(&head).into_owned());
            if socket.write_all(reply.as_bytes()).await.is_err() {
                return;
            }
            answered += 1;
        }
        if answered >= answers {
            break;
        }
        match socket.read(&mut buffer).await {
            Ok(0) => {
                counts.closed_by_client.fetch_add(1, Ordering::SeqCst);
                return;
            }
            Ok(read) => pending.extend_from_slice(&buffer[..read]),
            Err(_) => return,
        }
    }
}

fn client(addr: SocketAddr) -> OtsClient {
    OtsClient::new(OtsClientConfig {
        read_retries: 0,
        api: ApiChoice::V1,
        ..OtsClientConfig::new(Url::parse(&format!("http://{addr}")).expect("url"))
    })
    .expect("client builds")
}

/// Sends `count` statuses one after another and returns how many connections they took.
async fn connections_for_sequential_statuses(count: usize) -> usize {
    let (addr, counts) = keep_alive_server(usize::MAX).await;
    let client = client(addr);
    for _ in 0..count {
        client.status().await.expect("status");
    }
    counts.accepted()
}

#[tokio::test]
async fn sequential_requests_share_one_connection() {
    assert_eq!(connections_for_sequential_statuses(5).await, 1);
}

/// On worker threads a connection's task may still be finishing its last answer when the next
/// request comes; the connection must wait for it, not be replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_requests_share_one_connection_across_worker_threads() {
    assert_eq!(connections_for_sequential_statuses(50).await, 1);
}

#[tokio::test]
async fn concurrent_requests_open_connections_that_later_requests_reuse() {
    let (addr, counts) = keep_alive_server(usize::MAX).await;
    let client = client(addr);
    let together = || async {
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let client = client.clone();
            calls.spawn(async move { client.status().await });
        }
        while let Some(outcome) = calls.join_next().await {
            outcome.expect("task").expect("status");
        }
    };
    together().await;
    let opened = counts.accepted();
    assert!((1..=4).contains(&opened), "{opened} connections");
    together().await;
    assert_eq!(
        counts.accepted(),
        opened,
        "the second round reuses the first's"
    );
}

#[tokio::test]
async fn a_pooled_connection_the_server_closed_is_replaced_without_an_error() {
    let (addr, counts) = keep_alive_server(1).await;
    let client = client(addr);
    for round in 1..=3 {
        client.status().await.expect("status");
        assert_eq!(counts.accepted(), round);
        // Time for the client to see the close while the connection idles.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pool(addr: SocketAddr, idle_lifetime: Duration) -> Pool {
    Pool::new(
        http_client::connector(Duration::from_secs(5)).expect("connector"),
        Uri::try_from(format!("http://{addr}")).expect("origin"),
        HeaderValue::from_static("test"),
        idle_lifetime,
    )
}

fn status_request(addr: SocketAddr) -> http::Request<Full<Bytes>> {
    http::Request::get(format!("http://{addr}/api/v1/status"))
        .body(Full::new(Bytes::new()))
        .expect("request")
}

/// One status through the pool, read to the end and its connection handed back.
async fn exchange(pool: &Pool, addr: SocketAddr) {
    let (response, lease) = pool.send(status_request(addr)).await.expect("answer");
    response.into_body().collect().await.expect("body");
    lease.reuse();
}

#[tokio::test]
async fn a_server_that_closes_after_every_answer_is_answered_every_time() {
    let (addr, counts) = server_answering(CLOSING_STATUS_REPLY, 1).await;
    let client = client(addr);
    // Back to back, so a request may meet the last connection before its close is seen.
    for _ in 0..20 {
        client.status().await.expect("status");
    }
    assert_eq!(counts.accepted(), 20);
}

#[tokio::test]
async fn connections_idle_past_their_lifetime_are_closed_by_the_client() {
    let (addr, counts) = keep_alive_server(usize::MAX).await;
    let pool = pool(addr, Duration::from_millis(200));
    exchange(&pool, addr).await;
    assert_eq!(counts.closed_by_client(), 0);

    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        counts.closed_by_client(),
        1,
        "the idle connection was closed"
    );

    exchange(&pool, addr).await;
    assert_eq!(counts.accepted(), 2, "a new connection replaced it");
}

#[tokio::test]
async fn a_connection_whose_answer_was_not_read_is_not_reused() {
    let (addr, counts) = keep_alive_server(usize::MAX).await;
    let pool = pool(addr, Duration::from_secs(90));
    let (_unread, lease) = pool.send(status_request(addr)).await.expect("answer");
    drop(lease);
    exchange(&pool, addr).await;
    assert_eq!(counts.accepted(), 2);
}

/// The team's credentials go only where the pool was made for: a request URI naming another
/// host still travels to the pool's origin, as a path, with the origin's `Host`.
#[tokio::test]
async fn requests_go_to_the_pools_origin_whatever_host_their_uri_names() {
    let (addr, counts) = keep_alive_server(usize::MAX).await;
    let pool = pool(addr, Duration::from_secs(90));
    let elsewhere = http::Request::get("http://other.invalid:8080/api/v1/status")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let (response, lease) = pool.send(elsewhere).await.expect("answer");
    assert_eq!(response.status(), 200);
    response.into_body().collect().await.expect("body");
    lease.reuse();
    assert_eq!(counts.accepted(), 1);
    let heads = counts.heads.lock().expect("heads").clone();
    assert_eq!(heads.len(), 1);
    assert!(
        heads[0].starts_with("GET /api/v1/status HTTP/1.1\r\n"),
        "{}",
        heads[0]
    );
    assert!(heads[0].contains("\r\nhost: test\r\n"), "{}", heads[0]);
    assert!(!heads[0].contains("other.invalid"), "{}", heads[0]);
}
