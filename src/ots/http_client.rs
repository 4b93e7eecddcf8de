//! How the OTS client reaches its server: TCP or rustls, with the connect deadline covering the
//! TLS handshake too. The connections it makes are pooled by `pool`.
//!
//! Each setting below repeats what the client had when reqwest built it (`rustls-tls`: ring,
//! Mozilla's roots from webpki-roots, TLS 1.2 and 1.3, ALPN `http/1.1`, `TCP_NODELAY`, idle
//! connections kept 90 s), so servers see the same client. What reqwest also offered and this
//! client must not do is simply absent here: nothing follows a redirect (a 3xx is an answer
//! like any other) or reads a proxy from the environment.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::client::legacy::connect::HttpConnector;
use tower_service::Service;

use crate::error::{Error, Result};

/// Opens one connection to the server, plain or TLS as its URI's scheme says.
pub(super) type Connector = BoundedConnect<HttpsConnector<HttpConnector>>;

pub(super) fn connector(connect_timeout: Duration) -> Result<Connector> {
    let mut tcp = HttpConnector::new();
    // The TLS layer above takes `https` URIs; this one must not refuse them.
    tcp.enforce_http(false);
    // Requests are small and written whole; Nagle would only hold them back.
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(connect_timeout));
    let https = HttpsConnector::from((tcp, tls_config()?));
    Ok(BoundedConnect {
        inner: https,
        limit: connect_timeout,
    })
}

/// ring is the only crypto provider compiled in, and webpki-roots the only trust store: the
/// same server that was trusted before is trusted now, on every platform alike.
fn tls_config() -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|_| Error::InvalidInput {
            field: "ots_client",
            reason: "the HTTPS client could not be initialised".to_owned(),
        })?
        .with_webpki_roots()
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A connector whose whole connection set-up, TCP and TLS handshake, has a deadline: a server
/// that accepts the connection but never completes the handshake counts against the connect
/// timeout, not the much longer request timeout.
#[derive(Clone)]
pub(super) struct BoundedConnect<C> {
    inner: C,
    limit: Duration,
}

impl<C> Service<Uri> for BoundedConnect<C>
where
    C: Service<Uri>,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = std::result::Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, destination: Uri) -> Self::Future {
        let connecting = self.inner.call(destination);
        let limit = self.limit;
        Box::pin(async move {
            match tokio::time::timeout(limit, connecting).await {
                Ok(connected) => connected.map_err(Into::into),
                // `TimedOut` is what `errors::from_transport` reads as a timeout.
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the connection was not set up within the connect timeout",
                )
                .into()),
            }
        })
    }
}
