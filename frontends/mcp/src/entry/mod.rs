//! Out-of-band secret entry: a one-time page on the gateway's own loopback origin where a person
//! types a secret, so that the value goes browser → gateway → OTS and the agent that asked for it
//! only ever sees the link, the receipt and the state.
//!
//! An agent asks with `ask_user_for_secret` and gets the page's URL (to show the person) and an
//! entry id; `secret_entry_result` tells it how the entry ended. Each entry is bound to the MCP
//! caller that asked: the share is made in that caller's name, and only that caller can read the
//! outcome (anyone else's id answers as an unknown one does). A page is single-use (a refused
//! value can be corrected, a shared one cannot be shared again) and expires.

mod page;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use ots_gateway_core::model::{Caller, Receipt};
use ots_gateway_core::{Error, Gateway};
use url::Url;

pub use page::routes;

/// Most entries held at once; beyond it, new requests are refused until some end or expire.
const MAX_OPEN_ENTRIES: usize = 256;

/// The pages' site and how long a page stays open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPages {
    /// The gateway's own loopback origin the pages are served from, e.g. `http://127.0.0.1:7143`.
    /// The only origin a submission is accepted from.
    pub origin: Url,
    /// How long a page stays open before it expires unused.
    pub lifetime: Duration,
}

/// Where an entry stands.
#[derive(Clone)]
pub(crate) enum EntryState {
    /// The page is open and has not been submitted.
    Waiting,
    /// A submission is being shared right now.
    Submitting,
    /// Shared: the receipt, and whether a passphrase was set.
    Shared {
        receipt: Box<Receipt>,
        has_passphrase: bool,
    },
    /// The page expired unused.
    Expired,
}

struct Entry {
    caller: Caller,
    expires: Instant,
    ttl: Option<u32>,
    state: EntryState,
    /// Whether a `share_secret` retry (2026-07-28 elicitation) already returned this entry's
    /// link: the retry's `requestState` redeems once.
    collected: bool,
}

/// The open entries and how to reach their pages. Cheap to clone.
#[derive(Clone)]
pub struct EntryDesk {
    inner: Arc<Inner>,
}

struct Inner {
    gateway: Gateway,
    pages: EntryPages,
    entries: Mutex<HashMap<String, Entry>>,
    /// Woken whenever an entry's state changes, for callers waiting on one.
    changed: Notify,
}

/// What `ask_user_for_secret` hands back.
pub(crate) struct Opened {
    pub id: String,
    pub url: Url,
    pub expires_in: Duration,
}

impl EntryDesk {
    pub fn new(gateway: Gateway, pages: EntryPages) -> Self {
        EntryDesk {
            inner: Arc::new(Inner {
                gateway,
                pages,
                entries: Mutex::new(HashMap::new()),
                changed: Notify::new(),
            }),
        }
    }

