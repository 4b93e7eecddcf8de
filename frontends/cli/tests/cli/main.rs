//! Tests of the `ots-gateway` binary as users run it: real processes, real sockets on 127.0.0.1
//! with port 0, real client libraries.

mod browser;
mod browser_pages;
mod busy_account;
mod canary;
mod client_libraries;
mod client_tokens;
mod descriptors;
mod frictions;
mod ledger_crash;
mod ledger_failures;
mod links;
mod listener_config;
mod mcp_clients;
mod pgo_training;
mod probes;
mod process;
mod readme;
mod simulator_pages;
mod support;
mod upstream_path;
