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

/// Logs what became of one message; true if it is done with (delete it).
fn settled<T: std::fmt::Debug, E: std::fmt::Display>(
    m: &Incoming<'_>,
    what: &str,
    result: Result<T, E>,
    unreadable: impl Fn(&E) -> bool,
) -> bool {
    match result {
        Ok(done) => {
            tracing::debug!(message_id = m.message_id, ?done, "{what} handled");
            true
        }
        Err(e) if unreadable(&e) => {
            tracing::error!(message_id = m.message_id, error = %e, "unreadable {what}");
            false
        }
        Err(e) => {
            tracing::warn!(message_id = m.message_id, error = %e, "{what} will be retried");
            false
        }
    }
}

async fn consume_one(app: &App, consumer: Consumer, m: &Incoming<'_>) -> bool {
    use walletpay_app::{notifications, refunds, status};
    match consumer {
        Consumer::PaymentEvents => settled(
            m,
            "payment event",
            consume_payment_event(app, m.body).await,
            |e| matches!(e, ConsumeError::Malformed(_)),
        ),
        Consumer::Refunds => settled(
            m,
            "refund job",
            refunds::process_refund_job(app, m.body).await,
            |e| matches!(e, refunds::WorkError::Malformed(_)),
        ),
        Consumer::Notifications => settled(
            m,
            "notification job",
            notifications::deliver(app, m.body).await,
            |e| matches!(e, notifications::NotifyError::Malformed(_)),
        ),
        Consumer::StatusChecks => settled(
            m,
            "status check",
            status::run_check(app, m.body).await,
            |e| matches!(e, status::CheckError::Malformed(_)),
        ),
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
