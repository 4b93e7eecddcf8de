//! What the ledger remembers about one receipt, and the id frontends use to point at it.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::Error;
use crate::model::{Caller, Frontend, ReceiptKey, ReceiptState, SecretKey};

/// Hex digits in an [`EntryId`]: 128 bits.
const ENTRY_ID_LEN: usize = 32;

/// Bits of a generated id taken by its creation time (milliseconds since the Unix epoch, which
/// fit in 48 bits until the year 10889). The other 80 are random.
const TIME_BITS: u32 = 48;

/// An opaque, unguessable handle on a ledger entry.
///
/// Frontends may show it (a Discord button refers to an entry by it) because it reveals nothing
/// secret: it is not derived from any key, so knowing it grants nothing upstream. It is therefore
/// safe to print in full, unlike [`ReceiptKey`] and [`SecretKey`].
///
/// A generated id is its creation time in milliseconds followed by 80 random bits. The random
/// part keeps it unguessable; the time part makes new ids sort after older ones, so the ledger's
/// index on ids grows at its end and a commit rewrites one or two of its pages instead of one
/// page per entry scattered over the file. What the prefix discloses, when the entry was created,
/// is shown to its owner beside the id anyway. Ids from before this scheme (all 128 bits random)
/// have the same form and keep working.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntryId(String);

impl EntryId {
    /// A fresh id. `rand::random` draws from the thread-local CSPRNG, so ids cannot be predicted
    /// from earlier ones. A clock set before 1970 gives time 0, which only costs the ordering.
    pub fn generate() -> Self {
        Self::from_parts(unix_millis_now(), rand::random())
    }

    /// The id for creation time `millis` whose random part is the top 80 bits of `random`.
    fn from_parts(millis: u128, random: u128) -> Self {
        let time_part = millis & ((1 << TIME_BITS) - 1);
        let random_part = random >> TIME_BITS;
        EntryId(format!(
            "{:032x}",
            (time_part << (128 - TIME_BITS)) | random_part
        ))
    }

