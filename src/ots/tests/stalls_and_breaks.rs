//! What the client does when a server misbehaves partway: stalls after its headers, declares a
//! body too large to read, breaks off mid-body, or never finishes a TLS handshake. Each server
//! is a raw socket on 127.0.0.1, so the client meets exactly these bytes.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use crate::error::{Error, NetworkCause, UpstreamFailure};
use crate::ots::{ApiChoice, OtsClient, OtsClientConfig};

/// Serves every connection with `serve`, after reading the request head.
async fn raw_server<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request_head = [0u8; 4096];
            let _ = socket.read(&mut request_head).await;
            tokio::spawn(serve(socket));
        }
    });
    addr
}

fn client(addr: SocketAddr, request_timeout: Duration) -> OtsClient {
    OtsClient::new(OtsClientConfig {
        read_retries: 0,
        request_timeout,
        api: ApiChoice::V1,
        ..OtsClientConfig::new(Url::parse(&format!("http://{addr}")).expect("url"))
    })
    .expect("client builds")
}

/// Keeps the connection open without sending anything more.
async fn hold(socket: TcpStream) {
    let _socket = socket;
    std::future::pending::<()>().await;
}

#[tokio::test]
async fn headers_then_a_stalled_body_time_out() {
    let addr = raw_server(|mut socket| async move {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\r\n{\"status\":";
        if socket.write_all(head.as_bytes()).await.is_ok() {
            hold(socket).await;
        }
    })
    .await;
    let err = client(addr, Duration::from_millis(300))
        .status()
        .await
        .expect_err("the body never completes");
    assert!(
        matches!(err, Error::Upstream(UpstreamFailure::Timeout)),
        "{err:?}"
    );
}

/// Answers every request with a header declaring `length` bytes and a first byte, then waits.
async fn declaring(length: usize) -> SocketAddr {
    raw_server(move |mut socket| async move {
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n["
        );
        if socket.write_all(head.as_bytes()).await.is_ok() {
            hold(socket).await;
        }
    })
    .await
}

/// The declared length alone refuses the reply: the server sends a byte and waits, so a client
/// that read on would end in a timeout instead. The error names the limit.
#[tokio::test]
async fn a_declared_length_over_the_routes_limit_is_refused_before_reading() {
    const MIB: usize = 1024 * 1024;
    let err = client(declaring(2 * MIB).await, Duration::from_secs(30))
        .status()
        .await
        .expect_err("too large");
    assert!(
        matches!(
            err,
            Error::Upstream(UpstreamFailure::AnswerTooLarge { limit_bytes }) if limit_bytes == MIB
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("1 MiB"), "{err}");
    assert!(!err.is_retryable(), "the same answer would come again");

    // A list of receipts may be far longer than one receipt, up to its own limit.
    let err = client(declaring(40 * MIB).await, Duration::from_secs(30))
        .recent()
        .await
        .expect_err("too large");
    assert!(
        matches!(
            err,
            Error::Upstream(UpstreamFailure::AnswerTooLarge { limit_bytes }) if limit_bytes == 32 * MIB
        ),
        "{err:?}"
    );
}

/// An account's recent list over 1 MiB is read whole: OTS sends every receipt of 30 days.
#[tokio::test]
async fn a_recent_list_over_a_mebibyte_is_read() {
    let item = r#"{"metadata_key":"KEY","state":"received","ttl":60}"#;
    let count = 30_000;
    let items: Vec<String> = (0..count)
        .map(|n| item.replace("KEY", &format!("{n:031}")))
        .collect();
    let body = format!("[{}]", items.join(","));
    assert!(body.len() > 1024 * 1024, "{} bytes", body.len());
    let addr = raw_server(move |mut socket| {
        let body = body.clone();
        async move {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(body.as_bytes()).await;
            hold(socket).await;
        }
    })
    .await;
    let recent = client(addr, Duration::from_secs(30))
        .recent()
        .await
        .expect("a long list is still an answer");
    assert_eq!(recent.len(), count);
}

#[tokio::test]
async fn a_connection_broken_mid_body_is_a_network_failure() {
    let addr = raw_server(|mut socket| async move {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\r\n{\"status\":";
        let _ = socket.write_all(head.as_bytes()).await;
        // Closing with data unsent ends the body short of its declared length.
    })
    .await;
    let err = client(addr, Duration::from_secs(30))
        .status()
        .await
        .expect_err("cut short");
    assert!(
        matches!(
            err,
            Error::Upstream(UpstreamFailure::Network(NetworkCause::Other))
        ),
        "{err:?}"
    );
    assert!(err.is_retryable(), "a broken connection may mend");
}

#[tokio::test]
async fn a_reply_that_is_not_http_is_a_network_failure() {
    let addr = raw_server(|mut socket| async move {
        let _ = socket.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
    })
    .await;
    let err = client(addr, Duration::from_secs(30))
        .status()
        .await
        .expect_err("not HTTP");
    assert!(
        matches!(
            err,
            Error::Upstream(UpstreamFailure::Network(NetworkCause::Other))
        ),
        "{err:?}"
    );
}

/// The connect timeout covers the TLS handshake: a server that accepts the connection and then
/// says nothing is given up on after it, not after the (here very long) request timeout. The
/// outer bound only keeps a regression from hanging the test run.
#[tokio::test]
async fn a_tls_handshake_that_never_finishes_hits_the_connect_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(hold(socket));
        }
    });
    let client = OtsClient::new(OtsClientConfig {
        read_retries: 0,
        connect_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_secs(3600),
        api: ApiChoice::V1,
        ..OtsClientConfig::new(Url::parse(&format!("https://{addr}")).expect("url"))
    })
    .expect("client builds");
    let outcome = tokio::time::timeout(Duration::from_secs(120), client.status())
        .await
        .expect("the connect timeout ended the handshake");
    let err = outcome.expect_err("no handshake");
    assert!(
        matches!(err, Error::Upstream(UpstreamFailure::Timeout)),
        "{err:?}"
    );
}
