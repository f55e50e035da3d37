use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use walletpay_ports::{Secrets, SecretsError};

/// Secrets Manager: one secret string per name (`walletpay/xendit`, ...).
#[derive(Clone)]
pub struct SecretsManager {
    client: Client,
}

impl SecretsManager {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        SecretsManager {
            client: Client::new(config),
        }
    }

    /// Creates or replaces a secret (used by set-up commands and tests).
    pub async fn put(&self, name: &str, value: &str) -> Result<(), SecretsError> {
        let backend = |e: String| SecretsError::Backend(e);
        match self
            .client
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_exists_exception()) =>
            {
                self.client
                    .put_secret_value()
                    .secret_id(name)
                    .secret_string(value)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        backend(format!(
                            "{}",
                            aws_sdk_secretsmanager::error::DisplayErrorContext(e)
                        ))
                    })
            }
            Err(e) => Err(backend(format!(
                "{}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            ))),
        }
    }
}

#[async_trait]
impl Secrets for SecretsManager {
    async fn get(&self, name: &str) -> Result<String, SecretsError> {
        match self.client.get_secret_value().secret_id(name).send().await {
            Ok(out) => out
                .secret_string
                .ok_or_else(|| SecretsError::Backend(format!("secret {name} has no string value"))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Err(SecretsError::NotFound(name.to_string()))
            }
            Err(e) => Err(SecretsError::Backend(format!(
                "{}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            ))),
        }
    }
}
