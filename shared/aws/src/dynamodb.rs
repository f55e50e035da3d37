//! The DynamoDB store: one table, string keys `pk`/`sk`, one index `gsi1` and TTL on `ttl`.
//! Records are stored as native attributes (via `serde_dynamo`) beside their keys.
//!
//! | item             | pk                          | sk                | ttl |
//! |------------------|-----------------------------|-------------------|-----|
//! | merchant         | `MERCHANT#<merchant id>`    | `MERCHANT`        |     |
//! | API key          | `APIKEY#<key id>`           | `APIKEY`          |     |
//! | idempotency key  | `IDEM#<merchant id>#<key>`  | `IDEM`            | yes |
//! | payment          | `PAYMENT#<payment id>`      | `PAYMENT`         |     |
//! | history entry    | `PAYMENT#<payment id>`      | `HISTORY#<seq:020>` |   |
//! | refund           | `PAYMENT#<payment id>`      | `REFUND#<refund id>` |  |
//! | webhook de-dup   | `WEBHOOK#<dedup key>`       | `WEBHOOK`         | yes |
//!
//! Payments also carry `gsi1pk = MERCHANT#<merchant id>#PAYMENTS`, `gsi1sk = <created_at>#<id>`
//! so a merchant's payments can be listed newest first without a scan. History entries are
//! the merchant's events: `gsi1pk = MERCHANT#<merchant id>#EVENTS`, `gsi1sk = <feed key>` for
//! the event feed, and, until their notification is queued, `gsi2pk = OUTBOX#<shard 0-7>`,
//! `gsi2sk = <feed key>` (a sparse index: the outbox).

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, Put, ReturnConsumedCapacity, ScalarAttributeType,
    TimeToLiveSpecification, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use walletpay_domain::{MerchantId, Payment, PaymentId, Refund, RefundId, Timestamp};
use walletpay_ports::{
    feed_key, listing_key, ApiKeyRecord, Begin, HistoryEntry, IdempotencyRecord, IdempotencyState,
    IdempotencyStore, Merchant, MerchantStore, PaymentQuery, PaymentStore, RefundStore, StoreError,
    WebhookDedupStore,
};

type Item = HashMap<String, AttributeValue>;

/// Read and write capacity units this store has consumed, as DynamoDB reports them
/// (`ReturnConsumedCapacity::Total` on every call), in thousandths of a unit.
#[derive(Debug, Default)]
pub struct CapacityMeter {
    read_milli: AtomicU64,
    write_milli: AtomicU64,
}

impl CapacityMeter {
    fn read(&self, units: f64) {
        self.read_milli
            .fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
    }
    fn write(&self, units: f64) {
        self.write_milli
            .fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
    }
    /// (read units, write units) so far.
    pub fn units(&self) -> (f64, f64) {
        (
            self.read_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            self.write_milli.load(Ordering::Relaxed) as f64 / 1000.0,
        )
    }
    pub fn reset(&self) {
        self.read_milli.store(0, Ordering::Relaxed);
        self.write_milli.store(0, Ordering::Relaxed);
    }
}

/// What an operation's answer says it consumed.
trait Consumed {
    fn units(&self) -> f64;
}

macro_rules! consumed_one {
    ($($t:ty),+) => {$(
        impl Consumed for $t {
            fn units(&self) -> f64 {
                self.consumed_capacity().and_then(|c| c.capacity_units()).unwrap_or(0.0)
            }
        }
    )+};
}
consumed_one!(
    aws_sdk_dynamodb::operation::get_item::GetItemOutput,
    aws_sdk_dynamodb::operation::put_item::PutItemOutput,
    aws_sdk_dynamodb::operation::update_item::UpdateItemOutput,
    aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput,
    aws_sdk_dynamodb::operation::query::QueryOutput
);

impl Consumed for aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput {
    fn units(&self) -> f64 {
        self.consumed_capacity()
            .iter()
            .filter_map(|c| c.capacity_units())
            .sum()
    }
}

