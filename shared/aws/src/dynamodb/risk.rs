//! Risk control's items in the one table.
//!
//! | item          | pk                                         | sk                  | ttl |
//! |---------------|--------------------------------------------|---------------------|-----|
//! | policy        | `RISK#POLICY#<scope>`                      | `POLICY`            |     |
//! | audit entry   | `RISK#AUDIT#<scope>`                       | `<at ms:013>#<id>`  |     |
//! | list entry    | `RISK#LIST#<scope>#<list>#<shard 00-15>`   | `<kind>#<value>`    |     |
//! | CIDR entry    | `RISK#LIST#<scope>#<list>#cidr`            | `cidr#<range>`      |     |
//! | list's kinds  | `RISK#KINDS#<scope>#<list>`                | `KINDS`             |     |
//! | counter       | `RISK#CTR#<counter key>`                   | `CTR`               | yes |
//!
//! `<scope>` is `platform` or a merchant id. A list's entries are spread over 16 partitions
//! by a hash of the entry (a flash sale's lookups never meet on one), read by key in the
//! same batch as the counters, and only for the kinds the list has ever held (its `KINDS`
//! item, a string set, so a shop with no e-mail entries pays no e-mail lookups); CIDR ranges
//! sit in a partition of their own, read whole.
//!
//! A counter is one item: `first` (when first seen), and per bucket `<m|h><c|s|f><index>`
//! (count, sum, failed; `m` for unix minutes, `h` for unix hours). One update per payment
//! adds to the minute's and the hour's buckets and removes the stale buckets it saw when it
//! read, so the item stays under 61 minutes and 25 hours of buckets (4 KB at most).

use super::reconcile::{from_json, n, to_json};
use super::*;
use aws_sdk_dynamodb::types::{DeleteRequest, Put, PutRequest, TransactWriteItem, WriteRequest};
use futures::{StreamExt, TryStreamExt};
use walletpay_domain::risk::counter::{Counter, Unit};
use walletpay_domain::risk::ListKind;
use walletpay_ports::risk::{
    AuditEntry, CounterAdd, ListEntry, ListKey, ListName, RiskRead, RiskStore, Scope, StoredPolicy,
};

const LIST_SHARDS: u64 = 16;

impl Consumed for aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput {
    fn units(&self) -> f64 {
        self.consumed_capacity()
            .iter()
            .filter_map(|c| c.capacity_units())
            .sum()
    }
}

impl Consumed for aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput {
    fn units(&self) -> f64 {
        self.consumed_capacity()
            .iter()
            .filter_map(|c| c.capacity_units())
            .sum()
    }
}

fn policy_pk(scope: &Scope) -> String {
    format!("RISK#POLICY#{}", scope.key())
}

fn audit_pk(scope: &Scope) -> String {
    format!("RISK#AUDIT#{}", scope.key())
}

fn kinds_pk(scope: &Scope, list: ListName) -> String {
    format!("RISK#KINDS#{}#{}", scope.key(), list.as_str())
}

fn counter_pk(key: &str) -> String {
    format!("RISK#CTR#{key}")
}

