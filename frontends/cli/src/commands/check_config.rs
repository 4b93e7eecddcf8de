//! `ots-gateway check-config`: validates the configuration and says what it will do, showing
//! secrets only as set or unset.

use ots_gateway_core::config::{
    CONFIGURED_FRONTENDS, CommandLineOverrides, LogFormat, ValidConfig,
};
use ots_gateway_core::limits::OperationClass;
use ots_gateway_core::model::Frontend;
use ots_gateway_core::policy::RecentSource;

use super::assemble::discord_bot_options;
use super::load_config;
use crate::cli::ConfigArgs;
use ots_gateway_discord::options::BotOptions;

pub fn run(args: ConfigArgs) -> anyhow::Result<()> {
    let config = load_config(&args, &CommandLineOverrides::default())?;
    let bot_options = discord_bot_options(&config.discord)?;
    let set = |present: bool| if present { "set" } else { "unset" };
    let source = match &args.config {
        Some(path) => path.display().to_string(),
        None => "built-in defaults (no --config / OTS_GATEWAY_CONFIG)".to_owned(),
    };
    println!("configuration OK ({source})");
    println!("  listen                   {}", config.listen);
    println!("  allowed extra hosts      {}", list(&config.allowed_hosts));
    println!(
        "  bearer token             {}",
        set(config.bearer_token.is_some())
    );
    println!("  max body                 {} bytes", config.max_body_bytes);
    println!("  request timeout          {:?}", config.request_timeout);
    println!(
        "  max concurrent requests  {}",
        config.max_concurrent_requests
    );
    println!("  max connections          {}", config.max_connections);
    println!("  header timeout           {:?}", config.header_timeout);
    println!("  body timeout             {:?}", config.body_timeout);
    println!("  shutdown grace           {:?}", config.shutdown_grace);
    println!("  upstream                 {}", config.upstream.base_url);
    match &config.upstream.credentials {
        Some(credentials) => println!(
            "  team account             {} (API key set)",
            credentials.username
        ),
        None => println!("  team account             unset: OTS is used anonymously"),
    }
    println!(
        "  upstream timeouts        connect {:?}, request {:?}",
        config.upstream.connect_timeout, config.upstream.request_timeout
    );
    println!(
        "  read retries             {} (backoff from {:?})",
        config.upstream.read_retries, config.upstream.retry_backoff
    );
    println!(
        "  upstream API             {} (auto: v2 where the server offers it, else v1)",
        config.upstream.api.as_str()
    );
    let format = match config.log_format {
        LogFormat::Text => "text",
        LogFormat::Json => "json",
    };
    println!(
        "  log                      {} as {format}, to stderr",
        config.log_level
    );
    println!(
        "  client tokens            {}",
        match config.client_tokens.len() {
            0 => "none".to_owned(),
            n => format!(
                "{n} ({})",
                config
                    .client_tokens
                    .iter()
                    .map(|t| t.label.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    );
    println!(
        "  ledger                   {} (durability {:?}, upkeep every {:?})",
        config
            .ledger_path
            .as_ref()
            .map_or("the default data directory".to_owned(), |p| p
                .display()
                .to_string()),
        config.ledger_durability,
        config.maintenance_interval
    );
    println!(
        "  audit events             {}",
        config
            .audit_file
            .as_ref()
            .map_or("in the main log".to_owned(), |p| format!(
                "to {}",
                p.display()
            ))
    );
    println!(
        "  upstream budget          {}",
        rate(config.quotas.upstream.as_ref())
    );
    println!(
        "  MCP generated values     {}",
        if config.mcp_return_generated_value {
            "returned to the agent"
        } else {
            "not returned to the agent"
        }
    );
    println!(
        "  MCP secret entry         {}",
        if config.mcp_out_of_band_only {
            "out-of-band only: share_secret refuses `secret`; people type secrets into the entry page"
        } else {
            "`secret` argument or the out-of-band entry page"
        }
    );
    explain_discord(&config, &bot_options);
    for frontend in CONFIGURED_FRONTENDS {
        explain_frontend(&config, frontend);
    }
    Ok(())
}

fn explain_discord(config: &ValidConfig, options: &BotOptions) {
    let discord = &config.discord;
    let set = |present: bool| if present { "set" } else { "unset" };
    let ids = |ids: &[u64]| {
        if ids.is_empty() {
            "any".to_owned()
        } else {
            ids.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    println!(
        "  discord bot              {} (token {})",
        if discord.enabled {
            "enabled"
        } else {
            "disabled"
        },
        set(discord.token.is_some())
    );
    println!(
        "  discord commands         {}",
        discord
            .guild_id
            .map_or("registered globally".to_owned(), |id| format!(
                "registered in guild {id}"
            ))
    );
    println!(
        "  discord guilds / roles   {} / {}",
        ids(&discord.allowed_guilds),
        ids(&discord.allowed_roles)
    );
    println!(
        "  discord visible to       {}",
        discord
            .default_member_permissions
            .map_or("everyone".to_owned(), |bits| format!(
                "members with permission bits {bits}"
            ))
    );
    if let Some(base) = &discord.api_base {
        println!("  discord API base         {base}");
    }
    let lifetimes: Vec<String> = options
        .ttl_choices
        .labelled()
        .map(|(label, _)| label)
        .collect();
    println!(
        "  discord lifetimes        {} (default {})",
        lifetimes.join(", "),
        ots_gateway_discord::options::label(options.ttl_choices.default_secs())
    );
    let watch = &discord.read_receipt_watch;
    if options.read_receipts {
        println!(
            "  discord read receipts    on: up to {} secrets every {:?}, backing off to {:?}",
            watch.batch, watch.interval, watch.max_backoff
        );
    } else {
        println!("  discord read receipts    off");
    }
}

/// One frontend's policy and quotas, walked from the same table validation uses.
fn explain_frontend(config: &ValidConfig, frontend: Frontend) {
    let policy = config.policy.for_frontend(frontend);
    let operations: Vec<&str> = policy
        .allowed_operations
        .iter()
        .map(|op| op.as_str())
        .collect();
    let recent = match policy.recent_source {
        RecentSource::UpstreamAccount => "the team account's list",
        RecentSource::CallerLedger => "the caller's own ledger entries",
    };
    let name = format!("[{frontend}]");
    println!("  {name:<24} allows {}", list_of(&operations));
    println!(
        "  {:<24} ownership {}, recent from {recent}",
        "",
        if policy.enforce_ownership {
            "enforced"
        } else {
            "not enforced"
        }
    );
    for class in OperationClass::ALL {
        println!(
            "  {:<24} quota {:<7} {}",
            "",
            class.as_str(),
            rate(config.quotas.callers.get(&(frontend, class)))
        );
    }
}

fn rate(rate: Option<&ots_gateway_core::limits::Rate>) -> String {
    match rate {
        Some(rate) => format!("{}/min, burst {}", rate.per_minute, rate.burst),
        None => "unlimited".to_owned(),
    }
}

fn list_of(items: &[&str]) -> String {
    if items.is_empty() {
        "nothing".to_owned()
    } else {
        items.join(", ")
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}
