//! The back office's sign-in sessions: an API key exchanged for a session whose id the
//! browser holds in an HttpOnly cookie; the store keeps only the id's SHA-256, who signed
//! in, the session's CSRF token and its expiry (checked on every read, whatever the
//! store's own expiry does).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use walletpay_domain::Timestamp;

use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashSession {
    /// Hex SHA-256 of the cookie's value.
    pub id_hash: String,
    /// `merchant:<id>` or `operator:<name>`.
    pub principal: String,
    /// Who the session's changes are audited under.
    pub actor: String,
    /// Every form of the session carries it.
    pub csrf: String,
    pub expires_at: Timestamp,
}

#[async_trait]
pub trait DashboardStore: Send + Sync {
    async fn put_dash_session(&self, s: &DashSession) -> Result<(), StoreError>;
    async fn get_dash_session(&self, id_hash: &str) -> Result<Option<DashSession>, StoreError>;
    async fn delete_dash_session(&self, id_hash: &str) -> Result<(), StoreError>;
}
