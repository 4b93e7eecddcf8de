//! `ots-gateway discord ...`: helpers for setting up the Discord bot.

use ots_gateway_core::config::CommandLineOverrides;

use super::load_config;
use crate::cli::DiscordCommand;

pub async fn run(command: DiscordCommand) -> anyhow::Result<()> {
    match command {
        DiscordCommand::InviteUrl(args) => {
            let config = load_config(&args, &CommandLineOverrides::default())?;
            let url = ots_gateway_discord::invite_url(&config.discord).await?;
            println!("{url}");
            Ok(())
        }
    }
}
