//! The back office's aggregates in the one table.
//!
//! - Hour buckets: `pk = AGG#<merchant>#H<day>#<shard 0-7>` (a merchant's UTC day, days
//!   since the epoch), `sk = <unix hour, 12 digits>#<country>#<wallet>#<provider>`.
//! - Day buckets: `pk = AGG#<merchant>#D<day ÷ 32>#<shard>` (blocks of 32 days), `sk = <day,
//!   8 digits>#<country>#<wallet>#<provider>`.
//! - Each counter is a number attribute of its own (`attempts`, `successes`, `volume`,
//!   `f_<category>`, `r_<stage>_n` / `r_<stage>_a`, ...), added to with `ADD`.
//! - The platform's copies (an operator's view of every merchant), each shard a partition
//!   of its own: `pk = AGG#ALL#H<day>#<shard>`, `sk = <unix hour>#<merchant>#<country>#
//!   <wallet>#<provider>`, and `pk = AGG#ALL#D<day ÷ 32>#<shard>`, `sk = <day>#<merchant>#...`.
//! - Counted versions: `pk = AGG#SEEN#<payment id>`, `sk = <seq, 10 digits>`, kept 7 days
//!   (longer than the stream keeps a record), put on condition they do not exist in the
//!   same transaction as the buckets' additions.
//!
//! The writer picks a random shard for each transaction: concurrent consumers of the
//! stream's shards rarely touch the same item (a transaction conflict is retried on
//! another shard), and a flash sale's writes to one bucket spread over 8 partitions (the
//! shard is in the partition key, so they are partitions, not items of one). Readers query
//! every shard and sum (and a merchant's one partition from before the shards moved into the
//! partition key, whose sort keys were `<hour or day>#<shard>#...`).

use super::*;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use std::collections::BTreeMap;
use walletpay_domain::analytics::{Bucket, Counts, RefundStage};
use walletpay_domain::{Country, FailureCategory, Provider, WalletId};
use walletpay_ports::{Added, AggScope, AnalyticsStore, Counted, MAX_COUNTED_PER_ADD};

const SHARDS: u32 = 8;
const SEEN_KEEP_MS: i64 = 7 * 86_400_000;

fn hour_pk(merchant: &MerchantId, hour: i64, shard: u32) -> String {
    format!("AGG#{merchant}#H{}#{shard}", hour.div_euclid(24))
}

fn day_pk(merchant: &MerchantId, day: i64, shard: u32) -> String {
    format!("AGG#{merchant}#D{}#{shard}", day.div_euclid(32))
}

/// A merchant's partition as it was before its shard moved into the partition key (the
/// shard was in the sort key, after the hour or day, so the same ranges read it): read
/// beside the shards, so counts made before stay counted.
fn legacy_pk(sharded: &str) -> String {
    sharded
        .rsplit_once('#')
        .map_or(sharded, |(pk, _)| pk)
        .to_string()
}

fn platform_hour_pk(hour: i64, shard: u32) -> String {
    format!("AGG#ALL#H{}#{shard}", hour.div_euclid(24))
}

fn platform_day_pk(day: i64, shard: u32) -> String {
    format!("AGG#ALL#D{}#{shard}", day.div_euclid(32))
}

/// A counted version's marker: its seq, and `#1` for its second bucket.
fn marker_sk(c: &Counted) -> String {
    match c.part {
        0 => format!("{:010}", c.seq),
        n => format!("{:010}#{n}", c.seq),
    }
}

fn rest(b: &Bucket) -> String {
    format!("{}#{}#{}", b.country, b.wallet, b.provider)
}

/// The counters as (attribute, amount), the zero ones left out.
fn counters(c: &Counts) -> Vec<(String, i64)> {
    let mut out = vec![
        ("attempts".to_string(), c.attempts as i64),
        ("successes".to_string(), c.successes as i64),
        ("volume".to_string(), c.volume),
        ("canceled".to_string(), c.canceled as i64),
        ("late".to_string(), c.late_successes as i64),
        ("risk_allow".to_string(), c.risk_allowed as i64),
        ("risk_review".to_string(), c.risk_reviewed as i64),
        ("risk_block".to_string(), c.risk_blocked as i64),
        ("risk_stopped".to_string(), c.risk_stopped as i64),
        ("rerouted".to_string(), c.rerouted as i64),
    ];
    for (k, v) in &c.failures {
        out.push((format!("f_{}", k.as_str()), *v as i64));
    }
    for (k, (n, a)) in &c.refunds {
        out.push((format!("r_{}_n", k.as_str()), *n as i64));
        out.push((format!("r_{}_a", k.as_str()), *a));
    }
    out.retain(|(_, v)| *v != 0);
    out
}

