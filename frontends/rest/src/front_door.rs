//! The listener's defences (`security`) as one tower layer around every route, in their order:
//! cheap header checks (`security::admit_local`) first, then the whole body read within its
//! bounds (`security::read_body`), and only then a request slot (`security::take_slot`), so
//! neither a refused request nor a slow upload ever holds a slot.
//!
//! One hand-written layer rather than `axum::middleware::from_fn` layers: `from_fn` clones the
//! boxed route and boxes two more values for every request. A request whose body is known to be
//! empty (every GET) has nothing to wait for, so its checks run at once and the route is called
//! in place; only a request with a body to read takes a copy of the route along.

use std::convert::Infallible;
use std::future::{Future, ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::security::{FrontDoor, admit_local, body_is_empty, read_body, take_slot};

/// Wraps each route in [`Guarded`].
#[derive(Clone)]
pub(crate) struct FrontDoorLayer(pub(crate) FrontDoor);

impl<S> Layer<S> for FrontDoorLayer {
    type Service = Guarded<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guarded {
            inner,
            door: self.0.clone(),
        }
    }
}

/// A route behind the front door.
#[derive(Clone)]
pub(crate) struct Guarded<S> {
    inner: S,
    door: FrontDoor,
}

type Answer = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

fn refuse(response: Response) -> Answer {
    Box::pin(ready(Ok(response)))
}

impl<S> Service<Request> for Guarded<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let req = match &self.door.policy {
            Some(policy) => match admit_local(policy, req) {
                Ok(req) => req,
                Err(refusal) => return refuse(refusal.into_response()),
            },
            None => req,
        };
        if body_is_empty(&req) {
            let slot = match take_slot(&self.door.slots, &req) {
                Ok(slot) => slot,
                Err(refusal) => return refuse(refusal.into_response()),
            };
            let response = self.inner.call(req);
            return Box::pin(async move {
                let response = response.await;
                drop(slot);
                response
            });
        }
        // The route is called once the body is in; the copy that was made ready goes along.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let door = self.door.clone();
        Box::pin(async move {
            let req = match read_body(door.max_body_bytes, req).await {
                Ok(req) => req,
                Err(refusal) => return Ok(refusal),
            };
            let _slot = match take_slot(&door.slots, &req) {
                Ok(slot) => slot,
                Err(refusal) => return Ok(refusal.into_response()),
            };
            inner.call(req).await
        })
    }
}
