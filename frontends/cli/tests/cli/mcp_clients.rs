//! The PyPI `mcp` client against the real binary: over stdio (`ots-gateway mcp --dev`, launched
//! the way an assistant launches it) and over Streamable HTTP at `/mcp` of `serve --dev`.

use std::path::PathBuf;

use tokio::process::Command;

use crate::support::{self, BIN, tools_dir};

const PYPI_MCP: &str = "mcp==2.3.0";

fn client_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../mcp/tests/clients/pypi_mcp_client.py")
}

/// A venv with the pinned client (shared with the MCP crate's own tests).
async fn python_with_mcp() -> PathBuf {
    let _installing = support::INSTALL_LOCK.lock().await;
    let venv = tools_dir("pyvenv");
    let python = venv.join("bin/python");
    let check = format!(
        "import importlib.metadata as m; assert m.version('mcp') == '{}'",
        PYPI_MCP.trim_start_matches("mcp==")
    );
    let ready = Command::new(&python).args(["-c", &check]).output().await;
    if !ready.is_ok_and(|out| out.status.success()) {
        let made = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()
            .await;
        assert!(
            made.is_ok_and(|s| s.success()),
            "python3 -m venv failed (.ci/run installs python3-venv)"
        );
        let installed = Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                PYPI_MCP,
            ])
            .status()
            .await;
        assert!(
            installed.is_ok_and(|s| s.success()),
            "pip install {PYPI_MCP} failed"
        );
    }
    python
}

fn assert_ran(output: &std::process::Output, what: &str) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("ok ("),
        "{what}:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn pypi_mcp_client_over_stdio_against_ots_gateway_mcp_dev() {
    let python = python_with_mcp().await;
    let output = Command::new(&python)
        .arg(client_script())
        .args(["--stdio", BIN, "mcp", "--dev"])
        .env_remove("OTS_GATEWAY_CONFIG")
        .output()
        .await
        .expect("run the client");
    assert_ran(&output, "stdio");
}

/// `mcp --dev` used to hand out links to 127.0.0.1:7143, where nothing listened: now the
/// stdio server serves the reveal and entry pages on a loopback port of its own.
#[tokio::test]
async fn every_link_mcp_dev_hands_out_opens_a_page() {
    let python = python_with_mcp().await;
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../mcp/tests/clients/pypi_dev_links.py");
    let output = Command::new(&python)
        .arg(script)
        .args([BIN, "mcp", "--dev"])
        .env_remove("OTS_GATEWAY_CONFIG")
        .output()
        .await
        .expect("run the client");
    assert_ran(&output, "dev links");
}

#[tokio::test]
async fn pypi_mcp_client_over_http_against_serve_dev() {
    let python = python_with_mcp().await;
    let gateway = support::start(&["serve", "--dev", "--listen", "127.0.0.1:0"], &[]).await;
    for mode in ["auto", "legacy"] {
        let output = Command::new(&python)
            .arg(client_script())
            .args(["--mode", mode])
            .arg(format!("{}/mcp", gateway.base_url))
            .output()
            .await
            .expect("run the client");
        assert_ran(&output, mode);
    }
}
