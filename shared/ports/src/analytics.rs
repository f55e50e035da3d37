//! The back office's aggregates: buckets of merchant × country × wallet × provider per hour
//! and per day (`walletpay_domain::analytics`), fed by the consumer of the payments' change
//! stream. Each counted version carries a marker, written in the same atomic write as the
//! buckets it adds to, so a redelivered version is never counted twice.

use async_trait::async_trait;
use walletpay_domain::analytics::{Bucket, Counts};
use walletpay_domain::{MerchantId, PaymentId};

use crate::StoreError;

/// One counted version: which, and what it adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub payment_id: PaymentId,
    pub seq: u64,
    /// 0, or 1 for a version's second bucket (a failover's attempt at its new provider).
    pub part: u8,
    pub bucket: Bucket,
    pub counts: Counts,
}

/// What an atomic add found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// Every version was counted now.
    Done,
    /// These versions (payment, seq, part) were counted before: nothing was written, and the
    /// caller adds the others again without them.
    AlreadyCounted(Vec<(PaymentId, u64, u8)>),
}

/// How many versions one atomic add takes at most (each also adds to up to four buckets:
/// its merchant's hour and day, the platform's hour and day).
pub const MAX_COUNTED_PER_ADD: usize = 20;

/// Whose buckets: one merchant's, or every merchant's (an operator's view; each bucket
/// still names its merchant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggScope<'a> {
    Merchant(&'a MerchantId),
    Platform,
}

#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// Adds `counted` (at most [`MAX_COUNTED_PER_ADD`]) to their hour and day buckets, and
    /// marks each version counted, all at once; nothing if any was counted already.
    async fn add_counted(&self, counted: &[Counted]) -> Result<Added, StoreError>;
    /// The hour buckets of `scope` with `hour` in `from..to`, each bucket once (its shards
    /// summed).
    async fn hours(
        &self,
        scope: AggScope<'_>,
        from: i64,
        to: i64,
    ) -> Result<Vec<(Bucket, Counts)>, StoreError>;
    /// The day buckets of `scope` with their day in `from..to` (days since the epoch);
    /// each bucket's `hour` is its day's first.
    async fn days(
        &self,
        scope: AggScope<'_>,
        from: i64,
        to: i64,
    ) -> Result<Vec<(Bucket, Counts)>, StoreError>;
}
