//! The seam between the gateway and whatever plays the OTS server: the real one over HTTP, or the
//! in-memory simulator. An enum rather than a trait object: there are exactly two, and a `match`
//! keeps every call site honest about both.

use crate::error::Result;
use crate::model::{
    Burned, GenerateRequest, Passphrase, Receipt, ReceiptKey, Revealed, SecretKey, ShareRequest,
    UpstreamStatus,
};
use crate::ots::OtsClient;
use crate::simulator::SimulatedUpstream;

#[derive(Clone)]
pub enum Upstream {
    Ots(OtsClient),
    Simulated(SimulatedUpstream),
}

macro_rules! dispatch {
    ($self:ident, $method:ident ( $($arg:expr),* )) => {
        match $self {
            Upstream::Ots(client) => client.$method($($arg),*).await,
            Upstream::Simulated(sim) => sim.$method($($arg),*).await,
        }
    };
}

impl Upstream {
    /// Whether calls go out under the team's account rather than anonymously.
    pub fn has_credentials(&self) -> bool {
        match self {
            Upstream::Ots(client) => client.has_credentials(),
            Upstream::Simulated(sim) => sim.has_credentials(),
        }
    }

    /// Scheme and host of the upstream, for humans (`status` output, startup log). No path.
    pub fn origin(&self) -> String {
        match self {
            Upstream::Ots(client) => client.origin(),
            Upstream::Simulated(sim) => sim.origin(),
        }
    }

    pub async fn status(&self) -> Result<UpstreamStatus> {
        dispatch!(self, status())
    }
    pub async fn authcheck(&self) -> Result<UpstreamStatus> {
        dispatch!(self, authcheck())
    }
    pub async fn share(&self, request: &ShareRequest) -> Result<Receipt> {
        dispatch!(self, share(request))
    }
    pub async fn generate(&self, request: &GenerateRequest) -> Result<Receipt> {
        dispatch!(self, generate(request))
    }
    pub async fn retrieve(
        &self,
        key: &SecretKey,
        passphrase: Option<&Passphrase>,
    ) -> Result<Revealed> {
        dispatch!(self, retrieve(key, passphrase))
    }
    pub async fn receipt(&self, key: &ReceiptKey) -> Result<Receipt> {
        dispatch!(self, receipt(key))
    }
    pub async fn burn(&self, key: &ReceiptKey, passphrase: Option<&Passphrase>) -> Result<Burned> {
        dispatch!(self, burn(key, passphrase))
    }
    pub async fn recent(&self) -> Result<Vec<Receipt>> {
        dispatch!(self, recent())
    }
}