fn read_counts(item: &Item) -> Counts {
    let num = |name: &str| match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse::<i64>().unwrap_or(0),
        _ => 0,
    };
    let mut c = Counts {
        attempts: num("attempts") as u64,
        successes: num("successes") as u64,
        volume: num("volume"),
        canceled: num("canceled") as u64,
        late_successes: num("late") as u64,
        risk_allowed: num("risk_allow") as u64,
        risk_reviewed: num("risk_review") as u64,
        risk_blocked: num("risk_block") as u64,
        risk_stopped: num("risk_stopped") as u64,
        rerouted: num("rerouted") as u64,
        ..Counts::default()
    };
    for category in FailureCategory::ALL {
        let v = num(&format!("f_{}", category.as_str()));
        if v != 0 {
            c.failures.insert(*category, v as u64);
        }
    }
    for stage in RefundStage::ALL {
        let n = num(&format!("r_{}_n", stage.as_str()));
        let a = num(&format!("r_{}_a", stage.as_str()));
        if n != 0 || a != 0 {
            c.refunds.insert(stage, (n as u64, a));
        }
    }
    c
}

fn read_bucket(item: &Item) -> Result<(Bucket, Counts), StoreError> {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.as_str()),
        _ => Err(StoreError::Backend(format!(
            "an aggregate without `{name}`"
        ))),
    };
    let bad = |what: &str| StoreError::Backend(format!("an aggregate with a bad {what}"));
    let hour = match item.get("hour") {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| bad("hour"))?,
        _ => return Err(bad("hour")),
    };
    Ok((
        Bucket {
            merchant: MerchantId::parse(text("merchant")?).ok_or_else(|| bad("merchant"))?,
            country: Country::parse(text("country")?).ok_or_else(|| bad("country"))?,
            wallet: WalletId::parse(text("wallet")?).ok_or_else(|| bad("wallet"))?,
            provider: Provider::parse(text("provider")?).ok_or_else(|| bad("provider"))?,
            hour,
        },
        read_counts(item),
    ))
}

