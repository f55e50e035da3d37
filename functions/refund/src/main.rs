//! Lambda: `POST /v1/payments/{id}/refunds`, `GET /v1/payments/{id}/refunds[/{refund_id}]`
//! (API Gateway HTTP API). Reserves the amount, writes the refund, queues the job.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    walletpay_api::runtime::init_tracing();
    let app = walletpay_api::runtime::app_from_env().await?;
    lambda_http::run(walletpay_api::refunds_router(app)).await
}
