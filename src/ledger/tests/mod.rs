//! Test support for the code above the ledger store.

mod flaky;

pub(crate) use flaky::{FlakyStore, Pretences};
