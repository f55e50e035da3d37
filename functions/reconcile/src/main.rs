//! Lambda: the scheduled reconcile job. EventBridge Scheduler starts it with `{"kind":
//! "daily" | "weekly", "provider": P}` and it fans out one job per provider account and day
//! onto the reconcile queue; the same function consumes that queue (a batch of jobs, each a
//! day run to the end or handed back). See `walletpay_api::reconcile` and
//! `walletpay_app::reconcile`.

use walletpay_api::sqs::{deadline_of, handle, Consumer};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    walletpay_api::runtime::init_tracing();
    let app = walletpay_api::runtime::app_from_env().await?;
    let app = &app;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            let deadline = deadline_of(&event.context);
            if event.payload.get("Records").is_some() {
                let batch: aws_lambda_events::sqs::SqsEvent =
                    serde_json::from_value(event.payload)?;
                let resp = handle(app, Consumer::Reconcile, batch, Some(deadline)).await;
                return Ok::<serde_json::Value, lambda_runtime::Error>(serde_json::to_value(resp)?);
            }
            let start: walletpay_api::reconcile::Scheduled = serde_json::from_value(event.payload)?;
            let answer = walletpay_api::reconcile::scheduled(app, &start).await?;
            Ok(answer)
        },
    ))
    .await
}