impl DynamoDbStore {
    fn bucket_update(
        &self,
        pk: String,
        sk: String,
        b: &Bucket,
        hour: i64,
        c: &Counts,
    ) -> Result<Update, StoreError> {
        let mut add = Vec::new();
        let mut u = Update::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk));
        for (i, (name, v)) in counters(c).into_iter().enumerate() {
            add.push(format!("#a{i} :a{i}"));
            u = u
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":a{i}"), AttributeValue::N(v.to_string()));
        }
        let mut expr =
            "SET merchant = :merchant, country = :country, wallet = :wallet, provider = :provider, #hour = :hour"
                .to_string();
        if !add.is_empty() {
            expr.push_str(" ADD ");
            expr.push_str(&add.join(", "));
        }
        u.update_expression(expr)
            .expression_attribute_names("#hour", "hour")
            .expression_attribute_values(":merchant", s(b.merchant.as_str()))
            .expression_attribute_values(":country", s(b.country.as_str()))
            .expression_attribute_values(":wallet", s(b.wallet.as_str()))
            .expression_attribute_values(":provider", s(b.provider.as_str()))
            .expression_attribute_values(":hour", AttributeValue::N(hour.to_string()))
            .build()
            .map_err(backend)
    }

    /// Every partition's buckets in the range, eight queries at a time.
    async fn query_all(
        &self,
        pks: Vec<String>,
        lo: &str,
        hi: &str,
    ) -> Result<Vec<Vec<(Bucket, Counts)>>, StoreError> {
        use futures::{StreamExt, TryStreamExt};
        futures::stream::iter(pks)
            .map(|pk| self.query_buckets(pk, lo.to_string(), hi.to_string()))
            .buffered(SHARDS as usize)
            .try_collect()
            .await
    }

    async fn query_buckets(
        &self,
        pk: String,
        from_sk: String,
        to_sk: String,
    ) -> Result<Vec<(Bucket, Counts)>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let q = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":from", s(&from_sk))
                .expression_attribute_values(":to", s(&to_sk))
                .set_exclusive_start_key(start.take());
            let page = metered!(self, read, "analytics_buckets", q).map_err(backend)?;
            for item in page.items() {
                out.push(read_bucket(item)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}

/// The shards of one bucket summed.
fn merged(rows: Vec<(Bucket, Counts)>) -> Vec<(Bucket, Counts)> {
    let mut by: BTreeMap<Bucket, Counts> = BTreeMap::new();
    for (b, c) in rows {
        by.entry(b).or_default().add(&c);
    }
    by.into_iter().collect()
}

#[async_trait]
impl AnalyticsStore for DynamoDbStore {
    async fn add_counted(&self, counted: &[Counted]) -> Result<Added, StoreError> {
        assert!(
            counted.len() <= MAX_COUNTED_PER_ADD,
            "at most {MAX_COUNTED_PER_ADD} a time"
        );
        if counted.is_empty() {
            return Ok(Added::Done);
        }
        // Each bucket once, summed.
        let mut hours: BTreeMap<Bucket, Counts> = BTreeMap::new();
        let mut days: BTreeMap<Bucket, Counts> = BTreeMap::new();
        for c in counted {
            hours.entry(c.bucket.clone()).or_default().add(&c.counts);
            let mut d = c.bucket.clone();
            d.hour = c.bucket.day() * 24;
            days.entry(d).or_default().add(&c.counts);
        }
        let ttl_at =
            ttl(walletpay_ports::Clock::now(&walletpay_ports::SystemClock)
                .plus_millis(SEEN_KEEP_MS));
        for attempt in 0..6u32 {
            let shard = rand::random::<u32>() % SHARDS;
            let mut items = Vec::new();
            for c in counted {
                let put = Put::builder()
                    .table_name(&self.table)
                    .item("pk", s(format!("AGG#SEEN#{}", c.payment_id)))
                    .item("sk", s(marker_sk(c)))
                    .item("ttl", ttl_at.clone())
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(backend)?;
                items.push(TransactWriteItem::builder().put(put).build());
            }
            for (b, c) in &hours {
                let sk = format!("{:012}#{}", b.hour, rest(b));
                let u =
                    self.bucket_update(hour_pk(&b.merchant, b.hour, shard), sk, b, b.hour, c)?;
                items.push(TransactWriteItem::builder().update(u).build());
            }
            for (b, c) in &days {
                let day = b.day();
                let sk = format!("{day:08}#{}", rest(b));
                let u = self.bucket_update(day_pk(&b.merchant, day, shard), sk, b, b.hour, c)?;
                items.push(TransactWriteItem::builder().update(u).build());
            }
            for (b, c) in &hours {
                let sk = format!("{:012}#{}#{}", b.hour, b.merchant, rest(b));
                let u = self.bucket_update(platform_hour_pk(b.hour, shard), sk, b, b.hour, c)?;
                items.push(TransactWriteItem::builder().update(u).build());
            }
            for (b, c) in &days {
                let day = b.day();
                let sk = format!("{day:08}#{}#{}", b.merchant, rest(b));
                let u = self.bucket_update(platform_day_pk(day, shard), sk, b, b.hour, c)?;
                items.push(TransactWriteItem::builder().update(u).build());
            }
            let tx = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items));
            let e = match metered!(self, write, "analytics_add", tx) {
                Ok(_) => return Ok(Added::Done),
                Err(e) => e,
            };
            match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(t)) => {
                    let reasons = t.cancellation_reasons();
                    let seen: Vec<(walletpay_domain::PaymentId, u64, u8)> = counted
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| {
                            reasons.get(*i).and_then(|r| r.code()) == Some("ConditionalCheckFailed")
                        })
                        .map(|(_, c)| (c.payment_id.clone(), c.seq, c.part))
                        .collect();
                    if !seen.is_empty() {
                        return Ok(Added::AlreadyCounted(seen));
                    }
                    let conflict = reasons
                        .iter()
                        .any(|r| r.code() == Some("TransactionConflict"));
                    if conflict && attempt < 5 {
                        tokio::time::sleep(std::time::Duration::from_millis(10 << attempt)).await;
                        continue;
                    }
                    return Err(backend(e));
                }
                _ => return Err(backend(e)),
            }
        }
        Err(StoreError::Conflict)
    }

    async fn hours(
        &self,
        scope: AggScope<'_>,
        from: i64,
        to: i64,
    ) -> Result<Vec<(Bucket, Counts)>, StoreError> {
        let span = Span {
            width: 24,
            key: |t| format!("{t:012}"),
            merchant: hour_pk,
            platform: platform_hour_pk,
        };
        self.buckets(scope, from, to, span).await
    }

    async fn days(
        &self,
        scope: AggScope<'_>,
        from: i64,
        to: i64,
    ) -> Result<Vec<(Bucket, Counts)>, StoreError> {
        let span = Span {
            width: 32,
            key: |t| format!("{t:08}"),
            merchant: day_pk,
            platform: platform_day_pk,
        };
        self.buckets(scope, from, to, span).await
    }
}

