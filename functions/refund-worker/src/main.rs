//! Lambda: the refund worker: calls providers for queued refunds, retries with backoff,
//! settles refunds and their payments. Reports partial batch failures.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    walletpay_api::sqs::serve(walletpay_api::sqs::Consumer::Refunds).await
}
