//! The store, as narrow traits per aggregate. Every write that changes existing state is
//! conditional, so concurrent writers can never lose an update.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use walletpay_domain::{MerchantId, Payment, PaymentId, PaymentStatus, RefundId, Timestamp};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found the item changed since it was read.
    #[error("conditional write failed: the item changed")]
    Conflict,
    /// An insert found the item already there.
    #[error("item already exists")]
    AlreadyExists,
    #[error("store backend error: {0}")]
    Backend(String),
}

/// A secret kept in a record: stored as itself, never shown by `Debug` (so no log line or
/// error message can carry it).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StoredSecret(String);

impl StoredSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        StoredSecret(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoredSecret([redacted])")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merchant {
    pub id: MerchantId,
    pub name: String,
    pub created_at: Timestamp,
    /// Where events are delivered (none: the merchant polls `GET /v1/events`).
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// The secret events are signed with.
    #[serde(default)]
    pub webhook_secret: Option<StoredSecret>,
    /// The secret before the last rotation, still signed with until `previous_secret_until`.
    #[serde(default)]
    pub previous_webhook_secret: Option<StoredSecret>,
    #[serde(default)]
    pub previous_secret_until: Option<Timestamp>,
    /// Refund automatically a success that arrives after the payment expired or was canceled.
    #[serde(default)]
    pub refund_late_successes: bool,
    /// Where several providers serve a wallet: the ones this shop enabled, in its order of
    /// priority, by `<country>:<wallet>` (`"ID:dana": ["adyen", "xendit"]`). Wallets not
    /// named use every provider the catalog lists, in its order.
    #[serde(default)]
    pub wallet_providers: std::collections::BTreeMap<String, Vec<walletpay_domain::Provider>>,
    /// Its applications with providers (`walletpay_domain::onboarding`): payments go only to
    /// providers that are live for it, or that it has no record with.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub onboarding: std::collections::BTreeMap<
        walletpay_domain::Provider,
        walletpay_domain::onboarding::ProviderOnboarding,
    >,
    /// Bumped by every write; each write is conditional on the version it read, so a change
    /// racing another (a settings PATCH and a secret rotation) cannot undo it. Records from
    /// before versions read as 0.
    #[serde(default)]
    pub version: u64,
}

impl Merchant {
    pub fn new(id: MerchantId, name: impl Into<String>, created_at: Timestamp) -> Self {
        Merchant {
            id,
            name: name.into(),
            created_at,
            webhook_url: None,
            webhook_secret: None,
            previous_webhook_secret: None,
            previous_secret_until: None,
            refund_late_successes: false,
            wallet_providers: Default::default(),
            onboarding: Default::default(),
            version: 1,
        }
    }
}

/// An API key as stored: only the SHA-256 of its secret part, never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// The public part of the key, used to find the record.
    pub key_id: String,
    pub merchant_id: MerchantId,
    /// Lower-case hex SHA-256 of the secret part.
    pub secret_sha256: String,
    pub created_at: Timestamp,
}

#[async_trait]
pub trait MerchantStore: Send + Sync {
    /// Writes `merchant` as version `merchant.version`, on condition that the stored one is
    /// the version before it (or, for version 1, that none is stored); `Conflict` otherwise,
    /// and then nothing is written.
    async fn put_merchant(&self, merchant: &Merchant) -> Result<(), StoreError>;
    async fn get_merchant(&self, id: &MerchantId) -> Result<Option<Merchant>, StoreError>;
    /// Fails with `AlreadyExists` if the key id is taken.
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    async fn get_api_key(&self, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError>;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum IdempotencyState {
    InProgress,
    Completed { status: u16, body: String },
}

/// One use of an `Idempotency-Key`: which request it was, the resource it creates, and
/// (once done) the response to replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub merchant_id: MerchantId,
    /// The client's key, scoped by the caller (`payments:<key>`, ...).
    pub key: String,
    /// SHA-256 of the canonical request, to tell a replay from a reuse.
    pub request_hash: String,
    /// The payment this request creates (or, for a refund, refunds), chosen before
    /// anything else is written.
    pub payment_id: PaymentId,
    /// For a refund request, the refund it creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<RefundId>,
    pub state: IdempotencyState,
    /// While in progress, until when the request that holds it is presumed alive.
    pub lease_until: Timestamp,
    /// After this the record counts as absent (and the store's TTL removes it).
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// The record was written: this request owns the key.
    Started,
    /// A live record is already there.
    Existing(IdempotencyRecord),
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Writes `record` unless a live (unexpired at `now`) record holds the key.
    async fn begin_idempotent(
        &self,
        record: &IdempotencyRecord,
        now: Timestamp,
    ) -> Result<Begin, StoreError>;
    /// Takes over an in-progress record whose lease ran out: succeeds only if the record is
    /// still in progress with `previous_lease`. Sets the lease to `record.lease_until`.
    async fn take_over_idempotent(
        &self,
        record: &IdempotencyRecord,
        previous_lease: Timestamp,
    ) -> Result<(), StoreError>;
    async fn get_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    /// Stores the response to replay. Conflict if the record is not in progress.
    async fn complete_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError>;
    /// Deletes an in-progress record when the request wrote nothing, so a retry starts afresh.
    async fn release_idempotent(&self, merchant: &MerchantId, key: &str) -> Result<(), StoreError>;
}

/// One line of a payment's history: the change that made version `seq` of the payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub payment_id: PaymentId,
    /// Whose payment: every entry is also the merchant's event (notification, feed).
    pub merchant_id: MerchantId,
    pub seq: u64,
    pub at: Timestamp,
    /// `created`, `accepted`, `succeeded`, `failed`, ...
    pub event: String,
    pub from: Option<PaymentStatus>,
    pub to: PaymentStatus,
    /// Who caused it: `api`, `provider_response`, `webhook`, `status_check`.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Which of a merchant's payments to list. Time bounds are inclusive; `after_key` is the
/// listing key (`<created_at>#<payment id>`) of the last payment of the previous page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentQuery {
    pub status: Option<PaymentStatus>,
    pub wallet: Option<walletpay_domain::WalletId>,
    pub country: Option<walletpay_domain::Country>,
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub limit: usize,
    pub after_key: Option<String>,
}