/// Sends a request asking for its consumed capacity, and meters it.
macro_rules! metered {
    ($self:ident, $kind:ident, $builder:expr) => {{
        let result = $builder
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        if let Ok(out) = &result {
            $self.meter.$kind(out.units());
        }
        result
    }};
}

/// Outbox shards, so a flash sale's events do not all land on one index partition.
const OUTBOX_SHARDS: u32 = 8;

fn outbox_shard(id: &PaymentId) -> u32 {
    id.as_str()
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32))
        % OUTBOX_SHARDS
}

#[derive(Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
    meter: Arc<CapacityMeter>,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn backend<E: std::error::Error + 'static>(e: E) -> StoreError {
    StoreError::Backend(format!("{}", DisplayErrorContext(e)))
}

fn encode<T: Serialize>(record: &T, pk: String, sk: String) -> Result<Item, StoreError> {
    let mut item: Item =
        serde_dynamo::to_item(record).map_err(|e| StoreError::Backend(e.to_string()))?;
    item.insert("pk".into(), s(pk));
    item.insert("sk".into(), s(sk));
    Ok(item)
}

fn decode<T: DeserializeOwned>(mut item: Item) -> Result<T, StoreError> {
    for k in ["pk", "sk", "ttl", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
        item.remove(k);
    }
    serde_dynamo::from_item(item).map_err(|e| StoreError::Backend(e.to_string()))
}

/// `:prev` = the version a record was read at, for a `version = :prev` condition.
fn prev_version(version: u64) -> Result<Item, StoreError> {
    let prev = version.checked_sub(1).ok_or(StoreError::Conflict)?;
    Ok(HashMap::from([(
        ":prev".to_string(),
        AttributeValue::N(prev.to_string()),
    )]))
}

fn ttl(at: Timestamp) -> AttributeValue {
    AttributeValue::N(at.unix_seconds().to_string())
}

fn merchant_pk(id: &MerchantId) -> String {
    format!("MERCHANT#{id}")
}
fn api_key_pk(key_id: &str) -> String {
    format!("APIKEY#{key_id}")
}
fn idem_pk(merchant: &MerchantId, key: &str) -> String {
    format!("IDEM#{merchant}#{key}")
}
fn payment_pk(id: &PaymentId) -> String {
    format!("PAYMENT#{id}")
}
fn history_sk(seq: u64) -> String {
    format!("HISTORY#{seq:020}")
}
fn refund_sk(id: &RefundId) -> String {
    format!("REFUND#{id}")
}
fn webhook_pk(key: &str) -> String {
    format!("WEBHOOK#{key}")
}

