//! Lambda: the status-check SQS consumer: asks providers about payments whose outcome we
//! still wait for, and expires the ones nobody approved. Reports partial batch failures.

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
            handle(app, Consumer::StatusChecks, event.payload).await,
        )
    }))
    .await
}
