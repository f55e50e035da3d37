//! Reconciliation's items in the one table.
//!
//! | item                | pk                                          | sk                   | indexes |
//! |---------------------|---------------------------------------------|----------------------|---------|
//! | ledger (a version)  | `PAYMENT#<payment id>`                      | `V#<seq>`            | gsi3: `L#<provider>#<YYYYMMDD>#<shard 0-31>`, `<epoch ms:013>#<payment id body>#<seq:010>` (projects `lg`, the compact rest) |
//! | run                 | `RECON#RUN#<provider>`                      | `<day>`              | |
//! | report chunk        | `RECON#CHUNK#<run id>#<attempt>`            | `<kind>#<n:06>`      | |
//! | discrepancy         | `RECON#DISC#<id>`                           | `DISC`               | gsi1: `RECON#DISC#<provider>#<status>`, `<opened at>#<id>`; gsi2: `RECON#DISC#MERCHANT#<merchant>#<status>`, same |
//! | contract            | `RECON#CONTRACT#<provider>`                 | `CONTRACT`           | |
//! | report notice       | `RECON#NOTICE#<provider>#<day announced>`   | `<file>`             | |
//! | marker              | `RECON#MARK#<provider>#<movement>`          | `MARK`               | |
//! | operator key        | `OPKEY#<key id>`                            | `OPKEY`              | |
//!
//! Records are JSON in one attribute beside their keys (`r`, `d`, `c`, `n`, `m`), with a
//! `version` number where writes are conditional on it; report chunks are deflated.

use super::*;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use walletpay_domain::Provider;
use walletpay_ports::reconcile::{
    discrepancy_cursor, ChunkKind, ContractRecord, Discrepancy, DiscrepancyQuery,
    DiscrepancyStatus, LedgerItem, LedgerQuery, Marker, OperatorKeyRecord, OperatorStore,
    ReconcileStore, ReportNotice, RunRecord,
};
use walletpay_reconcile::Date;

/// Report chunks and markers are kept this long (TTL).
const KEEP_SECONDS: i64 = 400 * 86_400;

pub(super) fn to_json<T: Serialize>(v: &T) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(v)
        .map(s)
        .map_err(|e| StoreError::Backend(e.to_string()))
}

pub(super) fn from_json<T: DeserializeOwned>(item: &Item, attr: &str) -> Result<T, StoreError> {
    match item.get(attr) {
        Some(AttributeValue::S(text)) => serde_json::from_str(text)
            .map_err(|e| StoreError::Backend(format!("stored `{attr}`: {e}"))),
        _ => Err(StoreError::Backend(format!("item without `{attr}`"))),
    }
}

pub(super) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn run_pk(provider: Provider) -> String {
    format!("RECON#RUN#{provider}")
}

fn disc_pk(id: &str) -> String {
    format!("RECON#DISC#{id}")
}

fn disc_by_provider(provider: Provider, status: DiscrepancyStatus) -> String {
    format!("RECON#DISC#{provider}#{}", status.as_str())
}

fn disc_by_merchant(merchant: &walletpay_domain::MerchantId, status: DiscrepancyStatus) -> String {
    format!("RECON#DISC#MERCHANT#{merchant}#{}", status.as_str())
}

fn mark_pk(provider: Provider, movement: &str) -> String {
    format!("RECON#MARK#{provider}#{movement}")
}

fn expires() -> AttributeValue {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    AttributeValue::N((now + KEEP_SECONDS).to_string())
}

fn discrepancy_item(d: &Discrepancy) -> Result<Item, StoreError> {
    let mut item: Item = HashMap::from([
        ("pk".to_string(), s(disc_pk(&d.id))),
        ("sk".to_string(), s("DISC")),
        ("d".to_string(), to_json(d)?),
        ("version".to_string(), n(d.version)),
        (
            "gsi1pk".to_string(),
            s(disc_by_provider(d.provider, d.status)),
        ),
        ("gsi1sk".to_string(), s(discrepancy_cursor(d))),
    ]);
    if let Some(m) = &d.merchant_id {
        item.insert("gsi2pk".into(), s(disc_by_merchant(m, d.status)));
        item.insert("gsi2sk".into(), s(discrepancy_cursor(d)));
    }
    Ok(item)
}

impl Consumed for aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput {
    fn units(&self) -> f64 {
        self.consumed_capacity()
            .iter()
            .filter_map(|c| c.capacity_units())
            .sum()
    }
}

