//! The back office's aggregates in the embedded store, and its change stream: every
//! payment version written is appended to `changes`, in order, which the local stack's
//! consumer reads as Lambda reads the table's stream on AWS.

use crate::store::EmbeddedStore;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use walletpay_domain::analytics::{Bucket, Counts};
use walletpay_domain::{MerchantId, PaymentId};
use walletpay_ports::{Added, AggScope, AnalyticsStore, Counted, PaymentVersion, StoreError};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct AnalyticsState {
    /// Every version written, in order: (payment, seq).
    pub(crate) changes: Vec<(PaymentId, u64)>,
    /// Buckets by (merchant, hour or day, the rest of the bucket).
    hours: BTreeMap<String, (Bucket, Counts)>,
    days: BTreeMap<String, (Bucket, Counts)>,
    counted: BTreeSet<(PaymentId, u64, u8)>,
}

fn key(b: &Bucket, at: i64) -> String {
    format!(
        "{}#{at:012}#{}#{}#{}",
        b.merchant, b.country, b.wallet, b.provider
    )
}

fn in_scope(scope: AggScope<'_>, merchant: &MerchantId) -> bool {
    match scope {
        AggScope::Merchant(m) => m == merchant,
        AggScope::Platform => true,
    }
}

impl EmbeddedStore {
    /// The versions written after the first `after` of this store's change stream, at most
    /// `limit`, each with its position; for the local stack's consumer.
    pub fn changes_after(&self, after: usize, limit: usize) -> Vec<(usize, PaymentVersion)> {
        self.read(|s| {
            s.analytics
                .changes
                .iter()
                .enumerate()
                .skip(after)
                .take(limit)
                .filter_map(|(n, (id, seq))| {
                    let v = s.payments.get(id)?.get(seq.checked_sub(1)? as usize)?;
                    Some((n + 1, v.clone()))
                })
                .collect()
        })
    }
}

#[async_trait]
impl AnalyticsStore for EmbeddedStore {
    async fn add_counted(&self, counted: &[Counted]) -> Result<Added, StoreError> {
        self.write(|s| {
            let a = &mut s.analytics;
            let seen: Vec<(PaymentId, u64, u8)> = counted
                .iter()
                .map(|c| (c.payment_id.clone(), c.seq, c.part))
                .filter(|k| a.counted.contains(k))
                .collect();
            if !seen.is_empty() {
                return Ok(Added::AlreadyCounted(seen));
            }
            for c in counted {
                a.counted.insert((c.payment_id.clone(), c.seq, c.part));
                let day = c.bucket.day();
                let mut day_bucket = c.bucket.clone();
                day_bucket.hour = day * 24;
                a.hours
                    .entry(key(&c.bucket, c.bucket.hour))
                    .or_insert_with(|| (c.bucket.clone(), Counts::default()))
                    .1
                    .add(&c.counts);
                a.days
                    .entry(key(&c.bucket, day))
                    .or_insert_with(|| (day_bucket, Counts::default()))
                    .1
                    .add(&c.counts);
            }
            Ok(Added::Done)
        })
    }

    async fn hours(
        &self,
        scope: AggScope<'_>,
        from: i64,
        to: i64,
    ) -> Result<Vec<(Bucket, Counts)>, StoreError> {
        Ok(self.read(|s| {
            s.analytics
                .hours
                .values()
                .filter(|(b, _)| in_scope(scope, &b.merchant) && (from..to).contains(&b.hour))
                .cloned()
                .collect()
        }))
    }

    async fn days(
        &self,
        scope: AggScope<'_>,
        from: i64,
        to: i64,
    ) -> Result<Vec<(Bucket, Counts)>, StoreError> {
        Ok(self.read(|s| {
            s.analytics
                .days
                .values()
                .filter(|(b, _)| in_scope(scope, &b.merchant) && (from..to).contains(&b.day()))
                .cloned()
                .collect()
        }))
    }
}

#[async_trait]
impl walletpay_ports::DashboardStore for EmbeddedStore {
    async fn put_dash_session(&self, d: &walletpay_ports::DashSession) -> Result<(), StoreError> {
        self.write(|s| {
            s.dash_sessions.insert(d.id_hash.clone(), d.clone());
            Ok(())
        })
    }

    async fn get_dash_session(
        &self,
        id_hash: &str,
    ) -> Result<Option<walletpay_ports::DashSession>, StoreError> {
        Ok(self.read(|s| s.dash_sessions.get(id_hash).cloned()))
    }

    async fn delete_dash_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.write(|s| {
            s.dash_sessions.remove(id_hash);
            Ok(())
        })
    }
}
