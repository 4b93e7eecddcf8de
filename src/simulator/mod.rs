//! OTS semantics in memory, standing in for the upstream in `--dev` and in tests.
//!
//! One store answers both APIs, as on a real server: a secret made through v1 can be revealed
//! through v2 and back. A caller handle speaks v1 unless made with [`SimulatedUpstream::speaking`];
//! the differences v2 makes are listed on [`SimApi`]. The wire formats themselves are rendered
//! by the REST frontend; this module works in model types.
//!
//! It follows what a current (v0.26) server does, as described in `docs/ots-api.md` §2–§9:
//! validation order and wording, TTL clamping, one-time atomic reveal, receipt states, burn's
//! pre-burn snapshot, the passphrase lockout and the anonymous per-IP rate limits. It sends no
//! email and owns no custom domains.
//!
//! Layout: [`clock`] (injectable time), `keys` (key generation, constant-time comparison,
//! recipient handling), `rules` (validation and TTLs), `generate` (passwords), `limits` (rate
//! limits and lockout), `store` (state and operations).

mod clock;
mod generate;
mod keys;
mod limits;
mod rules;
mod store;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use url::Url;

use crate::error::{Error, Result};
use crate::model::*;

pub use clock::{ManualClock, SimClock};
use limits::Event;
use store::{Actor, Ctx, Store};

/// OTS's own per-IP cap per 20-minute window for anonymous creates and reveals.
pub const DEFAULT_ANONYMOUS_LIMIT: u32 = 1000;
/// Enough for any development session, small enough that a flood cannot exhaust memory: at
/// most 10 000 bytes of secret per entry, so roughly 100 MB in the worst case.
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Where the simulated server pretends to live; receipt and share links are built from it.
    pub base_url: Url,
    /// Where time comes from; tests use [`SimClock::Manual`].
    pub clock: SimClock,
    /// Anonymous `share`/`generate` calls per client IP per 20-minute window.
    pub anonymous_create_limit: u32,
    /// Anonymous `retrieve` calls per client IP per 20-minute window.
    pub anonymous_reveal_limit: u32,
    /// Most receipts held at once; new secrets are refused beyond it (see `Store::make_room`).
    pub max_entries: usize,
    /// Receipts (and their secrets) the store has room for from the start. A growing hash map
    /// moves every entry at once when it doubles: tens of milliseconds at tens of thousands of
    /// entries, which a benchmark sharing a core with the simulator would charge to whatever it
    /// measures. A real OTS server's pauses do not land on the caller's CPU, so the benches
    /// reserve; everyone else leaves this at 0.
    pub reserved_entries: usize,
}

impl SimulatorConfig {
    /// OTS's defaults, on the system clock.
    pub fn new(base_url: Url) -> Self {
        SimulatorConfig {
            base_url,
            clock: SimClock::System,
            anonymous_create_limit: DEFAULT_ANONYMOUS_LIMIT,
            anonymous_reveal_limit: DEFAULT_ANONYMOUS_LIMIT,
            max_entries: DEFAULT_MAX_ENTRIES,
            reserved_entries: 0,
        }
    }
}

struct Inner {
    config: SimulatorConfig,
    base: String,
    origin: String,
    // One std Mutex around the whole store: every operation is a few map lookups with no await
    // inside, so contention is brief, and holding one lock for a whole operation is what makes
    // reveal and burn atomic without any finer-grained protocol to get wrong.
    store: Mutex<Store>,
}

/// The simulated OTS server. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

impl Simulator {
    pub fn new(config: SimulatorConfig) -> Self {
        let base = config.base_url.as_str().trim_end_matches('/').to_owned();
        let origin = config.base_url.origin().ascii_serialization();
        Simulator {
            inner: Arc::new(Inner {
                store: Mutex::new(Store::with_room_for(
                    config.reserved_entries.min(config.max_entries),
                )),
                config,
                base,
                origin,
            }),
        }
    }

    /// Registers an account: the username (email) and its API token. Registering the same
    /// username again replaces the token.
    pub fn add_account(&self, credentials: &Credentials) {
        self.lock().add_account(credentials);
    }

    /// A handle that calls the simulator as one client: with an account or anonymously, from
    /// `client_ip` (`None` puts the caller in one shared rate-limit bucket).
    pub fn as_caller(
        &self,
        credentials: Option<Credentials>,
        client_ip: Option<IpAddr>,
    ) -> SimulatedUpstream {
        SimulatedUpstream {
            sim: self.clone(),
            credentials,
            client_ip,
            api: SimApi::V1,
        }
    }

    pub fn config(&self) -> &SimulatorConfig {
        &self.inner.config
    }

