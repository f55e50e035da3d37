//! Lambda: the buyer's hosted checkout page, `GET /checkout/{id}`, `GET
//! /checkout/{id}/status`, `POST /checkout/{id}/pay`, `GET /checkout/assets/{file}` (API
//! Gateway HTTP API).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    walletpay_api::runtime::init_tracing();
    let app = walletpay_api::runtime::app_from_env().await?;
    lambda_http::run(walletpay_api::checkout_router(app)).await
}
