//! Read receipts by DM: the Discord side of the core's receipt watcher.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ots_gateway_core::watcher::{Delivery, ReceiptNews, ReceiptSubscriber};
use serenity::all::{CreateMessage, UserId};
use serenity::http::Http;

use crate::error::DiscordError;
use crate::render;

/// Tells each owner, by DM, what became of their secret.
pub struct ReadReceipts {
    http: Arc<Http>,
}

impl ReadReceipts {
    pub(crate) fn new(http: Http) -> Self {
        ReadReceipts {
            http: Arc::new(http),
        }
    }

    async fn send(&self, news: ReceiptNews) -> Delivery {
        // Owners are Discord user ids, recorded by this frontend; anything else is not ours.
        let Some(owner) = news.owner.parse::<u64>().ok().filter(|id| *id != 0) else {
            return Delivery::Undeliverable;
        };
        let message = CreateMessage::new().content(render::read_receipt(&news));
        match UserId::new(owner).direct_message(&self.http, message).await {
            Ok(_) => Delivery::Delivered,
            Err(error) => {
                let error = DiscordError::from_serenity("read receipt", &error);
                tracing::warn!(%error, entry = %news.entry, "could not send a read receipt");
                delivery_after(&error)
            }
        }
    }
}

/// A refusal about this message (DMs closed, user gone) will not change by retrying; anything
/// else (Discord unreachable or rate limiting, a reset token) may pass later.
fn delivery_after(error: &DiscordError) -> Delivery {
    match error {
        DiscordError::Refused { status, .. } if *status != 429 && *status < 500 => {
            Delivery::Undeliverable
        }
        DiscordError::Refused { .. }
        | DiscordError::TokenRejected
        | DiscordError::Unreachable { .. }
        | DiscordError::Gateway(_)
        | DiscordError::MissingToken
        | DiscordError::InvalidSetting { .. } => Delivery::RetryLater,
    }
}

impl ReceiptSubscriber for ReadReceipts {
    fn announce(&self, news: ReceiptNews) -> Pin<Box<dyn Future<Output = Delivery> + Send + '_>> {
        Box::pin(self.send(news))
    }
}