    /// A poisoned lock means a bug in this module panicked mid-operation. The worst it can leave
    /// behind is a receipt whose secret is already gone, which the next view reports as
    /// `orphaned`; a dev server that keeps answering beats one that refuses everything
    /// afterwards, so recover. (Release builds abort on panic anyway.)
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.inner
            .store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
impl Simulator {
    fn counts(&self) -> (usize, usize) {
        self.lock().counts()
    }

    fn lose_secret(&self, key: &SecretKey) {
        self.lock().lose_secret(key);
    }
}

/// Which API a caller came through, where the two behave differently on the same store
/// (`docs/ots-api-v2-notes.md`, "v1 and v2 on one store").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SimApi {
    #[default]
    V1,
    /// A wrong or missing passphrase on reveal is "incorrect passphrase", not "unknown secret";
    /// there is no per-IP create or reveal limit; the one-time display of a generated value
    /// ignores the passphrase.
    V2,
}

/// One client's view of the simulator, with the same operations as the real OTS client. They are
/// plain functions because the simulator never waits; `UpstreamApi` wraps them in futures.
#[derive(Clone)]
pub struct SimulatedUpstream {
    sim: Simulator,
    credentials: Option<Credentials>,
    client_ip: Option<IpAddr>,
    api: SimApi,
}

impl SimulatedUpstream {
    /// The same caller, answered as the given API would answer it.
    pub fn speaking(mut self, api: SimApi) -> Self {
        self.api = api;
        self
    }

    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    pub fn origin(&self) -> String {
        self.sim.inner.origin.clone()
    }

    /// Authenticates, sweeps if due, then runs `op` under the store lock.
    fn run<T>(&self, op: impl FnOnce(&mut Store, &Ctx<'_>) -> Result<T>) -> Result<T> {
        let inner = &self.sim.inner;
        let now = inner.config.clock.now();
        let mut store = self.sim.lock();
        let email = store.authenticate(self.credentials.as_ref())?;
        store.maybe_sweep(now);
        let actor = Actor {
            email,
            ip: self.client_ip,
        };
        let ctx = Ctx {
            api: self.api,
            now,
            actor: &actor,
            config: &inner.config,
            base: &inner.base,
            origin: &inner.origin,
        };
        op(&mut store, &ctx)
    }

    fn nominal() -> UpstreamStatus {
        UpstreamStatus {
            status: "nominal".to_owned(),
            locale: "en".to_owned(),
        }
    }

    /// v2's status route takes no credentials and ignores any that are sent; v1 checks them.
    pub fn status(&self) -> Result<UpstreamStatus> {
        match self.api {
            SimApi::V1 => self.run(|_, _| Ok(Self::nominal())),
            SimApi::V2 => Ok(Self::nominal()),
        }
    }

    pub fn authcheck(&self) -> Result<UpstreamStatus> {
        self.run(|_, ctx| match ctx.actor.email {
            Some(_) => Ok(Self::nominal()),
            None => Err(Error::NotAuthorized),
        })
    }

    pub fn share(&self, request: &ShareRequest) -> Result<Receipt> {
        self.run(|store, ctx| {
            store.admit(ctx, Event::Create)?;
            let draft = rules::check_share(request, ctx.actor.email.is_some())?;
            store.create(ctx, draft, request.secret.clone(), false)
        })
    }

    pub fn generate(&self, request: &GenerateRequest) -> Result<Receipt> {
        self.run(|store, ctx| {
            store.admit(ctx, Event::Create)?;
            let (draft, length) = rules::check_generate(request, ctx.actor.email.is_some())?;
            let value = SecretText::new(generate::password(length, &request.character_sets));
            let mut receipt = store.create(ctx, draft, value.clone(), true)?;
            receipt.value = Some(value);
            Ok(receipt)
        })
    }

    pub fn retrieve(&self, key: &SecretKey, passphrase: Option<&Passphrase>) -> Result<Revealed> {
        self.run(|store, ctx| {
            store.admit(ctx, Event::Reveal)?;
            store.retrieve(ctx, key, passphrase)
        })
    }

    pub fn receipt(&self, key: &ReceiptKey) -> Result<Receipt> {
        self.run(|store, ctx| store.view(ctx, key))
    }

    pub fn burn(&self, key: &ReceiptKey, passphrase: Option<&Passphrase>) -> Result<Burned> {
        self.run(|store, ctx| store.burn(ctx, key, passphrase))
    }

    pub fn recent(&self) -> Result<Vec<Receipt>> {
        self.run(|store, ctx| store.recent(ctx))
    }
}
