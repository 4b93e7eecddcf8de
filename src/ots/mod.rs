//! PLACEHOLDER — replaced by the OTS client work. Signatures are the contract.
use crate::error::{Error, Result, UpstreamFailure};
use crate::model::*;
use std::time::Duration;
use url::Url;

#[derive(Debug, Clone)]
pub struct OtsClientConfig {
    pub base_url: Url,
    pub credentials: Option<Credentials>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub read_retries: u32,
    pub retry_backoff: Duration,
}

#[derive(Clone)]
pub struct OtsClient {
    config: std::sync::Arc<OtsClientConfig>,
}

impl OtsClient {
    pub fn new(config: OtsClientConfig) -> Result<Self> {
        Ok(OtsClient {
            config: std::sync::Arc::new(config),
        })
    }
    pub fn has_credentials(&self) -> bool {
        self.config.credentials.is_some()
    }
    pub fn origin(&self) -> String {
        self.config.base_url.origin().ascii_serialization()
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
