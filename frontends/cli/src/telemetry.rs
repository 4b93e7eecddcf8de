//! Logging: `tracing` to stderr, as text for people or JSON lines for collectors. stdout is kept
//! for the `listening on` line (and, for `mcp`, the protocol). Audit events can go to a file of
//! their own.

use std::fs::OpenOptions;
use std::io::IsTerminal;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context as _;
use ots_gateway_core::config::LogFormat;
use ots_gateway_core::gateway::AUDIT_TARGET;
use tracing::Level;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::prelude::*;
use tracing_subscriber::{Layer, fmt};

use self::audit_file::AuditFileLayer;

mod audit_file;

/// Installs the global subscriber. `RUST_LOG`, when set, wins over the configured level. With
/// `audit_file`, audit events are appended there as JSON lines and kept out of stderr.
pub fn init(level: &str, format: LogFormat, audit_file: Option<&Path>) -> anyhow::Result<()> {
    let mut filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // rmcp logs whole requests and results (tool arguments, revealed secrets) at debug and trace.
    // This directive is added last, so no RUST_LOG or configured level can lift it.
    filter = filter.add_directive(
        ots_gateway_mcp::LOG_FILTER
            .parse()
            .context("building the log filter")?,
    );
    let audit_layer = match audit_file {
        Some(path) => {
            filter = filter.add_directive(
                format!("{AUDIT_TARGET}=off")
                    .parse()
                    .context("building the log filter")?,
            );
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("cannot open the audit file {}", path.display()))?;
            // An audit line carries its own fields (README, "Audit"); the enclosing spans add
            // nothing an auditor needs.
            Some(
                AuditFileLayer::new(file)
                    .with_filter(Targets::new().with_target(AUDIT_TARGET, Level::INFO)),
            )
        }
        None => None,
    };
    let stderr_layer = match format {
        LogFormat::Text => fmt::layer()
            .with_writer(std::io::stderr)
            // Colour codes only help a person at a terminal; in files and pipes they are noise.
            .with_ansi(std::io::stderr().is_terminal())
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    };
    // A second init (only possible in tests) keeps the first subscriber; that is harmless.
    let _ = tracing_subscriber::registry()
        .with(stderr_layer)
        .with(audit_layer)
        .try_init();
    Ok(())
}
