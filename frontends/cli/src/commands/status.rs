//! `ots-gateway status`: asks a running gateway how it is doing and says so in plain words.

use std::time::Duration;

use anyhow::Context as _;
use ots_gateway_core::gateway::report::{RateReport, StatusReport};

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
    if code == reqwest::StatusCode::UNAUTHORIZED {
        anyhow::bail!(
            "the gateway wants its bearer token: pass --token or set OTS_GATEWAY_BEARER_TOKEN"
        );
    }
    let report: StatusReport = response.json().await.with_context(|| {
        format!("{url} answered {code} with something other than a gateway status")
    })?;
    print!("{}", describe(base.as_str().trim_end_matches('/'), &report));
    anyhow::ensure!(report.ready, "the gateway is not ready");
    Ok(())
}

fn describe(base: &str, report: &StatusReport) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "ots-gateway {} at {base}: {}\n",
        report.version,
        if report.ready { "ready" } else { "NOT ready" }
    ));
    let upstream = &report.upstream;
    match &upstream.status {
        Some(status) => out.push_str(&format!("  upstream      {} ({status})\n", upstream.origin)),
        None => out.push_str(&format!(
            "  upstream      {}: {}\n",
            upstream.origin,
            upstream.error.as_deref().unwrap_or("?")
        )),
    }
    let account = if report.team_account {
        "team credentials"
    } else {
        "anonymous"
    };
    out.push_str(&format!("  account       {account}\n"));
    let rate = |rate: Option<&RateReport>| match rate {
        Some(rate) => format!("{}/min, burst {}", rate.per_minute, rate.burst),
        None => "unlimited".to_owned(),
    };
    out.push_str(&format!(
        "  OTS budget    {} (shared by every caller)\n",
        rate(report.quotas.upstream_budget.as_ref())
    ));
    for quota in &report.quotas.callers {
        out.push_str(&format!(
            "  quota         {} {}: {} per caller\n",
            quota.frontend,
            quota.class,
            rate(Some(&quota.rate))
        ));
    }
    out.push_str(&format!(
        "  callers       {} with quota state\n",
        report.tracked_callers
    ));
    if let Some(entries) = report.ledger_entries {
        out.push_str(&format!("  ledger        {entries} receipts\n"));
    }
    out
}
