//! An upstream that cannot be reached says why: the name does not resolve, nothing listens, or
//! the TLS handshake fails. All on loopback (or a name reserved never to resolve).

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use url::Url;

use crate::error::{Error, NetworkCause, UpstreamFailure};
use crate::ots::{OtsClient, OtsClientConfig};

async fn status_failure(base_url: &str) -> Error {
    let client = OtsClient::new(OtsClientConfig {
        read_retries: 0,
        connect_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(20),
        ..OtsClientConfig::new(Url::parse(base_url).expect("url"))
    })
    .expect("client builds");
    client
        .status()
        .await
        .expect_err("the upstream is unreachable")
}

fn cause(error: &Error) -> Option<NetworkCause> {
    match error {
        Error::Upstream(UpstreamFailure::Network(cause)) => Some(*cause),
        _ => None,
    }
}

#[tokio::test]
async fn a_closed_port_is_a_refused_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let error = status_failure(&format!("http://{addr}")).await;
    assert_eq!(
        cause(&error),
        Some(NetworkCause::ConnectionRefused),
        "{error:?}"
    );
    assert!(error.to_string().contains("refused"), "{error}");
    assert!(error.is_retryable(), "a server may be restarting");
}

#[tokio::test]
async fn a_name_that_cannot_resolve_is_a_dns_failure() {
    // RFC 6761: `.invalid` never resolves, and resolvers answer so without asking the network.
    let error = status_failure("https://ots-gateway-test.invalid").await;
    assert_eq!(
        cause(&error),
        Some(NetworkCause::NameNotResolved),
        "{error:?}"
    );
    assert!(error.to_string().contains("DNS"), "{error}");
}

#[tokio::test]
async fn a_server_that_does_not_speak_tls_is_a_tls_failure() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let error = status_failure(&format!("https://{addr}")).await;
    assert_eq!(cause(&error), Some(NetworkCause::Tls), "{error:?}");
    assert!(error.to_string().contains("TLS"), "{error}");
    assert!(
        !error.is_retryable(),
        "a TLS mismatch does not mend itself in a retry"
    );
}
