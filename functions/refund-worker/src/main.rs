//! Lambda: the refund worker: calls providers for queued refunds, retries with backoff,
//! settles refunds and their payments. Reports partial batch failures.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, LambdaEvent};
use walletpay_api::sqs::{handle, Consumer};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    walletpay_api::runtime::init_tracing();
    let app = walletpay_api::runtime::app_from_env().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, lambda_runtime::Error>(
            handle(app, Consumer::Refunds, event.payload).await,
        )
    }))
    .await
}
