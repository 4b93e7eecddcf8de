//! The operations every frontend calls, and the policy around them.
//!
//! Each operation takes who is asking first and runs the same steps: is the operation allowed for
//! this frontend; does the caller's quota and the shared upstream budget admit it; for a frontend
//! that enforces ownership, did this caller create the receipt; then the upstream call, the
//! ledger update, one audit event and the metrics. Frontends hold none of this.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::task::JoinSet;
use tracing::{Instrument, debug_span};

use crate::error::{Error, LockScope, Result, TEAM_CREDENTIALS_REJECTED};
use crate::ledger::{
    EntryId, LedgerEntry, LedgerError, LedgerHealth, LedgerStore, LedgerWriter, Recorded,
    ResilientLedger,
};
use crate::limits::{Limits, OperationClass, QuotaSettings};
use crate::log_safe::LogSafe;
use crate::metrics::Metrics;
use crate::model::{
    Burned, Caller, CreateOptions, Frontend, GenerateRequest, Operation, Passphrase, Receipt,
    ReceiptKey, ReceiptState, Revealed, SecretKey, ShareRequest, UpstreamStatus,
};
use crate::passphrase_guard::{GuardLimits, PassphraseGuard};
use crate::policy::{FrontendPolicy, Policy, RecentSource};
use crate::readiness::{NotReady, ReadinessCache};
use crate::upstream::Upstream;

/// Audit events go to this `tracing` target, so they can be routed to their own file.
pub const AUDIT_TARGET: &str = "ots_gateway::audit";

/// How often a ledger that failed to write is retried, so receipts kept in memory reach the
/// file soon after it recovers (also on every new receipt, which writes the backlog first).
const LEDGER_RETRY_INTERVAL: Duration = Duration::from_secs(2);

/// Most entries a ledger-backed `recent` returns.
pub const RECENT_LIMIT: usize = 50;

/// Most live entries refreshed from upstream per `recent` call: enough for a person's screen,
/// few enough that one call cannot spend much of the shared upstream budget.
const RECENT_REFRESH_LIMIT: usize = 10;

/// A receipt from the ledger, with the freshest state the gateway could get.
#[derive(Debug, Clone)]
pub struct OwnedReceipt {
    pub entry: LedgerEntry,
    /// The upstream's current view, when it was refreshed for this answer.
    pub receipt: Option<Receipt>,
}

/// What `gateway_status` and `ots-gateway status` report.
#[derive(Debug, Clone)]
pub struct GatewayOverview {
    pub upstream_origin: String,
    /// Which OTS API the client uses, and whether it fell back; `None` for the simulator.
    pub upstream_api: Option<crate::ots::ApiInUse>,
    pub upstream: std::result::Result<UpstreamStatus, String>,
    pub team_account: bool,
    pub quotas: QuotaSettings,
    pub tracked_callers: usize,
    pub ledger_entries: Option<u64>,
}

/// A cheap-to-clone handle on the gateway core.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    upstream: Upstream,
    /// Every frontend's policy, resolved once so each request only looks it up.
    policies: BTreeMap<Frontend, FrontendPolicy>,
    fallback_policy: FrontendPolicy,
    limits: Limits,
    ledger: Arc<ResilientLedger>,
    /// Records new receipts off the async threads; `None` if its thread could not start, in
    /// which case each record runs on the blocking pool instead.
    ledger_writer: Option<LedgerWriter>,
    metrics: Metrics,
    passphrase_guard: PassphraseGuard,
    readiness: ReadinessCache,
}

/// Assembles a [`Gateway`]; policy and quotas default to [`Policy::default`] and no quotas.
pub struct GatewayBuilder {
    upstream: Upstream,
    ledger: Arc<dyn LedgerStore>,
    policy: Policy,
    quotas: QuotaSettings,
}

impl GatewayBuilder {
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    pub fn quotas(mut self, quotas: QuotaSettings) -> Self {
        self.quotas = quotas;
        self
    }