impl PaymentQuery {
    pub fn matches(&self, p: &Payment) -> bool {
        self.status.is_none_or(|s| p.status == s)
            && self.wallet.is_none_or(|w| p.wallet == w)
            && self.country.is_none_or(|c| p.country == c)
            && self.created_after.is_none_or(|t| p.created_at >= t)
            && self.created_before.is_none_or(|t| p.created_at <= t)
    }
}

/// The key an event is ordered by in a merchant's feed.
pub fn feed_key(h: &HistoryEntry) -> String {
    format!("{}#{}#{:020}", h.at, h.payment_id, h.seq)
}

/// The key a payment is listed by: newest first is descending order of this string.
pub fn listing_key(p: &Payment) -> String {
    format!("{}#{}", p.created_at, p.id)
}

/// A payment as it stood after one change, with the history entry of that change. Payments
/// are stored as their sequence of versions: every change adds one, on condition that no
/// other writer added it first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentVersion {
    pub payment: Payment,
    pub entry: HistoryEntry,
}

#[async_trait]
pub trait PaymentStore: Send + Sync {
    /// Writes a new payment (version 1) and its first history entry together;
    /// `AlreadyExists` if the id is taken (nothing is written then).
    async fn insert_payment(
        &self,
        payment: &Payment,
        entry: &HistoryEntry,
    ) -> Result<(), StoreError>;
    /// The latest version of a payment.
    async fn get_payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError>;
    /// Adds version `payment.version` (the caller bumped it by one from the version it read)
    /// with its history entry, on condition that no version with that number exists;
    /// `Conflict` otherwise, and then nothing is written.
    async fn update_payment(
        &self,
        payment: &Payment,
        entry: &HistoryEntry,
    ) -> Result<(), StoreError>;
    /// The history, oldest first.
    async fn payment_history(&self, id: &PaymentId) -> Result<Vec<HistoryEntry>, StoreError>;
    /// One version: the payment after change `seq`, and that change's history entry. A
    /// version never changes once written; one written a moment ago may not be visible
    /// yet to a reader elsewhere.
    async fn payment_version(
        &self,
        id: &PaymentId,
        seq: u64,
    ) -> Result<Option<PaymentVersion>, StoreError>;
    /// A merchant's events (every version of all its payments) in the order they happened,
    /// after the feed key `after` (`<at>#<payment id>#<seq:020>`): up to `limit`, and whether
    /// more follow.
    async fn merchant_events(
        &self,
        merchant: &MerchantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<PaymentVersion>, bool), StoreError>;
    /// A merchant's payments (latest versions), newest first: up to `query.limit` of them,
    /// and the listing key to continue after when more may follow. A page can hold fewer
    /// than `limit` (even none) while more follow: a filtered listing looks at a bounded
    /// number of payments per call.
    async fn list_payments(
        &self,
        merchant: &MerchantId,
        query: &PaymentQuery,
    ) -> Result<(Vec<Payment>, Option<String>), StoreError>;
}

/// Attempts and provider-side errors of one provider for one wallet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCounts {
    pub attempts: u64,
    pub errors: u64,
}

/// Providers' health as sharded per-minute counters: writers add to one shard of the
/// current minute, readers sum the shards of the last minutes.
#[async_trait]
pub trait HealthStore: Send + Sync {
    /// Adds to the counters of `key` (`<provider>#<country>#<wallet>`) for `minute` (unix
    /// minutes), in `shard`.
    async fn add_health(
        &self,
        key: &str,
        minute: i64,
        shard: u32,
        add: HealthCounts,
    ) -> Result<(), StoreError>;
    /// The sums of `key`'s counters from `since_minute` on.
    async fn health_since(&self, key: &str, since_minute: i64) -> Result<HealthCounts, StoreError>;
}

/// Everything the use cases keep.
pub trait Store:
    MerchantStore
    + IdempotencyStore
    + PaymentStore
    + HealthStore
    + crate::reconcile::ReconcileStore
    + crate::reconcile::OperatorStore
    + crate::risk::RiskStore
    + crate::checkout::CheckoutStore
    + crate::checkout::IncentiveStore
    + crate::analytics::AnalyticsStore
    + crate::dashboard::DashboardStore
{
}
impl<T> Store for T where
    T: MerchantStore
        + IdempotencyStore
        + PaymentStore
        + HealthStore
        + crate::reconcile::ReconcileStore
        + crate::reconcile::OperatorStore
        + crate::risk::RiskStore
        + crate::checkout::CheckoutStore
        + crate::checkout::IncentiveStore
        + crate::analytics::AnalyticsStore
        + crate::dashboard::DashboardStore
        + crate::checkout::IncentiveStore
        + crate::analytics::AnalyticsStore
        + crate::dashboard::DashboardStore
{
}
