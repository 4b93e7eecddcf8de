//! Unmodified OTS client libraries from their registries, pointed at `serve --dev`.
//!
//! The packages are installed on first use into target/test-tools (the registries are reachable
//! from every machine this project runs on); `.ci/run` makes sure node, npm and python3 exist.

use std::path::PathBuf;
use std::process::Command as StdCommand;

use tokio::process::Command;

use crate::support::{self, clients_dir, tools_dir};

const NPM_PACKAGE: &str = "onetimesecret-api@1.1.3";
const PYPI_PACKAGE: &str = "onetimesecret==1";

fn run_installer(program: &str, args: &[&str]) {
    let status = StdCommand::new(program)
        .args(args)
        // Installs go into a private --target folder, never the system's site-packages.
        .env("PIP_BREAK_SYSTEM_PACKAGES", "1")
        .status()
        .unwrap_or_else(|e| panic!("cannot run {program} (install it; .ci/run does): {e}"));
    assert!(status.success(), "{program} {args:?} failed: {status}");
}

async fn install_npm_client() -> PathBuf {
    let _installing = support::INSTALL_LOCK.lock().await;
    let dir = tools_dir("npm");
    if !support::is_installed(&dir) {
        let prefix = dir.to_string_lossy().into_owned();
        run_installer(
            "npm",
            &[
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                &prefix,
                NPM_PACKAGE,
            ],
        );
    }
    dir.join("node_modules")
}

async fn install_pypi_client() -> PathBuf {
    let _installing = support::INSTALL_LOCK.lock().await;
    let dir = tools_dir("pypi");
    if !support::is_installed(&dir) {
        let target = dir.to_string_lossy().into_owned();
        run_installer(
            "python3",
            &[
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                &target,
                PYPI_PACKAGE,
            ],
        );
        support::mark_installed(&dir);
    }
    dir
}

fn assert_steps(output: &std::process::Output, steps: &[&str]) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "client failed:\n{stdout}\n{stderr}"
    );
    for step in steps {
        assert!(
            stdout.lines().any(|l| l == format!("ok {step}")),
            "step {step} missing:\n{stdout}"
        );
    }
}

#[tokio::test]
async fn npm_onetimesecret_api_works_unchanged_against_the_gateway() {
    let modules = install_npm_client().await;
    let gateway = support::start(&["serve", "--dev", "--listen", "127.0.0.1:0"], &[]).await;
    let output = Command::new("node")
        .arg(clients_dir().join("npm_onetimesecret_api.js"))
        .arg(&gateway.base_url)
        .env("OTS_CLIENT_MODULES", &modules)
        .output()
        .await
        .expect("run node");
    assert_steps(
        &output,
        &[
            "status",
            "share",
            "metadata",
            "retrieve",
            "retrieve-once",
            "metadata-received",
            "generate",
            "burn",
            "recent",
            "not-found",
        ],
    );
}

#[tokio::test]
async fn pypi_onetimesecret_works_unchanged_against_the_gateway() {
    let site = install_pypi_client().await;
    let gateway = support::start(&["serve", "--dev", "--listen", "127.0.0.1:0"], &[]).await;
    let output = Command::new("python3")
        .arg(clients_dir().join("pypi_onetimesecret.py"))
        .arg(&gateway.base_url)
        .env("PYTHONPATH", &site)
        .output()
        .await
        .expect("run python3");
    assert_steps(&output, &["share", "retrieve", "empty-secret-error"]);
}

#[tokio::test]
async fn npm_onetimesecret_api_sees_a_spent_quota_as_its_rate_limit_error() {
    let modules = install_npm_client().await;
    let gateway = support::start(
        &["serve", "--dev", "--listen", "127.0.0.1:0"],
        &[(
            "OTS_GATEWAY__REST__QUOTA_CREATE",
            "{ per_minute = 1, burst = 1 }",
        )],
    )
    .await;
    let output = Command::new("node")
        .arg(clients_dir().join("npm_rate_limited.js"))
        .arg(&gateway.base_url)
        .env("OTS_CLIENT_MODULES", &modules)
        .output()
        .await
        .expect("run node");
    assert_steps(&output, &["first-share", "rate-limited"]);
}

/// What OTS accepts from one client, the shipped configuration accepts too: a burst of shares,
/// receipt calls and reveals from each unmodified library draws no 429.
const BURST: &str = "120";

fn shipped_config() -> String {
    format!(
        "{}/../../config/ots-gateway.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

async fn shipped_dev_gateway() -> support::Running {
    let config = shipped_config();
    support::start(
        &[
            "serve",
            "--dev",
            "--config",
            &config,
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
    )
    .await
}

#[tokio::test]
async fn npm_onetimesecret_api_burst_draws_no_429_with_the_shipped_config() {
    let modules = install_npm_client().await;
    let gateway = shipped_dev_gateway().await;
    let output = Command::new("node")
        .arg(clients_dir().join("npm_burst.js"))
        .arg(&gateway.base_url)
        .arg(BURST)
        .env("OTS_CLIENT_MODULES", &modules)
        .output()
        .await
        .expect("run node");
    assert_steps(
        &output,
        &[
            &format!("share {BURST}"),
            &format!("receipt {BURST}"),
            &format!("reveal {BURST}"),
        ],
    );
}

#[tokio::test]
async fn pypi_onetimesecret_burst_draws_no_429_with_the_shipped_config() {
    let site = install_pypi_client().await;
    let gateway = shipped_dev_gateway().await;
    let output = Command::new("python3")
        .arg(clients_dir().join("pypi_burst.py"))
        .arg(&gateway.base_url)
        .arg(BURST)
        .env("PYTHONPATH", &site)
        .output()
        .await
        .expect("run python3");
    assert_steps(
        &output,
        &[
            &format!("share {BURST}"),
            &format!("reveal {BURST}"),
            &format!("receipt {BURST}"),
        ],
    );
}

const TEAM_ACCOUNT: &str = "team@example.com";
const TEAM_TOKEN: &str = "client-libraries-team-token";

/// v1 clients keep working when the upstream speaks only v2: the gateway translates.
#[tokio::test]
async fn npm_onetimesecret_api_works_through_the_gateway_to_a_v2_only_server() {
    let modules = install_npm_client().await;
    let (_simulator, gateway) =
        support::simulator_and_team_gateway("v2", TEAM_ACCOUNT, TEAM_TOKEN).await;
    let output = Command::new("node")
        .arg(clients_dir().join("npm_onetimesecret_api.js"))
        .arg(&gateway.base_url)
        .env("OTS_CLIENT_MODULES", &modules)
        .output()
        .await
        .expect("run node");
    assert_steps(
        &output,
        &[
            "status",
            "share",
            "metadata",
            "retrieve",
            "retrieve-once",
            "metadata-received",
            "generate",
            "burn",
            "recent",
            "not-found",
        ],
    );
}

#[tokio::test]
async fn pypi_onetimesecret_works_through_the_gateway_to_a_v2_only_server() {
    let site = install_pypi_client().await;
    let (_simulator, gateway) =
        support::simulator_and_team_gateway("v2", TEAM_ACCOUNT, TEAM_TOKEN).await;
    let output = Command::new("python3")
        .arg(clients_dir().join("pypi_onetimesecret.py"))
        .arg(&gateway.base_url)
        .env("PYTHONPATH", &site)
        .output()
        .await
        .expect("run python3");
    assert_steps(&output, &["share", "retrieve", "empty-secret-error"]);
}
