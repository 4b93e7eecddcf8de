//! The simulator's state and every operation on it. Each operation runs start to finish under
//! the one store lock (see `Simulator::lock`), which is what makes reveal and burn atomic.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, RateLimitScope, Result};
use crate::model::{
    Burned, Credentials, Passphrase, Receipt, ReceiptKey, ReceiptState, Revealed, SecretKey,
    SecretText,
};

use super::clock::UnixTime;
use super::keys;
use super::limits::{Event, IpRateWindows, PassphraseGuard};
use super::rules::{self, Draft};
use super::{SimApi, SimulatorConfig};

/// How often a call also sweeps out everything expired. Lazy expiry alone would keep secrets
/// nobody ever asks about again until the capacity check forces a sweep.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// A generated password is shown once on a receipt view, and only within this age.
const GENERATED_DISPLAY_WINDOW: Duration = Duration::from_secs(60);
/// `recent` lists the last 30 days.
const RECENT_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);
/// Key collisions at 62 base36 characters are astronomically unlikely; this only bounds a loop.
const KEY_ATTEMPTS: usize = 4;

/// Who is calling, once authenticated.
pub(crate) struct Actor {
    /// The account email; `None` for an anonymous caller.
    pub email: Option<String>,
    pub ip: Option<IpAddr>,
}

impl Actor {
    fn custid(&self) -> String {
        self.email.clone().unwrap_or_else(|| "anon".to_owned())
    }
}

/// Everything an operation needs besides the store.
pub(crate) struct Ctx<'a> {
    pub api: SimApi,
    pub now: UnixTime,
    pub actor: &'a Actor,
    pub config: &'a SimulatorConfig,
    /// The base URL without a trailing slash, for `metadata_url` and `share_url`.
    pub base: &'a str,
    /// Scheme, host and port, which a reveal reports as `share_domain`.
    pub origin: &'a str,
}

struct SecretRecord {
    value: SecretText,
    // Kept as the redacting, zeroize-on-drop `Passphrase` rather than hashed: the value beside it
    // is plaintext in the same memory anyway, so a hash would add a dependency and no safety.
    // What matters is that comparing against it is fixed-time (`keys::fixed_time_eq`).
    passphrase: Option<Passphrase>,
    metadata_key: ReceiptKey,
    expires_at: UnixTime,
    guard: PassphraseGuard,
}

struct ReceiptRecord {
    owner: Option<String>,
    metadata_key: ReceiptKey,
    secret_key: SecretKey,
    ttl: u64,
    created: UnixTime,
    updated: UnixTime,
    expires_at: UnixTime,
    secret_expires_at: UnixTime,
    state: ReceiptState,
    received: Option<UnixTime>,
    recipients: Vec<String>,
    has_passphrase: bool,
    generated: bool,
    value_claimed: bool,
    /// Creation order, to keep `recent` stable when two receipts share a timestamp.
    seq: u64,
}

/// Whether a presented passphrase opens a secret.
enum Gate {
    Open,
    Missing,
    Wrong,
}

fn gate(stored: Option<&Passphrase>, given: Option<&Passphrase>) -> Gate {
    let Some(stored) = stored else {
        return Gate::Open;
    };
    match rules::given_passphrase(given) {
        None => Gate::Missing,
        Some(given)
            if keys::fixed_time_eq(stored.expose().as_bytes(), given.expose().as_bytes()) =>
        {
            Gate::Open
        }
        Some(_) => Gate::Wrong,
    }
}

/// v1 reports a locked secret as its unexpected error; v2 answers 429 with the time left.
fn locked_out(api: SimApi, wait: Duration) -> Error {
    match api {
        SimApi::V1 => rules::unexpected(),
        SimApi::V2 => Error::RateLimited {
            scope: RateLimitScope::Upstream,
            retry_after: Some(wait),
        },
    }
}

fn secs_left(until: UnixTime, now: UnixTime) -> u64 {
    until.saturating_sub(now).as_secs()
}

fn unix(t: UnixTime) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

#[derive(Default)]
pub(crate) struct Store {
    /// Who may call, and how often: username to API token, and the anonymous rate windows.
    accounts: HashMap<String, SecretString>,
    rate_windows: IpRateWindows,
    /// What was made.
    receipts: HashMap<ReceiptKey, ReceiptRecord>,
    secrets: HashMap<SecretKey, SecretRecord>,
    /// Creation order, so `recent` keeps secrets made in the same second in the order made.
    next_seq: u64,
    last_sweep: UnixTime,
}

