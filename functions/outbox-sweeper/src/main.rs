//! Lambda, every minute (EventBridge schedule): queues the notification of every outbox
//! entry that was written but never queued (the writer died between its write and its send).

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    walletpay_api::runtime::init_tracing();
    let app = walletpay_api::runtime::app_from_env().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| async move {
        let queued = walletpay_app::notifications::sweep_outbox(app).await?;
        Ok::<Value, lambda_runtime::Error>(json!({ "queued": queued }))
    }))
    .await
}
