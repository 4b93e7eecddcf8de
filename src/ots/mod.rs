//! The OTS client: the only code in the project that speaks HTTP to a OneTimeSecret server.
//!
//! It talks API v2 (`{base_url}/api/v2/...`) or v1 (`{base_url}/api/v1/...`), as
//! [`OtsClientConfig::api`] says; `auto` probes the server and falls back to v1 when v2 fails
//! (`api`). Each API has its own routes (`routes`), request bodies (`params`), reply DTOs
//! (`wire` for v1, `wire_v2`) and error classification (`errors`), all converted into the
//! API-neutral [`crate::model`] types and [`crate::error::Error`]. Nothing outside this module
//! knows either wire format.
//!
//! Invariants:
//! - No URL, key, credential, secret or passphrase appears in an error or a log line. URLs are
//!   never logged (both APIs put keys in paths); operations are logged by name, at `debug` only,
//!   because frontends log an error once where it becomes a response.
//! - Only reads are retried (`retry` explains why), on either API. A write that fails on v2 is
//!   not re-sent on v1; only the next call may use v1.
//! - The team credentials are exposed only when the `Authorization` header is built, once, when
//!   the client is made (`transport::basic_authorization`).

mod accepted_credentials;
mod api;
mod errors;
mod http_client;
mod lenient;
mod params;
mod pool;
mod retry;
mod routes;
mod transport;
mod wire;
mod wire_v2;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Method, Request};
use http_body_util::Full;
use tracing::debug;
use url::Url;

use self::accepted_credentials::AcceptedCredentials;
pub use self::api::{ApiChoice, ApiInUse, ApiVersion};
use self::api::{AutoApi, means_unavailable};
use self::errors::Reply;
use self::params::Payload;
use self::retry::RetryPolicy;
use self::routes::{Endpoints, Route};
use self::transport::Transport;
use self::wire_v2::V2Context;
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
    /// Which OTS API to speak (`upstream.api`).
    pub api: ApiChoice,
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
            api: ApiChoice::Auto,
        }
    }
}

/// Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct OtsClient {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    endpoints: Endpoints,
    credentials: Option<Credentials>,
    /// `credentials` as the `Authorization` header every request carries.
    authorization: Option<HeaderValue>,
    read_retry: RetryPolicy,
    choice: ApiChoice,
    auto: AutoApi,
    accepted_credentials: AcceptedCredentials,
}

