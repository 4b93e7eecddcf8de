//! The MCP frontend driven by real MCP clients: rmcp's own client over both transports, the PyPI
//! `mcp` client, and the MCP conformance suite.

mod canary;
mod entry;
mod identity;
mod inspector;
mod listing;
mod outside;
mod support;
mod tools;
mod transport;
