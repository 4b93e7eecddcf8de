//! A cap on the MCP sessions held at once over HTTP (legacy protocol versions).
//!
//! rmcp's session manager keeps a session, with its worker task and channels, until the client
//! ends it with `DELETE` or it has been idle for five minutes. A session costs about 70 KiB, so a
//! client that opens a session per call and never ends them (or a local process doing it on
//! purpose) grew the gateway by 200 MiB in a second and a half of `initialize` requests. Here the
//! oldest session is closed to make room for a new one beyond [`MAX_SESSIONS`]: a client whose
//! session was closed gets `404` on its next request. The protocol says a client then starts a
//! new session; the PyPI SDK instead fails that call with "Session terminated" and leaves the
//! reconnecting to the application.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use futures_core::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::{
    ServerSseMessage, SessionId, SessionManager,
};

/// Far more than the MCP clients of one team hold at once (one session per client and
/// server), and about 18 MiB at most.
pub(crate) const MAX_SESSIONS: usize = 256;

/// [`LocalSessionManager`], holding at most `max` sessions.
pub(crate) struct BoundedSessions {
    inner: LocalSessionManager,
    /// Every live session's id, oldest first; also ids of sessions that ended by idling out,
    /// which are dropped as they reach the front.
    opened: Mutex<VecDeque<SessionId>>,
    max: usize,
}

impl BoundedSessions {
    pub(crate) fn new(max: usize) -> Self {
        BoundedSessions {
            inner: LocalSessionManager::default(),
            opened: Mutex::new(VecDeque::new()),
            max,
        }
    }

    fn opened(&self) -> MutexGuard<'_, VecDeque<SessionId>> {
        // Each critical section leaves the queue consistent.
        self.opened.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Closes the oldest live sessions until a new one fits.
    async fn make_room(&self) {
        loop {
            let oldest = {
                let mut opened = self.opened();
                if opened.len() < self.max {
                    return;
                }
                opened.pop_front()
            };
            let Some(oldest) = oldest else { return };
            if matches!(self.inner.has_session(&oldest).await, Ok(true)) {
                tracing::debug!(
                    limit = self.max,
                    "closing the oldest MCP session to open a new one"
                );
                // A session that ends meanwhile is as good as closed.
                let _ = self.inner.close_session(&oldest).await;
                return;
            }
        }
    }
}

type Inner = LocalSessionManager;

impl SessionManager for BoundedSessions {
    type Error = <Inner as SessionManager>::Error;
    type Transport = <Inner as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        self.make_room().await;
        let (id, transport) = self.inner.create_session().await?;
        self.opened().push_back(id.clone());
        Ok((id, transport))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.opened().retain(|open| open != id);
        self.inner.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_stream(id, message).await
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_standalone_stream(id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.resume(id, last_event_id).await
    }
}