impl OtsClient {
    /// Fails only on a base URL that is not a plain http(s) site root, or if TLS cannot be set up.
    pub fn new(config: OtsClientConfig) -> Result<Self> {
        let endpoints = Endpoints::new(&config.base_url)?;
        let transport = Transport::new(&endpoints, config.connect_timeout, config.request_timeout)?;
        let authorization = config
            .credentials
            .as_ref()
            .map(transport::basic_authorization)
            .transpose()?;
        Ok(OtsClient {
            inner: Arc::new(Inner {
                transport,
                endpoints,
                credentials: config.credentials,
                authorization,
                read_retry: RetryPolicy {
                    retries: config.read_retries,
                    first_backoff: config.retry_backoff,
                },
                choice: config.api,
                auto: AutoApi::default(),
                accepted_credentials: AcceptedCredentials::default(),
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

    /// Which API is configured and which one `auto` is using, for operators.
    pub fn api_in_use(&self) -> ApiInUse {
        let inner = &self.inner;
        let api = match inner.choice {
            ApiChoice::V1 => Some(ApiVersion::V1),
            ApiChoice::V2 => Some(ApiVersion::V2),
            ApiChoice::Auto => inner.auto.current(),
        };
        ApiInUse {
            choice: inner.choice,
            api,
            fell_back: inner.auto.fell_back(),
            fallbacks: inner.auto.fallbacks(),
        }
    }

    /// v1 `GET status`, v2 `GET status`. v1 refuses bad credentials here; v2's status ignores
    /// them, so with credentials configured a v2 status also checks them (unless a check passed
    /// moments ago, see `accepted_credentials`), and readiness keeps reporting a revoked team
    /// token on either API.
    pub async fn status(&self) -> Result<UpstreamStatus> {
        let status = self
            .read(Route::Status, |api, body| match api {
                ApiVersion::V1 => wire::status(body),
                ApiVersion::V2 => wire_v2::status(body),
            })
            .await?;
        if self.has_credentials()
            && self.api_in_use().api == Some(ApiVersion::V2)
            && !self
                .inner
                .accepted_credentials
                .still_accepted(Instant::now())
        {
            self.authcheck().await?;
            self.inner.accepted_credentials.accepted(Instant::now());
        }
        Ok(status)
    }

    /// Whether the configured credentials are accepted: v1 `authcheck`; on v2 a lookup of a
    /// receipt that does not exist, which says "not found" only to accepted credentials.
    pub async fn authcheck(&self) -> Result<UpstreamStatus> {
        let checked = self
            .read(Route::Authcheck, |api, body| match api {
                ApiVersion::V1 => wire::status(body),
                ApiVersion::V2 => Ok(wire_v2::authenticated()),
            })
            .await;
        match checked {
            Err(crate::error::Error::UnknownSecret)
                if self.api_in_use().api == Some(ApiVersion::V2) =>
            {
                Ok(wire_v2::authenticated())
            }
            other => other,
        }
    }

    /// v1 `POST share`, v2 `POST secret/conceal`. Sent once, never retried.
    pub async fn share(&self, request: &ShareRequest) -> Result<Receipt> {
        let api = self.api_for_call().await;
        let payload = match api {
            ApiVersion::V1 => params::share(request),
            ApiVersion::V2 => params::conceal_v2(request),
        };
        let outcome = self.send_once(api, Route::Share, payload).await;
        let receipt = outcome.and_then(|reply| self.created(api, &reply.body));
        self.note(api, receipt)
    }

    /// v1 `POST generate`, v2 `POST secret/generate`. Sent once, never retried. v2 does not
    /// return the generated value; it is claimed from the first receipt view, a read.
    pub async fn generate(&self, request: &GenerateRequest) -> Result<Receipt> {
        let api = self.api_for_call().await;
        let payload = match api {
            ApiVersion::V1 => params::generate(request),
            ApiVersion::V2 => params::generate_v2(request),
        };
        let sent_as_json = matches!(payload, Payload::Json(_));
        let reply = match self.send_once(api, Route::Generate, payload).await {
            Ok(reply) => reply,
            Err(err) => return self.note(api, Err(err)),
        };
        let mut receipt = match self.created(api, &reply.body) {
            Ok(receipt) => receipt,
            Err(err) => return self.note(api, Err(err)),
        };
        match api {
            ApiVersion::V1 if sent_as_json => {
                params::check_json_generate_was_understood(request, &receipt)?;
            }
            ApiVersion::V1 => {}
            ApiVersion::V2 => receipt.value = self.claim_generated_value(&receipt).await,
        }
        Ok(receipt)
    }

    /// v1 `POST secret/{key}`, v2 `POST secret/{key}/reveal`: reveals, and thereby destroys,
    /// the secret. Sent once.
    pub async fn retrieve(
        &self,
        key: &SecretKey,
        passphrase: Option<&Passphrase>,
    ) -> Result<Revealed> {
        self.confirmed_write(Route::Reveal(key), passphrase, |api, body| match api {
            ApiVersion::V1 => wire::revealed(body, key),
            ApiVersion::V2 => wire_v2::revealed(body, key, &self.v2_context()),
        })
        .await
    }

    /// v1 `GET private/{key}`, v2 `GET receipt/{key}`.
    pub async fn receipt(&self, key: &ReceiptKey) -> Result<Receipt> {
        self.read(Route::Receipt(key), |api, body| match api {
            ApiVersion::V1 => wire::receipt(body, &self.inner.endpoints),
            ApiVersion::V2 => wire_v2::receipt(body, &self.v2_context()),
        })
        .await
    }

    /// v1 `POST private/{key}/burn`, v2 `POST receipt/{key}/burn`. Sent once, never retried.
    pub async fn burn(&self, key: &ReceiptKey, passphrase: Option<&Passphrase>) -> Result<Burned> {
        self.confirmed_write(Route::Burn(key), passphrase, |api, body| match api {
            ApiVersion::V1 => wire::burned(body, &self.inner.endpoints),
            ApiVersion::V2 => wire_v2::burned(body, &self.v2_context()),
        })
        .await
    }

    /// Reveal and burn: the passphrase (on v2 with the confirmation both demand), sent once.
    async fn confirmed_write<T>(
        &self,
        route: Route<'_>,
        passphrase: Option<&Passphrase>,
        convert: impl FnOnce(ApiVersion, &[u8]) -> Result<T>,
    ) -> Result<T> {
        let api = self.api_for_call().await;
        let payload = match api {
            ApiVersion::V1 => params::passphrase_only(passphrase),
            ApiVersion::V2 => params::confirmed_v2(passphrase),
        };
        let outcome = self.send_once(api, route, payload).await;
        self.note(api, outcome.and_then(|reply| convert(api, &reply.body)))
    }

    /// The team's receipts of the last 30 days, oldest first: v1 `GET private/recent`, v2
    /// `GET receipt/recent`.
    pub async fn recent(&self) -> Result<Vec<Receipt>> {
        self.read(Route::Recent, |api, body| match api {
            ApiVersion::V1 => wire::recent(body, &self.inner.endpoints),
            ApiVersion::V2 => wire_v2::recent(body, &self.v2_context()),
        })
        .await
    }

    fn created(&self, api: ApiVersion, body: &[u8]) -> Result<Receipt> {
        match api {
            ApiVersion::V1 => wire::receipt(body, &self.inner.endpoints),
            ApiVersion::V2 => wire_v2::created(body, &self.v2_context()),
        }
    }

    /// The one receipt view that may carry a v2 generated value. A failure leaves the value
    /// unknown but the secret in place: it can still be revealed through its link.
    async fn claim_generated_value(&self, receipt: &Receipt) -> Option<crate::model::SecretText> {
        let key = &receipt.metadata_key;
        let viewed = self
            .read_on(ApiVersion::V2, Route::Receipt(key), &|_, body| {
                wire_v2::receipt(body, &self.v2_context())
            })
            .await;
        match viewed {
            Ok(view) => view.value,
            Err(err) => {
                debug!(kind = err.kind(), "claiming a v2 generated value failed");
                None
            }
        }
    }

    fn v2_context(&self) -> V2Context<'_> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        V2Context {
            endpoints: &self.inner.endpoints,
            username: self.inner.credentials.as_ref().map(|c| c.username.as_str()),
            now,
        }
    }

    /// The API for this call: the configured one, or what `auto` believes, probing if due.
    async fn api_for_call(&self) -> ApiVersion {
        match self.inner.choice {
            ApiChoice::V1 => ApiVersion::V1,
            ApiChoice::V2 => ApiVersion::V2,
            ApiChoice::Auto => match self.inner.auto.current() {
                Some(api) => api,
                None => self.detect().await,
            },
        }
    }

    /// `GET /api/v2/status` without credentials (`api` has the rule). A probe that gets no
    /// answer decides nothing: this call uses v1, and the next one probes again.
    async fn detect(&self) -> ApiVersion {
        let probe = match self.inner.endpoints.uri(Route::Status, ApiVersion::V2) {
            Ok(uri) => transport::request(Method::GET, uri, None, None),
            Err(err) => {
                debug!(kind = err.kind(), "OTS API probe failed");
                return ApiVersion::V1;
            }
        };
        match self
            .inner
            .transport
            .exchange(probe, "detect", Route::Status.answer_limit())
            .await
        {
            Ok(reply) => {
                let api = if reply.status.is_success() && wire_v2::is_current_v2_status(&reply.body)
                {
                    ApiVersion::V2
                } else {
                    ApiVersion::V1
                };
                debug!(api = api.as_str(), "OTS API detected");
                self.inner.auto.detected(api);
                api
            }
            Err(err) => {
                debug!(kind = err.kind(), "OTS API probe failed");
                ApiVersion::V1
            }
        }
    }

    /// Lets `auto` learn from a call's outcome: a v2 that is not available here sends the next
    /// calls to v1; a v1 that is not available either makes the next call probe again.
    fn note<T>(&self, api: ApiVersion, outcome: Result<T>) -> Result<T> {
        if self.inner.choice == ApiChoice::Auto
            && let Err(err) = &outcome
            && means_unavailable(err)
        {
            match api {
                ApiVersion::V2 => self.inner.auto.fall_back(),
                ApiVersion::V1 => self.inner.auto.forget(),
            }
        }
        outcome
    }

    /// A read, with retries; under `auto`, a v2 that turns out unavailable is tried once more
    /// on v1 within the same call, which is safe because reads change nothing.
    async fn read<T>(
        &self,
        route: Route<'_>,
        convert: impl Fn(ApiVersion, &[u8]) -> Result<T>,
    ) -> Result<T> {
        let api = self.api_for_call().await;
        let outcome = self.read_on(api, route, &convert).await;
        let falls_back = self.inner.choice == ApiChoice::Auto
            && api == ApiVersion::V2
            && outcome.as_ref().is_err_and(means_unavailable);
        if !falls_back {
            return self.note(api, outcome);
        }
        self.inner.auto.fall_back();
        let outcome = self.read_on(ApiVersion::V1, route, &convert).await;
        self.note(ApiVersion::V1, outcome)
    }

    async fn read_on<T>(
        &self,
        api: ApiVersion,
        route: Route<'_>,
        convert: &impl Fn(ApiVersion, &[u8]) -> Result<T>,
    ) -> Result<T> {
        retry::with_retries(self.inner.read_retry, route.operation(), || async {
            let reply = self.send_once(api, route, Payload::None).await?;
            convert(api, &reply.body)
        })
        .await
    }

    /// One request, one reply: how every write goes out, whatever happens, and each attempt of
    /// a read. A reply that is not a success becomes the error it stands for.
    async fn send_once(
        &self,
        api: ApiVersion,
        route: Route<'_>,
        payload: Payload<'_>,
    ) -> Result<Reply> {
        let request = self.build_request(api, route, payload)?;
        let reply = self
            .inner
            .transport
            .exchange(request, route.operation(), route.answer_limit())
            .await?;
        if reply.status.is_success() {
            return Ok(reply);
        }
        let error = match api {
            ApiVersion::V1 => errors::from_reply(&reply),
            ApiVersion::V2 => errors::from_reply_v2(&reply),
        };
        if matches!(error, crate::error::Error::NotAuthorized) {
            self.inner.accepted_credentials.refused();
        }
        Err(error)
    }

    fn build_request(
        &self,
        api: ApiVersion,
        route: Route<'_>,
        payload: Payload<'_>,
    ) -> Result<Request<Full<Bytes>>> {
        let uri = self.inner.endpoints.uri(route, api)?;
        Ok(transport::request(
            route.method(),
            uri,
            self.inner.authorization.as_ref(),
            payload.encode(),
        ))
    }
}
