//! End-to-end tests across crates, over real sockets on 127.0.0.1: the OTS client against the
//! simulator served over HTTP, and the whole chain REST → gateway → OTS client → simulator.

mod chain;
mod client_vs_simulator;
mod quota_defaults;
mod support;