    pub fn build(self) -> Gateway {
        let metrics = Metrics::new();
        if let Ok(count) = self.ledger.count() {
            metrics.set_ledger_entries(count);
        }
        let policies = Frontend::ALL
            .into_iter()
            .map(|frontend| (frontend, self.policy.for_frontend(frontend)))
            .collect();
        let ledger = Arc::new(ResilientLedger::new(self.ledger));
        let ledger_writer = LedgerWriter::start(Arc::clone(&ledger))
            .inspect_err(|error| {
                tracing::warn!(%error, "the ledger writer thread did not start; recording on the blocking pool");
            })
            .ok();
        Gateway {
            inner: Arc::new(Inner {
                upstream: self.upstream,
                policies,
                fallback_policy: FrontendPolicy {
                    allowed_operations: Default::default(),
                    enforce_ownership: true,
                    recent_source: RecentSource::CallerLedger,
                },
                limits: Limits::new(self.quotas),
                ledger,
                ledger_writer,
                metrics,
                passphrase_guard: PassphraseGuard::new(GuardLimits::default()),
                readiness: ReadinessCache::default(),
            }),
        }
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// An attempt that carries a non-empty passphrase, which the upstream counts toward its lockout,
/// keyed for the passphrase guard. `None` for attempts without one.
struct GuardedAttempt {
    key: String,
}

impl GuardedAttempt {
    fn new(passphrase: Option<&Passphrase>, kind: &str, key: &str) -> Option<Self> {
        passphrase
            .filter(|p| !p.expose().is_empty())
            .map(|_| GuardedAttempt {
                key: format!("{kind}:{key}"),
            })
    }
}

/// OTS v1 reports a locked secret only as its catch-all error (docs/passphrase-lockout.md).
/// Seen on an attempt that carried a passphrase, it means the lock.
fn is_upstream_lockout(error: &Error) -> bool {
    matches!(
        error,
        Error::Refused { message, intended_status: Some(400) }
            if message == "An unexpected error occurred :["
    )
}

fn class_of(operation: Operation) -> OperationClass {
    match operation {
        Operation::Share | Operation::Generate => OperationClass::Create,
        Operation::Retrieve => OperationClass::Reveal,
        Operation::Status | Operation::Receipt | Operation::Burn | Operation::Recent => {
            OperationClass::Manage
        }
    }
}

impl Gateway {
    pub fn builder(upstream: Upstream, ledger: Arc<dyn LedgerStore>) -> GatewayBuilder {
        GatewayBuilder {
            upstream,
            ledger,
            policy: Policy::default(),
            quotas: QuotaSettings::default(),
        }
    }

    /// A gateway with the default policy and no quotas.
    pub fn new(upstream: Upstream, ledger: Arc<dyn LedgerStore>) -> Self {
        Gateway::builder(upstream, ledger).build()
    }

    /// Whether upstream calls use the team's account (as opposed to anonymous OTS use).
    pub fn has_team_credentials(&self) -> bool {
        self.inner.upstream.has_credentials()
    }

    /// Scheme and host of the upstream, for humans.
    pub fn upstream_origin(&self) -> String {
        self.inner.upstream.origin()
    }

    pub fn policy_for(&self, caller: &Caller) -> &FrontendPolicy {
        // `build` resolved every frontend in `Frontend::ALL`; one missing from that list gets
        // the fallback, which allows nothing.
        self.inner
            .policies
            .get(&caller.frontend)
            .unwrap_or(&self.inner.fallback_policy)
    }

    /// The listener's metrics, exported with the rest on `/metrics`.
    pub fn listener_metrics(&self) -> crate::metrics::ListenerMetrics {
        self.inner.metrics.listener().clone()
    }

    /// The Prometheus exposition of the gateway's metrics.
    pub fn metrics_text(&self) -> String {
        if let Some(in_use) = self.inner.upstream.api_in_use() {
            self.inner
                .metrics
                .set_upstream_api(in_use.api.map(|api| api.as_str()), in_use.fallbacks);
        }
        self.inner.metrics.encode()
    }

    pub async fn status(&self, caller: &Caller) -> Result<UpstreamStatus> {
        let op = Operation::Status;
        let result = async {
            self.admit(caller, op)?;
            self.timed(op, || self.inner.upstream.status()).await
        }
        .await;
        self.finish(caller, op, None, result)
    }

    pub async fn authcheck(&self, caller: &Caller) -> Result<UpstreamStatus> {
        let op = Operation::Status;
        let result = async {
            self.admit(caller, op)?;
            self.timed(op, || self.inner.upstream.authcheck()).await
        }
        .await;
        self.finish(caller, op, None, result)
    }

    pub async fn share(&self, caller: &Caller, request: ShareRequest) -> Result<Receipt> {
        let call = || self.inner.upstream.share(&request);
        self.create(caller, Operation::Share, &request.options, call)
            .await
    }

    pub async fn generate(&self, caller: &Caller, request: GenerateRequest) -> Result<Receipt> {
        let call = || self.inner.upstream.generate(&request);
        self.create(caller, Operation::Generate, &request.options, call)
            .await
    }

    /// Share and generate: admit, create upstream (`call` is lazy and only runs if admitted),
    /// record the new receipt in the ledger.
    async fn create<F: Future<Output = Result<Receipt>>>(
        &self,
        caller: &Caller,
        op: Operation,
        options: &CreateOptions,
        call: impl FnOnce() -> F,
    ) -> Result<Receipt> {
        let has_passphrase = options.passphrase.is_some();
        let result = async {
            self.admit(caller, op)?;
            // Refused before anything exists upstream: a secret the gateway could not keep
            // track of is worse than one not made.
            if !self.inner.ledger.has_room() {
                tracing::error!(
                    "refusing to create: the ledger is failing and its backlog is full"
                );
                return Err(Error::Ledger);
            }
            let receipt = self.timed(op, call).await?;
            self.record_created(caller, &receipt, has_passphrase).await;
            Ok(receipt)
        }
        .await;
        let short = result
            .as_ref()
            .ok()
            .map(|r| r.metadata_key.short_id().to_owned());
        self.finish(caller, op, short.as_deref(), result)
    }

    pub async fn retrieve(
        &self,
        caller: &Caller,
        key: &SecretKey,
        passphrase: Option<&Passphrase>,
    ) -> Result<Revealed> {
        let op = Operation::Retrieve;
        let guarded = GuardedAttempt::new(passphrase, "secret", key.as_str());
        let result = async {
            self.guard_admit(guarded.as_ref(), caller)?;
            self.admit(caller, op)?;
            let revealed = self
                .timed(op, || self.inner.upstream.retrieve(key, passphrase))
                .await;
            // On v1 a wrong passphrase answers exactly like an unknown secret.
            self.guard_settle(guarded.as_ref(), caller, revealed, |e| {
                matches!(e, Error::UnknownSecret)
            })
        }
        .await;
        let audit_outcome = match (&result, &guarded) {
            (Err(Error::UnknownSecret), Some(_)) => Some("incorrect_passphrase_or_unknown_secret"),
            _ => None,
        };
        self.finish_as(caller, op, Some(key.short_id()), result, audit_outcome)
    }

    pub async fn receipt(&self, caller: &Caller, key: &ReceiptKey) -> Result<Receipt> {
        let op = Operation::Receipt;
        let result = async {
            self.admit(caller, op)?;
            self.check_ownership(caller, key).await?;
            let receipt = self.timed(op, || self.inner.upstream.receipt(key)).await?;
            self.note_state(key, receipt.state.clone()).await;
            Ok(receipt)
        }
        .await;
        self.finish(caller, op, Some(key.short_id()), result)
    }

    pub async fn burn(
        &self,
        caller: &Caller,
        key: &ReceiptKey,
        passphrase: Option<&Passphrase>,
    ) -> Result<Burned> {
        let op = Operation::Burn;
        let guarded = GuardedAttempt::new(passphrase, "receipt", key.as_str());
        let result = async {
            self.guard_admit(guarded.as_ref(), caller)?;
            self.admit(caller, op)?;
            self.check_ownership(caller, key).await?;
            let burned = self
                .timed(op, || self.inner.upstream.burn(key, passphrase))
                .await;
            let burned = self.guard_settle(guarded.as_ref(), caller, burned, |e| {
                matches!(e, Error::IncorrectPassphrase)
            })?;
            self.note_burned_by_owner(key).await;
            Ok(burned)
        }
        .await;
        self.finish(caller, op, Some(key.short_id()), result)
    }

    fn guard_admit(&self, guarded: Option<&GuardedAttempt>, caller: &Caller) -> Result<()> {
        match guarded {
            Some(attempt) => {
                self.inner
                    .passphrase_guard
                    .admit(&attempt.key, caller, Instant::now())
            }
            None => Ok(()),
        }
    }

    /// Counts a wrong passphrase, forgets the secret once the right one worked, and names the
    /// upstream's own lock for what it is (v1 shows it only as its catch-all error).
    fn guard_settle<T>(
        &self,
        guarded: Option<&GuardedAttempt>,
        caller: &Caller,
        result: Result<T>,
        is_wrong_passphrase: impl Fn(&Error) -> bool,
    ) -> Result<T> {
        let Some(attempt) = guarded else {
            return result;
        };
        let guard = &self.inner.passphrase_guard;
        match result {
            Ok(value) => {
                guard.forget(&attempt.key);
                Ok(value)
            }
            Err(error) if is_wrong_passphrase(&error) => {
                guard.record_failure(&attempt.key, caller, Instant::now());
                Err(error)
            }
            Err(error) if is_upstream_lockout(&error) => Err(Error::PassphraseLocked {
                scope: LockScope::Upstream,
                retry_after: None,
            }),
            Err(error) => Err(error),
        }
    }

    /// OTS's `recent`, per the frontend's [`RecentSource`]: the team account's list from
    /// upstream, or the caller's own receipts from the ledger, rendered as receipts.
    pub async fn recent(&self, caller: &Caller) -> Result<Vec<Receipt>> {
        let op = Operation::Recent;
        let from_upstream = self.policy_for(caller).recent_source == RecentSource::UpstreamAccount
            && self.has_team_credentials();
        let result = async {
            self.admit(caller, op)?;
            if from_upstream {
                return self.timed(op, || self.inner.upstream.recent()).await;
            }
            let now = unix_now();
            let entries = self.caller_entries(caller).await?;
            Ok(entries
                .iter()
                .map(|entry| entry_as_receipt(entry, now))
                .collect())
        }
        .await;
        self.finish(caller, op, None, result)
    }

    /// The caller's own receipts from the ledger, newest first, the live ones refreshed from
    /// upstream (as far as the upstream budget allows).
    pub async fn owned_recent(&self, caller: &Caller) -> Result<Vec<OwnedReceipt>> {
        let op = Operation::Recent;
        let result = async {
            self.admit(caller, op)?;
            let entries = self.caller_entries(caller).await?;
            Ok(self.refresh(entries).await)
        }
        .await;
        self.finish(caller, op, None, result)
    }

    /// The ledger entry recording a receipt this caller created, found by its metadata key. No
    /// upstream call and no quota: frontends use it right after `share` or `generate` to name
    /// the new receipt by its opaque id (Discord's Burn button).
    pub async fn entry_for(&self, caller: &Caller, key: &ReceiptKey) -> Result<LedgerEntry> {
        let lookup = key.clone();
        match self
            .with_ledger(move |ledger| ledger.by_metadata_key(&lookup))
            .await?
        {
            Some(entry) if entry.is_owned_by(caller) => Ok(entry),
            _ => Err(Error::NotOwned),
        }
    }

    /// One of the caller's receipts by its ledger id, refreshed from upstream.
    pub async fn owned_entry(&self, caller: &Caller, id: &EntryId) -> Result<OwnedReceipt> {
        let op = Operation::Receipt;
        let result = async {
            self.admit(caller, op)?;
            let entry = self.owned_by_id(caller, id).await?;
            let mut refreshed = self.refresh(vec![entry]).await;
            refreshed.pop().ok_or(Error::NotOwned)
        }
        .await;
        self.finish(caller, op, None, result)
    }

    /// Burns one of the caller's receipts, named by its ledger id (frontends that never show
    /// metadata keys, such as Discord buttons).
    pub async fn burn_entry(
        &self,
        caller: &Caller,
        id: &EntryId,
        passphrase: Option<&Passphrase>,
    ) -> Result<Burned> {
        let op = Operation::Burn;
        let result = async {
            self.admit(caller, op)?;
            let entry = self.owned_by_id(caller, id).await?;
            let key = entry.metadata_key;
            let burned = self
                .timed(op, || self.inner.upstream.burn(&key, passphrase))
                .await?;
            self.note_burned_by_owner(&key).await;
            Ok(burned)
        }
        .await;
        self.finish(caller, op, None, result)
    }

    /// Whether the gateway is ready: its ledger is writing and the upstream answers. A gateway
    /// whose ledger fails still answers, but keeps receipts in memory only, which an operator
    /// must hear about. Spends no quota and writes no audit event.
    pub async fn readiness(&self) -> std::result::Result<UpstreamStatus, NotReady> {
        let ledger = self.ledger_health();
        if !ledger.is_healthy() {
            return Err(ledger.to_string());
        }
        self.upstream_readiness().await
    }

    /// Whether the upstream answers. Answers are cached briefly (see [`crate::readiness`]).
    async fn upstream_readiness(&self) -> std::result::Result<UpstreamStatus, NotReady> {
        let team_credentials = self.has_team_credentials();
        self.inner
            .readiness
            .get_or_probe(
                self.timed(Operation::Status, || self.inner.upstream.status()),
                |error| match error {
                    Error::NotAuthorized if team_credentials => {
                        TEAM_CREDENTIALS_REJECTED.to_owned()
                    }
                    other => other.to_string(),
                },
            )
            .await
    }

    /// Reachability, account mode and quota settings, for status displays. Like
    /// [`Gateway::readiness`], whose answer it shares, it spends no quota.
    pub async fn overview(&self) -> GatewayOverview {
        let upstream = self.upstream_readiness().await;
        let ledger_entries = self.with_ledger(|ledger| ledger.count()).await.ok();
        GatewayOverview {
            upstream_origin: self.upstream_origin(),
            upstream_api: self.inner.upstream.api_in_use(),
            upstream,
            team_account: self.has_team_credentials(),
            quotas: self.inner.limits.settings().clone(),
            tracked_callers: self.inner.limits.tracked_callers(),
            ledger_entries,
        }
    }

    /// Periodic upkeep: forgets idle quota state and prunes ledger entries whose receipts can no
    /// longer exist upstream. Runs until the task is dropped or aborted.
    pub async fn run_maintenance(&self, every: Duration) {
        let mut upkeep = tokio::time::interval(every);
        let mut ledger_retry = tokio::time::interval(LEDGER_RETRY_INTERVAL);
        loop {
            tokio::select! {
                _ = upkeep.tick() => self.upkeep().await,
                _ = ledger_retry.tick() => {
                    if !self.ledger_health().is_healthy() {
                        self.write_ledger_backlog().await;
                    }
                }
            }
        }
    }

    async fn upkeep(&self) {
        self.inner.limits.forget_idle_callers();
        self.write_ledger_backlog().await;
        let now = unix_now();
        match self.with_ledger(move |ledger| ledger.prune(now)).await {
            Ok(pruned) if pruned > 0 => tracing::info!(pruned, "pruned expired ledger entries"),
            Ok(_) => {}
            Err(_) => {}
        }
        if let Ok(count) = self.with_ledger(|ledger| ledger.count()).await {
            self.inner.metrics.set_ledger_entries(count);
        }
    }

    /// Whether every acknowledged receipt is in the ledger's store, for readiness checks and
    /// for frontends to warn that a list may be missing entries.
    pub fn ledger_health(&self) -> LedgerHealth {
        self.inner.ledger.health()
    }

    async fn write_ledger_backlog(&self) {
        match self.with_ledger(|ledger| ledger.flush()).await {
            Ok(written) if written > 0 => {
                tracing::info!(
                    written,
                    "ledger recovered: wrote the receipts kept in memory"
                );
                self.inner.metrics.ledger_entries_recovered(written);
            }
            Ok(_) | Err(_) => {}
        }
        self.inner.metrics.set_ledger_health(&self.ledger_health());
    }

    fn admit(&self, caller: &Caller, operation: Operation) -> Result<()> {
        if !self.policy_for(caller).allows(operation) {
            return Err(Error::NotAllowed { operation });
        }
        self.inner.limits.admit(caller, class_of(operation))
    }

    /// Runs the upstream call `call` makes, timed. A closure rather than the future itself: an
    /// async fn keeps its arguments beside what it awaits, so a future passed in was held twice
    /// (a status request's went from 900 bytes to 1 900 here) and each layer above moved both.
    async fn timed<T, F: Future<Output = Result<T>>>(
        &self,
        operation: Operation,
        call: impl FnOnce() -> F,
    ) -> Result<T> {
        let started = Instant::now();
        // At `debug` for the reason given at the REST request span. When it is off (the usual
        // case) the call is awaited bare: wrapping it would move the call's future once more.
        let span = debug_span!("upstream", op = %operation);
        let result = if span.is_disabled() {
            call().await
        } else {
            call().instrument(span).await
        };
        self.inner
            .metrics
            .observe_upstream(operation, started.elapsed());
        result
    }

    /// Records the outcome once: metrics and one audit event. Keys appear as short ids only.
    fn finish<T>(
        &self,
        caller: &Caller,
        operation: Operation,
        short_id: Option<&str>,
        result: Result<T>,
    ) -> Result<T> {
        self.finish_as(caller, operation, short_id, result, None)
    }

    /// [`Self::finish`], with the audit outcome said more precisely than the error's kind where
    /// the gateway knows more than the error can carry.
    fn finish_as<T>(
        &self,
        caller: &Caller,
        operation: Operation,
        short_id: Option<&str>,
        result: Result<T>,
        audit_outcome: Option<&'static str>,
    ) -> Result<T> {
        let outcome = result.as_ref().map(|_| ());
        self.inner
            .metrics
            .record_outcome(caller.frontend, operation, outcome);
        let outcome = match &result {
            Ok(_) => "ok",
            Err(error) => audit_outcome.unwrap_or_else(|| error.kind()),
        };
        tracing::info!(
            target: AUDIT_TARGET,
            // Plain strings, not `%` values: they skip the formatting machinery on every line.
            frontend = caller.frontend.as_str(),
            caller = %LogSafe(&caller.id),
            operation = operation.as_str(),
            outcome,
            key = short_id.unwrap_or(""),
            "audit"
        );
        result
    }

    /// Runs a blocking ledger call off the async threads. Failures are logged here, with their
    /// cause, because [`Error::Ledger`] deliberately carries none.
    async fn with_ledger<T: Send + 'static>(
        &self,
        call: impl FnOnce(&ResilientLedger) -> std::result::Result<T, LedgerError> + Send + 'static,
    ) -> Result<T> {
        let ledger = Arc::clone(&self.inner.ledger);
        match tokio::task::spawn_blocking(move || call(&ledger)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                tracing::error!(%error, "ledger operation failed");
                Err(Error::Ledger)
            }
            Err(join_error) => {
                tracing::error!(%join_error, "ledger task did not finish");
                Err(Error::Ledger)
            }
        }
    }

