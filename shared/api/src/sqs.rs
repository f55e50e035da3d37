//! SQS batches for the queue consumers, reported per message (`ReportBatchItemFailures`):
//! only the messages that failed come back, and after the queue's receive limit they go to
//! its dead-letter queue.
//!
//! A batch's messages are worked on concurrently (up to [`CONCURRENCY`] at once), each in
//! its own tracing span with its message id, so one slow provider or merchant holds up only
//! its own messages; a payment's notifications in one batch go one after another, in their
//! sequence (`Consumer::order_of`). Near the invocation's deadline no new message is started (one may
//! need [`MESSAGE_BUDGET`]), and one still running when the deadline comes is abandoned:
//! both are handed back as batch-item failures and come again after the queue's visibility
//! timeout. Abandoning is safe because every step of every consumer is a conditional write
//! or an idempotent provider call, so doing it again decides the same. (A status check
//! abandoned just after it scheduled the next one leaves its payment two chains of checks:
//! more checks, never another outcome.)

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures::StreamExt;
use std::time::Duration;
use tokio::time::Instant;
use tracing::Instrument;
use walletpay_app::events::{consume_payment_event, ConsumeError};
use walletpay_app::App;

/// Messages of one batch worked on at once.
pub const CONCURRENCY: usize = 10;

/// What one message may need: a provider call or a merchant delivery is bounded at 10 s,
/// and the store reads and writes around it take a moment more.
pub const MESSAGE_BUDGET: Duration = Duration::from_secs(12);

/// What a day's reconciliation may need (the reconcile function's timeout is 15 minutes).
pub const RECONCILE_BUDGET: Duration = Duration::from_secs(10 * 60);

/// Kept free before the deadline to answer Lambda with the batch's failures.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(500);

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
    /// Reconciliation jobs: a provider account's day (see `walletpay_app::reconcile`).
    Reconcile,
}

impl Consumer {
    /// Messages of one batch with the same key are worked on one after another, in the
    /// order of the number: a payment's notifications by their sequence, so a batch
    /// delivers them in order. (Across batches and retries the merchant orders by
    /// `sequence`.)
    fn order_of(self, body: &str) -> Option<(String, u64)> {
        match self {
            Consumer::Notifications => walletpay_app::notifications::order_of(body),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Consumer::PaymentEvents => "payment-events",
            Consumer::StatusChecks => "status-checks",
            Consumer::Refunds => "refunds",
            Consumer::Notifications => "notifications",
            Consumer::Reconcile => "reconcile",
        }
    }

    /// What one message may need before the deadline: [`MESSAGE_BUDGET`], and for a day's
    /// reconciliation (a provider's whole settlement data read and matched) [`RECONCILE_BUDGET`].
    pub fn budget(self) -> Duration {
        match self {
            Consumer::Reconcile => RECONCILE_BUDGET,
            _ => MESSAGE_BUDGET,
        }
    }
}

/// Logs what became of one message; true if it is done with (delete it).
fn settled<T: std::fmt::Debug, E: std::fmt::Display>(
    what: &str,
    result: Result<T, E>,
    unreadable: impl Fn(&E) -> bool,
) -> bool {
    match result {
        Ok(done) => {
            tracing::debug!(?done, "{what} handled");
            true
        }
        Err(e) if unreadable(&e) => {
            tracing::error!(error = %e, "unreadable {what}");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "{what} will be retried");
            false
        }
    }
}

async fn consume_one(app: &App, consumer: Consumer, body: &str) -> bool {
    use walletpay_app::{notifications, refunds, status};
    match consumer {
        Consumer::PaymentEvents => settled(
            "payment event",
            consume_payment_event(app, body).await,
            |e| matches!(e, ConsumeError::Malformed(_)),
        ),
        Consumer::Refunds => settled(
            "refund job",
            refunds::process_refund_job(app, body).await,
            |e| matches!(e, refunds::WorkError::Malformed(_)),
        ),
        Consumer::Notifications => settled(
            "notification job",
            notifications::deliver(app, body).await,
            |e| matches!(e, notifications::NotifyError::Malformed(_)),
        ),
        Consumer::StatusChecks => {
            settled("status check", status::run_check(app, body).await, |e| {
                matches!(e, status::CheckError::Malformed(_))
            })
        }
        Consumer::Reconcile => settled(
            "reconcile job",
            walletpay_app::reconcile::process_job(app, body).await,
            |e| matches!(e, walletpay_app::reconcile::RunError::Malformed(_)),
        ),
    }
}

