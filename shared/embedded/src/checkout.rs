//! Checkout sessions in the embedded store.

use crate::store::EmbeddedStore;
use async_trait::async_trait;
use walletpay_domain::checkout::CheckoutSession;
use walletpay_domain::SessionId;
use walletpay_ports::{CheckoutStore, StoreError};

#[async_trait]
impl CheckoutStore for EmbeddedStore {
    async fn insert_session(&self, session: &CheckoutSession) -> Result<(), StoreError> {
        self.write(|s| {
            if s.sessions.contains_key(&session.id) {
                return Err(StoreError::AlreadyExists);
            }
            s.sessions.insert(session.id.clone(), session.clone());
            Ok(())
        })
    }

    async fn get_session(&self, id: &SessionId) -> Result<Option<CheckoutSession>, StoreError> {
        Ok(self.read(|s| s.sessions.get(id).cloned()))
    }

    async fn update_session(&self, session: &CheckoutSession) -> Result<(), StoreError> {
        self.write(|s| {
            let stored = s.sessions.get(&session.id).map(|x| x.version);
            if stored != session.version.checked_sub(1) || stored.is_none() {
                return Err(StoreError::Conflict);
            }
            s.sessions.insert(session.id.clone(), session.clone());
            Ok(())
        })
    }
}
