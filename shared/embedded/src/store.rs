use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use walletpay_domain::{MerchantId, Payment, PaymentId, Timestamp};
use walletpay_ports::{
    feed_key, listing_key, ApiKeyRecord, Begin, HealthCounts, HealthStore, HistoryEntry,
    IdempotencyRecord, IdempotencyState, IdempotencyStore, Merchant, MerchantStore, PaymentQuery,
    PaymentStore, PaymentVersion, StoreError,
};

fn idem_key(merchant: &MerchantId, key: &str) -> String {
    format!("{merchant}#{key}")
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct State {
    merchants: BTreeMap<MerchantId, Merchant>,
    api_keys: BTreeMap<String, ApiKeyRecord>,
    /// Keyed by `idem_key(merchant, key)`.
    idempotency: BTreeMap<String, IdempotencyRecord>,
    /// Every version of every payment, oldest first.
    pub(crate) payments: BTreeMap<PaymentId, Vec<PaymentVersion>>,
    /// Each merchant's event feed (feed key → payment and version index) and listing
    /// (listing key → payment), in key order: what DynamoDB's indexes give, so neither read
    /// scans every payment. Derived from `payments`, rebuilt when the store is opened.
    #[serde(skip)]
    feed: BTreeMap<MerchantId, BTreeMap<String, (PaymentId, usize)>>,
    #[serde(skip)]
    listing: BTreeMap<MerchantId, BTreeMap<String, PaymentId>>,
    /// Health counters by (key, minute); the shards of a minute are one here.
    #[serde(default)]
    health: BTreeMap<String, BTreeMap<i64, HealthCounts>>,
    /// Reconciliation's records (see `reconcile`).
    #[serde(default)]
    pub(crate) recon: crate::reconcile::ReconState,
    /// Risk control's policies, lists, counters and audit (see `risk`).
    #[serde(default)]
    pub(crate) risk: crate::risk::RiskState,
    /// Checkout sessions by id.
    #[serde(default)]
    pub(crate) sessions:
        BTreeMap<walletpay_domain::SessionId, walletpay_domain::checkout::CheckoutSession>,
    /// First-purchase incentives as they stand, and their grants by (incentive, buyer key).
    #[serde(default)]
    pub(crate) incentives:
        BTreeMap<walletpay_domain::IncentiveId, walletpay_domain::incentive::Standing>,
    #[serde(default)]
    pub(crate) incentive_grants: BTreeMap<String, crate::checkout::GrantRecord>,
    /// The back office's aggregates, and the order versions were written in (this store's
    /// change stream; see `analytics`).
    #[serde(default)]
    pub(crate) analytics: crate::analytics::AnalyticsState,
    /// The back office's sign-in sessions, by the hash of their id.
    #[serde(default)]
    pub(crate) dash_sessions: BTreeMap<String, walletpay_ports::DashSession>,
}

impl State {
    /// Indexes version `index` of payment `id` (and the payment, on its first).
    fn index(&mut self, id: &PaymentId, index: usize) {
        let Some(v) = self.payments.get(id).and_then(|v| v.get(index)) else {
            return;
        };
        let merchant = v.payment.merchant_id.clone();
        self.feed
            .entry(merchant.clone())
            .or_default()
            .insert(feed_key(&v.entry), (id.clone(), index));
        if index == 0 {
            let key = listing_key(&v.payment);
            self.listing
                .entry(merchant)
                .or_default()
                .insert(key, id.clone());
        }
    }

    /// Rebuilds the derived indexes from the payments.
    fn reindex(&mut self) {
        let all: Vec<(PaymentId, usize)> = self
            .payments
            .iter()
            .flat_map(|(id, v)| (0..v.len()).map(move |i| (id.clone(), i)))
            .collect();
        for (id, i) in all {
            self.index(&id, i);
        }
    }
}

/// All state in memory behind one lock; with a data folder, every write also rewrites
/// `store.json` there (atomically), and the store starts from it.
pub struct EmbeddedStore {
    state: Mutex<State>,
    file: Option<PathBuf>,
}

impl Default for EmbeddedStore {
    fn default() -> Self {
        Self::in_memory()
    }
}

impl EmbeddedStore {
    pub fn in_memory() -> Self {
        EmbeddedStore {
            state: Mutex::new(State::default()),
            file: None,
        }
    }

    /// Opens (or creates) a store persisted under `dir`.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let file = dir.join("store.json");
        let mut state: State = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(e),
        };
        state.reindex();
        Ok(EmbeddedStore {
            state: Mutex::new(state),
            file: Some(file),
        })
    }

    /// Runs `f` on the state under the lock; persists if `f` succeeded and changed anything.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&mut State) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self.state.lock().expect("store lock");
        let Some(file) = &self.file else {
            return f(&mut state);
        };
        // Change a copy, persist it, and only then let it be seen: a write that could not
        // be persisted leaves nothing behind.
        let mut next = state.clone();
        let out = f(&mut next)?;
        let bytes = serde_json::to_vec(&next).map_err(|e| StoreError::Backend(e.to_string()))?;
        let tmp = file.with_extension("json.tmp");
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, file))
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        *state = next;
        Ok(out)
    }

    pub(crate) fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.lock().expect("store lock"))
    }
}

