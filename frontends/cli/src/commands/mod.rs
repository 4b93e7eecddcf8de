//! One module per subcommand; this one dispatches and holds what they share.

mod assemble;
mod check_config;
mod discord;
mod gateway_url;
mod health;
mod mcp;
mod serve;
mod simulate;
mod status;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use anyhow::Context as _;
use ots_gateway_core::config::{
    self, CommandLineOverrides, ConfigError, ConfigProblem, ValidConfig,
};
use ots_gateway_rest::{ListenerLoad, ListenerSettings};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command, ConfigArgs};
use crate::process_env::ProcessEnvironment;
use crate::shutdown;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Mcp(args) => mcp::run(args).await,
        Command::Simulate(args) => simulate::run(args).await,
        Command::CheckConfig(args) => check_config::run(args),
        Command::Health(args) => health::run(args).await,
        Command::Status(args) => status::run(args).await,
        Command::Discord(command) => discord::run(command).await,
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
                        problems: vec![ConfigProblem::new(
                            name,
                            "",
                            format!("cannot read the file: {error}"),
                        )],
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

/// What every long-running command does first: the whole configuration validated (before
/// anything binds), then logging set up as it says.
fn load_config_and_start_logging(
    args: &ConfigArgs,
    listen: Option<&str>,
    upstream: Option<&str>,
) -> anyhow::Result<ValidConfig> {
    let overrides = CommandLineOverrides {
        listen: listen.map(str::to_owned),
        upstream: upstream.map(str::to_owned),
    };
    let config = load_config(args, &overrides)?;
    crate::telemetry::init(
        &config.log_level,
        config.log_format,
        config.audit_file.as_deref(),
    )?;
    Ok(config)
}

async fn bind(addr: SocketAddr) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = match TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => anyhow::bail!(
            "cannot listen on {addr}: the address is already in use (is another ots-gateway \
             running?). Choose another with --listen, e.g. --listen {}, or port 0 for any free \
             port",
            SocketAddr::new(addr.ip(), addr.port().saturating_add(1))
        ),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot listen on {addr}"));
        }
    };
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

/// The listener's bounds for this process: the configured ones (`serve`) or the defaults
/// (`simulate`), with the connection cap lowered to fit the open-file limit (raised first as far
/// as allowed).
fn listener_settings(configured: ListenerSettings) -> ListenerSettings {
    let limit = crate::descriptors::raise_limit();
    let max_connections = crate::descriptors::connection_cap(configured.max_connections, limit);
    tracing::info!(
        open_file_limit = limit,
        max_connections,
        header_timeout = ?configured.header_read_timeout,
        body_timeout = ?configured.body_read_timeout,
        "listener bounds"
    );
    ListenerSettings {
        max_connections,
        ..configured
    }
}

/// A frontend that runs beside the HTTP server (the Discord bot), told to stop by the token.
pub type SideTask = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// Serves `router`, plus any side tasks, until SIGINT/SIGTERM or until one of them ends on its
/// own (which stops the rest: a half-running gateway is worse than a clear exit). In-flight
/// work then gets at most `grace` to finish.
async fn serve_until_shutdown(
    listener: TcpListener,
    router: axum::Router,
    (settings, load): (ListenerSettings, ListenerLoad),
    grace: Duration,
    side_tasks: impl FnOnce(CancellationToken) -> Vec<(&'static str, SideTask)>,
) -> anyhow::Result<()> {
    let signals = shutdown::install().context("cannot install the SIGINT/SIGTERM handlers")?;
    announce(
        listener
            .local_addr()
            .context("cannot read the bound address")?,
    );
    let stop = CancellationToken::new();
    signals.cancel_on_signal(stop.clone());

    let mut tasks: JoinSet<(&'static str, anyhow::Result<()>)> = JoinSet::new();
    let server = ots_gateway_rest::serve_with(
        listener,
        router,
        settings,
        load,
        stop.clone().cancelled_owned(),
    );
    tasks.spawn(async move {
        (
            "http server",
            server.await.context("the HTTP server stopped"),
        )
    });
    for (name, task) in side_tasks(stop.clone()) {
        tasks.spawn(async move { (name, task.await) });
    }

    let mut failure = None;
    tokio::select! {
        Some(joined) = tasks.join_next() => {
            // Both branches can be ready at once after a signal; only an end that came before
            // the stop request is unexpected.
            failure = if stop.is_cancelled() { flatten(joined).err() } else { ended_early(joined) };
            stop.cancel();
        }
        () = stop.cancelled() => {}
    }
    let drain = async {
        while let Some(joined) = tasks.join_next().await {
            if let Err(error) = flatten(joined) {
                tracing::warn!(error = %format!("{error:#}"), "error while stopping");
            }
        }
    };
    if tokio::time::timeout(grace, drain).await.is_err() {
        tasks.abort_all();
        tracing::warn!(
            grace_seconds = grace.as_secs(),
            "work still running after the grace period was cut off"
        );
    } else {
        tracing::info!("stopped cleanly");
    }
    failure.map_or(Ok(()), Err)
}

fn flatten(
    joined: Result<(&'static str, anyhow::Result<()>), tokio::task::JoinError>,
) -> anyhow::Result<()> {
    match joined {
        Ok((name, result)) => result.with_context(|| format!("{name} failed")),
        Err(join_error) => Err(anyhow::anyhow!(
            "a task panicked or was cancelled: {join_error}"
        )),
    }
}

/// A task that ends before shutdown was asked for: an error, or a clean end nobody expected.
fn ended_early(
    joined: Result<(&'static str, anyhow::Result<()>), tokio::task::JoinError>,
) -> Option<anyhow::Error> {
    let name = joined.as_ref().map(|(name, _)| *name).unwrap_or("a task");
    match flatten(joined) {
        Ok(()) => Some(anyhow::anyhow!("{name} stopped unexpectedly")),
        Err(error) => Some(error),
    }
}
