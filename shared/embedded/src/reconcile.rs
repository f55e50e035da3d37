//! Reconciliation's records in the embedded store. The ledger is read straight from the
//! payment versions (the same `LedgerItem::of` DynamoDB indexes them by).

use crate::store::EmbeddedStore;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use walletpay_domain::Provider;
use walletpay_ports::reconcile::{
    discrepancy_cursor, ChunkKind, ContractRecord, Discrepancy, DiscrepancyQuery, LedgerItem,
    LedgerQuery, Marker, OperatorKeyRecord, OperatorStore, ReconcileStore, ReportNotice, RunRecord,
};
use walletpay_ports::StoreError;
use walletpay_reconcile::Date;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ReconState {
    /// By `<provider>#<day>` (string keys: the store is persisted as JSON).
    runs: BTreeMap<String, RunRecord>,
    /// By `<run id>#<attempt>#<kind>#<n>`.
    chunks: BTreeMap<String, Vec<u8>>,
    discrepancies: BTreeMap<String, Discrepancy>,
    contracts: BTreeMap<Provider, ContractRecord>,
    /// By `<provider>#<day announced>`, then file.
    notices: BTreeMap<String, BTreeMap<String, ReportNotice>>,
    /// By `<provider>#<movement>`.
    markers: BTreeMap<String, Marker>,
    operator_keys: BTreeMap<String, OperatorKeyRecord>,
}

fn day_key(provider: Provider, day: Date) -> String {
    format!("{provider}#{day}")
}

fn chunk_key(run_id: &str, attempt: u32, kind: ChunkKind, n: u32) -> String {
    format!("{run_id}#{attempt}#{}#{n:06}", kind.as_str())
}

