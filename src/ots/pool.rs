//! Keep-alive connections to the one OTS server a client talks to, on hyper's own HTTP/1.1
//! connection API.
//!
//! hyper-util's pooled client serves any number of origins: each request hashes the origin's
//! scheme and host, byte by byte, to find its pool, and again to hand the connection back,
//! formats the `Host` header anew, and spawns a task that returns the connection once the
//! answer is read. An `OtsClient` talks to a single origin, so here the pool is a stack of idle
//! connections, the `Host` header is made once, and the connection is handed back by the
//! caller that read the answer. Under `bench/instructions.sh` the pooled client's bookkeeping
//! was about an eighth of a proxied status's instructions.
//!
//! What the pooled client did that still holds: a connection that was idle in the pool and
//! turns out closed by the server before the request went out is not an error, the request goes
//! on another connection; connections idle longer than the idle lifetime are closed; a
//! connection whose answer was not read to the end is never reused; one still finishing its
//! last answer is waited for rather than replaced. `src/ots/tests/pooling.rs` tests each.

use std::future::poll_fn;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::HOST;
use http::uri::PathAndQuery;
use http::{HeaderValue, Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use tower_service::Service;
use tracing::debug;

use super::http_client::Connector;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Sender = SendRequest<Full<Bytes>>;

/// A connection waiting for its next request.
struct Idle {
    sender: Sender,
    since: Instant,
}

type IdleStack = Mutex<Vec<Idle>>;

pub(super) struct Pool {
    connector: Connector,
    /// Scheme and authority: what the connector connects to.
    origin: Uri,
    host: HeaderValue,
    idle_lifetime: Duration,
    idle: Arc<IdleStack>,
    /// Closes connections left idle past their lifetime while no request comes to take them.
    reaper: OnceLock<()>,
}

/// A connection on loan to one exchange. Handing it back with [`Lease::reuse`] is a promise that
/// the answer was read to its end; dropped instead, the connection closes.
pub(super) struct Lease<'pool> {
    pool: &'pool Pool,
    sender: Sender,
}

impl Lease<'_> {
    pub(super) fn reuse(self) {
        if !self.sender.is_closed() {
            self.pool.push_idle(self.sender);
        }
    }
}

impl Pool {
    /// `origin` is the scheme and authority every request goes to; `host` what the `Host` header
    /// says for it.
    pub(super) fn new(
        connector: Connector,
        origin: Uri,
        host: HeaderValue,
        idle_lifetime: Duration,
    ) -> Self {
        Pool {
            connector,
            origin,
            host,
            idle_lifetime,
            idle: Arc::default(),
            reaper: OnceLock::new(),
        }
    }

    /// Sends `request` to this pool's origin (only its URI's path and query are used, whatever
    /// authority it names) and returns the answer's head with the connection it arrived on.
    pub(super) async fn send(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<(Response<Incoming>, Lease<'_>), BoxError> {
        let mut request = self.origin_form(request);
        loop {
            let (mut sender, reused) = match self.take_idle() {
                Some(mut sender) => {
                    // A connection goes back as soon as its answer is read, and its task may
                    // not have turned to the next request yet (on another worker thread, say):
                    // a moment's wait, where a new connection would cost a handshake. One
                    // that fails meanwhile is dropped. The exchange's deadline bounds the wait.
                    if sender.ready().await.is_err() {
                        continue;
                    }
                    (sender, true)
                }
                // Boxed: a connect is rare, and inline its state would be most of the size of
                // every exchange's future, copied on each move of it.
                None => (Box::pin(self.connect()).await?, false),
            };
            match sender.try_send_request(request).await {
                Ok(response) => return Ok((response, Lease { pool: self, sender })),
                Err(mut failed) => match failed.take_message() {
                    // The server closed the idle connection before the request went out: it was
                    // never sent, so it goes on the next connection. A fresh connection that
                    // fails this way is an answer, not a race, and ends the loop.
                    Some(unsent) if reused => {
                        debug!("an idle OTS connection was closed; sending on another");
                        request = unsent;
                    }
                    _ => return Err(failed.into_error().into()),
                },
            }
        }
    }

    /// hyper sends the URI as given; HTTP/1.1 to a server (no proxy) wants the path and query,
    /// with the authority in `Host`.
    fn origin_form(&self, request: Request<Full<Bytes>>) -> Request<Full<Bytes>> {
        let (mut head, body) = request.into_parts();
        let path = head
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        head.uri = Uri::from(path);
        head.headers.insert(HOST, self.host.clone());
        Request::from_parts(head, body)
    }

    /// The most recently used connection that is open and within its lifetime: the one least
    /// likely to have been closed by the server. Closed and expired ones are dropped on the way.
    fn take_idle(&self) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(candidate) = idle.pop() {
            if !candidate.sender.is_closed() && candidate.since.elapsed() < self.idle_lifetime {
                return Some(candidate.sender);
            }
        }
        None
    }

    fn push_idle(&self, sender: Sender) {
        let since = Instant::now();
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Idle { sender, since });
    }

    async fn connect(&self) -> Result<Sender, BoxError> {
        let mut connector = self.connector.clone();
        poll_fn(|cx| connector.poll_ready(cx)).await?;
        let io = connector.call(self.origin.clone()).await?;
        let (sender, connection) = http1::handshake(io).await?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                debug!(error = %err, "OTS connection ended with an error");
            }
        });
        self.reaper.get_or_init(|| {
            tokio::spawn(reap(Arc::downgrade(&self.idle), self.idle_lifetime));
        });
        Ok(sender)
    }
}

/// Every half lifetime, drops the connections idle past it; ends with the pool.
async fn reap(idle: Weak<IdleStack>, lifetime: Duration) {
    let mut every = tokio::time::interval(lifetime / 2);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(idle) = idle.upgrade() else {
            return;
        };
        idle.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|entry| !entry.sender.is_closed() && entry.since.elapsed() < lifetime);
    }
}
