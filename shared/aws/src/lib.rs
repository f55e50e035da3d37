//! The AWS implementations of the ports, on the official Rust SDK. Endpoints and
//! credentials come from the standard AWS configuration (`AWS_REGION`, `AWS_ENDPOINT_URL_*`,
//! the Lambda role): nothing here knows whether it talks to AWS or to a local stand-in.

mod dynamodb;
mod http_client;
mod secrets;
mod sqs;

#[cfg(feature = "streams")]
pub mod streams;

pub use dynamodb::{shards, version_from_image, CapacityMeter, DynamoDbStore};
pub use secrets::SecretsManager;
pub use sqs::SqsQueue;

/// Loads the shared SDK configuration once, at start-up. Its HTTPS client, shared by every
/// SDK client made from it, is built on the first request (`http_client`).
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(aws_smithy_runtime_api::client::http::SharedHttpClient::new(
            http_client::OnFirstUse::default(),
        ))
        .load()
        .await
}
