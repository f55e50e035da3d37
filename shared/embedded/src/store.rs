use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use walletpay_domain::{MerchantId, Payment, PaymentId, Refund, RefundId, Timestamp};
use walletpay_ports::{
    feed_key, listing_key, ApiKeyRecord, Begin, HistoryEntry, IdempotencyRecord, IdempotencyState,
    IdempotencyStore, Merchant, MerchantStore, PaymentQuery, PaymentStore, RefundStore, StoreError,
    WebhookDedupStore,
};

fn idem_key(merchant: &MerchantId, key: &str) -> String {
    format!("{merchant}#{key}")
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    merchants: BTreeMap<MerchantId, Merchant>,
    api_keys: BTreeMap<String, ApiKeyRecord>,
    /// Keyed by `idem_key(merchant, key)`.
    idempotency: BTreeMap<String, IdempotencyRecord>,
    payments: BTreeMap<PaymentId, Payment>,
    history: BTreeMap<PaymentId, Vec<HistoryEntry>>,
    #[serde(default)]
    refunds: BTreeMap<PaymentId, Vec<Refund>>,
    /// History entries whose notification is not yet queued: `<payment id>#<seq>`.
    #[serde(default)]
    outbox: std::collections::BTreeSet<String>,
    webhooks: BTreeMap<String, Timestamp>,
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
        let state = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(e),
        };
        Ok(EmbeddedStore {
            state: Mutex::new(state),
            file: Some(file),
        })
    }

    /// Runs `f` on the state under the lock; persists if `f` succeeded and changed anything.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut State) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self.state.lock().expect("store lock");
        let out = f(&mut state)?;
        if let Some(file) = &self.file {
            let bytes =
                serde_json::to_vec(&*state).map_err(|e| StoreError::Backend(e.to_string()))?;
            let tmp = file.with_extension("json.tmp");
            std::fs::write(&tmp, bytes)
                .and_then(|_| std::fs::rename(&tmp, file))
                .map_err(|e| StoreError::Backend(e.to_string()))?;
        }
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.lock().expect("store lock"))
    }
}

#[async_trait]
impl MerchantStore for EmbeddedStore {
    async fn put_merchant(&self, merchant: &Merchant) -> Result<(), StoreError> {
        self.write(|s| {
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
            s.payments.insert(payment.id.clone(), payment.clone());
            s.history.insert(payment.id.clone(), vec![entry.clone()]);
            s.outbox.insert(outbox_key(&entry.payment_id, entry.seq));
            Ok(())
        })
    }

    async fn get_payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        Ok(self.read(|s| s.payments.get(id).cloned()))
    }

    async fn update_payment(
        &self,
        payment: &Payment,
        entry: &HistoryEntry,
    ) -> Result<(), StoreError> {
        self.write(|s| {
            check_payment_update(s, payment, entry)?;
            apply_payment_update(s, payment, entry);
            Ok(())
        })
    }

    async fn history_entry(
        &self,
        id: &PaymentId,
        seq: u64,
    ) -> Result<Option<HistoryEntry>, StoreError> {
        Ok(self.read(|s| {
            s.history
                .get(id)
                .and_then(|h| h.iter().find(|e| e.seq == seq).cloned())
        }))
    }

    async fn clear_outbox(&self, id: &PaymentId, seq: u64) -> Result<(), StoreError> {
        self.write(|s| {
            s.outbox.remove(&outbox_key(id, seq));
            Ok(())
        })
    }

    async fn outbox_before(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        Ok(self.read(|s| {
            let mut out: Vec<HistoryEntry> = s
                .history
                .values()
                .flatten()
                .filter(|e| e.at < before && s.outbox.contains(&outbox_key(&e.payment_id, e.seq)))
                .cloned()
                .collect();
            out.sort_by_key(feed_key);
            out.truncate(limit);
            out
        }))
    }

    async fn merchant_events(
        &self,
        merchant: &MerchantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<HistoryEntry>, bool), StoreError> {
        Ok(self.read(|s| {
            let mut mine: Vec<(String, &HistoryEntry)> = s
                .history
                .values()
                .flatten()
                .filter(|e| &e.merchant_id == merchant)
                .map(|e| (feed_key(e), e))
                .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a))
                .collect();
            mine.sort_by(|a, b| a.0.cmp(&b.0));
            let more = mine.len() > limit;
            (
                mine.into_iter()
                    .take(limit)
                    .map(|(_, e)| e.clone())
                    .collect(),
                more,
            )
        }))
    }

    async fn list_payments(
        &self,
        merchant: &MerchantId,
        query: &PaymentQuery,
    ) -> Result<(Vec<Payment>, bool), StoreError> {
        Ok(self.read(|s| {
            let mut mine: Vec<(String, &Payment)> = s
                .payments
                .values()
                .filter(|p| &p.merchant_id == merchant)
                .map(|p| (listing_key(p), p))
                .filter(|(k, _)| query.after_key.as_ref().is_none_or(|after| k < after))
                .filter(|(_, p)| query.matches(p))
                .collect();
            mine.sort_by(|a, b| b.0.cmp(&a.0));
            let more = mine.len() > query.limit;
            (
                mine.into_iter()
                    .take(query.limit)
                    .map(|(_, p)| p.clone())
                    .collect(),
                more,
            )
        }))
    }

    async fn payment_history(&self, id: &PaymentId) -> Result<Vec<HistoryEntry>, StoreError> {
        Ok(self.read(|s| {
            let mut h = s.history.get(id).cloned().unwrap_or_default();
            h.sort_by_key(|e| e.seq);
            h
        }))
    }
}

