//! SQS batches for the queue consumers, reported per message (`ReportBatchItemFailures`):
//! only the messages that failed come back, and after the queue's receive limit they go to
//! its dead-letter queue.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use walletpay_app::events::{consume_payment_event, ConsumeError};
use walletpay_app::App;

/// One message of a batch, however it arrived (Lambda event or a local receive).
pub struct Incoming<'a> {
    pub message_id: &'a str,
    pub body: &'a str,
}

/// Which consumer a queue feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumer {
    /// Verified provider events, applied to payments.
    PaymentEvents,
    /// Delayed checks of payments against their provider.
    StatusChecks,
    /// Refund jobs: provider calls and refund status checks.
    Refunds,
    /// Merchant notifications to deliver.
    Notifications,
}

async fn consume_one(app: &App, consumer: Consumer, m: &Incoming<'_>) -> bool {
    match consumer {
        Consumer::PaymentEvents => match consume_payment_event(app, m.body).await {
            Ok(applied) => {
                tracing::debug!(
                    message_id = m.message_id,
                    ?applied,
                    "payment event consumed"
                );
                true
            }
            Err(e @ ConsumeError::Malformed(_)) => {
                tracing::error!(message_id = m.message_id, error = %e, "unreadable payment event");
                false
            }
            Err(e) => {
                tracing::warn!(message_id = m.message_id, error = %e, "payment event will be retried");
                false
            }
        },
        Consumer::Refunds => match walletpay_app::refunds::process_refund_job(app, m.body).await {
            Ok(done) => {
                tracing::debug!(message_id = m.message_id, ?done, "refund job");
                true
            }
            Err(e) => {
                tracing::warn!(message_id = m.message_id, error = %e, "refund job will be retried");
                false
            }
        },
        Consumer::Notifications => match walletpay_app::notifications::deliver(app, m.body).await {
            Ok(done) => {
                tracing::debug!(message_id = m.message_id, ?done, "notification");
                true
            }
            Err(e) => {
                tracing::warn!(message_id = m.message_id, error = %e, "notification job will be retried");
                false
            }
        },
        Consumer::StatusChecks => match walletpay_app::status::run_check(app, m.body).await {
            Ok(done) => {
                tracing::debug!(message_id = m.message_id, ?done, "status check");
                true
            }
            Err(e) => {
                tracing::warn!(message_id = m.message_id, error = %e, "status check will be retried");
                false
            }
        },
    }
}

/// Handles each message; returns the ids of those that must be retried.
pub async fn consume(app: &App, consumer: Consumer, messages: &[Incoming<'_>]) -> Vec<String> {
    let mut failed = Vec::new();
    for m in messages {
        if !consume_one(app, consumer, m).await {
            failed.push(m.message_id.to_string());
        }
    }
    failed
}

/// The Lambda handler body for an SQS event of `consumer`'s queue.
pub async fn handle(app: &App, consumer: Consumer, event: SqsEvent) -> SqsBatchResponse {
    let messages: Vec<Incoming<'_>> = event
        .records
        .iter()
        .map(|r| Incoming {
            message_id: r.message_id.as_deref().unwrap_or(""),
            body: r.body.as_deref().unwrap_or(""),
        })
        .collect();
    let failed = consume(app, consumer, &messages).await;
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
