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

/// A real TLS server whose certificate no trusted root signed: the client must attempt the
/// handshake, reject the certificate, and say so. The server sees the client's refusal as a
/// TLS alert, which shows that the failure came from certificate checking and not from a
/// server that could not speak TLS. The certificate and key in `self_signed/` are throwaway
/// test material (CN and SAN 127.0.0.1) that protect nothing.
#[tokio::test]
async fn a_self_signed_certificate_is_refused_as_a_tls_failure() {
    use std::sync::Arc;

    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio_rustls::TlsAcceptor;

    let certificate = CertificateDer::from(include_bytes!("self_signed/cert.der").to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        include_bytes!("self_signed/key.der").to_vec(),
    ));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![certificate], key)
    .expect("the test certificate loads");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (handshake_tx, mut handshake_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let outcome = acceptor.accept(socket).await.map(drop);
            let _ = handshake_tx.send(outcome.map_err(|err| err.to_string()));
        }
    });
    let error = status_failure(&format!("https://{addr}")).await;
    assert_eq!(cause(&error), Some(NetworkCause::Tls), "{error:?}");
    assert!(!error.is_retryable());
    let server_saw = handshake_rx
        .recv()
        .await
        .expect("a handshake was attempted");
    let alert = server_saw.expect_err("the client refused the handshake");
    assert!(
        alert.to_lowercase().contains("alert") && alert.contains("UnknownCA"),
        "{alert}"
    );
}
