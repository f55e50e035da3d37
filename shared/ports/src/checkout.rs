//! Hosted checkout sessions: one record per session, every write conditional on the
//! version read, so two attempts racing to start cannot both be recorded.

use async_trait::async_trait;
use walletpay_domain::checkout::CheckoutSession;
use walletpay_domain::SessionId;

use crate::StoreError;

#[async_trait]
pub trait CheckoutStore: Send + Sync {
    /// Writes a new session (version 1); `AlreadyExists` if its id is taken.
    async fn insert_session(&self, session: &CheckoutSession) -> Result<(), StoreError>;
    async fn get_session(&self, id: &SessionId) -> Result<Option<CheckoutSession>, StoreError>;
    /// Writes `session` as version `session.version`, on condition that the stored one is
    /// the version before; `Conflict` otherwise.
    async fn update_session(&self, session: &CheckoutSession) -> Result<(), StoreError>;
}
