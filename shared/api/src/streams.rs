//! The `payment-analytics` function's glue: a batch of the table's change stream (the new
//! image of each inserted payment version) read into versions and counted into the back
//! office's aggregates. What cannot be counted now is handed back as a batch-item failure
//! at its record's sequence number, from which Lambda delivers the shard again (what was
//! counted already is not counted twice).

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use std::collections::HashMap;
use walletpay_app::App;

fn failure_at(seq: Option<String>) -> DynamoDbEventResponse {
    let mut f = DynamoDbBatchItemFailure::default();
    f.item_identifier = seq;
    let mut r = DynamoDbEventResponse::default();
    r.batch_item_failures.push(f);
    r
}

/// Counts one batch, handing back what is not counted by `deadline`; with `emit`, what was
/// counted now is also written to standard output as CloudWatch metrics (EMF).
pub async fn handle(
    app: &App,
    event: Event,
    deadline: Option<tokio::time::Instant>,
    emit: bool,
) -> DynamoDbEventResponse {
    let (response, counted) = count(app, event, deadline).await;
    if emit {
        for line in walletpay_app::analytics::metrics::emf_lines(&counted, app.clock.now()) {
            println!("{line}");
        }
    }
    response
}

async fn count(
    app: &App,
    event: Event,
    deadline: Option<tokio::time::Instant>,
) -> (DynamoDbEventResponse, Vec<walletpay_ports::Counted>) {
    let mut versions = Vec::new();
    let mut seqs = Vec::new();
    for record in event.records {
        let seq = record.change.sequence_number.clone();
        let image: HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
            record.change.new_image.into();
        match walletpay_aws::version_from_image(&image) {
            None => {}
            Some(Ok(v)) => {
                versions.push(v);
                seqs.push(seq);
            }
            // Never skipped: it comes back until it reads (or the mapping's retries end and
            // it goes to the failure destination, with what came after it).
            Some(Err(e)) => {
                tracing::error!(error = %e, sequence = ?seq, "a payment version in the stream does not read");
                return match walletpay_app::analytics::consume(app, &versions, deadline).await {
                    Ok(counted) => (failure_at(seq), counted),
                    Err((n, _)) => (failure_at(seqs[n].clone()), Vec::new()),
                };
            }
        }
    }
    match walletpay_app::analytics::consume(app, &versions, deadline).await {
        Ok(counted) => (DynamoDbEventResponse::default(), counted),
        Err((n, e)) => {
            tracing::warn!(error = %e, "payment versions not counted yet; handed back");
            // Their metrics come with the delivery that counts them.
            (failure_at(seqs[n].clone()), Vec::new())
        }
    }
}

/// The `payment-analytics` function: counts each batch of the table's change stream.
pub async fn serve() -> Result<(), lambda_runtime::Error> {
    crate::runtime::init_tracing();
    let app = crate::runtime::app_from_env().await?;
    let app = &app;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Event>| async move {
            // A margin to answer in: what is not counted by then is handed back.
            let deadline =
                crate::sqs::deadline_of(&event.context) - std::time::Duration::from_secs(2);
            Ok::<DynamoDbEventResponse, lambda_runtime::Error>(
                handle(app, event.payload, Some(deadline), true).await,
            )
        },
    ))
    .await
}