/// Whether `payment` (version bumped by one) and `entry` may be written over what is stored.
fn check_payment_update(
    s: &State,
    payment: &Payment,
    entry: &HistoryEntry,
) -> Result<(), StoreError> {
    match s.payments.get(&payment.id) {
        Some(current) if current.version + 1 == payment.version => {}
        _ => return Err(StoreError::Conflict),
    }
    if s.history
        .get(&payment.id)
        .is_some_and(|h| h.iter().any(|e| e.seq == entry.seq))
    {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

fn outbox_key(id: &PaymentId, seq: u64) -> String {
    format!("{id}#{seq}")
}

fn apply_payment_update(s: &mut State, payment: &Payment, entry: &HistoryEntry) {
    s.history
        .entry(payment.id.clone())
        .or_default()
        .push(entry.clone());
    s.outbox.insert(outbox_key(&entry.payment_id, entry.seq));
    s.payments.insert(payment.id.clone(), payment.clone());
}

#[async_trait]
impl RefundStore for EmbeddedStore {
    async fn create_refund(
        &self,
        payment: &Payment,
        entry: &HistoryEntry,
        refund: &Refund,
    ) -> Result<(), StoreError> {
        self.write(|s| {
            check_payment_update(s, payment, entry)?;
            let refunds = s.refunds.get(&refund.payment_id);
            if refunds.is_some_and(|r| r.iter().any(|x| x.id == refund.id)) {
                return Err(StoreError::AlreadyExists);
            }
            apply_payment_update(s, payment, entry);
            s.refunds
                .entry(refund.payment_id.clone())
                .or_default()
                .push(refund.clone());
            Ok(())
        })
    }

    async fn get_refund(
        &self,
        payment_id: &PaymentId,
        refund_id: &RefundId,
    ) -> Result<Option<Refund>, StoreError> {
        Ok(self.read(|s| {
            s.refunds
                .get(payment_id)
                .and_then(|r| r.iter().find(|x| &x.id == refund_id).cloned())
        }))
    }

    async fn list_refunds(&self, payment_id: &PaymentId) -> Result<Vec<Refund>, StoreError> {
        Ok(self.read(|s| s.refunds.get(payment_id).cloned().unwrap_or_default()))
    }

    async fn update_refund(
        &self,
        refund: &Refund,
        payment: Option<(&Payment, &HistoryEntry)>,
    ) -> Result<(), StoreError> {
        self.write(|s| {
            let stored = s
                .refunds
                .get(&refund.payment_id)
                .and_then(|r| r.iter().find(|x| x.id == refund.id));
            match stored {
                Some(current) if current.version + 1 == refund.version => {}
                _ => return Err(StoreError::Conflict),
            }
            if let Some((p, e)) = payment {
                check_payment_update(s, p, e)?;
                apply_payment_update(s, p, e);
            }
            let list = s
                .refunds
                .get_mut(&refund.payment_id)
                .expect("checked above");
            let slot = list
                .iter_mut()
                .find(|x| x.id == refund.id)
                .expect("checked above");
            *slot = refund.clone();
            Ok(())
        })
    }
}

#[async_trait]
impl WebhookDedupStore for EmbeddedStore {
    async fn record_webhook(
        &self,
        dedup_key: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.write(|s| match s.webhooks.get(dedup_key) {
            Some(exp) if *exp > now => Ok(false),
            _ => {
                s.webhooks.insert(dedup_key.to_string(), expires_at);
                Ok(true)
            }
        })
    }

    async fn webhook_seen(&self, dedup_key: &str, now: Timestamp) -> Result<bool, StoreError> {
        Ok(self.read(|s| matches!(s.webhooks.get(dedup_key), Some(exp) if *exp > now)))
    }
}
