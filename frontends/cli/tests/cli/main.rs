//! Tests of the `ots-gateway` binary as users run it: real processes, real sockets on 127.0.0.1
//! with port 0, real client libraries.

mod canary;
mod client_libraries;
mod client_tokens;
mod ledger_crash;
mod mcp_clients;
mod process;
mod simulator_pages;
mod support;
