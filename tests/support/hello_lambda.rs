//! The reference for the functions' init time: a `lambda_runtime` function that answers
//! every event with nothing, built with the same release profile.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(lambda_runtime::service_fn(
        |_: lambda_runtime::LambdaEvent<serde_json::Value>| async {
            Ok::<_, lambda_runtime::Error>(serde_json::Value::Null)
        },
    ))
    .await
}
