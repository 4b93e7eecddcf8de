//! The REST frontend over real sockets: `serve` on 127.0.0.1 port 0, driven by reqwest.

mod canary;
mod e2e_gateway;
mod e2e_simulator;
mod flows;
mod hostile;
mod local;
mod probes;
mod security;
mod support;