    /// A secret that exists upstream must not be lost because the ledger failed: the caller
    /// still gets the receipt, and an entry the store could not write waits in the ledger's
    /// backlog (logged there, and shown by [`Gateway::ledger_health`]).
    async fn record_created(&self, caller: &Caller, receipt: &Receipt, has_passphrase: bool) {
        let entry = LedgerEntry::new_receipt(
            caller,
            receipt.metadata_key.clone(),
            receipt.secret_key.clone(),
            receipt.created,
            receipt.ttl,
            has_passphrase,
        );
        let recorded = match &self.inner.ledger_writer {
            Some(writer) => writer.record(entry).await.map_err(|error| {
                tracing::error!(%error, "ledger operation failed");
                Error::Ledger
            }),
            None => self.with_ledger(move |ledger| ledger.record(entry)).await,
        };
        if let Ok(Recorded::Committed | Recorded::Deferred) = recorded {
            self.inner.metrics.ledger_entry_added();
        }
        self.inner.metrics.set_ledger_health(&self.ledger_health());
    }

    async fn note_state(&self, key: &ReceiptKey, state: ReceiptState) {
        let key = key.clone();
        let now = unix_now();
        // A stale or unknown entry is normal (receipts made elsewhere); failures are logged.
        let _ = self
            .with_ledger(move |ledger| ledger.update_state(&key, state, now))
            .await;
    }