    pub(crate) fn pages(&self) -> &EntryPages {
        &self.inner.pages
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves plain data behind; carry on with it.
        self.inner
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens a page for `caller`. `ttl` is the lifetime the eventual secret will be shared with.
    pub(crate) fn open(&self, caller: &Caller, ttl: Option<u32>) -> Result<Opened, Error> {
        let now = Instant::now();
        let mut entries = self.entries();
        expire(&mut entries, now);
        let open = entries
            .values()
            .filter(|entry| matches!(entry.state, EntryState::Waiting | EntryState::Submitting))
            .count();
        if open >= MAX_OPEN_ENTRIES {
            return Err(Error::Refused {
                message: "too many secret entry pages are open; wait for some to be used or \
                          to expire"
                    .into(),
                intended_status: None,
            });
        }
        let id = format!("{:032x}", rand::random::<u128>());
        let url = self.page_url(&id)?;
        entries.insert(
            id.clone(),
            Entry {
                caller: caller.clone(),
                expires: now + self.inner.pages.lifetime,
                ttl,
                state: EntryState::Waiting,
                collected: false,
            },
        );
        Ok(Opened {
            id,
            url,
            expires_in: self.inner.pages.lifetime,
        })
    }

    fn page_url(&self, id: &str) -> Result<Url, Error> {
        self.inner
            .pages
            .origin
            .join(&format!("mcp/compose/{id}"))
            .map_err(|_| Error::Refused {
                message: "the entry page's address could not be formed".into(),
                intended_status: None,
            })
    }

    /// `caller`'s page `id` again, while it still waits for the person; `None` otherwise.
    pub(crate) fn reopen(&self, caller: &Caller, id: &str) -> Option<Opened> {
        let now = Instant::now();
        let mut entries = self.entries();
        expire(&mut entries, now);
        let entry = entries.get(id).filter(|entry| {
            entry.caller == *caller && matches!(entry.state, EntryState::Waiting)
        })?;
        Some(Opened {
            id: id.to_owned(),
            url: self.page_url(id).ok()?,
            expires_in: entry.expires.saturating_duration_since(now),
        })
    }

    /// The state of `caller`'s entry `id`; `None` for an id that is unknown or not theirs, alike.
    pub(crate) fn state_for(&self, caller: &Caller, id: &str) -> Option<EntryState> {
        let mut entries = self.entries();
        expire(&mut entries, Instant::now());
        entries
            .get(id)
            .filter(|entry| entry.caller == *caller)
            .map(|entry| entry.state.clone())
    }

    /// Claims a waiting page for one submission; `None` if it is unknown, used or expired.
    fn claim(&self, id: &str) -> Option<(Caller, Option<u32>)> {
        let mut entries = self.entries();
        expire(&mut entries, Instant::now());
        let entry = entries.get_mut(id)?;
        if !matches!(entry.state, EntryState::Waiting) {
            return None;
        }
        entry.state = EntryState::Submitting;
        Some((entry.caller.clone(), entry.ttl))
    }

    /// Whether the page `id` can still be submitted.
    fn is_waiting(&self, id: &str) -> bool {
        let mut entries = self.entries();
        expire(&mut entries, Instant::now());
        entries
            .get(id)
            .is_some_and(|entry| matches!(entry.state, EntryState::Waiting))
    }

    fn settle(&self, id: &str, state: EntryState) {
        if let Some(entry) = self.entries().get_mut(id) {
            entry.state = state;
        }
        self.inner.changed.notify_waiters();
    }

    /// Waits until `caller`'s entry `id` is shared or expired (or unknown), and returns that
    /// state.
    pub(crate) async fn settled(&self, caller: &Caller, id: &str) -> Option<EntryState> {
        loop {
            // Registered before the check, so a change between the two is not missed.
            let changed = self.inner.changed.notified();
            let (state, expires) = {
                let mut entries = self.entries();
                expire(&mut entries, Instant::now());
                let entry = entries.get(id).filter(|entry| entry.caller == *caller)?;
                (entry.state.clone(), entry.expires)
            };
            if !matches!(state, EntryState::Waiting | EntryState::Submitting) {
                return Some(state);
            }
            // Past the expiry, a submission already under way may still finish; look again
            // shortly rather than wait for a wake-up that marks the expiry (there is none).
            let wait = expires
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(250));
            let _ = tokio::time::timeout(wait, changed).await;
        }
    }

    /// Waits until `caller`'s entry `id` has settled, like [`Self::settled`], and hands a shared
    /// entry's receipt out once: a second collection of the same entry answers as an unknown
    /// one does (`None`).
    pub(crate) async fn collect(&self, caller: &Caller, id: &str) -> Option<EntryState> {
        let settled = self.settled(caller, id).await?;
        if !matches!(settled, EntryState::Shared { .. }) {
            return Some(settled);
        }
        let mut entries = self.entries();
        let entry = entries
            .get_mut(id)
            .filter(|entry| entry.caller == *caller)?;
        if entry.collected {
            return None;
        }
        entry.collected = true;
        Some(entry.state.clone())
    }

    /// The person declined to open `caller`'s page `id`: it closes as an expired one does.
    pub(crate) fn withdraw(&self, caller: &Caller, id: &str) {
        let mut entries = self.entries();
        if let Some(entry) = entries
            .get_mut(id)
            .filter(|entry| entry.caller == *caller && matches!(entry.state, EntryState::Waiting))
        {
            entry.state = EntryState::Expired;
        }
        drop(entries);
        self.inner.changed.notify_waiters();
    }

    fn gateway(&self) -> &Gateway {
        &self.inner.gateway
    }
}

/// Marks pages past their time as expired, and forgets entries an hour after that, so the map
/// stays bounded while an agent can still learn that its page expired.
fn expire(entries: &mut HashMap<String, Entry>, now: Instant) {
    const REMEMBERED: Duration = Duration::from_secs(3600);
    entries.retain(|_, entry| now < entry.expires + REMEMBERED);
    for entry in entries.values_mut() {
        if now >= entry.expires && matches!(entry.state, EntryState::Waiting) {
            entry.state = EntryState::Expired;
        }
    }
}
