//! The Secrets port against in-memory secrets and Secrets Manager (moto), and the cache
//! that lets a rotated secret take effect without a deploy.

use std::sync::Arc;
use std::time::Duration;
use walletpay_ports::{CachedSecrets, Secrets, SecretsError, StaticSecrets};

#[tokio::test]
async fn static_secrets_get_and_miss() {
    let s = StaticSecrets::new().with("walletpay/xendit", "{\"secret_key\":\"a\"}");
    assert_eq!(
        s.get("walletpay/xendit").await.unwrap(),
        "{\"secret_key\":\"a\"}"
    );
    assert!(matches!(
        s.get("nope").await,
        Err(SecretsError::NotFound(_))
    ));
}

#[tokio::test]
async fn secrets_manager_get_put_and_rotate_through_the_cache() {
    let Some(sm) = walletpay_tests::secrets_manager().await else {
        return;
    };
    let name = walletpay_tests::unique("walletpay/test");
    assert!(matches!(
        sm.get(&name).await,
        Err(SecretsError::NotFound(_))
    ));
    sm.put(&name, "v1").await.unwrap();
    assert_eq!(sm.get(&name).await.unwrap(), "v1");

    let cached = CachedSecrets::new(sm.clone(), Duration::from_millis(400));
    assert_eq!(cached.get(&name).await.unwrap(), "v1");
    sm.put(&name, "v2").await.unwrap();
    assert_eq!(sm.get(&name).await.unwrap(), "v2");
    assert_eq!(
        cached.get(&name).await.unwrap(),
        "v1",
        "served from cache within its TTL"
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(
        cached.get(&name).await.unwrap(),
        "v2",
        "rotation visible after the TTL"
    );
    let _: Arc<dyn Secrets> = Arc::new(cached);
}