#[async_trait]
impl MerchantStore for EmbeddedStore {
    async fn put_merchant(&self, merchant: &Merchant) -> Result<(), StoreError> {
        self.write(|s| {
            let stored = s.merchants.get(&merchant.id).map(|m| m.version);
            let expected = merchant.version.checked_sub(1);
            let fits = match (stored, expected) {
                (None, Some(0)) => true,
                (Some(v), Some(e)) => v == e,
                _ => false,
            };
            if !fits {
                return Err(StoreError::Conflict);
            }
            s.merchants.insert(merchant.id.clone(), merchant.clone());
            Ok(())
        })
    }

    async fn get_merchant(&self, id: &MerchantId) -> Result<Option<Merchant>, StoreError> {
        Ok(self.read(|s| s.merchants.get(id).cloned()))
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.write(|s| {
            if s.api_keys.contains_key(&key.key_id) {
                return Err(StoreError::AlreadyExists);
            }
            s.api_keys.insert(key.key_id.clone(), key.clone());
            Ok(())
        })
    }

    async fn get_api_key(&self, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        Ok(self.read(|s| s.api_keys.get(key_id).cloned()))
    }
}

#[async_trait]
impl IdempotencyStore for EmbeddedStore {
    async fn begin_idempotent(
        &self,
        record: &IdempotencyRecord,
        now: Timestamp,
    ) -> Result<Begin, StoreError> {
        self.write(|s| {
            let k = idem_key(&record.merchant_id, &record.key);
            match s.idempotency.get(&k) {
                Some(existing) if existing.expires_at > now => {
                    Ok(Begin::Existing(existing.clone()))
                }
                _ => {
                    s.idempotency.insert(k, record.clone());
                    Ok(Begin::Started)
                }
            }
        })
    }

    async fn take_over_idempotent(
        &self,
        record: &IdempotencyRecord,
        previous_lease: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|s| {
            let k = idem_key(&record.merchant_id, &record.key);
            match s.idempotency.get_mut(&k) {
                Some(r)
                    if r.state == IdempotencyState::InProgress
                        && r.lease_until == previous_lease =>
                {
                    r.lease_until = record.lease_until;
                    Ok(())
                }
                _ => Err(StoreError::Conflict),
            }
        })
    }

    async fn get_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        Ok(self.read(|s| s.idempotency.get(&idem_key(merchant, key)).cloned()))
    }

    async fn complete_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        self.write(|s| match s.idempotency.get_mut(&idem_key(merchant, key)) {
            Some(r) if r.state == IdempotencyState::InProgress => {
                r.state = IdempotencyState::Completed {
                    status,
                    body: body.to_string(),
                };
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        })
    }

    async fn release_idempotent(&self, merchant: &MerchantId, key: &str) -> Result<(), StoreError> {
        self.write(|s| {
            let k = idem_key(merchant, key);
            if matches!(s.idempotency.get(&k), Some(r) if r.state == IdempotencyState::InProgress) {
                s.idempotency.remove(&k);
            }
            Ok(())
        })
    }
}

#[async_trait]
impl PaymentStore for EmbeddedStore {
    async fn insert_payment(
        &self,
        payment: &Payment,
        entry: &HistoryEntry,
    ) -> Result<(), StoreError> {
        self.write(|s| {
            if s.payments.contains_key(&payment.id) {
                return Err(StoreError::AlreadyExists);
            }
            s.payments
                .insert(payment.id.clone(), vec![version(payment, entry)]);
            s.index(&payment.id, 0);
            s.analytics.changes.push((payment.id.clone(), entry.seq));
            Ok(())
        })
    }

