//! Provider credentials and signing keys. Read through a short-lived cache so that a
//! rotated secret takes effect without a deploy.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretsError {
    #[error("secret {0} not found")]
    NotFound(String),
    #[error("secrets backend error: {0}")]
    Backend(String),
}

#[async_trait]
pub trait Secrets: Send + Sync {
    async fn get(&self, name: &str) -> Result<String, SecretsError>;
}

/// Fixed secrets held in memory: the local stack's sandbox credentials and tests.
#[derive(Debug, Default)]
pub struct StaticSecrets(Mutex<HashMap<String, String>>);

impl StaticSecrets {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with(self, name: &str, value: &str) -> Self {
        self.set(name, value);
        self
    }
    pub fn set(&self, name: &str, value: &str) {
        self.0
            .lock()
            .expect("secrets lock")
            .insert(name.to_string(), value.to_string());
    }
}

#[async_trait]
impl Secrets for StaticSecrets {
    async fn get(&self, name: &str) -> Result<String, SecretsError> {
        self.0
            .lock()
            .expect("secrets lock")
            .get(name)
            .cloned()
            .ok_or_else(|| SecretsError::NotFound(name.to_string()))
    }
}

/// Caches another `Secrets` for `ttl`.
pub struct CachedSecrets<S> {
    inner: S,
    ttl: Duration,
    cache: Mutex<HashMap<String, (String, Instant)>>,
}

impl<S: Secrets> CachedSecrets<S> {
    pub fn new(inner: S, ttl: Duration) -> Self {
        CachedSecrets {
            inner,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl<S: Secrets> Secrets for CachedSecrets<S> {
    async fn get(&self, name: &str) -> Result<String, SecretsError> {
        if let Some((value, at)) = self.cache.lock().expect("cache lock").get(name) {
            if at.elapsed() < self.ttl {
                return Ok(value.clone());
            }
        }
        let value = self.inner.get(name).await?;
        self.cache
            .lock()
            .expect("cache lock")
            .insert(name.to_string(), (value.clone(), Instant::now()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    struct Counting(Arc<StaticSecrets>, Arc<Mutex<u32>>);
    #[async_trait]
    impl Secrets for Counting {
        async fn get(&self, name: &str) -> Result<String, SecretsError> {
            *self.1.lock().unwrap() += 1;
            self.0.get(name).await
        }
    }

    #[test]
    fn cache_serves_until_ttl_then_rereads() {
        let rt = futures_lite_block_on;
        let inner = Arc::new(StaticSecrets::new().with("k", "v1"));
        let calls = Arc::new(Mutex::new(0));
        let cached = CachedSecrets::new(
            Counting(inner.clone(), calls.clone()),
            Duration::from_millis(50),
        );
        assert_eq!(rt(cached.get("k")).unwrap(), "v1");
        inner.set("k", "v2");
        assert_eq!(rt(cached.get("k")).unwrap(), "v1");
        assert_eq!(*calls.lock().unwrap(), 1);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(rt(cached.get("k")).unwrap(), "v2");
        assert_eq!(*calls.lock().unwrap(), 2);
        assert!(matches!(
            rt(cached.get("missing")),
            Err(SecretsError::NotFound(_))
        ));
    }

    /// Polls a future that never waits on I/O to completion.
    fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut cx = Context::from_waker(Waker::noop());
        let mut f = std::pin::pin!(f);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }
}
