//! ots-gateway core: everything except the frontends.
//!
//! Layout:
//! - [`model`]: the shared vocabulary (secrets, keys, receipts, requests), with redacting `Debug`.
//! - [`operation`]: which frontend asks for which operation (a leaf, so `error` needs no `model`).
//! - [`error`]: the one error enum every frontend matches exhaustively.
//! - [`ots`]: the only code that speaks HTTP to a OneTimeSecret server; its wire types are private.
//! - [`simulator`]: OTS v1 semantics in memory, standing in for the upstream in `--dev` and tests.
//! - [`upstream`]: the seam choosing between those two.
//! - [`gateway`]: the operations every frontend calls, with who is asking.
//! - [`limits`]: quotas (governor): the shared upstream budget and per-caller quotas.
//! - [`policy`]: per-frontend allowed operations, ownership and where `recent` comes from.
//! - [`metrics`]: Prometheus metrics with closed label sets.
//! - [`ledger`]: the ownership ledger, an embedded store of receipts made through the gateway.
//! - [`watcher`]: read receipts; polls the ledger's live entries and tells a frontend's
//!   subscriber when a secret is opened, burned or expires.
//! - [`base_url`]: the one rule for a server's base URL.
//! - [`config`]: the validated configuration model. The core reads no files or environment itself;
//!   the binary hands it text and a view of the environment.

// The binary's allocator is the project's only unsafe code (ARCHITECTURE.md, "Invariants").
#![forbid(unsafe_code)]

pub mod base_url;
pub mod config;
pub mod error;
pub mod gateway;
pub mod ledger;
pub mod limits;
pub mod log_safe;
pub mod metrics;
pub mod model;
pub mod operation;
pub mod ots;
pub mod passphrase_guard;
pub mod policy;
pub mod readiness;
pub mod simulator;
pub mod upstream;
pub mod watcher;

pub use error::{Error, Result};
pub use gateway::Gateway;
