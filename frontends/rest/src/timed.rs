//! The REST request span and time limit, as one tower layer on every route.
//!
//! One span per request, naming the route pattern only: v1 keys live in paths, so the URI must
//! never reach a log line. At `debug`, like the upstream span inside it: at the default level
//! recording the two spans was a sixth of a request's CPU, and the one line a failed request
//! logs at `info` or above names its route anyway (`Error::log`). Inside the span, the request's
//! time limit (`security::within_time_limit`).
//!
//! A hand-written layer rather than `axum::middleware::from_fn`: `from_fn` clones the boxed
//! route and boxes two more values for every request, which measured about 1 000 instructions
//! per request; this calls the route in place and boxes one future.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use tower::{Layer, Service};
use tracing::Instrument;

use crate::security;

/// Wraps each route in [`TimedRequest`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimedRequestLayer {
    pub(crate) limit: Duration,
}

impl<S> Layer<S> for TimedRequestLayer {
    type Service = TimedRequest<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TimedRequest {
            inner,
            limit: self.limit,
        }
    }
}

/// A route whose requests run in their own span and within the REST time limit.
#[derive(Debug, Clone)]
pub(crate) struct TimedRequest<S> {
    inner: S,
    limit: Duration,
}

impl<S> Service<Request> for TimedRequest<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // Fields are recorded when the span is made, so the route is borrowed, not copied.
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map_or("<unmatched>", MatchedPath::as_str);
        let span = tracing::debug_span!("request", method = req.method().as_str(), route);
        // Routes answer in the future they return; calling one does no work yet.
        let response = self.inner.call(req);
        let limit = self.limit;
        Box::pin(
            async move {
                let response = async move {
                    match response.await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    }
                };
                Ok(security::within_time_limit(limit, response).await)
            }
            .instrument(span),
        )
    }
}
