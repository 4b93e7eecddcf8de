//! The Discord frontend: one `/ots` slash command whose every answer is ephemeral, so secrets,
//! links and receipts stay out of channel history.
//!
//! Layout:
//! - [`command`]: the command as registered.
//! - [`access`]: the guild and role allowlists.
//! - [`ids`]: the custom ids of modals, buttons and menus (ledger entry ids, never keys).
//! - [`respond`]: the pure core, interaction in, decision out; no network.
//! - [`perform`]: runs a deferred decision against the gateway core.
//! - [`render`]: what the bot says.
//! - [`options`]: the bot's own settings (TTL choices, read receipts), with defaults.
//! - `notifier`: read receipts, delivered by DM for the core's receipt watcher.
//! - `handler`: the serenity event handler that carries decisions out.
//! - `client`: connecting, registering, shutting down, and the invite link.
//!
//! Quotas, ownership, allowed operations and audit all live in the core; the caller is the
//! Discord user id.

// The binary's allocator is the project's only unsafe code (ARCHITECTURE.md, "Invariants").
#![forbid(unsafe_code)]

pub mod access;
mod client;
pub mod command;
mod error;
mod handler;
pub mod ids;
#[cfg(test)]
mod known_permissions;
mod notifier;
pub mod options;
pub mod perform;
pub mod render;
pub mod respond;

pub use client::{invite_url, read_receipts, run};
pub use error::DiscordError;
pub use notifier::ReadReceipts;