    async fn get_payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        Ok(self.read(|s| {
            s.payments
                .get(id)
                .and_then(|v| v.last())
                .map(|v| v.payment.clone())
        }))
    }

    async fn update_payment(
        &self,
        payment: &Payment,
        entry: &HistoryEntry,
    ) -> Result<(), StoreError> {
        self.write(|s| {
            let versions = s
                .payments
                .get_mut(&payment.id)
                .ok_or(StoreError::Conflict)?;
            // The same write again (a retry whose first try landed) is not a conflict.
            if versions
                .iter()
                .any(|v| v.entry == *entry && v.payment == *payment)
            {
                return Ok(());
            }
            // The next version, and only the next: anything else lost a race.
            if versions.len() as u64 + 1 != payment.version || entry.seq != payment.version {
                return Err(StoreError::Conflict);
            }
            versions.push(version(payment, entry));
            let index = versions.len() - 1;
            s.index(&payment.id, index);
            s.analytics.changes.push((payment.id.clone(), entry.seq));
            Ok(())
        })
    }

    async fn payment_version(
        &self,
        id: &PaymentId,
        seq: u64,
    ) -> Result<Option<PaymentVersion>, StoreError> {
        Ok(self.read(|s| {
            s.payments
                .get(id)
                .and_then(|v| v.iter().find(|v| v.entry.seq == seq).cloned())
        }))
    }

    async fn merchant_events(
        &self,
        merchant: &MerchantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<PaymentVersion>, bool), StoreError> {
        Ok(self.read(|s| {
            let Some(feed) = s.feed.get(merchant) else {
                return (Vec::new(), false);
            };
            let from = match after {
                Some(a) => std::ops::Bound::Excluded(a.to_string()),
                None => std::ops::Bound::Unbounded,
            };
            let mut page: Vec<PaymentVersion> = feed
                .range((from, std::ops::Bound::Unbounded))
                .take(limit + 1)
                .filter_map(|(_, (id, i))| s.payments.get(id)?.get(*i).cloned())
                .collect();
            let more = page.len() > limit;
            page.truncate(limit);
            (page, more)
        }))
    }

    async fn list_payments(
        &self,
        merchant: &MerchantId,
        query: &PaymentQuery,
    ) -> Result<(Vec<Payment>, Option<String>), StoreError> {
        Ok(self.read(|s| {
            let Some(listing) = s.listing.get(merchant) else {
                return (Vec::new(), None);
            };
            let below = match &query.after_key {
                Some(a) => std::ops::Bound::Excluded(a.clone()),
                None => std::ops::Bound::Unbounded,
            };
            let mut page: Vec<Payment> = listing
                .range((std::ops::Bound::Unbounded, below))
                .rev()
                .filter_map(|(_, id)| s.payments.get(id)?.last().map(|v| &v.payment))
                .filter(|p| query.matches(p))
                .take(query.limit + 1)
                .cloned()
                .collect();
            let more = page.len() > query.limit;
            page.truncate(query.limit);
            let next = more.then(|| page.last().map(listing_key)).flatten();
            (page, next)
        }))
    }

    async fn payment_history(&self, id: &PaymentId) -> Result<Vec<HistoryEntry>, StoreError> {
        Ok(self.read(|s| {
            s.payments
                .get(id)
                .map(|v| v.iter().map(|v| v.entry.clone()).collect())
                .unwrap_or_default()
        }))
    }
}

fn version(payment: &Payment, entry: &HistoryEntry) -> PaymentVersion {
    PaymentVersion {
        payment: payment.clone(),
        entry: entry.clone(),
    }
}

#[async_trait]
impl HealthStore for EmbeddedStore {
    async fn add_health(
        &self,
        key: &str,
        minute: i64,
        _shard: u32,
        add: HealthCounts,
    ) -> Result<(), StoreError> {
        self.write(|s| {
            let c = s
                .health
                .entry(key.to_string())
                .or_default()
                .entry(minute)
                .or_default();
            c.attempts += add.attempts;
            c.errors += add.errors;
            Ok(())
        })
    }

    async fn health_since(&self, key: &str, since_minute: i64) -> Result<HealthCounts, StoreError> {
        Ok(self.read(|s| {
            s.health
                .get(key)
                .map(|m| {
                    m.range(since_minute..)
                        .fold(HealthCounts::default(), |a, (_, c)| HealthCounts {
                            attempts: a.attempts + c.attempts,
                            errors: a.errors + c.errors,
                        })
                })
                .unwrap_or_default()
        }))
    }
}