impl Store {
    pub(crate) fn with_room_for(entries: usize) -> Self {
        Store {
            receipts: HashMap::with_capacity(entries),
            secrets: HashMap::with_capacity(entries),
            ..Store::default()
        }
    }

    pub(crate) fn add_account(&mut self, credentials: &Credentials) {
        self.accounts
            .insert(credentials.username.clone(), credentials.api_key.clone());
    }

    /// `Ok(None)` for anonymous callers. Present-but-wrong credentials are refused outright,
    /// the same way for every cause, so usernames cannot be enumerated.
    pub(crate) fn authenticate(&self, credentials: Option<&Credentials>) -> Result<Option<String>> {
        let Some(credentials) = credentials else {
            return Ok(None);
        };
        let token = credentials.api_key.expose_secret();
        if credentials.username.is_empty() || token.is_empty() {
            return Err(Error::NotAuthorized);
        }
        match self.accounts.get(&credentials.username) {
            Some(stored)
                if keys::fixed_time_eq(stored.expose_secret().as_bytes(), token.as_bytes()) =>
            {
                Ok(Some(credentials.username.clone()))
            }
            _ => Err(Error::NotAuthorized),
        }
    }

    pub(crate) fn maybe_sweep(&mut self, now: UnixTime) {
        if now >= self.last_sweep + SWEEP_INTERVAL {
            self.sweep(now);
        }
    }

    fn sweep(&mut self, now: UnixTime) {
        let (secrets, receipts) = (self.secrets.len(), self.receipts.len());
        self.secrets.retain(|_, s| now < s.expires_at);
        self.receipts.retain(|_, r| now < r.expires_at);
        self.rate_windows.sweep(now);
        self.last_sweep = now;
        tracing::debug!(
            secrets_dropped = secrets - self.secrets.len(),
            receipts_dropped = receipts - self.receipts.len(),
            "simulator sweep"
        );
    }

    /// Counts an anonymous create or reveal against the caller's IP; accounts are exempt.
    pub(crate) fn admit(&mut self, ctx: &Ctx<'_>, event: Event) -> Result<()> {
        // v2 has no request-rate limiter of its own; only the passphrase lockout applies.
        if ctx.actor.email.is_some() || ctx.api == SimApi::V2 {
            return Ok(());
        }
        let cap = match event {
            Event::Create => ctx.config.anonymous_create_limit,
            Event::Reveal => ctx.config.anonymous_reveal_limit,
        };
        if self.rate_windows.admit(event, ctx.actor.ip, cap, ctx.now) {
            Ok(())
        } else {
            Err(Error::RateLimited {
                scope: RateLimitScope::Upstream,
                retry_after: None,
            })
        }
    }

    /// Stores a new secret and its receipt, and returns the receipt as `/share` shows it.
    pub(crate) fn create(
        &mut self,
        ctx: &Ctx<'_>,
        draft: Draft,
        value: SecretText,
        generated: bool,
    ) -> Result<Receipt> {
        self.make_room(ctx)?;
        let (metadata_key, secret_key) = self.fresh_keys()?;
        let ttl = Duration::from_secs(draft.ttl);
        let has_passphrase = draft.passphrase.is_some();
        self.secrets.insert(
            secret_key.clone(),
            SecretRecord {
                value,
                passphrase: draft.passphrase,
                metadata_key: metadata_key.clone(),
                expires_at: ctx.now + ttl,
                guard: PassphraseGuard::default(),
            },
        );
        self.next_seq += 1;
        let record = ReceiptRecord {
            owner: ctx.actor.email.clone(),
            metadata_key: metadata_key.clone(),
            secret_key,
            ttl: draft.ttl,
            created: ctx.now,
            updated: ctx.now,
            // OTS keeps the receipt for twice the secret's TTL.
            expires_at: ctx.now + ttl * 2,
            secret_expires_at: ctx.now + ttl,
            state: ReceiptState::New,
            received: None,
            recipients: draft.recipients,
            has_passphrase,
            generated,
            value_claimed: false,
            seq: self.next_seq,
        };
        let receipt = render(&record, ctx);
        self.receipts.insert(metadata_key, record);
        Ok(receipt)
    }

    /// Refuses a new secret when the store is full even after dropping everything expired. The
    /// simulator listens on a port, so without a cap anyone could grow it until the process
    /// dies. The refusal is OTS's unexpected-error shape, which is what a real server answers
    /// when its storage fails, so clients already handle it.
    fn make_room(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        if self.receipts.len() < ctx.config.max_entries {
            return Ok(());
        }
        self.sweep(ctx.now);
        if self.receipts.len() < ctx.config.max_entries {
            return Ok(());
        }
        tracing::debug!(
            max_entries = ctx.config.max_entries,
            "simulator full, refusing a new secret"
        );
        Err(rules::unexpected())
    }

