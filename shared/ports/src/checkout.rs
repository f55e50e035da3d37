//! Hosted checkout sessions: one record per session, every write conditional on the
//! version read, so two attempts racing to start cannot both be recorded. And the
//! first-purchase incentives a session's page offers, with their budgets and grants.

use async_trait::async_trait;
use walletpay_domain::checkout::CheckoutSession;
use walletpay_domain::incentive::{Incentive, Standing};
use walletpay_domain::{IncentiveId, MerchantId, SessionId};

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

/// Who holds a buyer's first payment with a wallet: the order, and the incentive and
/// discount it was granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub session: SessionId,
    pub incentive: IncentiveId,
    pub discount: i64,
}

/// What asking for a buyer's incentive gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// Granted now: the budget paid for it.
    Granted,
    /// This buyer's grant is already held by this session (a retry after a failed attempt):
    /// it applies again, as it was granted, at no further cost.
    Held(Holder),
    /// This buyer (by one of its keys) had it already, in another order.
    AlreadyUsed,
    /// Not enough budget is left, or the merchant ended it.
    Exhausted,
}

/// First-purchase incentives and their grants. An incentive holds its remaining budget; a
/// grant takes its discount off that budget on condition there is enough left, and records
/// the buyer under each of its keys in the incentive's first-purchase scope (shop, market,
/// wallet: `Incentive::first_purchase_scope`) on condition none is recorded yet, in one
/// atomic write. A grant whose order ended without it is released: its discount back in
/// the budget, the buyer free again.
#[async_trait]
pub trait IncentiveStore: Send + Sync {
    /// Writes a new incentive with its whole budget left.
    async fn insert_incentive(&self, incentive: &Incentive) -> Result<(), StoreError>;
    async fn get_incentive(
        &self,
        merchant: &MerchantId,
        id: &IncentiveId,
    ) -> Result<Option<Standing>, StoreError>;
    /// A merchant's incentives, oldest first.
    async fn list_incentives(&self, merchant: &MerchantId) -> Result<Vec<Standing>, StoreError>;
    /// Ends (or resumes) an incentive; false if the merchant has none by that id.
    async fn set_incentive_active(
        &self,
        merchant: &MerchantId,
        id: &IncentiveId,
        active: bool,
    ) -> Result<bool, StoreError>;
    /// Who holds a grant in `scope` for any of `buyer_keys`, if anyone does.
    async fn grant_holder(
        &self,
        scope: &str,
        buyer_keys: &[String],
    ) -> Result<Option<Holder>, StoreError>;
    /// Grants `discount` of `incentive` to the buyer known by `buyer_keys` for `session`
    /// (an incentive the merchant does not have is `Exhausted`). `nonce` tells this write
    /// from another of the same grant (a retry of this one is the same write).
    async fn grant(
        &self,
        incentive: &Incentive,
        buyer_keys: &[String],
        discount: i64,
        session: &SessionId,
        nonce: u64,
    ) -> Result<Grant, StoreError>;
    /// Undoes `session`'s grant: the buyer's keys freed and `discount` back in the budget.
    /// Nothing if the session holds none (released already).
    async fn release_grant(
        &self,
        incentive: &Incentive,
        buyer_keys: &[String],
        discount: i64,
        session: &SessionId,
        nonce: u64,
    ) -> Result<(), StoreError>;
    /// Takes a released grant again, whatever the budget says (a payment made with its
    /// discount succeeded after its order had ended unpaid: the discount was given, and
    /// the budget shows it, below zero if need be). Nothing if the session holds it.
    async fn restore_grant(
        &self,
        incentive: &Incentive,
        buyer_keys: &[String],
        discount: i64,
        session: &SessionId,
        nonce: u64,
    ) -> Result<(), StoreError>;
}
