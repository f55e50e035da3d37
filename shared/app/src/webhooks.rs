//! `POST /v1/webhooks/{provider}`: authenticate, enqueue, answer. No provider
//! calls and no payment writes here: the payment-events consumer applies the events.

use crate::app::App;
use crate::error::{ApiError, Reply};
use std::time::Duration;
use walletpay_domain::Provider;
use walletpay_wallet_adapter::{WebhookError, WebhookRequest};

pub async fn receive_webhook(
    app: &App,
    provider: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let adapter = Provider::parse(provider)
        .and_then(|p| app.adapters.get(p))
        .ok_or_else(|| ApiError::not_found("webhook endpoint"))?;
    let events = adapter
        .verify_webhook(WebhookRequest { headers, body })
        .await
        .map_err(|e| match e {
            WebhookError::Unauthenticated => {
                tracing::warn!(provider, "webhook failed authentication");
                ApiError::new(
                    401,
                    "webhook_unauthenticated",
                    "The webhook's signature or token is not valid.",
                )
            }
            WebhookError::Malformed(why) => {
                tracing::warn!(provider, %why, "malformed webhook");
                ApiError::new(
                    400,
                    "webhook_malformed",
                    "The webhook body could not be read.",
                )
            }
            // Its reason is logged where it arose (once, for credentials refused).
            WebhookError::Unavailable(_) => ApiError::new(
                503,
                "service_unavailable",
                "Webhooks from this provider cannot be verified right now.",
            ),
        })?;
    // No de-duplication here: a repeated or late event decides nothing new when it is
    // applied (the payment's state machine calls it stale and writes nothing), so a
    // duplicate costs a queue message, not a lookup and a write on every webhook.
    for event in events {
        let message = serde_json::to_string(&event).map_err(ApiError::internal)?;
        app.payment_events
            .send(&message, Duration::ZERO)
            .await
            .map_err(ApiError::unavailable)?;
    }
    let ack = adapter.webhook_ack();
    Ok(Reply {
        status: ack.status,
        content_type: ack.content_type,
        body: ack.body,
        headers: Vec::new(),
    })
}