    fn fresh_keys(&self) -> Result<(ReceiptKey, SecretKey)> {
        for _ in 0..KEY_ATTEMPTS {
            let metadata_key = ReceiptKey::parse(&keys::new_key())?;
            let secret_key = SecretKey::parse(&keys::new_key())?;
            if !self.receipts.contains_key(&metadata_key) && !self.secrets.contains_key(&secret_key)
            {
                return Ok((metadata_key, secret_key));
            }
        }
        Err(rules::unexpected())
    }

    /// The one-time reveal. Removing the secret while the store lock is held is the atomic
    /// claim: a concurrent second caller finds nothing.
    pub(crate) fn retrieve(
        &mut self,
        ctx: &Ctx<'_>,
        key: &SecretKey,
        passphrase: Option<&Passphrase>,
    ) -> Result<Revealed> {
        let now = ctx.now;
        let secret = self.live_secret(key, now).ok_or(Error::UnknownSecret)?;
        if let Some(wait) = secret.guard.lock_remaining(now) {
            return Err(locked_out(ctx.api, wait));
        }
        match (gate(secret.passphrase.as_ref(), passphrase), ctx.api) {
            (Gate::Open, _) => {}
            // On v1 a missing passphrase looks like a missing secret but is not a guess, so it
            // is not counted; a wrong non-empty one is.
            (Gate::Missing, SimApi::V1) => return Err(Error::UnknownSecret),
            (Gate::Wrong, SimApi::V1) => {
                secret.guard.record_failure(now);
                return Err(Error::UnknownSecret);
            }
            // v2 says so, and counts a missing passphrase as a failure too.
            (Gate::Missing | Gate::Wrong, SimApi::V2) => {
                secret.guard.record_failure(now);
                return Err(Error::IncorrectPassphrase);
            }
        }
        let secret = self.secrets.remove(key).ok_or(Error::UnknownSecret)?;
        if let Some(record) = self.receipts.get_mut(&secret.metadata_key) {
            record.state = ReceiptState::Received;
            record.received = Some(now);
            record.updated = now;
        }
        Ok(Revealed {
            value: secret.value,
            secret_key: key.clone(),
            share_domain: ctx.origin.to_owned(),
        })
    }

    /// The receipt view. It changes nothing except recording a secret that has gone (v0.26),
    /// and claiming a fresh generated value for display at most once.
    pub(crate) fn view(&mut self, ctx: &Ctx<'_>, key: &ReceiptKey) -> Result<Receipt> {
        let now = ctx.now;
        self.settle(key, now)?;
        let record = self.receipts.get_mut(key).ok_or(Error::UnknownSecret)?;
        let mut receipt = render(record, ctx);
        let showable = record.generated
            && (ctx.api == SimApi::V2 || !record.has_passphrase)
            && record.state == ReceiptState::New
            && !record.value_claimed
            && now < record.created + GENERATED_DISPLAY_WINDOW;
        if showable && let Some(secret) = self.secrets.get(&record.secret_key) {
            record.value_claimed = true;
            receipt.value = Some(secret.value.clone());
        }
        Ok(receipt)
    }

    /// Destroys a live secret. The returned receipt is the one loaded before the burn, as OTS
    /// serialises it: still `new`, still naming the secret key.
    pub(crate) fn burn(
        &mut self,
        ctx: &Ctx<'_>,
        key: &ReceiptKey,
        passphrase: Option<&Passphrase>,
    ) -> Result<Burned> {
        let now = ctx.now;
        let record = self.live_receipt(key, now).ok_or(Error::UnknownSecret)?;
        if record.state != ReceiptState::New {
            return Err(Error::UnknownSecret);
        }
        let secret_key = record.secret_key.clone();
        let secret = self
            .live_secret(&secret_key, now)
            .ok_or(Error::UnknownSecret)?;
        if let Some(wait) = secret.guard.lock_remaining(now) {
            return Err(locked_out(ctx.api, wait));
        }
        // Burn counts a missing passphrase too: the caller is trying to destroy a protected
        // secret without proving they may (ots-api.md §5, burn).
        if !matches!(gate(secret.passphrase.as_ref(), passphrase), Gate::Open) {
            secret.guard.record_failure(now);
            return Err(Error::IncorrectPassphrase);
        }
        self.secrets.remove(&secret_key);
        let record = self.receipts.get_mut(key).ok_or(Error::UnknownSecret)?;
        let mut snapshot = render(record, ctx);
        snapshot.secret_ttl = None;
        snapshot.passphrase_required = None;
        // The snapshot still names the key, but the link is dead; handing it out would mislead.
        snapshot.share_url = None;
        record.state = ReceiptState::Burned;
        record.updated = now;
        Ok(Burned {
            receipt: snapshot,
            secret_shortkey: secret_key.short_id().to_owned(),
        })
    }