#[async_trait]
impl ReconcileStore for EmbeddedStore {
    async fn ledger_page(
        &self,
        query: &LedgerQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<LedgerItem>, Option<String>), StoreError> {
        let partition = walletpay_ports::reconcile::ledger_partition(
            query.provider,
            query.utc_day,
            query.shard,
        );
        Ok(self.read(|s| {
            let mut items: Vec<(String, LedgerItem)> = s
                .payments
                .values()
                .flatten()
                .filter_map(|v| LedgerItem::of(&v.payment, &v.entry))
                .filter(|i| i.partition() == partition && i.at >= query.from && i.at < query.to)
                .map(|i| (i.sort_key(), i))
                .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a))
                .collect();
            items.sort_by(|a, b| a.0.cmp(&b.0));
            let more = items.len() > limit;
            items.truncate(limit);
            let next = more.then(|| items.last().map(|(k, _)| k.clone())).flatten();
            (items.into_iter().map(|(_, i)| i).collect(), next)
        }))
    }

    async fn get_run(
        &self,
        provider: Provider,
        day: Date,
    ) -> Result<Option<RunRecord>, StoreError> {
        Ok(self.read(|s| s.recon.runs.get(&day_key(provider, day)).cloned()))
    }

    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.write(|s| {
            let key = day_key(run.provider, run.day);
            let stored = s.recon.runs.get(&key).map(|r| r.version);
            match (stored, run.version.checked_sub(1)) {
                (None, Some(0)) => {}
                (Some(v), Some(e)) if v == e => {}
                // The same write again (a retry whose first try landed).
                (Some(v), _) if v == run.version && s.recon.runs.get(&key) == Some(run) => {}
                _ => return Err(StoreError::Conflict),
            }
            s.recon.runs.insert(key, run.clone());
            Ok(())
        })
    }

    async fn list_runs(
        &self,
        provider: Provider,
        from: Date,
        to: Date,
    ) -> Result<Vec<RunRecord>, StoreError> {
        Ok(self.read(|s| {
            s.recon
                .runs
                .range(day_key(provider, from)..=day_key(provider, to))
                .map(|(_, r)| r.clone())
                .collect()
        }))
    }

    async fn put_chunk(
        &self,
        run_id: &str,
        attempt: u32,
        kind: ChunkKind,
        n: u32,
        data: &[u8],
    ) -> Result<(), StoreError> {
        self.write(|s| {
            s.recon
                .chunks
                .insert(chunk_key(run_id, attempt, kind, n), data.to_vec());
            Ok(())
        })
    }

    async fn get_chunk(
        &self,
        run_id: &str,
        attempt: u32,
        kind: ChunkKind,
        n: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read(|s| {
            s.recon
                .chunks
                .get(&chunk_key(run_id, attempt, kind, n))
                .cloned()
        }))
    }

    async fn insert_discrepancy(&self, d: &Discrepancy) -> Result<bool, StoreError> {
        self.write(|s| {
            if s.recon.discrepancies.contains_key(&d.id) {
                return Ok(false);
            }
            s.recon.discrepancies.insert(d.id.clone(), d.clone());
            Ok(true)
        })
    }

    async fn get_discrepancy(&self, id: &str) -> Result<Option<Discrepancy>, StoreError> {
        Ok(self.read(|s| s.recon.discrepancies.get(id).cloned()))
    }

    async fn update_discrepancy(&self, d: &Discrepancy) -> Result<(), StoreError> {
        self.write(|s| match s.recon.discrepancies.get(&d.id) {
            Some(stored) if Some(stored.version) == d.version.checked_sub(1) => {
                s.recon.discrepancies.insert(d.id.clone(), d.clone());
                Ok(())
            }
            Some(stored) if stored == d => Ok(()),
            _ => Err(StoreError::Conflict),
        })
    }

    async fn list_discrepancies(
        &self,
        q: &DiscrepancyQuery,
    ) -> Result<(Vec<Discrepancy>, Option<String>), StoreError> {
        if q.provider.is_none() && q.merchant.is_none() {
            return Err(StoreError::Backend(
                "a discrepancy listing needs a provider or a merchant".into(),
            ));
        }
        Ok(self.read(|s| {
            let mut found: Vec<(String, &Discrepancy)> = s
                .recon
                .discrepancies
                .values()
                .filter(|d| d.status == q.status)
                .filter(|d| q.provider.is_none_or(|p| d.provider == p))
                .filter(|d| {
                    q.merchant
                        .as_ref()
                        .is_none_or(|m| d.merchant_id.as_ref() == Some(m))
                })
                .filter(|d| q.opened_from.is_none_or(|t| d.opened_at >= t))
                .filter(|d| q.opened_before.is_none_or(|t| d.opened_at < t))
                .map(|d| (discrepancy_cursor(d), d))
                .filter(|(k, _)| q.after.as_ref().is_none_or(|a| k > a))
                .collect();
            found.sort_by(|a, b| a.0.cmp(&b.0));
            let more = found.len() > q.limit;
            found.truncate(q.limit);
            let next = more.then(|| found.last().map(|(k, _)| k.clone())).flatten();
            (found.into_iter().map(|(_, d)| d.clone()).collect(), next)
        }))
    }

    async fn put_contract(&self, c: &ContractRecord) -> Result<(), StoreError> {
        self.write(|s| {
            let stored = s.recon.contracts.get(&c.provider).map(|r| r.version);
            match (stored, c.version.checked_sub(1)) {
                (None, Some(0)) => {}
                (Some(v), Some(e)) if v == e => {}
                _ => return Err(StoreError::Conflict),
            }
            s.recon.contracts.insert(c.provider, c.clone());
            Ok(())
        })
    }

    async fn get_contract(&self, provider: Provider) -> Result<Option<ContractRecord>, StoreError> {
        Ok(self.read(|s| s.recon.contracts.get(&provider).cloned()))
    }

    async fn put_report_notice(&self, n: &ReportNotice) -> Result<(), StoreError> {
        self.write(|s| {
            s.recon
                .notices
                .entry(day_key(n.provider, n.announced_on))
                .or_default()
                .insert(n.file.clone(), n.clone());
            Ok(())
        })
    }

    async fn report_notices(
        &self,
        provider: Provider,
        announced_on: Date,
    ) -> Result<Vec<ReportNotice>, StoreError> {
        Ok(self.read(|s| {
            s.recon
                .notices
                .get(&day_key(provider, announced_on))
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default()
        }))
    }

    async fn put_marker(&self, m: &Marker) -> Result<Marker, StoreError> {
        self.write(|s| {
            let key = format!("{}#{}", m.provider, m.movement);
            Ok(s.recon
                .markers
                .entry(key)
                .or_insert_with(|| m.clone())
                .clone())
        })
    }

    async fn get_markers(
        &self,
        provider: Provider,
        movements: &[String],
    ) -> Result<Vec<Marker>, StoreError> {
        Ok(self.read(|s| {
            movements
                .iter()
                .filter_map(|m| s.recon.markers.get(&format!("{provider}#{m}")).cloned())
                .collect()
        }))
    }
}

#[async_trait]
impl OperatorStore for EmbeddedStore {
    async fn insert_operator_key(&self, key: &OperatorKeyRecord) -> Result<(), StoreError> {
        self.write(|s| {
            if s.recon.operator_keys.contains_key(&key.key_id) {
                return Err(StoreError::AlreadyExists);
            }
            s.recon
                .operator_keys
                .insert(key.key_id.clone(), key.clone());
            Ok(())
        })
    }

    async fn get_operator_key(
        &self,
        key_id: &str,
    ) -> Result<Option<OperatorKeyRecord>, StoreError> {
        Ok(self.read(|s| s.recon.operator_keys.get(key_id).cloned()))
    }
}
