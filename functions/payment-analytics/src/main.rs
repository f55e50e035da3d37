//! Lambda: the consumer of the table's change stream. Counts every inserted payment version
//! into the back office's aggregates; reports partial batch failures, so a shard is
//! delivered again from the first version not counted.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    walletpay_api::streams::serve().await
}
