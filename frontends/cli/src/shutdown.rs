//! Turns SIGINT (Ctrl-C) and SIGTERM (what Docker and systemd send) into one cancellation.
//!
//! The handlers are registered by [`install`], synchronously, before the binary announces that
//! it is listening: a supervisor may send SIGTERM as soon as it sees that line, and an
//! unregistered SIGTERM would kill the process without draining.

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;

pub struct ShutdownSignals {
    interrupt: Signal,
    terminate: Signal,
}

pub fn install() -> std::io::Result<ShutdownSignals> {
    Ok(ShutdownSignals {
        interrupt: signal(SignalKind::interrupt())?,
        terminate: signal(SignalKind::terminate())?,
    })
}

impl ShutdownSignals {
    /// Cancels `token` on the first SIGINT or SIGTERM.
    pub fn cancel_on_signal(mut self, token: CancellationToken) {
        tokio::spawn(async move {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
            tracing::info!("shutdown requested");
            token.cancel();
        });
    }
}
