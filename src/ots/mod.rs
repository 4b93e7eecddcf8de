//! The OTS client: the only code in the project that speaks HTTP to a OneTimeSecret server.
//!
//! It talks API v1 (`{base_url}/api/v1/...`), which every OTS release from v0.12 to current
//! serves with the same field names. Requests are form-encoded (with one exception, explained in
//! `params`), replies are read through private,
//! lenient DTOs (`wire`) and converted into [`crate::model`] types, and every failure becomes a
//! [`crate::error::Error`] (`errors`).
//!
//! Invariants:
//! - No URL, key, credential, secret or passphrase appears in an error or a log line. URLs are
//!   never logged (v1 puts keys in paths); operations are logged by name, at `debug` only, because
//!   frontends log an error once where it becomes a response.
//! - Only reads are retried (`retry` explains why).
//! - The team credentials are exposed only when the `Authorization` header is built.

mod errors;
mod lenient;
mod params;
mod retry;
mod routes;
mod transport;
mod wire;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use url::Url;

use self::errors::Reply;
use self::params::Payload;
use self::retry::RetryPolicy;
use self::routes::{Endpoints, Route};
use crate::error::Result;
use crate::model::{
    Burned, Credentials, GenerateRequest, Passphrase, Receipt, ReceiptKey, Revealed, SecretKey,
    ShareRequest, UpstreamStatus,
};

#[derive(Debug, Clone)]
pub struct OtsClientConfig {
    /// The server's site root, e.g. `https://eu.onetimesecret.com` or a self-hosted sub-path.
    pub base_url: Url,
    /// The team account; `None` sends every request anonymously.
    pub credentials: Option<Credentials>,
    pub connect_timeout: Duration,
    /// For the whole exchange, reading the reply included.
    pub request_timeout: Duration,
    /// Extra attempts for reads (status, authcheck, receipt, recent) after a transient failure.
    pub read_retries: u32,
    /// The wait before the first retry; it doubles for each further one.
    pub retry_backoff: Duration,
}

impl OtsClientConfig {
    /// Defaults suited to a public OTS host, and the configuration's defaults too (there is one
    /// set): anonymous, 5 s to connect, 20 s per request, two read retries starting at 200 ms.
    pub fn new(base_url: Url) -> Self {
        OtsClientConfig {
            base_url,
            credentials: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
            read_retries: 2,
            retry_backoff: Duration::from_millis(200),
        }
    }
}

/// Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct OtsClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    endpoints: Endpoints,
    credentials: Option<Credentials>,
    read_retry: RetryPolicy,
}

impl OtsClient {
    /// Fails only on a base URL that is not a plain http(s) site root, or if TLS cannot be set up.
    pub fn new(config: OtsClientConfig) -> Result<Self> {
        let endpoints = Endpoints::new(&config.base_url)?;
        let http = transport::build_http_client(config.connect_timeout, config.request_timeout)?;
        Ok(OtsClient {
            inner: Arc::new(Inner {
                http,
                endpoints,
                credentials: config.credentials,
                read_retry: RetryPolicy {
                    retries: config.read_retries,
                    first_backoff: config.retry_backoff,
                },
            }),
        })
    }

    pub fn has_credentials(&self) -> bool {
        self.inner.credentials.is_some()
    }

    /// Scheme, host and port only: a configured sub-path is left out.
    pub fn origin(&self) -> String {
        self.inner.endpoints.origin()
    }

    /// `GET /api/v1/status`.
    pub async fn status(&self) -> Result<UpstreamStatus> {
        self.read(Route::Status, wire::status).await
    }

    /// `GET /api/v1/authcheck`: whether the configured credentials are accepted.
    pub async fn authcheck(&self) -> Result<UpstreamStatus> {
        self.read(Route::Authcheck, wire::status).await
    }

    /// `POST /api/v1/share`. Sent once, never retried.
    pub async fn share(&self, request: &ShareRequest) -> Result<Receipt> {
        let reply = self.send_once(Route::Share, params::share(request)).await?;
        wire::receipt(&reply.body, &self.inner.endpoints)
    }

    /// `POST /api/v1/generate`. Sent once, never retried.
    pub async fn generate(&self, request: &GenerateRequest) -> Result<Receipt> {
        let payload = params::generate(request);
        let sent_as_json = matches!(payload, Payload::Json(_));
        let reply = self.send_once(Route::Generate, payload).await?;
        let receipt = wire::receipt(&reply.body, &self.inner.endpoints)?;
        if sent_as_json {
            params::check_json_generate_was_understood(request, &receipt)?;
        }
        Ok(receipt)
    }

    /// `POST /api/v1/secret/{key}`: reveals, and thereby destroys, the secret. Sent once.
    pub async fn retrieve(
        &self,
        key: &SecretKey,
        passphrase: Option<&Passphrase>,
    ) -> Result<Revealed> {
        let reply = self
            .send_once(Route::Reveal(key), params::passphrase_only(passphrase))
            .await?;
        wire::revealed(&reply.body, key)
    }

    /// `GET /api/v1/private/{key}`.
    pub async fn receipt(&self, key: &ReceiptKey) -> Result<Receipt> {
        let endpoints = &self.inner.endpoints;
        self.read(Route::Receipt(key), |body| wire::receipt(body, endpoints))
            .await
    }

    /// `POST /api/v1/private/{key}/burn`. Sent once, never retried.
    pub async fn burn(&self, key: &ReceiptKey, passphrase: Option<&Passphrase>) -> Result<Burned> {
        let reply = self
            .send_once(Route::Burn(key), params::passphrase_only(passphrase))
            .await?;
        wire::burned(&reply.body, &self.inner.endpoints)
    }

    /// `GET /api/v1/private/recent`: the team's receipts of the last 30 days.
    pub async fn recent(&self) -> Result<Vec<Receipt>> {
        let endpoints = &self.inner.endpoints;
        self.read(Route::Recent, |body| wire::recent(body, endpoints))
            .await
    }

    async fn read<T>(&self, route: Route<'_>, convert: impl Fn(&[u8]) -> Result<T>) -> Result<T> {
        retry::with_retries(self.inner.read_retry, route.operation(), || async {
            let reply = self.send_once(route, Payload::None).await?;
            convert(&reply.body)
        })
        .await
    }

    /// One request, one reply. A reply that is not a success becomes the error it stands for.
    async fn send_once(&self, route: Route<'_>, payload: Payload<'_>) -> Result<Reply> {
        let request = self.build_request(route, payload);
        let reply = transport::exchange(request, route.operation()).await?;
        if reply.status.is_success() {
            Ok(reply)
        } else {
            Err(errors::from_reply(&reply))
        }
    }

    fn build_request(&self, route: Route<'_>, payload: Payload<'_>) -> reqwest::RequestBuilder {
        let url = self.inner.endpoints.url(route);
        let mut request = self.inner.http.request(route.method(), url);
        if let Some(credentials) = &self.inner.credentials {
            request = request.basic_auth(
                &credentials.username,
                Some(credentials.api_key.expose_secret()),
            );
        }
        match payload {
            Payload::None => request,
            Payload::Form(fields) => request.form(&fields),
            Payload::Json(body) => request.json(&body),
        }
    }
}
