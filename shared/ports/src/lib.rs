//! The ports: what the use cases need from the outside world, as narrow traits. Each has an
//! embedded implementation (`walletpay-embedded`) and an AWS one (`walletpay-aws`), and one
//! conformance suite (in `tests/`) runs against both.

pub mod analytics;
pub mod checkout;
pub mod clock;
pub mod dashboard;
pub mod queue;
pub mod reconcile;
pub mod risk;
pub mod secrets;
pub mod store;

pub use analytics::{Added, AggScope, AnalyticsStore, Counted, MAX_COUNTED_PER_ADD};
pub use checkout::{CheckoutStore, Grant, Holder, IncentiveStore};
pub use clock::{Clock, ManualClock, SystemClock};
pub use dashboard::{DashSession, DashboardStore};
pub use queue::{Queue, QueueError, QueueReceiver, ReceivedMessage};
pub use reconcile::{OperatorStore, ReconcileStore};
pub use risk::RiskStore;
pub use secrets::{CachedSecrets, Secrets, SecretsError, StaticSecrets};
pub use store::{
    feed_key, listing_key, ApiKeyRecord, Begin, HealthCounts, HealthStore, HistoryEntry,
    IdempotencyRecord, IdempotencyState, IdempotencyStore, Merchant, MerchantStore, PaymentQuery,
    PaymentStore, PaymentVersion, Store, StoreError, StoredSecret,
};

pub mod webhooks {
    //! Delivery of merchant notifications over HTTP.
    use async_trait::async_trait;

    /// POSTs a signed event to a merchant's URL; the answer's status code, or why there was
    /// none (refused, timed out).
    #[async_trait]
    pub trait WebhookSender: Send + Sync {
        async fn post(
            &self,
            url: &str,
            headers: &[(&str, String)],
            body: &str,
        ) -> Result<u16, String>;
    }
}
