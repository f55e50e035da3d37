//! SQS batches for the payment-events consumer, reported per message
//! (`ReportBatchItemFailures`): only the messages that failed come back.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use walletpay_app::events::{consume_payment_event, ConsumeError};
use walletpay_app::App;

/// One message of a batch, however it arrived (Lambda event or a local receive).
pub struct Incoming<'a> {
    pub message_id: &'a str,
    pub body: &'a str,
}

/// Applies each message; returns the ids of those that must be retried.
pub async fn consume_batch(app: &App, messages: &[Incoming<'_>]) -> Vec<String> {
    let mut failed = Vec::new();
    for m in messages {
        match consume_payment_event(app, m.body).await {
            Ok(applied) => tracing::debug!(
                message_id = m.message_id,
                ?applied,
                "payment event consumed"
            ),
            Err(e @ ConsumeError::Malformed(_)) => {
                tracing::error!(message_id = m.message_id, error = %e, "unreadable payment event");
                failed.push(m.message_id.to_string());
            }
            Err(e) => {
                tracing::warn!(message_id = m.message_id, error = %e, "payment event will be retried");
                failed.push(m.message_id.to_string());
            }
        }
    }
    failed
}

/// The Lambda handler body for an SQS event.
pub async fn handle_sqs_event(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let messages: Vec<Incoming<'_>> = event
        .records
        .iter()
        .map(|r| Incoming {
            message_id: r.message_id.as_deref().unwrap_or(""),
            body: r.body.as_deref().unwrap_or(""),
        })
        .collect();
    let failed = consume_batch(app, &messages).await;
    let mut resp = SqsBatchResponse::default();
    resp.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    resp
}