/// FNV-1a: a stable spread of entries over the list's partitions.
fn spread(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn entry_sk(kind: ListKind, value: &str) -> String {
    format!("{}#{value}", kind.as_str())
}

/// The partitions of a list, in listing order: the 16 shards, then the CIDR ranges.
fn list_partitions(scope: &Scope, list: ListName) -> Vec<String> {
    let base = format!("RISK#LIST#{}#{}", scope.key(), list.as_str());
    (0..LIST_SHARDS)
        .map(|i| format!("{base}#{i:02}"))
        .chain(std::iter::once(format!("{base}#cidr")))
        .collect()
}

fn entry_pk(scope: &Scope, list: ListName, kind: ListKind, value: &str) -> String {
    let base = format!("RISK#LIST#{}#{}", scope.key(), list.as_str());
    if kind == ListKind::Cidr {
        format!("{base}#cidr")
    } else {
        format!("{base}#{:02}", spread(&entry_sk(kind, value)) % LIST_SHARDS)
    }
}

fn num(item: &Item, attr: &str) -> Option<i64> {
    match item.get(attr) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

fn bucket_attr(unit: Unit, what: char, index: i64) -> String {
    format!("{}{what}{index}", unit.letter())
}

/// Reads a counter item's buckets back.
fn decode_counter(item: &Item) -> Counter {
    let mut c = Counter {
        first_seen: num(item, "first").map(Timestamp),
        buckets: Default::default(),
    };
    for (name, value) in item {
        let mut chars = name.chars();
        let (Some(u), Some(what)) = (chars.next(), chars.next()) else {
            continue;
        };
        let unit = match u {
            'm' => Unit::Minute,
            'h' => Unit::Hour,
            _ => continue,
        };
        let (Ok(index), AttributeValue::N(v)) = (chars.as_str().parse::<i64>(), value) else {
            continue;
        };
        let v: i64 = v.parse().unwrap_or(0);
        let t = c.buckets.entry((unit, index)).or_default();
        match what {
            'c' => t.count = v.clamp(0, u32::MAX as i64) as u32,
            's' => t.sum_minor = v,
            'f' => t.failed = v.clamp(0, u32::MAX as i64) as u32,
            _ => {}
        }
    }
    c
}

fn audit_sk(e: &AuditEntry) -> String {
    format!("{:013}#{}", e.at.millis(), e.id)
}

fn audit_item(e: &AuditEntry) -> Result<Item, StoreError> {
    Ok(HashMap::from([
        ("pk".to_string(), s(audit_pk(&e.scope))),
        ("sk".to_string(), s(audit_sk(e))),
        ("a".to_string(), to_json(e)?),
    ]))
}

impl DynamoDbStore {
    /// Writes requests 25 at a time (8 batches at once), retrying what DynamoDB leaves
    /// unprocessed.
    async fn batch_write(
        &self,
        op: &'static str,
        requests: Vec<WriteRequest>,
    ) -> Result<(), StoreError> {
        let chunks: Vec<Vec<WriteRequest>> = requests.chunks(25).map(|c| c.to_vec()).collect();
        futures::stream::iter(chunks)
            .map(|chunk| async move {
                let mut pending = chunk;
                for attempt in 0..8u32 {
                    let out = metered!(
                        self,
                        write,
                        op,
                        self.client
                            .batch_write_item()
                            .request_items(&self.table, pending.clone())
                    )
                    .map_err(backend)?;
                    pending = out
                        .unprocessed_items
                        .and_then(|mut u| u.remove(&self.table))
                        .unwrap_or_default();
                    if pending.is_empty() {
                        return Ok(());
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
                Err(StoreError::Backend(format!(
                    "{op}: writes left unprocessed"
                )))
            })
            .buffer_unordered(8)
            .try_collect::<Vec<()>>()
            .await
            .map(|_| ())
    }

    async fn query_partition(
        &self,
        op: &'static str,
        pk: &str,
        after_sk: Option<&str>,
        limit: usize,
        forward: bool,
    ) -> Result<(Vec<Item>, Option<String>), StoreError> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(pk))
            .scan_index_forward(forward)
            .limit(limit.clamp(1, 1000) as i32);
        if let Some(sk) = after_sk {
            q = q
                .exclusive_start_key("pk", s(pk))
                .exclusive_start_key("sk", s(sk));
        }
        let out = metered!(self, read, op, q).map_err(backend)?;
        let next = out.last_evaluated_key.and_then(|k| match k.get("sk") {
            Some(AttributeValue::S(sk)) => Some(sk.clone()),
            _ => None,
        });
        Ok((out.items.unwrap_or_default(), next))
    }
}

#[async_trait]
impl RiskStore for DynamoDbStore {
    async fn get_policy(&self, scope: &Scope) -> Result<Option<StoredPolicy>, StoreError> {
        match self
            .get_item("get_policy", policy_pk(scope), "POLICY")
            .await?
        {
            Some(item) => Ok(Some(from_json(&item, "p")?)),
            None => Ok(None),
        }
    }

    async fn put_policy(
        &self,
        policy: &StoredPolicy,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let previous = policy.version.checked_sub(1).ok_or(StoreError::Conflict)?;
        let item: Item = HashMap::from([
            ("pk".to_string(), s(policy_pk(&policy.scope))),
            ("sk".to_string(), s("POLICY")),
            ("p".to_string(), to_json(policy)?),
            ("version".to_string(), n(policy.version)),
        ]);
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        put = if previous == 0 {
            put.condition_expression("attribute_not_exists(pk)")
        } else {
            put.condition_expression("version = :previous")
                .expression_attribute_values(":previous", n(previous))
        };
        let audit_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(audit_item(audit)?))
            .build()
            .map_err(backend)?;
        let result = metered!(
            self,
            write,
            "put_policy",
            self.client
                .transact_write_items()
                .transact_items(
                    TransactWriteItem::builder()
                        .put(put.build().map_err(backend)?)
                        .build()
                )
                .transact_items(TransactWriteItem::builder().put(audit_put).build())
        );
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        match result {
            Ok(_) => Ok(()),
            // Only the version's condition is a conflict; throttling, a transaction conflict
            // or an oversized item is the backend's error.
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(t))
                    if t.cancellation_reasons()
                        .iter()
                        .any(|r| r.code() == Some("ConditionalCheckFailed")) =>
                {
                    Err(StoreError::Conflict)
                }
                _ => Err(backend(e)),
            },
        }
    }

    async fn read_risk(
        &self,
        counters: &[String],
        lists: &[ListKey],
    ) -> Result<RiskRead, StoreError> {
        let mut keys: Vec<(String, String)> = counters
            .iter()
            .map(|k| (counter_pk(k), "CTR".to_string()))
            .collect();
        keys.extend(lists.iter().map(|k| {
            (
                entry_pk(&k.scope, k.list, k.kind, &k.value),
                entry_sk(k.kind, &k.value),
            )
        }));
        keys.sort();
        keys.dedup();
        let found = if keys.is_empty() {
            Vec::new()
        } else {
            self.batch_get("read_risk", keys).await?
        };
        let by_key: HashMap<(String, String), Item> = found
            .into_iter()
            .filter_map(|item| match (item.get("pk"), item.get("sk")) {
                (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) => {
                    Some(((pk.clone(), sk.clone()), item))
                }
                _ => None,
            })
            .collect();
        Ok(RiskRead {
            counters: counters
                .iter()
                .map(|k| {
                    by_key
                        .get(&(counter_pk(k), "CTR".to_string()))
                        .map(decode_counter)
                })
                .collect(),
            listed: lists
                .iter()
                .map(|k| {
                    by_key.contains_key(&(
                        entry_pk(&k.scope, k.list, k.kind, &k.value),
                        entry_sk(k.kind, &k.value),
                    ))
                })
                .collect(),
        })
    }

    async fn add_counters(&self, adds: &[CounterAdd]) -> Result<(), StoreError> {
        futures::future::try_join_all(adds.iter().map(|a| async move {
            let mut names: HashMap<String, String> = HashMap::new();
            let mut values: HashMap<String, AttributeValue> = HashMap::new();
            let mut adds_expr = Vec::new();
            for (i, (unit, index)) in walletpay_domain::risk::counter::buckets_of(a.at)
                .iter()
                .enumerate()
            {
                for (what, v) in [
                    ('c', a.tally.count as i64),
                    ('s', a.tally.sum_minor),
                    ('f', a.tally.failed as i64),
                ] {
                    if v == 0 {
                        continue;
                    }
                    let name = format!("#{what}{i}");
                    let value = format!(":{what}{i}");
                    names.insert(name.clone(), bucket_attr(*unit, what, *index));
                    values.insert(value.clone(), AttributeValue::N(v.to_string()));
                    adds_expr.push(format!("{name} {value}"));
                }
            }
            let mut removes = Vec::new();
            for (j, (unit, index)) in a.remove.iter().enumerate() {
                for what in ['c', 's', 'f'] {
                    let name = format!("#r{what}{j}");
                    names.insert(name.clone(), bucket_attr(*unit, what, *index));
                    removes.push(name);
                }
            }
            names.insert("#ttl".into(), "ttl".into());
            values.insert(":ttl".into(), ttl(a.keep_until));
            let mut expr = "SET #ttl = :ttl".to_string();
            if a.seen {
                names.insert("#first".into(), "first".into());
                values.insert(":now".into(), AttributeValue::N(a.at.millis().to_string()));
                expr.push_str(", #first = if_not_exists(#first, :now)");
            }
            if !adds_expr.is_empty() {
                expr.push_str(&format!(" ADD {}", adds_expr.join(", ")));
            }
            if !removes.is_empty() {
                expr.push_str(&format!(" REMOVE {}", removes.join(", ")));
            }
            metered!(
                self,
                write,
                "add_counter",
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .key("pk", s(counter_pk(&a.key)))
                    .key("sk", s("CTR"))
                    .update_expression(expr)
                    .set_expression_attribute_names(Some(names))
                    .set_expression_attribute_values(Some(values))
            )
            .map_err(backend)
            .map(|_| ())
        }))
        .await
        .map(|_| ())
    }

    async fn put_list_entries(
        &self,
        scope: &Scope,
        list: ListName,
        entries: &[ListEntry],
    ) -> Result<(), StoreError> {
        // One request per key: a batch may not name one twice.
        let mut unique: std::collections::BTreeMap<(String, String), &ListEntry> =
            Default::default();
        for e in entries {
            unique.insert(
                (
                    entry_pk(scope, list, e.kind, &e.value),
                    entry_sk(e.kind, &e.value),
                ),
                e,
            );
        }
        let mut requests = Vec::with_capacity(unique.len());
        for ((pk, sk), e) in unique {
            let item: Item = HashMap::from([
                ("pk".to_string(), s(pk)),
                ("sk".to_string(), s(sk)),
                ("e".to_string(), to_json(e)?),
            ]);
            requests.push(
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item))
                            .build()
                            .map_err(backend)?,
                    )
                    .build(),
            );
        }
        let kinds: std::collections::BTreeSet<&str> =
            entries.iter().map(|e| e.kind.as_str()).collect();
        if kinds.is_empty() {
            return Ok(());
        }
        // The kinds first: a lookup skips a kind the list is not known to hold, so entries
        // written without it would not be enforced (a kind without entries costs a lookup).
        metered!(
            self,
            write,
            "put_list_kinds",
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(kinds_pk(scope, list)))
                .key("sk", s("KINDS"))
                .update_expression("ADD k :k")
                .expression_attribute_values(
                    ":k",
                    AttributeValue::Ss(kinds.iter().map(|k| k.to_string()).collect())
                )
        )
        .map_err(backend)?;
        self.batch_write("put_list_entries", requests).await
    }

    async fn list_kinds(&self, scope: &Scope, list: ListName) -> Result<Vec<ListKind>, StoreError> {
        let item = self
            .get_item_with("list_kinds", kinds_pk(scope, list), "KINDS", false)
            .await?;
        Ok(match item.as_ref().and_then(|i| i.get("k")) {
            Some(AttributeValue::Ss(kinds)) => kinds
                .iter()
                .filter_map(|k| walletpay_domain::risk::ListKind::parse(k))
                .collect(),
            _ => Vec::new(),
        })
    }

    async fn delete_list_entries(
        &self,
        scope: &Scope,
        list: ListName,
        keys: &[(ListKind, String)],
    ) -> Result<(), StoreError> {
        let unique: std::collections::BTreeSet<(String, String)> = keys
            .iter()
            .map(|(kind, value)| (entry_pk(scope, list, *kind, value), entry_sk(*kind, value)))
            .collect();
        let mut requests = Vec::with_capacity(unique.len());
        for (pk, sk) in unique {
            requests.push(
                WriteRequest::builder()
                    .delete_request(
                        DeleteRequest::builder()
                            .key("pk", s(pk))
                            .key("sk", s(sk))
                            .build()
                            .map_err(backend)?,
                    )
                    .build(),
            );
        }
        self.batch_write("delete_list_entries", requests).await
    }

    async fn list_entries(
        &self,
        scope: &Scope,
        list: ListName,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ListEntry>, Option<String>), StoreError> {
        // The cursor: `<partition>|<last key read there>` (empty: from its start).
        let (mut part, mut after_sk) = match after.and_then(|a| a.split_once('|')) {
            Some((p, sk)) => (
                p.parse::<usize>()
                    .map_err(|_| StoreError::Backend("bad list cursor".into()))?,
                (!sk.is_empty()).then(|| sk.to_string()),
            ),
            None => (0, None),
        };
        let partitions = list_partitions(scope, list);
        let mut out = Vec::new();
        while part < partitions.len() && out.len() < limit {
            let (items, next) = self
                .query_partition(
                    "list_entries",
                    &partitions[part],
                    after_sk.as_deref(),
                    limit - out.len(),
                    true,
                )
                .await?;
            for item in &items {
                out.push(from_json::<ListEntry>(item, "e")?);
            }
            after_sk = next;
            if after_sk.is_none() {
                part += 1;
            }
        }
        let cursor =
            (part < partitions.len()).then(|| format!("{part}|{}", after_sk.unwrap_or_default()));
        Ok((out, cursor))
    }

    async fn cidr_entries(
        &self,
        scope: &Scope,
        list: ListName,
    ) -> Result<Vec<ListEntry>, StoreError> {
        let pk = list_partitions(scope, list)
            .pop()
            .expect("a list has a CIDR partition");
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let (items, next) = self
                .query_partition("cidr_entries", &pk, after.as_deref(), 1000, true)
                .await?;
            for item in &items {
                out.push(from_json::<ListEntry>(item, "e")?);
            }
            match next {
                Some(sk) => after = Some(sk),
                None => return Ok(out),
            }
        }
    }

    async fn put_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        metered!(
            self,
            write,
            "put_audit",
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(audit_item(entry)?))
        )
        .map_err(backend)?;
        Ok(())
    }

    async fn audit_entries(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, Option<String>), StoreError> {
        let (items, next) = self
            .query_partition("audit_entries", &audit_pk(scope), after, limit, false)
            .await?;
        let entries = items
            .iter()
            .map(|i| from_json::<AuditEntry>(i, "a"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((entries, next))
    }
}
