//! Lambda: the status-check SQS consumer: asks providers about payments whose outcome we
//! still wait for, and expires the ones nobody approved. Reports partial batch failures.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    walletpay_api::sqs::serve(walletpay_api::sqs::Consumer::StatusChecks).await
}
