//! Running a router on a listener until told to stop.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

/// Serves `router` on `listener` until `shutdown` completes, then lets in-flight requests finish.
/// Handlers see the peer address as `ConnectInfo<SocketAddr>` (the simulator's per-IP limits use
/// it). Bounding the drain is the caller's job, as only it knows the process-wide grace period.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
