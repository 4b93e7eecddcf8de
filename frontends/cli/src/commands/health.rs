//! `ots-gateway health`: a dependency-free probe for container health checks.

use std::time::Duration;

use anyhow::Context as _;

use super::gateway_url;
use crate::cli::HealthArgs;

pub async fn run(args: HealthArgs) -> anyhow::Result<()> {
    let path = if args.ready { "readyz" } else { "healthz" };
    let url = gateway_url::join(&gateway_url::parse(&args.url)?, path);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .context("cannot build an HTTP client")?;
    let response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("{url} is not answering"))?;
    let status = response.status();
    if !status.is_success() {
        // The gateway says why in an OTS-style `message` (e.g. "not ready: the OTS server could
        // not be reached: the connection was refused"); pass that on.
        let reason = response
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|body| body["message"].as_str().map(str::to_owned));
        match reason {
            Some(reason) => anyhow::bail!("{url} answered {status}: {reason}"),
            None => anyhow::bail!("{url} answered {status}"),
        }
    }
    println!("{url}: {status}");
    Ok(())
}