    /// The caller's receipts from the last 30 days, oldest first, without secret details.
    pub(crate) fn recent(&self, ctx: &Ctx<'_>) -> Result<Vec<Receipt>> {
        let email = ctx.actor.email.as_deref().ok_or(Error::NotAuthorized)?;
        let now = ctx.now;
        let mut mine: Vec<&ReceiptRecord> = self
            .receipts
            .values()
            .filter(|r| r.owner.as_deref() == Some(email))
            .filter(|r| now < r.expires_at && now < r.created + RECENT_WINDOW)
            .collect();
        mine.sort_by_key(|r| (r.created, r.seq));
        Ok(mine
            .into_iter()
            .map(|record| {
                let mut receipt = render(record, ctx);
                receipt.secret_key = None;
                receipt.secret_ttl = None;
                receipt.passphrase_required = None;
                receipt.share_url = None;
                receipt
            })
            .collect())
    }

    /// The secret, if it exists and has not expired; an expired one is dropped on the spot.
    fn live_secret(&mut self, key: &SecretKey, now: UnixTime) -> Option<&mut SecretRecord> {
        if self.secrets.get(key).is_some_and(|s| now >= s.expires_at) {
            self.secrets.remove(key);
        }
        self.secrets.get_mut(key)
    }

    /// The receipt, if it exists and has not expired; an expired one is dropped on the spot.
    fn live_receipt(&mut self, key: &ReceiptKey, now: UnixTime) -> Option<&mut ReceiptRecord> {
        if self.receipts.get(key).is_some_and(|r| now >= r.expires_at) {
            self.receipts.remove(key);
        }
        self.receipts.get_mut(key)
    }

    /// Brings a `new` receipt whose secret has gone up to date: `expired` when the secret's TTL
    /// ran out, `orphaned` when it vanished otherwise.
    fn settle(&mut self, key: &ReceiptKey, now: UnixTime) -> Result<()> {
        let record = self.live_receipt(key, now).ok_or(Error::UnknownSecret)?;
        if record.state != ReceiptState::New {
            return Ok(());
        }
        let secret_key = record.secret_key.clone();
        if self.live_secret(&secret_key, now).is_some() {
            return Ok(());
        }
        let record = self.receipts.get_mut(key).ok_or(Error::UnknownSecret)?;
        record.state = if now >= record.secret_expires_at {
            ReceiptState::Expired
        } else {
            ReceiptState::Orphaned
        };
        record.updated = now;
        Ok(())
    }
}

#[cfg(test)]
impl Store {
    /// Stored (secrets, receipts), to show that sweeping bounds memory.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.secrets.len(), self.receipts.len())
    }

    /// Loses a secret without touching its receipt, the one way to reach `orphaned`.
    pub(crate) fn lose_secret(&mut self, key: &SecretKey) {
        self.secrets.remove(key);
    }
}

/// The receipt as current OTS v1 reports it. Callers blank fields that a route omits.
fn render(record: &ReceiptRecord, ctx: &Ctx<'_>) -> Receipt {
    // Every path that removes a secret also moves its receipt out of `new`, or `settle` does so
    // before rendering, so `new` means the secret key still works.
    let live = record.state == ReceiptState::New;
    let metadata_key = record.metadata_key.as_str();
    let secret_key = record.secret_key.as_str();
    Receipt {
        custid: ctx.actor.custid(),
        metadata_key: record.metadata_key.clone(),
        secret_key: live.then(|| record.secret_key.clone()),
        ttl: record.ttl,
        metadata_ttl: secs_left(record.expires_at, ctx.now),
        secret_ttl: live.then(|| secs_left(record.secret_expires_at, ctx.now)),
        metadata_url: Some(format!("{}/receipt/{metadata_key}", ctx.base)),
        state: record.state.clone(),
        created: unix(record.created),
        updated: unix(record.updated),
        received: record.received.map(unix),
        recipients: record.recipients.clone(),
        share_domain: String::new(),
        passphrase_required: Some(live && record.has_passphrase),
        value: None,
        share_url: live.then(|| format!("{}/secret/{secret_key}", ctx.base)),
    }
}
