//! Lambda: `POST /v1/webhooks/{provider}` (API Gateway HTTP API). Verifies and enqueues;
//! never calls a provider or touches the table.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    walletpay_api::runtime::init_tracing();
    let app = walletpay_api::runtime::app_from_env().await?;
    lambda_http::run(walletpay_api::webhooks_router(app)).await
}
