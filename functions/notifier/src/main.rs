//! Lambda: delivers merchant notifications, signed, with backoff over 45 hours, then parks
//! them on the dead-letter queue. Reports partial batch failures.

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
            handle(app, Consumer::Notifications, event.payload).await,
        )
    }))
    .await
}