impl DynamoDbStore {
    /// Reads items by key, 100 at a time, retrying what DynamoDB leaves unprocessed.
    pub(super) async fn batch_get(
        &self,
        op: &'static str,
        keys: Vec<(String, String)>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        for chunk in keys.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(
                        chunk
                            .iter()
                            .map(|(pk, sk)| {
                                HashMap::from([
                                    ("pk".to_string(), s(pk.clone())),
                                    ("sk".to_string(), s(sk.clone())),
                                ])
                            })
                            .collect(),
                    ))
                    .build()
                    .map_err(backend)?,
            );
            for attempt in 0..8 {
                let Some(request) = pending.take() else { break };
                let got = metered!(
                    self,
                    read,
                    op,
                    self.client
                        .batch_get_item()
                        .request_items(&self.table, request)
                )
                .map_err(backend)?;
                if let Some(mut found) = got.responses {
                    out.extend(found.remove(&self.table).unwrap_or_default());
                }
                pending = got
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys().is_empty());
                if pending.is_some() {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
            }
            if pending.is_some() {
                return Err(StoreError::Backend(format!("{op}: keys left unprocessed")));
            }
        }
        Ok(out)
    }

    /// Writes a versioned record: `version` = 1 on condition that none is there, otherwise on
    /// condition that the stored one is the version before. The same write again (a retry
    /// whose first try landed) finds itself and is not a conflict.
    async fn put_versioned(
        &self,
        op: &'static str,
        item: Item,
        version: u64,
        attr: &str,
    ) -> Result<(), StoreError> {
        let previous = version.checked_sub(1).ok_or(StoreError::Conflict)?;
        let (pk, sk) = match (item.get("pk"), item.get("sk")) {
            (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) => (pk.clone(), sk.clone()),
            _ => return Err(StoreError::Backend("versioned item without keys".into())),
        };
        let wanted = item.get(attr).cloned();
        let condition = if previous == 0 {
            "attribute_not_exists(pk)"
        } else {
            "version = :previous"
        };
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if previous > 0 {
            put = put.expression_attribute_values(":previous", n(previous));
        }
        match metered!(self, write, op, put) {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => {
                let stored = self.get_item(op, pk, &sk).await?;
                match stored {
                    Some(item) if item.get(attr) == wanted.as_ref() => Ok(()),
                    _ => Err(StoreError::Conflict),
                }
            }
            Err(e) => Err(backend(e)),
        }
    }
}