    /// A burn through the gateway was asked for by the receipt's owner (or, on REST, by whoever
    /// holds its key), who already knows: no read receipt follows.
    async fn note_burned_by_owner(&self, key: &ReceiptKey) {
        self.note_state(key, ReceiptState::Burned).await;
        let _ = self.mark_announced(key, ReceiptState::Burned).await;
    }

    async fn check_ownership(&self, caller: &Caller, key: &ReceiptKey) -> Result<()> {
        if !self.policy_for(caller).enforce_ownership {
            return Ok(());
        }
        let lookup = key.clone();
        match self
            .with_ledger(move |ledger| ledger.by_metadata_key(&lookup))
            .await?
        {
            Some(entry) if entry.is_owned_by(caller) => Ok(()),
            _ => Err(Error::NotOwned),
        }
    }

    async fn owned_by_id(&self, caller: &Caller, id: &EntryId) -> Result<LedgerEntry> {
        let lookup = id.clone();
        match self
            .with_ledger(move |ledger| ledger.by_id(&lookup))
            .await?
        {
            Some(entry) if entry.is_owned_by(caller) => Ok(entry),
            _ => Err(Error::NotOwned),
        }
    }

    async fn caller_entries(&self, caller: &Caller) -> Result<Vec<LedgerEntry>> {
        let frontend = caller.frontend;
        let id = caller.id.clone();
        self.with_ledger(move |ledger| ledger.recent(frontend, &id, RECENT_LIMIT))
            .await
    }

