//! PLACEHOLDER — replaced by the simulator work. Signatures are the contract.
use crate::error::{Error, Result, UpstreamFailure};
use crate::model::*;
use std::net::IpAddr;
use url::Url;

#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    pub base_url: Url,
}

#[derive(Clone)]
pub struct Simulator {
    config: std::sync::Arc<SimulatorConfig>,
}

impl Simulator {
    pub fn new(config: SimulatorConfig) -> Self {
        Simulator {
            config: std::sync::Arc::new(config),
        }
    }
    pub fn add_account(&self, _credentials: &Credentials) {}
    pub fn as_caller(
        &self,
        credentials: Option<Credentials>,
        _client_ip: Option<IpAddr>,
    ) -> SimulatedUpstream {
        SimulatedUpstream {
            sim: self.clone(),
            credentials,
        }
    }
}

#[derive(Clone)]
pub struct SimulatedUpstream {
    sim: Simulator,
    credentials: Option<Credentials>,
}

impl SimulatedUpstream {
    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }
    pub fn origin(&self) -> String {
        self.sim.config.base_url.origin().ascii_serialization()
    }
    pub async fn status(&self) -> Result<UpstreamStatus> {
        Err(Error::Upstream(UpstreamFailure::Network))
    }
    pub async fn authcheck(&self) -> Result<UpstreamStatus> {
        Err(Error::Upstream(UpstreamFailure::Network))
    }
    pub async fn share(&self, _r: &ShareRequest) -> Result<Receipt> {
        Err(Error::Upstream(UpstreamFailure::Network))
    }
    pub async fn generate(&self, _r: &GenerateRequest) -> Result<Receipt> {
        Err(Error::Upstream(UpstreamFailure::Network))
    }
    pub async fn retrieve(&self, _k: &SecretKey, _p: Option<&Passphrase>) -> Result<Revealed> {
        Err(Error::Upstream(UpstreamFailure::Network))
    }
    pub async fn receipt(&self, _k: &ReceiptKey) -> Result<Receipt> {
        Err(Error::Upstream(UpstreamFailure::Network))
    }
    pub async fn burn(&self, _k: &ReceiptKey, _p: Option<&Passphrase>) -> Result<Burned> {
        Err(Error::Upstream(UpstreamFailure::Network))
    }
    pub async fn recent(&self) -> Result<Vec<Receipt>> {
        Err(Error::Upstream(UpstreamFailure::Network))
    }
}
