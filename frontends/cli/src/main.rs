//! The `ots-gateway` binary: parses the command line and wires the core and the frontends
//! together. No policy lives here; `anyhow` is used here and nowhere else.

#![deny(unsafe_code)]

// The allocator forwards to mimalloc's C functions; nothing else in the project is unsafe.
#[allow(unsafe_code)]
mod allocator;
mod cli;
mod commands;
mod descriptors;
mod process_env;
mod runtime;
mod shutdown;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's malloc: a request makes a few dozen short-lived allocations, and
/// glibc's `malloc`/`free` were over a tenth of a status request's instructions (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: allocator::Mimalloc = allocator::Mimalloc;

/// `EX_CONFIG` from sysexits.h: service managers and scripts can tell "fix your config" apart
/// from a crash.
const EXIT_CONFIG: u8 = 78;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let scheduler = runtime::Scheduler::for_cpus(std::thread::available_parallelism().ok());
    let runtime = match scheduler.build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ots-gateway: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => match error.downcast_ref::<ots_gateway_core::config::ConfigError>() {
            Some(config_error) => {
                eprintln!("ots-gateway: invalid configuration:");
                for problem in &config_error.problems {
                    eprintln!("  {problem}");
                }
                ExitCode::from(EXIT_CONFIG)
            }
            None => match error.downcast_ref::<ots_gateway_discord::DiscordError>() {
                // A `[discord]` value the bot's own types refuse (e.g. `ttl_choices`).
                Some(setting @ ots_gateway_discord::DiscordError::InvalidSetting { .. }) => {
                    eprintln!("ots-gateway: invalid configuration:");
                    eprintln!("  {setting}");
                    ExitCode::from(EXIT_CONFIG)
                }
                _ => {
                    eprintln!("ots-gateway: {error:#}");
                    ExitCode::FAILURE
                }
            },
        },
    }
}
