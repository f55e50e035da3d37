//! Lambda: the back office, `/dashboard` and its pages (API Gateway HTTP API).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    walletpay_api::runtime::init_tracing();
    let app = walletpay_api::runtime::app_from_env().await?;
    lambda_http::run(walletpay_api::dashboard_router(app)).await
}