/// Did a conditional PutItem/UpdateItem/DeleteItem fail its condition?
fn condition_failed<E>(e: &SdkError<E>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

impl DynamoDbStore {
    pub fn new(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        DynamoDbStore {
            client: Client::new(config),
            table: table.into(),
            meter: Arc::new(CapacityMeter::default()),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The capacity this store has consumed.
    pub fn meter(&self) -> Arc<CapacityMeter> {
        self.meter.clone()
    }

    /// Creates the table as `template.yaml` declares it (for local stand-ins and tests).
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let attr = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition")
        };
        let key = |n: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .expect("key schema")
        };
        // Both indexes: `<name>pk`/`<name>sk`, all attributes projected.
        let index = |name: &str| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(&format!("{name}pk"), KeyType::Hash))
                .key_schema(key(&format!("{name}sk"), KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("index")
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk"))
            .attribute_definitions(attr("sk"))
            .attribute_definitions(attr("gsi1pk"))
            .attribute_definitions(attr("gsi1sk"))
            .attribute_definitions(attr("gsi2pk"))
            .attribute_definitions(attr("gsi2sk"))
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .global_secondary_indexes(index("gsi1"))
            .global_secondary_indexes(index("gsi2"))
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                return Ok(())
            }
            Err(e) => return Err(backend(e)),
        }
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("ttl")
                    .enabled(true)
                    .build()
                    .expect("ttl spec"),
            )
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn get_item(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = metered!(
            self,
            read,
            self.client
                .get_item()
                .table_name(&self.table)
                .key("pk", s(pk))
                .key("sk", s(sk))
                .consistent_read(true)
        )
        .map_err(backend)?;
        Ok(out.item)
    }

    fn put(
        &self,
        item: Item,
        condition: &str,
        values: Option<Item>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .build()
            .map_err(backend)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Writes all items or none; `Ok(false)` if a condition failed.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<bool, StoreError> {
        match metered!(
            self,
            write,
            self.client
                .transact_write_items()
                .set_transact_items(Some(items))
        ) {
            Ok(_) => Ok(true),
            Err(e) => {
                let cancelled_by_condition = e.as_service_error().is_some_and(|s| {
                    s.is_transaction_canceled_exception()
                        && match s {
                            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t) => t
                                .cancellation_reasons()
                                .iter()
                                .any(|r| r.code() == Some("ConditionalCheckFailed")),
                            _ => false,
                        }
                });
                if cancelled_by_condition {
                    Ok(false)
                } else {
                    Err(backend(e))
                }
            }
        }
    }

    fn payment_item(&self, p: &Payment) -> Result<Item, StoreError> {
        let mut item = encode(p, payment_pk(&p.id), "PAYMENT".into())?;
        item.insert(
            "gsi1pk".into(),
            s(format!("MERCHANT#{}#PAYMENTS", p.merchant_id)),
        );
        item.insert("gsi1sk".into(), s(listing_key(p)));
        Ok(item)
    }

    fn history_item(&self, h: &HistoryEntry) -> Result<Item, StoreError> {
        let mut item = encode(h, payment_pk(&h.payment_id), history_sk(h.seq))?;
        let key = feed_key(h);
        item.insert(
            "gsi1pk".into(),
            s(format!("MERCHANT#{}#EVENTS", h.merchant_id)),
        );
        item.insert("gsi1sk".into(), s(key.clone()));
        item.insert(
            "gsi2pk".into(),
            s(format!("OUTBOX#{}", outbox_shard(&h.payment_id))),
        );
        item.insert("gsi2sk".into(), s(key));
        Ok(item)
    }

    /// The two writes of a payment change: the payment on condition of the version it was
    /// read at, and its new history entry.
    fn payment_change(
        &self,
        p: &Payment,
        entry: &HistoryEntry,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        Ok(vec![
            self.put(
                self.payment_item(p)?,
                "version = :prev",
                Some(prev_version(p.version)?),
            )?,
            self.put(self.history_item(entry)?, "attribute_not_exists(pk)", None)?,
        ])
    }

    async fn query_prefix<T: DeserializeOwned>(
        &self,
        pk: String,
        prefix: &str,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = metered!(
                self,
                read,
                self.client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":pk", s(pk.clone()))
                    .expression_attribute_values(":prefix", s(prefix))
                    .consistent_read(true)
                    .set_exclusive_start_key(start.take())
            )
            .map_err(backend)?;
            for item in page.items.unwrap_or_default() {
                out.push(decode(item)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl MerchantStore for DynamoDbStore {
    async fn put_merchant(&self, merchant: &Merchant) -> Result<(), StoreError> {
        let item = encode(merchant, merchant_pk(&merchant.id), "MERCHANT".into())?;
        metered!(
            self,
            write,
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
        )
        .map_err(backend)?;
        Ok(())
    }

    async fn get_merchant(&self, id: &MerchantId) -> Result<Option<Merchant>, StoreError> {
        self.get_item(merchant_pk(id), "MERCHANT")
            .await?
            .map(decode)
            .transpose()
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let item = encode(key, api_key_pk(&key.key_id), "APIKEY".into())?;
        match metered!(
            self,
            write,
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

    async fn get_api_key(&self, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.get_item(api_key_pk(key_id), "APIKEY")
            .await?
            .map(decode)
            .transpose()
    }
}

#[async_trait]
impl IdempotencyStore for DynamoDbStore {
    async fn begin_idempotent(
        &self,
        record: &IdempotencyRecord,
        now: Timestamp,
    ) -> Result<Begin, StoreError> {
        let pk = idem_pk(&record.merchant_id, &record.key);
        let mut item = encode(record, pk.clone(), "IDEM".into())?;
        item.insert("ttl".into(), ttl(record.expires_at));
        let put = metered!(
            self,
            write,
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                // Absent, or present but expired (TTL deletes lazily, so expired items linger).
                .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
                .expression_attribute_values(":now", s(now.to_string()))
        );
        match put {
            Ok(_) => Ok(Begin::Started),
            Err(e) if condition_failed(&e) => match self.get_item(pk, "IDEM").await? {
                Some(item) => Ok(Begin::Existing(decode(item)?)),
                // Deleted between our write and our read: let the caller try again.
                None => Err(StoreError::Conflict),
            },
            Err(e) => Err(backend(e)),
        }
    }

    async fn take_over_idempotent(
        &self,
        record: &IdempotencyRecord,
        previous_lease: Timestamp,
    ) -> Result<(), StoreError> {
        match metered!(
            self,
            write,
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(idem_pk(&record.merchant_id, &record.key)))
                .key("sk", s("IDEM"))
                .update_expression("SET lease_until = :new")
                .condition_expression("#st.#st = :in_progress AND lease_until = :prev")
                .expression_attribute_names("#st", "state")
                .expression_attribute_values(":new", s(record.lease_until.to_string()))
                .expression_attribute_values(":prev", s(previous_lease.to_string()))
                .expression_attribute_values(":in_progress", s("in_progress"))
        ) {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::Conflict),
            Err(e) => Err(backend(e)),
        }
    }

    async fn get_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.get_item(idem_pk(merchant, key), "IDEM")
            .await?
            .map(decode)
            .transpose()
    }

    async fn complete_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        let state: AttributeValue = serde_dynamo::to_attribute_value(IdempotencyState::Completed {
            status,
            body: body.to_string(),
        })
        .map_err(|e| StoreError::Backend(e.to_string()))?;
        match metered!(
            self,
            write,
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(idem_pk(merchant, key)))
                .key("sk", s("IDEM"))
                .update_expression("SET #st = :completed")
                .condition_expression("#st.#st = :in_progress")
                .expression_attribute_names("#st", "state")
                .expression_attribute_values(":completed", state)
                .expression_attribute_values(":in_progress", s("in_progress"))
        ) {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::Conflict),
            Err(e) => Err(backend(e)),
        }
    }

    async fn release_idempotent(&self, merchant: &MerchantId, key: &str) -> Result<(), StoreError> {
        match metered!(
            self,
            write,
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(idem_pk(merchant, key)))
                .key("sk", s("IDEM"))
                .condition_expression("#st.#st = :in_progress")
                .expression_attribute_names("#st", "state")
                .expression_attribute_values(":in_progress", s("in_progress"))
        ) {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }
}

