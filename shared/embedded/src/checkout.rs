//! Checkout sessions and first-purchase incentives in the embedded store.

use crate::store::EmbeddedStore;
use async_trait::async_trait;
use walletpay_domain::checkout::CheckoutSession;
use walletpay_domain::incentive::{Incentive, Standing};
use walletpay_domain::{IncentiveId, MerchantId, SessionId};
use walletpay_ports::{CheckoutStore, Grant, Holder, IncentiveStore, StoreError};

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

/// A buyer key's grant: who holds it, with which incentive and discount.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct GrantRecord {
    session: SessionId,
    incentive: IncentiveId,
    discount: i64,
}

impl GrantRecord {
    fn holder(&self) -> Holder {
        Holder {
            session: self.session.clone(),
            incentive: self.incentive.clone(),
            discount: self.discount,
        }
    }
}

fn grant_key(scope: &str, buyer: &str) -> String {
    format!("{scope}#{buyer}")
}

#[async_trait]
impl IncentiveStore for EmbeddedStore {
    async fn insert_incentive(&self, incentive: &Incentive) -> Result<(), StoreError> {
        self.write(|s| {
            if s.incentives.contains_key(&incentive.id) {
                return Err(StoreError::AlreadyExists);
            }
            s.incentives.insert(
                incentive.id.clone(),
                Standing {
                    incentive: incentive.clone(),
                    remaining: incentive.budget,
                    grants: 0,
                },
            );
            Ok(())
        })
    }

    async fn get_incentive(
        &self,
        merchant: &MerchantId,
        id: &IncentiveId,
    ) -> Result<Option<Standing>, StoreError> {
        Ok(self.read(|s| {
            s.incentives
                .get(id)
                .filter(|i| &i.incentive.merchant_id == merchant)
                .cloned()
        }))
    }

    async fn list_incentives(&self, merchant: &MerchantId) -> Result<Vec<Standing>, StoreError> {
        Ok(self.read(|s| {
            s.incentives
                .values()
                .filter(|i| &i.incentive.merchant_id == merchant)
                .cloned()
                .collect()
        }))
    }

    async fn set_incentive_active(
        &self,
        merchant: &MerchantId,
        id: &IncentiveId,
        active: bool,
    ) -> Result<bool, StoreError> {
        self.write(|s| match s.incentives.get_mut(id) {
            Some(i) if &i.incentive.merchant_id == merchant => {
                i.incentive.active = active;
                Ok(true)
            }
            _ => Ok(false),
        })
    }

    async fn grant_holder(
        &self,
        scope: &str,
        buyer_keys: &[String],
    ) -> Result<Option<Holder>, StoreError> {
        Ok(self.read(|s| {
            buyer_keys
                .iter()
                .find_map(|k| s.incentive_grants.get(&grant_key(scope, k)))
                .map(GrantRecord::holder)
        }))
    }

    async fn grant(
        &self,
        incentive: &Incentive,
        buyer_keys: &[String],
        discount: i64,
        session: &SessionId,
        _nonce: u64,
    ) -> Result<Grant, StoreError> {
        let scope = incentive.first_purchase_scope();
        self.write(|s| {
            if let Some(held) = buyer_keys
                .iter()
                .find_map(|k| s.incentive_grants.get(&grant_key(&scope, k)))
            {
                return Ok(if &held.session == session {
                    Grant::Held(held.holder())
                } else {
                    Grant::AlreadyUsed
                });
            }
            match s.incentives.get_mut(&incentive.id) {
                Some(i)
                    if i.incentive.merchant_id == incentive.merchant_id
                        && i.incentive.active
                        && i.remaining >= discount =>
                {
                    i.remaining -= discount;
                    i.grants += 1;
                }
                _ => return Ok(Grant::Exhausted),
            }
            let record = GrantRecord {
                session: session.clone(),
                incentive: incentive.id.clone(),
                discount,
            };
            for k in buyer_keys {
                s.incentive_grants
                    .insert(grant_key(&scope, k), record.clone());
            }
            Ok(Grant::Granted)
        })
    }

    async fn release_grant(
        &self,
        incentive: &Incentive,
        buyer_keys: &[String],
        discount: i64,
        session: &SessionId,
        _nonce: u64,
    ) -> Result<(), StoreError> {
        let scope = incentive.first_purchase_scope();
        self.write(|s| {
            let keys: Vec<String> = buyer_keys
                .iter()
                .map(|k| grant_key(&scope, k))
                .filter(|k| {
                    s.incentive_grants
                        .get(k)
                        .is_some_and(|g| &g.session == session)
                })
                .collect();
            if keys.is_empty() {
                return Ok(());
            }
            for k in &keys {
                s.incentive_grants.remove(k);
            }
            if let Some(i) = s.incentives.get_mut(&incentive.id) {
                i.remaining += discount;
                i.grants = i.grants.saturating_sub(1);
            }
            Ok(())
        })
    }

    async fn restore_grant(
        &self,
        incentive: &Incentive,
        buyer_keys: &[String],
        discount: i64,
        session: &SessionId,
        _nonce: u64,
    ) -> Result<(), StoreError> {
        let scope = incentive.first_purchase_scope();
        self.write(|s| {
            let held = buyer_keys.iter().all(|k| {
                s.incentive_grants
                    .get(&grant_key(&scope, k))
                    .is_some_and(|g| &g.session == session)
            });
            if held {
                return Ok(());
            }
            let record = GrantRecord {
                session: session.clone(),
                incentive: incentive.id.clone(),
                discount,
            };
            for k in buyer_keys {
                s.incentive_grants
                    .insert(grant_key(&scope, k), record.clone());
            }
            if let Some(i) = s.incentives.get_mut(&incentive.id) {
                i.remaining -= discount;
                i.grants += 1;
            }
            Ok(())
        })
    }
}
