//! The operations every frontend calls. Each takes who is asking first, so policy (quotas,
//! ownership, allowed operations, audit) has one place to live, and frontends hold none of it.

use tracing::{Instrument, info_span};

use crate::error::Result;
use crate::model::{
    Burned, Caller, GenerateRequest, Passphrase, Receipt, ReceiptKey, Revealed, SecretKey,
    ShareRequest, UpstreamStatus,
};
use crate::upstream::Upstream;

/// A cheap-to-clone handle on the gateway core.
#[derive(Clone)]
pub struct Gateway {
    upstream: Upstream,
}

/// Spans carry the frontend, caller and operation, and at most a key's short id: never a value,
/// passphrase or whole key. Built in one place so a new operation cannot forget the rule.
macro_rules! operation_span {
    ($caller:expr, $op:literal) => {
        info_span!("operation", op = $op, frontend = %$caller.frontend, caller = %$caller.id)
    };
    ($caller:expr, $op:literal, $key:expr) => {
        info_span!("operation", op = $op, frontend = %$caller.frontend, caller = %$caller.id,
            key = %$key.short_id())
    };
}

impl Gateway {
    pub fn new(upstream: Upstream) -> Self {
        Gateway { upstream }
    }

    /// Whether upstream calls use the team's account (as opposed to anonymous OTS use).
    pub fn has_team_credentials(&self) -> bool {
        self.upstream.has_credentials()
    }

    /// Scheme and host of the upstream, for humans.
    pub fn upstream_origin(&self) -> String {
        self.upstream.origin()
    }

    pub async fn status(&self, caller: &Caller) -> Result<UpstreamStatus> {
        self.upstream
            .status()
            .instrument(operation_span!(caller, "status"))
            .await
    }

    pub async fn authcheck(&self, caller: &Caller) -> Result<UpstreamStatus> {
        self.upstream
            .authcheck()
            .instrument(operation_span!(caller, "authcheck"))
            .await
    }

    pub async fn share(&self, caller: &Caller, request: ShareRequest) -> Result<Receipt> {
        self.upstream
            .share(&request)
            .instrument(operation_span!(caller, "share"))
            .await
    }

    pub async fn generate(&self, caller: &Caller, request: GenerateRequest) -> Result<Receipt> {
        self.upstream
            .generate(&request)
            .instrument(operation_span!(caller, "generate"))
            .await
    }

    pub async fn retrieve(
        &self,
        caller: &Caller,
        key: &SecretKey,
        passphrase: Option<&Passphrase>,
    ) -> Result<Revealed> {
        self.upstream
            .retrieve(key, passphrase)
            .instrument(operation_span!(caller, "retrieve", key))
            .await
    }

    pub async fn receipt(&self, caller: &Caller, key: &ReceiptKey) -> Result<Receipt> {
        self.upstream
            .receipt(key)
            .instrument(operation_span!(caller, "receipt", key))
            .await
    }

    pub async fn burn(
        &self,
        caller: &Caller,
        key: &ReceiptKey,
        passphrase: Option<&Passphrase>,
    ) -> Result<Burned> {
        self.upstream
            .burn(key, passphrase)
            .instrument(operation_span!(caller, "burn", key))
            .await
    }

    pub async fn recent(&self, caller: &Caller) -> Result<Vec<Receipt>> {
        self.upstream
            .recent()
            .instrument(operation_span!(caller, "recent"))
            .await
    }
}