    /// Accepts exactly what [`EntryId::generate`] produces, since ids come back from users (a
    /// button's custom id, a command argument).
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let well_formed = raw.len() == ENTRY_ID_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if well_formed {
            Ok(EntryId(raw.to_owned()))
        } else {
            Err(Error::InvalidInput {
                field: "entry_id",
                reason: format!("must be {ENTRY_ID_LEN} lowercase hexadecimal characters"),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn unix_millis_now() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since_epoch| since_epoch.as_millis())
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The ledger's record of one receipt created through the gateway: who created it, when it dies,
/// and what the gateway last learned about it.
///
/// **No field may ever hold a secret value or a passphrase**, and none must be added that could:
/// the ledger outlives requests and sits on disk. Only whether a passphrase was set is kept. The
/// keys it does hold are bearer capabilities, which is why their `Debug` shows short ids only and
/// the database file is private to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: EntryId,
    pub frontend: Frontend,
    /// The caller id the frontend vouched for (see [`Caller`]).
    pub caller: String,
    pub metadata_key: ReceiptKey,
    /// Lets the creator re-send the link while the secret lives; dropped once the secret is known
    /// to be gone.
    pub secret_key: Option<SecretKey>,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds after which the secret cannot be revealed.
    pub secret_expires: i64,
    /// Unix seconds after which the receipt cannot exist upstream (`created + 2 × ttl`, as OTS
    /// keeps receipts twice as long as secrets); the entry is prunable from then on.
    pub receipt_expires: i64,
    /// The last state the gateway saw, which may lag behind the upstream.
    pub state: ReceiptState,
    /// Unix seconds when `state` was observed.
    pub state_updated: i64,
    pub has_passphrase: bool,
}

impl LedgerEntry {
    /// The entry for a receipt just created by `caller`, with a fresh id and state `new`.
    ///
    /// Saturating arithmetic keeps an absurd TTL from wrapping into the past, which would get the
    /// entry pruned at once.
    pub fn new_receipt(
        caller: &Caller,
        metadata_key: ReceiptKey,
        secret_key: Option<SecretKey>,
        created: i64,
        ttl_secs: u64,
        has_passphrase: bool,
    ) -> Self {
        let ttl = i64::try_from(ttl_secs).unwrap_or(i64::MAX);
        LedgerEntry {
            id: EntryId::generate(),
            frontend: caller.frontend,
            caller: caller.id.clone(),
            metadata_key,
            secret_key,
            created,
            secret_expires: created.saturating_add(ttl),
            receipt_expires: created.saturating_add(ttl.saturating_mul(2)),
            state: ReceiptState::New,
            state_updated: created,
            has_passphrase,
        }
    }

    /// Whether `caller` created this receipt; frontends refuse to show or burn anyone else's.
    pub fn is_owned_by(&self, caller: &Caller) -> bool {
        self.frontend == caller.frontend && self.caller == caller.id
    }

    /// Takes on a state observed at unix time `at` (the caller has checked it is not older than
    /// the one held). Once the secret is gone its key is dropped: it opens nothing any more.
    pub(crate) fn apply_observed_state(&mut self, state: ReceiptState, at: i64) {
        if !state.is_live() {
            self.secret_key = None;
        }
        self.state = state;
        self.state_updated = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_128_bit_lowercase_hex_and_distinct() {
        let a = EntryId::generate();
        let b = EntryId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert_eq!(EntryId::parse(a.as_str()).unwrap(), a);
        assert_eq!(a.to_string(), a.as_str());
    }

    #[test]
    fn an_id_from_a_later_millisecond_sorts_after_any_from_an_earlier_one() {
        let earlier = EntryId::from_parts(1_764_000_000_000, u128::MAX);
        let later = EntryId::from_parts(1_764_000_000_001, 0);
        assert!(earlier.as_str() < later.as_str(), "{earlier} !< {later}");
        assert_eq!(EntryId::parse(later.as_str()).unwrap(), later);
    }

    #[test]
    fn a_generated_id_starts_with_its_creation_time_and_ends_in_80_random_bits() {
        let before = unix_millis_now();
        let id = EntryId::generate();
        let after = unix_millis_now();
        let stamped = u128::from_str_radix(&id.as_str()[..12], 16).unwrap();
        assert!((before..=after).contains(&stamped), "{id}");
        let twin = EntryId::generate();
        assert_ne!(id.as_str()[12..], twin.as_str()[12..]);
    }

    #[test]
    fn ids_from_users_must_look_generated() {
        let too_short = "0123456789abcdef";
        let upper = "0123456789ABCDEF0123456789ABCDEF";
        let not_hex = "0123456789abcdef0123456789abcdeg";
        let path_like = "../../etc/passwd0123456789abcdef";
        for bad in ["", too_short, upper, not_hex, path_like] {
            assert!(EntryId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_new_receipt_expires_after_its_ttl_and_its_receipt_after_twice_that() {
        let caller = Caller::new(Frontend::Discord, "user-1");
        let key = ReceiptKey::parse("receiptkey0001").unwrap();
        let entry = LedgerEntry::new_receipt(&caller, key, None, 1_000, 600, true);
        assert_eq!(entry.secret_expires, 1_600);
        assert_eq!(entry.receipt_expires, 2_200);
        assert_eq!(entry.state, ReceiptState::New);
        assert!(entry.is_owned_by(&caller));
        assert!(!entry.is_owned_by(&Caller::new(Frontend::Mcp, "user-1")));
        assert!(!entry.is_owned_by(&Caller::new(Frontend::Discord, "user-2")));
    }

    #[test]
    fn an_absurd_ttl_does_not_wrap_into_the_past() {
        let caller = Caller::new(Frontend::Rest, "script");
        let key = ReceiptKey::parse("receiptkey0002").unwrap();
        let entry = LedgerEntry::new_receipt(&caller, key, None, 1_000, u64::MAX, false);
        assert_eq!(entry.receipt_expires, i64::MAX);
        assert_eq!(entry.secret_expires, i64::MAX);
    }
}
