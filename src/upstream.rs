//! The seam between the gateway and whatever plays the OTS server: the real one over HTTP, or the
//! in-memory simulator.
//!
//! [`UpstreamApi`] is the contract both implement; the compiler checks each against it. The
//! [`Upstream`] enum holds one of them: there are exactly two, and an enum keeps the futures
//! unboxed and every call site honest about both, where a trait object could not (its methods
//! return `impl Future`).

use std::future::Future;

use crate::error::Result;
use crate::model::{
    Burned, GenerateRequest, Passphrase, Receipt, ReceiptKey, Revealed, SecretKey, ShareRequest,
    UpstreamStatus,
};
use crate::ots::{ApiInUse, OtsClient};
use crate::simulator::SimulatedUpstream;

/// What the gateway needs from an OTS server, in API-neutral model types. Writes (share,
/// generate, retrieve, burn) must be sent at most once by an implementation: the first attempt
/// may have taken effect.
pub trait UpstreamApi {
    /// Whether calls go out under the team's account rather than anonymously.
    fn has_credentials(&self) -> bool;
    /// Scheme and host of the upstream, for humans (`status` output, startup log). No path.
    fn origin(&self) -> String;
    fn status(&self) -> impl Future<Output = Result<UpstreamStatus>> + Send;
    /// Whether the credentials are accepted.
    fn authcheck(&self) -> impl Future<Output = Result<UpstreamStatus>> + Send;
    fn share(&self, request: &ShareRequest) -> impl Future<Output = Result<Receipt>> + Send;
    fn generate(&self, request: &GenerateRequest) -> impl Future<Output = Result<Receipt>> + Send;
    /// Reveals, and thereby destroys, the secret.
    fn retrieve(
        &self,
        key: &SecretKey,
        passphrase: Option<&Passphrase>,
    ) -> impl Future<Output = Result<Revealed>> + Send;
    fn receipt(&self, key: &ReceiptKey) -> impl Future<Output = Result<Receipt>> + Send;
    fn burn(
        &self,
        key: &ReceiptKey,
        passphrase: Option<&Passphrase>,
    ) -> impl Future<Output = Result<Burned>> + Send;
    /// The account's receipts of the last 30 days, oldest first.
    fn recent(&self) -> impl Future<Output = Result<Vec<Receipt>>> + Send;
}

// Each implementation forwards to the type's own methods (inherent methods win over trait ones
// in `Type::method` paths), so the trait adds a checked contract, not a second implementation.
// `$future` turns a call of the type's method into the contract's future: the OTS client's
// methods are async already; the simulator's are plain functions (it never waits), so their call
// is wrapped in a future that makes it when first polled, as an async method would.
macro_rules! implement_upstream_api {
    ($ty:ty, $future:ident) => {
        impl UpstreamApi for $ty {
            fn has_credentials(&self) -> bool {
                <$ty>::has_credentials(self)
            }
            fn origin(&self) -> String {
                <$ty>::origin(self)
            }
            fn status(&self) -> impl Future<Output = Result<UpstreamStatus>> + Send {
                $future!(<$ty>::status(self))
            }
            fn authcheck(&self) -> impl Future<Output = Result<UpstreamStatus>> + Send {
                $future!(<$ty>::authcheck(self))
            }
            fn share(
                &self,
                request: &ShareRequest,
            ) -> impl Future<Output = Result<Receipt>> + Send {
                $future!(<$ty>::share(self, request))
            }
            fn generate(
                &self,
                request: &GenerateRequest,
            ) -> impl Future<Output = Result<Receipt>> + Send {
                $future!(<$ty>::generate(self, request))
            }
            fn retrieve(
                &self,
                key: &SecretKey,
                passphrase: Option<&Passphrase>,
            ) -> impl Future<Output = Result<Revealed>> + Send {
                $future!(<$ty>::retrieve(self, key, passphrase))
            }
            fn receipt(&self, key: &ReceiptKey) -> impl Future<Output = Result<Receipt>> + Send {
                $future!(<$ty>::receipt(self, key))
            }
            fn burn(
                &self,
                key: &ReceiptKey,
                passphrase: Option<&Passphrase>,
            ) -> impl Future<Output = Result<Burned>> + Send {
                $future!(<$ty>::burn(self, key, passphrase))
            }
            fn recent(&self) -> impl Future<Output = Result<Vec<Receipt>>> + Send {
                $future!(<$ty>::recent(self))
            }
        }
    };
}

macro_rules! already_a_future {
    ($call:expr) => {
        $call
    };
}

macro_rules! made_when_polled {
    ($call:expr) => {
        async move { $call }
    };
}

implement_upstream_api!(OtsClient, already_a_future);
implement_upstream_api!(SimulatedUpstream, made_when_polled);

#[derive(Clone)]
pub enum Upstream {
    Ots(OtsClient),
    Simulated(SimulatedUpstream),
}

/// Calls one [`UpstreamApi`] method on whichever upstream this is (awaiting it when asked).
macro_rules! through_contract {
    ($self:ident, $method:ident ( $($arg:expr),* )) => {
        match $self {
            Upstream::Ots(client) => UpstreamApi::$method(client $(, $arg)*),
            Upstream::Simulated(sim) => UpstreamApi::$method(sim $(, $arg)*),
        }
    };
    ($self:ident, $method:ident ( $($arg:expr),* ).await) => {
        match $self {
            Upstream::Ots(client) => UpstreamApi::$method(client $(, $arg)*).await,
            Upstream::Simulated(sim) => UpstreamApi::$method(sim $(, $arg)*).await,
        }
    };
}

impl Upstream {
    pub fn has_credentials(&self) -> bool {
        through_contract!(self, has_credentials())
    }

    pub fn origin(&self) -> String {
        through_contract!(self, origin())
    }

    /// Which OTS API the client is configured for and using; `None` for the simulator, which
    /// is called in-process in model types.
    pub fn api_in_use(&self) -> Option<ApiInUse> {
        match self {
            Upstream::Ots(client) => Some(client.api_in_use()),
            Upstream::Simulated(_) => None,
        }
    }

    pub async fn status(&self) -> Result<UpstreamStatus> {
        through_contract!(self, status().await)
    }
    pub async fn authcheck(&self) -> Result<UpstreamStatus> {
        through_contract!(self, authcheck().await)
    }
    pub async fn share(&self, request: &ShareRequest) -> Result<Receipt> {
        through_contract!(self, share(request).await)
    }
    pub async fn generate(&self, request: &GenerateRequest) -> Result<Receipt> {
        through_contract!(self, generate(request).await)
    }
    pub async fn retrieve(
        &self,
        key: &SecretKey,
        passphrase: Option<&Passphrase>,
    ) -> Result<Revealed> {
        through_contract!(self, retrieve(key, passphrase).await)
    }
    pub async fn receipt(&self, key: &ReceiptKey) -> Result<Receipt> {
        through_contract!(self, receipt(key).await)
    }
    pub async fn burn(&self, key: &ReceiptKey, passphrase: Option<&Passphrase>) -> Result<Burned> {
        through_contract!(self, burn(key, passphrase).await)
    }
    pub async fn recent(&self) -> Result<Vec<Receipt>> {
        through_contract!(self, recent().await)
    }
}