/// One message, within what is left before `deadline`: true if done with.
async fn within(
    app: &App,
    consumer: Consumer,
    m: &Incoming<'_>,
    deadline: Option<Instant>,
) -> bool {
    let Some(deadline) = deadline else {
        return consume_one(app, consumer, m.body).await;
    };
    let left = deadline.saturating_duration_since(Instant::now());
    if left < consumer.budget() + ANSWER_MARGIN {
        tracing::info!("too close to the deadline to start; handed back");
        return false;
    }
    match tokio::time::timeout(left - ANSWER_MARGIN, consume_one(app, consumer, m.body)).await {
        Ok(done) => done,
        Err(_) => {
            tracing::warn!("still running at the deadline; abandoned and handed back");
            false
        }
    }
}

/// A batch as the runs worked on concurrently: messages with an ordering key together,
/// sorted; each other message on its own.
fn in_order<'m, 'a>(
    consumer: Consumer,
    messages: &'m [Incoming<'a>],
) -> Vec<Vec<&'m Incoming<'a>>> {
    let mut keyed: std::collections::BTreeMap<String, Vec<(u64, &Incoming<'_>)>> =
        Default::default();
    let mut groups: Vec<Vec<&Incoming<'_>>> = Vec::new();
    for m in messages {
        match consumer.order_of(m.body) {
            Some((key, n)) => keyed.entry(key).or_default().push((n, m)),
            None => groups.push(vec![m]),
        }
    }
    for (_, mut group) in keyed {
        group.sort_by_key(|(n, _)| *n);
        groups.push(group.into_iter().map(|(_, m)| m).collect());
    }
    groups
}

/// Handles a batch's messages concurrently; returns the ids of those that must come again.
/// `deadline` is when the invocation ends (none in the local stack).
pub async fn consume(
    app: &App,
    consumer: Consumer,
    messages: &[Incoming<'_>],
    deadline: Option<Instant>,
) -> Vec<String> {
    let groups = in_order(consumer, messages);
    type Work<'a> =
        std::pin::Pin<Box<dyn std::future::Future<Output = Vec<(String, bool)>> + Send + 'a>>;
    let work: Vec<Work<'_>> = groups
        .into_iter()
        .map(|group| {
            let all = async move {
                let mut done = Vec::with_capacity(group.len());
                for m in group {
                    let span = tracing::info_span!(
                        "message",
                        queue = consumer.name(),
                        message_id = m.message_id
                    );
                    let ok = within(app, consumer, m, deadline).instrument(span).await;
                    done.push((m.message_id.to_string(), ok));
                }
                done
            };
            Box::pin(all) as Work<'_>
        })
        .collect();
    let outcomes: Vec<(String, bool)> = futures::stream::iter(work)
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect();
    let mut failed: Vec<String> = outcomes
        .into_iter()
        .filter(|(_, done)| !done)
        .map(|(id, _)| id)
        .collect();
    // In the order they came, for whoever reads the answer.
    failed.sort_by_key(|id| messages.iter().position(|m| m.message_id == id));
    failed
}

/// The Lambda handler body for an SQS event of `consumer`'s queue, to finish by `deadline`.
pub async fn handle(
    app: &App,
    consumer: Consumer,
    event: SqsEvent,
    deadline: Option<Instant>,
) -> SqsBatchResponse {
    let messages: Vec<Incoming<'_>> = event
        .records
        .iter()
        .map(|r| Incoming {
            message_id: r.message_id.as_deref().unwrap_or(""),
            body: r.body.as_deref().unwrap_or(""),
        })
        .collect();
    let failed = consume(app, consumer, &messages, deadline).await;
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

/// The deadline Lambda gives an invocation (milliseconds since the epoch), as an instant.
pub fn deadline_of(context: &lambda_runtime::Context) -> Instant {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Instant::now() + Duration::from_millis(context.deadline.saturating_sub(now_ms))
}

/// A queue consumer's Lambda function: logging and the ports built once at init, then each
/// batch handed to `consumer` with the invocation's deadline.
pub async fn serve(consumer: Consumer) -> Result<(), lambda_runtime::Error> {
    crate::runtime::init_tracing();
    let app = crate::runtime::app_from_env().await?;
    let app = &app;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<SqsEvent>| async move {
            let deadline = deadline_of(&event.context);
            Ok::<SqsBatchResponse, lambda_runtime::Error>(
                handle(app, consumer, event.payload, Some(deadline)).await,
            )
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use walletpay_app::testing::{app_with, payment, Script};
    use walletpay_domain::PaymentStatus;
    use walletpay_wallet_adapter::ProviderStatus;

    /// A batch of status checks in which one provider call never answers: the others are
    /// done well before the deadline, the stalled one is handed back, and the batch ends
    /// inside the invocation.
    #[tokio::test(start_paused = true)]
    async fn a_stalled_message_holds_up_only_itself() {
        let (app, _) = app_with(Script {
            status: Ok(ProviderStatus::Succeeded),
            stall_on: Some("ch_stall".into()),
            ..Script::default()
        });
        let mut bodies = Vec::new();
        let mut ids = Vec::new();
        for reference in ["ch_1", "ch_2", "ch_stall", "ch_3", "ch_4"] {
            let p = payment(&app, Some(reference)).await;
            bodies.push(
                serde_json::json!({"payment_id": p.id, "attempt": 0, "due_at": p.created_at})
                    .to_string(),
            );
            ids.push((reference, p.id));
        }
        let names: Vec<String> = (0..bodies.len()).map(|i| format!("m{i}")).collect();
        let messages: Vec<Incoming<'_>> = names
            .iter()
            .zip(&bodies)
            .map(|(n, b)| Incoming {
                message_id: n,
                body: b,
            })
            .collect();
        let started = Instant::now();
        let deadline = started + Duration::from_secs(15);
        let failed = consume(&app, Consumer::StatusChecks, &messages, Some(deadline)).await;
        assert_eq!(failed, ["m2"], "only the stalled message comes again");
        assert!(
            Instant::now() <= deadline,
            "the batch ended inside the invocation"
        );
        for (reference, id) in ids {
            let p = app.store.get_payment(&id).await.unwrap().unwrap();
            let want = if reference == "ch_stall" {
                PaymentStatus::RequiresAction
            } else {
                PaymentStatus::Succeeded
            };
            assert_eq!(p.status, want, "{reference}");
        }
    }

    /// A payment's notifications in one batch are worked on one after another in their
    /// sequence, whatever order they came in; other payments' alongside.
    #[test]
    fn a_payments_notifications_go_in_sequence() {
        let job = |payment: &str, seq: u64| {
            serde_json::json!({"event_id": format!("evt_{seq}"), "attempt": 0, "due_at": 0,
                "entry": {"payment_id": payment, "merchant_id": "mer_01m8ab8makqqg641md11702kgn",
                    "seq": seq, "at": 0, "event": "succeeded", "from": null, "to": "succeeded",
                    "source": "webhook", "detail": null},
                "event": {}, "queued_at": 0})
            .to_string()
        };
        let a = "pay_01m8ab8makqqg641md11702kga";
        let b = "pay_01m8ab8makqqg641md11702kgb";
        let bodies = [job(a, 3), job(b, 2), job(a, 1), job(a, 2), job(b, 1)];
        let names = ["a3", "b2", "a1", "a2", "b1"];
        let messages: Vec<Incoming<'_>> = names
            .iter()
            .zip(&bodies)
            .map(|(n, b)| Incoming {
                message_id: n,
                body: b,
            })
            .collect();
        let runs: Vec<Vec<&str>> = in_order(Consumer::Notifications, &messages)
            .into_iter()
            .map(|g| g.into_iter().map(|m| m.message_id).collect())
            .collect();
        assert_eq!(runs, [vec!["a1", "a2", "a3"], vec!["b1", "b2"]]);
        // Other consumers' messages (and unreadable jobs) are each their own run.
        let runs = in_order(Consumer::StatusChecks, &messages);
        assert_eq!(runs.len(), 5);
        let odd = [Incoming {
            message_id: "x",
            body: "not json",
        }];
        assert_eq!(in_order(Consumer::Notifications, &odd).len(), 1);
    }

    /// Too close to the deadline, nothing is started: every message is handed back.
    #[tokio::test(start_paused = true)]
    async fn nothing_is_started_without_time_to_finish_it() {
        let (app, adapter) = app_with(Script::default());
        let p = payment(&app, Some("ch_1")).await;
        let body = serde_json::json!({"payment_id": p.id, "attempt": 0, "due_at": p.created_at})
            .to_string();
        let messages = [Incoming {
            message_id: "m0",
            body: &body,
        }];
        let deadline = Instant::now() + MESSAGE_BUDGET;
        let failed = consume(&app, Consumer::StatusChecks, &messages, Some(deadline)).await;
        assert_eq!(failed, ["m0"]);
        assert!(adapter.calls().is_empty(), "{:?}", adapter.calls());
    }
}