/// How hour or day buckets are laid out: `width` hours (days) a partition, the sort key's
/// leading time, and the partition keys of a merchant's shard and the platform's.
struct Span {
    width: i64,
    key: fn(i64) -> String,
    merchant: fn(&MerchantId, i64, u32) -> String,
    platform: fn(i64, u32) -> String,
}

impl DynamoDbStore {
    /// A scope's buckets with their hour (day) in `from..to`: every shard of every partition
    /// the range touches (and a merchant's partition from before the shards), summed.
    async fn buckets(
        &self,
        scope: AggScope<'_>,
        from: i64,
        to: i64,
        span: Span,
    ) -> Result<Vec<(Bucket, Counts)>, StoreError> {
        if to <= from {
            return Ok(Vec::new());
        }
        let (lo, hi) = ((span.key)(from), format!("{}~", (span.key)(to - 1)));
        let mut pks = Vec::new();
        for block in from.div_euclid(span.width)..=(to - 1).div_euclid(span.width) {
            let start = block * span.width;
            pks.extend((0..SHARDS).map(|shard| match scope {
                AggScope::Merchant(m) => (span.merchant)(m, start, shard),
                AggScope::Platform => (span.platform)(start, shard),
            }));
            if let AggScope::Merchant(m) = scope {
                pks.push(legacy_pk(&(span.merchant)(m, start, 0)));
            }
        }
        let mut rows = Vec::new();
        for part in self.query_all(pks, &lo, &hi).await? {
            rows.extend(part);
        }
        Ok(merged(rows))
    }
}

/// The back office's sessions: `pk = DASH#<SHA-256 of the id>`, `sk = SESSION`, JSON in
/// `c`, TTL at the session's expiry.
#[async_trait]
impl walletpay_ports::DashboardStore for DynamoDbStore {
    async fn put_dash_session(&self, d: &walletpay_ports::DashSession) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("DASH#{}", d.id_hash)))
            .item("sk", s("SESSION"))
            .item("c", super::reconcile::to_json(d)?)
            .item("ttl", ttl(d.expires_at));
        metered!(self, write, "put_dash_session", put).map_err(backend)?;
        Ok(())
    }

    async fn get_dash_session(
        &self,
        id_hash: &str,
    ) -> Result<Option<walletpay_ports::DashSession>, StoreError> {
        match self
            .get_item("get_dash_session", format!("DASH#{id_hash}"), "SESSION")
            .await?
        {
            Some(item) => Ok(Some(super::reconcile::from_json(&item, "c")?)),
            None => Ok(None),
        }
    }

    async fn delete_dash_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let del = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("DASH#{id_hash}")))
            .key("sk", s("SESSION"));
        metered!(self, write, "delete_dash_session", del).map_err(backend)?;
        Ok(())
    }
}
