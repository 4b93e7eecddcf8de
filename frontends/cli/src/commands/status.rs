//! `ots-gateway status`: asks a running gateway how it is doing and says so in plain words.

use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

use super::gateway_url;
use crate::cli::StatusArgs;

pub async fn run(args: StatusArgs) -> anyhow::Result<()> {
    let base = gateway_url::parse(&args.url)?;
    let url = gateway_url::join(&base, "gateway/status");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build an HTTP client")?;
    let mut request = client.get(&url);
    if let Some(token) = args.token.as_deref().filter(|t| !t.is_empty()) {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("no gateway is answering at {base}"))?;
    let code = response.status();
    let body: Value = response
        .json()
        .await
        .with_context(|| format!("{url} answered {code} with something other than JSON"))?;
    if code == reqwest::StatusCode::UNAUTHORIZED {
        anyhow::bail!(
            "the gateway wants its bearer token: pass --token or set OTS_GATEWAY_BEARER_TOKEN"
        );
    }
    print!("{}", describe(base.as_str().trim_end_matches('/'), &body));
    anyhow::ensure!(body["ready"] == true, "the gateway is not ready");
    Ok(())
}

fn describe(base: &str, body: &Value) -> String {
    let text = |value: &Value| value.as_str().unwrap_or("?").to_owned();
    let mut out = String::new();
    let ready = body["ready"] == true;
    out.push_str(&format!(
        "ots-gateway {} at {base}: {}\n",
        text(&body["version"]),
        if ready { "ready" } else { "NOT ready" }
    ));
    let upstream = &body["upstream"];
    match upstream["status"].as_str() {
        Some(status) => out.push_str(&format!(
            "  upstream      {} ({status})\n",
            text(&upstream["origin"])
        )),
        None => out.push_str(&format!(
            "  upstream      {}: {}\n",
            text(&upstream["origin"]),
            text(&upstream["error"])
        )),
    }
    let account = if body["team_account"] == true {
        "team credentials"
    } else {
        "anonymous"
    };
    out.push_str(&format!("  account       {account}\n"));
    let rate = |rate: &Value| match (rate["per_minute"].as_u64(), rate["burst"].as_u64()) {
        (Some(per_minute), Some(burst)) => format!("{per_minute}/min, burst {burst}"),
        _ => "unlimited".to_owned(),
    };
    out.push_str(&format!(
        "  OTS budget    {} (shared by every caller)\n",
        rate(&body["quotas"]["upstream_budget"])
    ));
    for quota in body["quotas"]["callers"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  quota         {} {}: {} per caller\n",
            text(&quota["frontend"]),
            text(&quota["class"]),
            rate(quota)
        ));
    }
    out.push_str(&format!(
        "  callers       {} with quota state\n",
        body["tracked_callers"].as_u64().unwrap_or(0)
    ));
    if let Some(entries) = body["ledger_entries"].as_u64() {
        out.push_str(&format!("  ledger        {entries} receipts\n"));
    }
    out
}
