//! One module per subcommand; this one dispatches and holds what they share.

mod assemble;
mod check_config;
mod health;
mod serve;
mod simulate;
mod status;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use ots_gateway_core::config::{
    self, CommandLineOverrides, ConfigError, ConfigProblem, ValidConfig,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command, ConfigArgs};
use crate::process_env::ProcessEnvironment;
use crate::shutdown;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Simulate(args) => simulate::run(args).await,
        Command::CheckConfig(args) => check_config::run(args),
        Command::Health(args) => health::run(args).await,
        Command::Status(args) => status::run(args).await,
    }
}

/// Reads the file named by `--config` / `OTS_GATEWAY_CONFIG` (if any) and validates it together
/// with the environment and command-line overrides.
fn load_config(
    args: &ConfigArgs,
    overrides: &CommandLineOverrides,
) -> Result<ValidConfig, ConfigError> {
    let text = match &args.config {
        Some(path) => {
            let name = path.display().to_string();
            match std::fs::read_to_string(path) {
                Ok(text) => Some((name, text)),
                Err(error) => {
                    return Err(ConfigError {
                        problems: vec![ConfigProblem {
                            source: name,
                            key: String::new(),
                            reason: format!("cannot read the file: {error}"),
                        }],
                    });
                }
            }
        }
        None => None,
    };
    config::load(
        text.as_ref()
            .map(|(name, text)| (name.as_str(), text.as_str())),
        &ProcessEnvironment,
        overrides,
    )
}

async fn bind(addr: SocketAddr) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener
        .local_addr()
        .context("cannot read the bound address")?;
    Ok((listener, local))
}

/// Announces readiness on stdout in the fixed form scripts and tests wait for.
fn announce(local: SocketAddr) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    // If stdout is gone (a closed pipe), nobody is waiting for the line; keep serving anyway.
    let _ = writeln!(stdout, "listening on http://{local}");
    let _ = stdout.flush();
}

/// Serves `router` until SIGINT/SIGTERM, then lets in-flight requests finish for at most
/// `grace` before returning.
async fn serve_until_shutdown(
    listener: TcpListener,
    router: axum::Router,
    grace: Duration,
) -> anyhow::Result<()> {
    let signals = shutdown::install().context("cannot install the SIGINT/SIGTERM handlers")?;
    announce(listener.local_addr().context("cannot read the bound address")?);
    let stop = CancellationToken::new();
    signals.cancel_on_signal(stop.clone());
    let mut server = tokio::spawn(ots_gateway_rest::serve(
        listener,
        router,
        stop.clone().cancelled_owned(),
    ));
    tokio::select! {
        finished = &mut server => {
            // The server only ends on its own when something broke.
            finished.context("the HTTP server task failed")?.context("the HTTP server stopped")?;
            return Ok(());
        }
        () = stop.cancelled() => {}
    }
    match tokio::time::timeout(grace, &mut server).await {
        Ok(finished) => {
            finished
                .context("the HTTP server task failed")?
                .context("the HTTP server stopped")?;
            tracing::info!("stopped cleanly");
        }
        Err(_) => {
            server.abort();
            tracing::warn!(
                grace_seconds = grace.as_secs(),
                "requests still running after the grace period were cut off"
            );
        }
    }
    Ok(())
}
