//! Lambda: the payment-events SQS consumer. Reports partial batch failures, so only the
//! messages that failed are retried (and dead-lettered after the queue's receive limit).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    walletpay_api::sqs::serve(walletpay_api::sqs::Consumer::PaymentEvents).await
}