    /// Asks upstream for the current state of up to [`RECENT_REFRESH_LIMIT`] live entries, in
    /// parallel, and records what it learns. Entries it cannot refresh keep their last state.
    async fn refresh(&self, entries: Vec<LedgerEntry>) -> Vec<OwnedReceipt> {
        let now = unix_now();
        let mut lookups = JoinSet::new();
        for (index, entry) in entries.iter().enumerate() {
            let live = entry.state.is_live() && entry.receipt_expires > now;
            if !live || lookups.len() >= RECENT_REFRESH_LIMIT {
                continue;
            }
            if self.inner.limits.admit_upstream_call().is_err() {
                break;
            }
            let gateway = self.clone();
            let key = entry.metadata_key.clone();
            lookups.spawn(async move {
                let fresh = gateway
                    .timed(Operation::Receipt, || gateway.inner.upstream.receipt(&key))
                    .await;
                (index, fresh)
            });
        }
        let mut owned: Vec<OwnedReceipt> = entries
            .into_iter()
            .map(|entry| OwnedReceipt {
                entry,
                receipt: None,
            })
            .collect();
        while let Some(joined) = lookups.join_next().await {
            let Ok((index, fresh)) = joined else { continue };
            let Some(item) = owned.get_mut(index) else {
                continue;
            };
            match fresh {
                Ok(receipt) => {
                    item.entry.state = receipt.state.clone();
                    self.note_state(&item.entry.metadata_key, receipt.state.clone())
                        .await;
                    item.receipt = Some(receipt);
                }
                // Gone upstream: its receipt expired or was never there under these credentials.
                Err(Error::UnknownSecret) => {
                    item.entry.state = ReceiptState::Expired;
                    self.note_state(&item.entry.metadata_key, ReceiptState::Expired)
                        .await;
                }
                Err(_) => {}
            }
        }
        owned
    }
}

/// A ledger entry in the shape of an OTS `recent` item (which carries no secret key or value).
fn entry_as_receipt(entry: &LedgerEntry, now: i64) -> Receipt {
    let secs = |value: i64| u64::try_from(value.max(0)).unwrap_or(0);
    Receipt {
        custid: "anon".to_owned(),
        metadata_key: entry.metadata_key.clone(),
        secret_key: None,
        ttl: secs(entry.secret_expires - entry.created),
        metadata_ttl: secs(entry.receipt_expires - now),
        secret_ttl: None,
        metadata_url: None,
        state: entry.state.clone(),
        created: entry.created,
        updated: entry.state_updated,
        received: None,
        recipients: Vec::new(),
        share_domain: String::new(),
        passphrase_required: None,
        value: None,
        share_url: None,
    }
}

pub mod report;
#[cfg(test)]
mod tests;
mod watch;

pub(crate) use watch::PollOutcome;
