//! Running a router on a listener until told to stop, so that slow, idle and half-open
//! connections cost the gateway almost nothing.
//!
//! axum's own `serve` has no header-read timeout, no connection cap and waits for every open
//! connection at shutdown, so a few hundred sockets opened by any local process could hold the
//! gateway's memory, file descriptors and shutdown hostage. This loop drives hyper's HTTP/1
//! connection directly:
//! - a connection must deliver a complete request head within `header_read_timeout`; hyper
//!   starts that clock whenever it waits for a head, so an idle keep-alive connection is closed
//!   after the same time (the idle timeout);
//! - at most `max_connections` are open at once; at the cap a new connection takes the place of
//!   the oldest idle one (no request in flight), or is closed at once when all are busy;
//! - an accept error (e.g. out of file descriptors) pauses accepting briefly instead of spinning;
//! - on shutdown, idle connections are closed at once and the loop waits only for requests in
//!   flight, never for a connection that is merely open or still sending its head.
//!
//! HTTP/2 is not offered: every OTS client library speaks HTTP/1.1, and h2's own stream and
//! window bookkeeping would be one more surface for the same kind of abuse.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use ots_gateway_core::config;
use ots_gateway_core::metrics::ListenerMetrics;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

/// Bounds on what one connection may hold, and on how many there may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerSettings {
    /// Open connections at most. Kept well below the process's file-descriptor limit so the
    /// listener, the ledger and the upstream client always have descriptors left.
    pub max_connections: usize,
    /// How long a connection may take to send a complete request head, and how long it may sit
    /// idle between requests.
    pub header_read_timeout: Duration,
    /// How long a request body may take to arrive in full. Enforced by the body-size layer,
    /// which reads the whole (capped) body before a request takes a concurrency slot.
    pub body_read_timeout: Duration,
}

impl Default for ListenerSettings {
    fn default() -> Self {
        // The configuration's defaults, which say why these values.
        ListenerSettings {
            max_connections: config::DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: config::DEFAULT_HEADER_TIMEOUT,
            body_read_timeout: config::DEFAULT_BODY_TIMEOUT,
        }
    }
}

/// How loaded the listener is, shared by the serve loop (which tracks connections) and the
/// handlers that report it (`/readyz`, `/metrics`). Handlers find it in the request's
/// extensions.
#[derive(Debug, Clone)]
pub struct ListenerLoad {
    inner: Arc<LoadInner>,
}

#[derive(Debug)]
struct LoadInner {
    /// Open connections by accept order, so the oldest idle one is found first.
    connections: Mutex<BTreeMap<u64, Arc<ConnectionState>>>,
    next_id: AtomicU64,
    max_connections: usize,
    body_read_timeout: Duration,
    metrics: ListenerMetrics,
    /// Set once shutdown starts, so a request still waiting for its body gives up at once.
    stopping: watch::Sender<bool>,
}

/// One open connection, as the cap sees it.
#[derive(Debug, Default)]
pub(crate) struct ConnectionState {
    /// Requests on this connection being handled right now.
    requests: AtomicUsize,
    /// Of those, the ones still waiting for their body: nothing has been done for them yet.
    reading_bodies: AtomicUsize,
    evict: Notify,
}

impl ConnectionState {
    /// Idle (between requests, still sending a head, or still sending a body), so closing it
    /// loses no work: it may be evicted.
    fn evictable(&self) -> bool {
        self.requests.load(Ordering::Acquire) <= self.reading_bodies.load(Ordering::Acquire)
    }
}

/// The connection a request arrived on: the peer's address (for the failed-token throttle and
/// the simulator), the listener's load (for its metrics and `/readyz`) and the connection's
/// state (for the body-reading layer to mark the time its body takes as idle, see
/// [`ConnectionState::evictable`]). Made once per connection and put in each request's
/// extensions as one value, because every extension inserted is an allocation per request.
#[derive(Debug, Clone)]
pub(crate) struct RequestConnection(Arc<ConnectionContext>);