#[async_trait]
impl PaymentStore for DynamoDbStore {
    async fn insert_payment(
        &self,
        payment: &Payment,
        entry: &HistoryEntry,
    ) -> Result<(), StoreError> {
        let items = vec![
            self.put(
                self.payment_item(payment)?,
                "attribute_not_exists(pk)",
                None,
            )?,
            self.put(self.history_item(entry)?, "attribute_not_exists(pk)", None)?,
        ];
        if self.transact(items).await? {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists)
        }
    }

    async fn get_payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        self.get_item(payment_pk(id), "PAYMENT")
            .await?
            .map(decode)
            .transpose()
    }

    async fn update_payment(
        &self,
        payment: &Payment,
        entry: &HistoryEntry,
    ) -> Result<(), StoreError> {
        if self.transact(self.payment_change(payment, entry)?).await? {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn history_entry(
        &self,
        id: &PaymentId,
        seq: u64,
    ) -> Result<Option<HistoryEntry>, StoreError> {
        self.get_item(payment_pk(id), &history_sk(seq))
            .await?
            .map(decode)
            .transpose()
    }

    async fn clear_outbox(&self, id: &PaymentId, seq: u64) -> Result<(), StoreError> {
        match metered!(
            self,
            write,
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(payment_pk(id)))
                .key("sk", s(history_sk(seq)))
                .update_expression("REMOVE gsi2pk, gsi2sk")
                .condition_expression("attribute_exists(pk)")
        ) {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }

    async fn outbox_before(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut out: Vec<HistoryEntry> = Vec::new();
        for shard in 0..OUTBOX_SHARDS {
            let page = metered!(
                self,
                read,
                self.client
                    .query()
                    .table_name(&self.table)
                    .index_name("gsi2")
                    .key_condition_expression("gsi2pk = :pk AND gsi2sk < :before")
                    .expression_attribute_values(":pk", s(format!("OUTBOX#{shard}")))
                    .expression_attribute_values(":before", s(before.to_string()))
                    .limit(limit as i32)
            )
            .map_err(backend)?;
            for item in page.items.unwrap_or_default() {
                out.push(decode(item)?);
            }
        }
        out.sort_by_key(feed_key);
        out.truncate(limit);
        Ok(out)
    }

    async fn merchant_events(
        &self,
        merchant: &MerchantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<HistoryEntry>, bool), StoreError> {
        let page = metered!(
            self,
            read,
            self.client
                .query()
                .table_name(&self.table)
                .index_name("gsi1")
                .key_condition_expression("gsi1pk = :pk AND gsi1sk > :after")
                .expression_attribute_values(":pk", s(format!("MERCHANT#{merchant}#EVENTS")))
                .expression_attribute_values(":after", s(after.unwrap_or("0")))
                .limit(limit as i32 + 1)
        )
        .map_err(backend)?;
        let mut out: Vec<HistoryEntry> = Vec::new();
        for item in page.items.unwrap_or_default() {
            out.push(decode(item)?);
        }
        let more = out.len() > limit;
        out.truncate(limit);
        Ok((out, more))
    }

    async fn list_payments(
        &self,
        merchant: &MerchantId,
        query: &PaymentQuery,
    ) -> Result<(Vec<Payment>, bool), StoreError> {
        let gsi1pk = format!("MERCHANT#{merchant}#PAYMENTS");
        // The time bounds are a key condition; status, wallet and country filter the page.
        // Key values cannot be empty: "0" sorts before every timestamp.
        let lo = query
            .created_after
            .map(|t| t.to_string())
            .unwrap_or_else(|| "0".to_string());
        let hi = query
            .created_before
            .map(|t| format!("{t}#~"))
            .unwrap_or_else(|| "~".to_string());
        let mut filters = Vec::new();
        let mut names = HashMap::new();
        let mut values: Item = HashMap::from([
            (":pk".to_string(), s(gsi1pk.clone())),
            (":lo".to_string(), s(lo)),
            (":hi".to_string(), s(hi)),
        ]);
        if let Some(st) = query.status {
            filters.push("#status = :status");
            names.insert("#status".to_string(), "status".to_string());
            values.insert(":status".into(), s(st.as_str()));
        }
        if let Some(w) = query.wallet {
            filters.push("wallet = :wallet");
            values.insert(":wallet".into(), s(w.as_str()));
        }
        if let Some(c) = query.country {
            filters.push("country = :country");
            values.insert(":country".into(), s(c.as_str()));
        }
        let mut start: Option<Item> = query.after_key.as_ref().and_then(|k| {
            let id = k.rsplit_once('#')?.1;
            Some(HashMap::from([
                ("gsi1pk".to_string(), s(gsi1pk.clone())),
                ("gsi1sk".to_string(), s(k.clone())),
                ("pk".to_string(), s(format!("PAYMENT#{id}"))),
                ("sk".to_string(), s("PAYMENT")),
            ]))
        });
        let mut out: Vec<Payment> = Vec::new();
        loop {
            let page = metered!(
                self,
                read,
                self.client
                    .query()
                    .table_name(&self.table)
                    .index_name("gsi1")
                    .key_condition_expression("gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi")
                    .set_filter_expression((!filters.is_empty()).then(|| filters.join(" AND ")))
                    .set_expression_attribute_names((!names.is_empty()).then(|| names.clone()))
                    .set_expression_attribute_values(Some(values.clone()))
                    .scan_index_forward(false)
                    .limit((query.limit as i32 + 1).max(10))
                    .set_exclusive_start_key(start.take())
            )
            .map_err(backend)?;
            for item in page.items.unwrap_or_default() {
                out.push(decode(item)?);
                if out.len() > query.limit {
                    out.truncate(query.limit);
                    return Ok((out, true));
                }
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok((out, false)),
            }
        }
    }

    async fn payment_history(&self, id: &PaymentId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.query_prefix(payment_pk(id), "HISTORY#").await
    }
}

#[async_trait]
impl RefundStore for DynamoDbStore {
    async fn create_refund(
        &self,
        payment: &Payment,
        entry: &HistoryEntry,
        refund: &Refund,
    ) -> Result<(), StoreError> {
        let mut items = self.payment_change(payment, entry)?;
        let item = encode(
            refund,
            payment_pk(&refund.payment_id),
            refund_sk(&refund.id),
        )?;
        items.push(self.put(item, "attribute_not_exists(pk)", None)?);
        if self.transact(items).await? {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn get_refund(
        &self,
        payment_id: &PaymentId,
        refund_id: &RefundId,
    ) -> Result<Option<Refund>, StoreError> {
        self.get_item(payment_pk(payment_id), &refund_sk(refund_id))
            .await?
            .map(decode)
            .transpose()
    }

    async fn list_refunds(&self, payment_id: &PaymentId) -> Result<Vec<Refund>, StoreError> {
        self.query_prefix(payment_pk(payment_id), "REFUND#").await
    }

    async fn update_refund(
        &self,
        refund: &Refund,
        payment: Option<(&Payment, &HistoryEntry)>,
    ) -> Result<(), StoreError> {
        let item = encode(
            refund,
            payment_pk(&refund.payment_id),
            refund_sk(&refund.id),
        )?;
        let mut items =
            vec![self.put(item, "version = :prev", Some(prev_version(refund.version)?))?];
        if let Some((p, e)) = payment {
            items.extend(self.payment_change(p, e)?);
        }
        if self.transact(items).await? {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }
}

#[async_trait]
impl WebhookDedupStore for DynamoDbStore {
    async fn record_webhook(
        &self,
        dedup_key: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        match metered!(
            self,
            write,
            self.client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(webhook_pk(dedup_key)))
                .item("sk", s("WEBHOOK"))
                .item("expires_at", s(expires_at.to_string()))
                .item("ttl", ttl(expires_at))
                .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
                .expression_attribute_values(":now", s(now.to_string()))
        ) {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }

    async fn webhook_seen(&self, dedup_key: &str, now: Timestamp) -> Result<bool, StoreError> {
        let item = self.get_item(webhook_pk(dedup_key), "WEBHOOK").await?;
        Ok(item
            .and_then(|i| match i.get("expires_at") {
                Some(AttributeValue::S(e)) => Timestamp::parse_rfc3339(e),
                _ => None,
            })
            .is_some_and(|exp| exp > now))
    }
}
