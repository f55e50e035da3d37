//! Lambda: delivers merchant notifications, signed, with backoff over 45 hours, then parks
//! them on the dead-letter queue. Reports partial batch failures.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    walletpay_api::sqs::serve(walletpay_api::sqs::Consumer::Notifications).await
}