#[derive(Debug)]
struct ConnectionContext {
    peer: SocketAddr,
    load: ListenerLoad,
    state: Arc<ConnectionState>,
}

impl RequestConnection {
    fn new(peer: SocketAddr, load: ListenerLoad, state: Arc<ConnectionState>) -> Self {
        RequestConnection(Arc::new(ConnectionContext { peer, load, state }))
    }

    pub(crate) fn peer(&self) -> SocketAddr {
        self.0.peer
    }

    pub(crate) fn load(&self) -> &ListenerLoad {
        &self.0.load
    }

    pub(crate) fn reading_body(&self) -> ReadingBody {
        self.0.state.reading_bodies.fetch_add(1, Ordering::AcqRel);
        ReadingBody(self.0.state.clone())
    }
}

/// Held while a request's body is being read.
pub(crate) struct ReadingBody(Arc<ConnectionState>);

impl Drop for ReadingBody {
    fn drop(&mut self) {
        self.0.reading_bodies.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ListenerLoad {
    pub fn new(settings: &ListenerSettings, metrics: ListenerMetrics) -> Self {
        ListenerLoad {
            inner: Arc::new(LoadInner {
                connections: Mutex::default(),
                next_id: AtomicU64::new(0),
                max_connections: settings.max_connections.max(1),
                body_read_timeout: settings.body_read_timeout,
                metrics,
                stopping: watch::Sender::new(false),
            }),
        }
    }

    pub fn open_connections(&self) -> usize {
        self.lock().len()
    }

    pub fn max_connections(&self) -> usize {
        self.inner.max_connections
    }

    /// At the connection cap: each new caller now costs an idle connection its place, or is
    /// turned away when every connection has a request in flight.
    pub fn saturated(&self) -> bool {
        self.open_connections() >= self.inner.max_connections
    }

    pub fn metrics(&self) -> &ListenerMetrics {
        &self.inner.metrics
    }

    pub(crate) fn body_read_timeout(&self) -> Duration {
        self.inner.body_read_timeout
    }

    /// Completes once the listener starts shutting down.
    pub(crate) async fn stopping(&self) {
        let mut stopping = self.inner.stopping.subscribe();
        // An error means the sender is gone, which cannot happen while `self` holds it.
        let _ = stopping.wait_for(|stop| *stop).await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<ConnectionState>>> {
        // A map of counters: still consistent enough after a panic elsewhere.
        self.inner
            .connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A place for one more connection. At the cap, the oldest idle connection is told to
    /// close and gives up its place: a flood of idle or half-sent connections then only
    /// displaces itself, and a caller with a real request still gets in. `None` when every
    /// connection is busy with a request.
    fn try_open(&self) -> Option<(ConnectionSlot, bool)> {
        let mut connections = self.lock();
        let at_cap = connections.len() >= self.inner.max_connections;
        if at_cap {
            let idle = connections
                .iter()
                .find(|(_, state)| state.evictable())
                .map(|(id, _)| *id);
            let Some(evicted) = idle.and_then(|id| connections.remove(&id)) else {
                self.inner.metrics.refused_connections.inc();
                return None;
            };
            evicted.evict.notify_one();
            self.inner.metrics.evicted_connections.inc();
        }
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(ConnectionState::default());
        connections.insert(id, state.clone());
        self.inner
            .metrics
            .open_connections
            .set(gauge_value(connections.len()));
        let slot = ConnectionSlot {
            load: self.clone(),
            id,
            state,
        };
        Some((slot, at_cap))
    }
}

fn gauge_value(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// Holds its connection's place until the connection task ends, however it ends.
struct ConnectionSlot {
    load: ListenerLoad,
    id: u64,
    state: Arc<ConnectionState>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut connections = self.load.lock();
        connections.remove(&self.id);
        self.load
            .inner
            .metrics
            .open_connections
            .set(gauge_value(connections.len()));
    }
}

/// Requests being handled right now; shutdown waits for this to reach zero and for nothing else.
#[derive(Clone, Default)]
struct InFlight(Arc<InFlightCount>);

#[derive(Default)]
struct InFlightCount {
    count: AtomicUsize,
    drained: Notify,
}

struct InFlightGuard(InFlight);

impl InFlight {
    fn enter(&self) -> InFlightGuard {
        self.0.count.fetch_add(1, Ordering::AcqRel);
        InFlightGuard(self.clone())
    }

    async fn wait_until_idle(&self) {
        loop {
            let notified = self.0.drained.notified();
            if self.0.count.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if (self.0).0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            (self.0).0.drained.notify_waiters();
        }
    }
}

/// Serves `router` with the default [`ListenerSettings`] and metrics nobody exports.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let settings = ListenerSettings::default();
    let load = ListenerLoad::new(&settings, ListenerMetrics::default());
    serve_with(listener, router, settings, load, shutdown).await
}

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in flight finish
/// and returns; connections with no request in flight are dropped. The crate's layers and
/// handlers find the peer address and the listener's [`ListenerLoad`] in the request's
/// extensions ([`RequestConnection`]).
/// Bounding the drain is the caller's job, as only it knows the process-wide grace period.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    settings: ListenerSettings,
    load: ListenerLoad,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        // Refuse a head bigger than this instead of buffering it: 16 KiB is far beyond what
        // any OTS client sends, and caps what a stalled connection can pin in memory.
        .max_buf_size(16 * 1024);
    let in_flight = InFlight::default();
    let (stopping, stop_requested) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);

    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // EMFILE and friends: the condition lasts until some connection closes, so
                // retrying at once would spin. Connection tasks keep running meanwhile.
                tracing::warn!(%error, "cannot accept a connection; pausing accepts briefly");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some((slot, evicted)) = load.try_open() else {
            drop(stream);
            continue;
        };
        if evicted {
            // Let the evicted connection's task run and release its descriptor before the next
            // accept, so a flood cannot outpace the evictions.
            tokio::task::yield_now().await;
        }
        let _ = stream.set_nodelay(true);
        let service = connection_service(
            router.clone(),
            RequestConnection::new(peer, load.clone(), slot.state.clone()),
            in_flight.clone(),
        );
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let mut stop_requested = stop_requested.clone();
        connections.spawn(async move {
            let slot = slot;
            tokio::pin!(connection);
            tokio::select! {
                // Connection errors (resets, timeouts, malformed heads) are the client's
                // business; hyper has already answered what it could.
                _ = connection.as_mut() => return,
                // Evicted only while idle, so no response is cut off.
                () = slot.state.evict.notified() => return,
                _ = stop_requested.wait_for(|stop| *stop) => {}
            }
            // Closes an idle connection now, and a busy one after its current response.
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
    }

    drop(listener);
    let _ = stopping.send(true);
    load.inner.stopping.send_replace(true);
    in_flight.wait_until_idle().await;
    // Whatever is still open has no request in flight: half-sent heads and idle keep-alives.
    connections.abort_all();
    Ok(())
}

fn connection_service(
    router: Router,
    connection: RequestConnection,
    in_flight: InFlight,
) -> impl hyper::service::Service<
    http::Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<axum::response::Response, std::convert::Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |request: http::Request<Incoming>| {
        let guard = in_flight.enter();
        let busy = BusyConnection::enter(connection.clone());
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(connection.clone());
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await;
            drop(busy);
            drop(guard);
            response
        }
    })
}

/// Marks a connection as having a request in flight, so it is not evicted mid-request (except
/// while that request's body is still arriving).
struct BusyConnection(RequestConnection);

impl BusyConnection {
    fn enter(connection: RequestConnection) -> Self {
        connection.0.state.requests.fetch_add(1, Ordering::AcqRel);
        BusyConnection(connection)
    }
}

impl Drop for BusyConnection {
    fn drop(&mut self) {
        self.0.0.state.requests.fetch_sub(1, Ordering::AcqRel);
    }
}
