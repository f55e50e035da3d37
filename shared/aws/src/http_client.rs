//! The HTTPS client the SDK's clients share, built on the first request instead of when a
//! client is configured.
//!
//! The SDK's default client is the same hyper and rustls client (on aws-lc; this one is on
//! *ring*, the process's one TLS provider, see `walletpay_wallet_adapter::tls`), but it
//! builds its connector while a client is being configured (`validate_base_client_config`),
//! so that the system's certificate store is read at start-up: a Lambda function read all
//! of it during its init, before its first poll of the Runtime API, and a 256 MB function
//! has a seventh of a vCPU to do it with. Here that happens on the first call to DynamoDB, SQS or
//! Secrets Manager, once per process, and not at all in a process that never calls them.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

/// Clones share the one client.
#[derive(Debug, Default, Clone)]
pub(crate) struct OnFirstUse {
    client: Arc<OnceLock<SharedHttpClient>>,
}

impl OnFirstUse {
    fn client(&self) -> &SharedHttpClient {
        self.client.get_or_init(|| {
            Builder::new().build_with_connector_fn(|settings, components| {
                let mut conn = ConnectorBuilder::default()
                    .tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
                conn.set_connector_settings(settings.cloned());
                if let Some(c) = components {
                    conn.set_sleep_impl(c.sleep_impl());
                }
                conn.set_proxy_config(Some(ProxyConfig::from_env()));
                conn.build()
            })
        })
    }

    /// Whether the client has been built (a test's view).
    #[cfg(test)]
    pub(crate) fn built(&self) -> bool {
        self.client.get().is_some()
    }
}

impl HttpClient for OnFirstUse {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.client().http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        Some(ConnectorMetadata::new("hyper", Some(Cow::Borrowed("1.x"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_built_on_the_first_request_not_when_configured() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let lazy = OnFirstUse::default();
            let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .http_client(SharedHttpClient::new(lazy.clone()))
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                    "test", "test", None, None, "test",
                ))
                // Nothing listens on port 1: the request fails at once, after its connector
                // was asked for.
                .endpoint_url("http://127.0.0.1:1")
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .load()
                .await;
            let client = aws_sdk_dynamodb::Client::new(&config);
            assert!(!lazy.built(), "configuring a client built the HTTPS client");
            let refused = client.list_tables().send().await;
            assert!(refused.is_err(), "nothing listens on port 1");
            assert!(lazy.built(), "the first request uses the shared client");
        });
    }
}