#[async_trait]
impl ReconcileStore for DynamoDbStore {
    async fn ledger_page(
        &self,
        q: &LedgerQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<LedgerItem>, Option<String>), StoreError> {
        let pk = walletpay_ports::reconcile::ledger_partition(q.provider, q.utc_day, q.shard);
        // Sort keys begin with the instant; `~` sorts after every payment id.
        let lo = match after {
            Some(a) => a.to_string(),
            None => walletpay_ports::reconcile::ledger_time_key(q.from),
        };
        let hi = walletpay_ports::reconcile::ledger_time_key(q.to);
        let page = metered!(
            self,
            read,
            "ledger_page",
            self.client
                .query()
                .table_name(&self.table)
                .index_name("gsi3")
                .key_condition_expression("gsi3pk = :pk AND gsi3sk BETWEEN :lo AND :hi")
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":lo", s(lo))
                .expression_attribute_values(":hi", s(hi.clone()))
                .limit(limit as i32 + 1)
        )
        .map_err(backend)?;
        let mut out = Vec::new();
        let mut last = None;
        for item in page.items.unwrap_or_default() {
            let key = match item.get("gsi3sk") {
                Some(AttributeValue::S(k)) => k.clone(),
                _ => continue,
            };
            // BETWEEN is inclusive at both ends: the page starts after `after`, ends before `to`.
            if after == Some(key.as_str()) || key.as_str() >= hi.as_str() {
                continue;
            }
            if out.len() == limit {
                return Ok((out, last));
            }
            let compact = match item.get("lg") {
                Some(AttributeValue::S(c)) => c,
                _ => return Err(StoreError::Backend("a ledger item without `lg`".into())),
            };
            out.push(
                LedgerItem::from_compact(q.provider, &key, compact).ok_or_else(|| {
                    StoreError::Backend(format!("an unreadable ledger item: {key}"))
                })?,
            );
            last = Some(key);
        }
        // A page cut short by DynamoDB's 1 MB limit: more may follow.
        let more = page.last_evaluated_key.is_some_and(|k| !k.is_empty());
        Ok((out, if more { last } else { None }))
    }

    async fn get_run(
        &self,
        provider: Provider,
        day: Date,
    ) -> Result<Option<RunRecord>, StoreError> {
        self.get_item("get_run", run_pk(provider), &day.to_string())
            .await?
            .map(|item| from_json(&item, "r"))
            .transpose()
    }

    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let item = HashMap::from([
            ("pk".to_string(), s(run_pk(run.provider))),
            ("sk".to_string(), s(run.day.to_string())),
            ("r".to_string(), to_json(run)?),
            ("version".to_string(), n(run.version)),
        ]);
        self.put_versioned("put_run", item, run.version, "r").await
    }

    async fn list_runs(
        &self,
        provider: Provider,
        from: Date,
        to: Date,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = metered!(
                self,
                read,
                "list_runs",
                self.client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                    .expression_attribute_values(":pk", s(run_pk(provider)))
                    .expression_attribute_values(":from", s(from.to_string()))
                    .expression_attribute_values(":to", s(to.to_string()))
                    .consistent_read(true)
                    .set_exclusive_start_key(start.take())
            )
            .map_err(backend)?;
            for item in page.items.unwrap_or_default() {
                out.push(from_json(&item, "r")?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    async fn put_chunk(
        &self,
        run_id: &str,
        attempt: u32,
        kind: ChunkKind,
        n: u32,
        data: &[u8],
    ) -> Result<(), StoreError> {
        use std::io::Write;
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        let packed = z
            .write_all(data)
            .and_then(|_| z.finish())
            .map_err(|e| StoreError::Backend(format!("compressing a report chunk: {e}")))?;
        metered!(
            self,
            write,
            "put_chunk",
            self.client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(format!("RECON#CHUNK#{run_id}#{attempt}")))
                .item("sk", s(format!("{}#{n:06}", kind.as_str())))
                .item(
                    "d",
                    AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(packed))
                )
                .item("ttl", expires())
        )
        .map_err(backend)?;
        Ok(())
    }

    async fn get_chunk(
        &self,
        run_id: &str,
        attempt: u32,
        kind: ChunkKind,
        n: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(item) = self
            .get_immutable(
                "get_chunk",
                format!("RECON#CHUNK#{run_id}#{attempt}"),
                &format!("{}#{n:06}", kind.as_str()),
            )
            .await?
        else {
            return Ok(None);
        };
        let Some(AttributeValue::B(b)) = item.get("d") else {
            return Err(StoreError::Backend("report chunk without `d`".into()));
        };
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(b.as_ref())
            .read_to_end(&mut out)
            .map_err(|e| StoreError::Backend(format!("reading a report chunk: {e}")))?;
        Ok(Some(out))
    }

    async fn insert_discrepancy(&self, d: &Discrepancy) -> Result<bool, StoreError> {
        match metered!(
            self,
            write,
            "insert_discrepancy",
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(discrepancy_item(d)?))
                .condition_expression("attribute_not_exists(pk)")
        ) {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }

    async fn get_discrepancy(&self, id: &str) -> Result<Option<Discrepancy>, StoreError> {
        self.get_item("get_discrepancy", disc_pk(id), "DISC")
            .await?
            .map(|item| from_json(&item, "d"))
            .transpose()
    }

    async fn update_discrepancy(&self, d: &Discrepancy) -> Result<(), StoreError> {
        if d.version < 2 {
            return Err(StoreError::Conflict);
        }
        self.put_versioned("update_discrepancy", discrepancy_item(d)?, d.version, "d")
            .await
    }

    async fn list_discrepancies(
        &self,
        q: &DiscrepancyQuery,
    ) -> Result<(Vec<Discrepancy>, Option<String>), StoreError> {
        let (index, pk) = match (&q.merchant, q.provider) {
            (Some(m), _) => ("gsi2", disc_by_merchant(m, q.status)),
            (None, Some(p)) => ("gsi1", disc_by_provider(p, q.status)),
            (None, None) => {
                return Err(StoreError::Backend(
                    "a discrepancy listing needs a provider or a merchant".into(),
                ))
            }
        };
        let lo = match (&q.after, q.opened_from) {
            (Some(a), _) => format!("{a}~"),
            (None, Some(t)) => t.to_string(),
            (None, None) => "0".to_string(),
        };
        let hi = q
            .opened_before
            .map(|t| t.to_string())
            .unwrap_or_else(|| "~".to_string());
        let mut out: Vec<Discrepancy> = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = metered!(
                self,
                read,
                "list_discrepancies",
                self.client
                    .query()
                    .table_name(&self.table)
                    .index_name(index)
                    .key_condition_expression(format!(
                        "{index}pk = :pk AND {index}sk BETWEEN :lo AND :hi"
                    ))
                    .expression_attribute_values(":pk", s(pk.clone()))
                    .expression_attribute_values(":lo", s(lo.clone()))
                    .expression_attribute_values(":hi", s(hi.clone()))
                    .limit(q.limit as i32 + 1)
                    .set_exclusive_start_key(start.take())
            )
            .map_err(backend)?;
            let items = page.items.unwrap_or_default();
            // The merchant index holds keys only: the records are read by key.
            let records: Vec<Discrepancy> = if index == "gsi2" {
                let keys = items
                    .iter()
                    .filter_map(|i| match i.get("pk") {
                        Some(AttributeValue::S(pk)) => Some((pk.clone(), "DISC".to_string())),
                        _ => None,
                    })
                    .collect();
                let mut found: Vec<Discrepancy> = self
                    .batch_get("list_discrepancies(records)", keys)
                    .await?
                    .iter()
                    .map(|i| from_json(i, "d"))
                    .collect::<Result<_, _>>()?;
                found.retain(|d| d.status == q.status);
                found.sort_by_key(discrepancy_cursor);
                found
            } else {
                items
                    .iter()
                    .map(|i| from_json(i, "d"))
                    .collect::<Result<_, _>>()?
            };
            for d in records {
                if q.provider.is_some_and(|p| p != d.provider) {
                    continue;
                }
                if out.len() == q.limit {
                    let next = out.last().map(discrepancy_cursor);
                    return Ok((out, next));
                }
                out.push(d);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok((out, None)),
            }
        }
    }

    async fn put_contract(&self, c: &ContractRecord) -> Result<(), StoreError> {
        let item = HashMap::from([
            (
                "pk".to_string(),
                s(format!("RECON#CONTRACT#{}", c.provider)),
            ),
            ("sk".to_string(), s("CONTRACT")),
            ("c".to_string(), to_json(c)?),
            ("version".to_string(), n(c.version)),
        ]);
        self.put_versioned("put_contract", item, c.version, "c")
            .await
    }

    async fn get_contract(&self, provider: Provider) -> Result<Option<ContractRecord>, StoreError> {
        self.get_item(
            "get_contract",
            format!("RECON#CONTRACT#{provider}"),
            "CONTRACT",
        )
        .await?
        .map(|item| from_json(&item, "c"))
        .transpose()
    }

    async fn put_report_notice(&self, notice: &ReportNotice) -> Result<(), StoreError> {
        metered!(
            self,
            write,
            "put_report_notice",
            self.client
                .put_item()
                .table_name(&self.table)
                .item(
                    "pk",
                    s(format!(
                        "RECON#NOTICE#{}#{}",
                        notice.provider, notice.announced_on
                    ))
                )
                .item("sk", s(notice.file.clone()))
                .item("n", to_json(notice)?)
                .item("ttl", expires())
        )
        .map_err(backend)?;
        Ok(())
    }

    async fn report_notices(
        &self,
        provider: Provider,
        announced_on: Date,
    ) -> Result<Vec<ReportNotice>, StoreError> {
        let page = metered!(
            self,
            read,
            "report_notices",
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(
                    ":pk",
                    s(format!("RECON#NOTICE#{provider}#{announced_on}"))
                )
                .consistent_read(true)
        )
        .map_err(backend)?;
        page.items
            .unwrap_or_default()
            .iter()
            .map(|i| from_json(i, "n"))
            .collect()
    }

    async fn put_marker(&self, m: &Marker) -> Result<Marker, StoreError> {
        let pk = mark_pk(m.provider, &m.movement);
        match metered!(
            self,
            write,
            "put_marker",
            self.client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(pk.clone()))
                .item("sk", s("MARK"))
                .item("m", to_json(m)?)
                .item("ttl", expires())
                .condition_expression("attribute_not_exists(pk)")
        ) {
            Ok(_) => Ok(m.clone()),
            Err(e) if condition_failed(&e) => {
                match self.get_item("put_marker", pk, "MARK").await? {
                    Some(item) => from_json(&item, "m"),
                    None => Err(StoreError::Conflict),
                }
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn get_markers(
        &self,
        provider: Provider,
        movements: &[String],
    ) -> Result<Vec<Marker>, StoreError> {
        let keys = movements
            .iter()
            .map(|m| (mark_pk(provider, m), "MARK".to_string()))
            .collect();
        self.batch_get("get_markers", keys)
            .await?
            .iter()
            .map(|i| from_json(i, "m"))
            .collect()
    }
}

#[async_trait]
impl OperatorStore for DynamoDbStore {
    async fn insert_operator_key(&self, key: &OperatorKeyRecord) -> Result<(), StoreError> {
        let item = encode(key, format!("OPKEY#{}", key.key_id), "OPKEY".into())?;
        match metered!(
            self,
            write,
            "insert_operator_key",
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
        ) {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::AlreadyExists),
            Err(e) => Err(backend(e)),
        }
    }

    async fn get_operator_key(
        &self,
        key_id: &str,
    ) -> Result<Option<OperatorKeyRecord>, StoreError> {
        self.get_immutable("get_operator_key", format!("OPKEY#{key_id}"), "OPKEY")
            .await?
            .map(decode)
            .transpose()
    }
}
