//! What answers a v1 request: the gateway (with the caller it is acting for) or the simulator
//! (as the account the request's own Basic auth names). One route table and one set of handlers
//! serve both; only this module and the error dialect know the difference.
//!
//! An enum rather than a trait, like the core's `Upstream`: there are exactly two, and a `match`
//! keeps each handler honest about both without boxing futures.

use axum::extract::{FromRequest, MatchedPath, Request};
use axum::response::{IntoResponse, Response};
use ots_gateway_core::model::{
    Burned, Caller, GenerateRequest, Passphrase, Receipt, ReceiptKey, Revealed, SecretKey,
    ShareRequest, UpstreamStatus,
};
use ots_gateway_core::simulator::{SimulatedUpstream, Simulator};
use ots_gateway_core::{Error, Gateway};

use crate::caller::caller_from_request;
use crate::errors::{ApiError, Dialect};
use crate::params::Params;
use crate::serve::RequestConnection;
use crate::simulate::credentials_from_headers;

/// Router state.
#[derive(Clone)]
pub enum Backend {
    Gateway(Gateway),
    Simulator(Simulator),
}

/// A backend bound to whoever is asking, ready for one operation.
pub enum Ops {
    Gateway { gateway: Gateway, caller: Caller },
    Simulated(SimulatedUpstream),
}

macro_rules! dispatch {
    ($self:ident, $method:ident ( $($arg:expr),* )) => {
        match $self {
            Ops::Gateway { gateway, caller } => gateway.$method(caller $(, $arg)*).await,
            Ops::Simulated(upstream) => upstream.$method($($arg),*),
        }
    };
}

impl Ops {
    pub fn dialect(&self) -> Dialect {
        match self {
            Ops::Gateway { gateway, .. } => Dialect::Gateway {
                team_credentials: gateway.has_team_credentials(),
            },
            Ops::Simulated(_) => Dialect::Ots,
        }
    }

    pub async fn status(&self) -> Result<UpstreamStatus, Error> {
        dispatch!(self, status())
    }
    pub async fn authcheck(&self) -> Result<UpstreamStatus, Error> {
        dispatch!(self, authcheck())
    }
    pub async fn share(&self, request: ShareRequest) -> Result<Receipt, Error> {
        match self {
            Ops::Gateway { gateway, caller } => gateway.share(caller, request).await,
            Ops::Simulated(upstream) => upstream.share(&request),
        }
    }
    pub async fn generate(&self, request: GenerateRequest) -> Result<Receipt, Error> {
        match self {
            Ops::Gateway { gateway, caller } => gateway.generate(caller, request).await,
            Ops::Simulated(upstream) => upstream.generate(&request),
        }
    }
    pub async fn retrieve(
        &self,
        key: &SecretKey,
        passphrase: Option<&Passphrase>,
    ) -> Result<Revealed, Error> {
        dispatch!(self, retrieve(key, passphrase))
    }
    pub async fn receipt(&self, key: &ReceiptKey) -> Result<Receipt, Error> {
        dispatch!(self, receipt(key))
    }
    pub async fn burn(
        &self,
        key: &ReceiptKey,
        passphrase: Option<&Passphrase>,
    ) -> Result<Burned, Error> {
        dispatch!(self, burn(key, passphrase))
    }
    pub async fn recent(&self) -> Result<Vec<Receipt>, Error> {
        dispatch!(self, recent())
    }
}

/// Everything a v1 handler needs: the bound backend, the merged params, and the route pattern
/// for logs.
pub struct Call {
    pub ops: Ops,
    pub params: Params,
    route: Route,
}

/// The route pattern a request matched, for logs. Shares the router's own copy instead of
/// making one per request.
pub struct Route(Option<MatchedPath>);

impl Route {
    pub fn as_str(&self) -> &str {
        self.0.as_ref().map_or("<unmatched>", MatchedPath::as_str)
    }
}

impl Call {
    /// For the v2 handlers, which rebind the backend to v2's behaviour and fail in v2's style.
    pub fn into_parts(self) -> (Ops, Params, Route) {
        (self.ops, self.params, self.route)
    }

    /// Turns a core error into its response, logged once with the route pattern.
    pub fn fail(&self, error: Error, key: Option<&str>) -> Response {
        ApiError::new(error, self.ops.dialect(), self.route.as_str(), key).into_response()
    }
}

impl FromRequest<Backend> for Call {
    type Rejection = Response;

    async fn from_request(req: Request, backend: &Backend) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let route = Route(parts.extensions.get::<MatchedPath>().cloned());
        let ops = bind(backend, &parts);
        // OTS's JSON body parser runs before authentication, so a malformed body is reported
        // even when the credentials are bad too.
        let params = Params::from_request(Request::from_parts(parts, body), backend).await?;
        let ops = ops.map_err(IntoResponse::into_response)?;
        Ok(Call { ops, params, route })
    }
}

fn bind(
    backend: &Backend,
    parts: &http::request::Parts,
) -> Result<Ops, crate::errors::LocalRefusal> {
    match backend {
        Backend::Gateway(gateway) => Ok(Ops::Gateway {
            gateway: gateway.clone(),
            // The client's own `Authorization` is deliberately not read here: the gateway calls
            // OTS with the team's credentials, never with whatever a local client sent.
            caller: caller_from_request(parts)?,
        }),
        Backend::Simulator(simulator) => {
            let credentials = credentials_from_headers(&parts.headers)?;
            let peer = parts
                .extensions
                .get::<RequestConnection>()
                .map(|connection| connection.peer().ip());
            Ok(Ops::Simulated(simulator.as_caller(credentials, peer)))
        }
    }
}
