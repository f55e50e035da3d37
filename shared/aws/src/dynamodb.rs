//! The DynamoDB store: one table, string keys `pk`/`sk`, two indexes and TTL on `ttl`.
//! Merchants, API keys and idempotency records are stored as native attributes (via
//! `serde_dynamo`) beside their keys.
//!
//! | item             | pk                          | sk                | ttl |
//! |------------------|-----------------------------|-------------------|-----|
//! | merchant         | `MERCHANT#<merchant id>`    | `MERCHANT`        |     |
//! | API key          | `APIKEY#<key id>`           | `APIKEY`          |     |
//! | idempotency key  | `IDEM#<merchant id>#<key>`  | `IDEM`            | yes |
//! | payment version  | `PAYMENT#<payment id>`      | `V#<seq:010>`     |     |
//!
//! A payment is the sequence of its versions: every change puts one new item, `V#<n+1>`, on
//! condition that it does not exist yet, so two writers who read version `n` cannot both
//! write. The item holds the whole payment after the change (refunds included) and the
//! change's history entry, as deflated JSON in one binary attribute `v`, so one put under
//! 1 KB is the whole cost of a change: no transactions, no item that grows with the history. The latest
//! version is one query (`ScanIndexForward = false`, `Limit = 1`).
//!
//! Every version is also one of the merchant's events: `gsi1pk = MERCHANT#<merchant>#EVENTS#<shard>`,
//! `gsi1sk = <feed key>` (projection ALL), which serves `GET /v1/events`. Version 1 alone
//! carries `gsi2pk = MERCHANT#<merchant>#PAYMENTS#<shard>`, `gsi2sk = <created_at>#<id>` (sparse,
//! keys only), which lists a merchant's payments newest first without a scan; the listed
//! payments' latest versions are then read one query each. Both are sharded by payment
//! (`shards`: one merchant's flash sale stays under an index partition's write cap) and read
//! back merged in order.
//!
//! A version that moves money (a success, a refund requested) is also in the ledger index
//! `gsi3` (sharded per provider and UTC day, projecting only its `lg` summary), which the
//! reconcile job reads a provider's day from; reconciliation's own items are in `reconcile`.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ReturnConsumedCapacity, ScalarAttributeType,
    TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use walletpay_domain::{MerchantId, Payment, PaymentId, Timestamp};
use walletpay_ports::{
    feed_key, listing_key, ApiKeyRecord, Begin, HealthCounts, HealthStore, HistoryEntry,
    IdempotencyRecord, IdempotencyState, IdempotencyStore, Merchant, MerchantStore, PaymentQuery,
    PaymentStore, PaymentVersion, StoreError,
};

type Item = HashMap<String, AttributeValue>;

/// Read and write capacity units this store has consumed, as DynamoDB reports them
/// (`ReturnConsumedCapacity::Total` on every call), in thousandths of a unit.
#[derive(Debug, Default)]
pub struct CapacityMeter {
    read_milli: AtomicU64,
    write_milli: AtomicU64,
    /// Per operation: (calls, read milli-units, write milli-units).
    by_op: std::sync::Mutex<std::collections::BTreeMap<&'static str, (u64, u64, u64)>>,
}

impl CapacityMeter {
    fn record(&self, op: &'static str, read: bool, units: f64) {
        let milli = (units * 1000.0).round() as u64;
        let total = if read {
            &self.read_milli
        } else {
            &self.write_milli
        };
        total.fetch_add(milli, Ordering::Relaxed);
        let mut by_op = self.by_op.lock().unwrap_or_else(|p| p.into_inner());
        let e = by_op.entry(op).or_default();
        e.0 += 1;
        if read {
            e.1 += milli
        } else {
            e.2 += milli
        }
    }
    fn read(&self, op: &'static str, units: f64) {
        self.record(op, true, units)
    }
    fn write(&self, op: &'static str, units: f64) {
        self.record(op, false, units)
    }
    /// Per store operation: (name, calls, read units, write units).
    pub fn by_operation(&self) -> Vec<(&'static str, u64, f64, f64)> {
        let by_op = self.by_op.lock().unwrap_or_else(|p| p.into_inner());
        by_op
            .iter()
            .map(|(k, (n, r, w))| (*k, *n, *r as f64 / 1000.0, *w as f64 / 1000.0))
            .collect()
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
        self.by_op.lock().unwrap_or_else(|p| p.into_inner()).clear();
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

/// Sends a request asking for its consumed capacity, and meters it.
macro_rules! metered {
    ($self:ident, $kind:ident, $op:expr, $builder:expr) => {{
        let result = $builder
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        if let Ok(out) = &result {
            $self.meter.$kind($op, out.units());
        }
        result
    }};
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
    for k in [
        "pk", "sk", "ttl", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk",
    ] {
        item.remove(k);
    }
    serde_dynamo::from_item(item).map_err(|e| StoreError::Backend(e.to_string()))
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
fn version_sk(seq: u64) -> String {
    format!("V#{seq:010}")
}

/// A history entry as a version item keeps it: the ids and `seq` are the item's own.
#[derive(Serialize, serde::Deserialize)]
struct StoredEntry {
    at: Timestamp,
    event: String,
    from: Option<walletpay_domain::PaymentStatus>,
    to: walletpay_domain::PaymentStatus,
    source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Backend(format!("stored payment version: {e}"))
}

/// What a version item stores, as compressed JSON in its one binary attribute `v`.
#[derive(Serialize, serde::Deserialize)]
struct StoredVersion {
    p: Payment,
    e: StoredEntry,
}

/// Deflated JSON: a payment version is about 1.1 KB of JSON and 0.6 KB deflated, which keeps
/// the item and its feed copy under the 1 KB a write unit buys (AWS's advice for large
/// attributes: compress them and store them as binary).
fn pack(v: &StoredVersion) -> Result<Vec<u8>, StoreError> {
    use std::io::Write;
    let json = serde_json::to_vec(v).map_err(json_err)?;
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&json)
        .and_then(|_| z.finish())
        .map_err(|e| StoreError::Backend(format!("compressing a payment version: {e}")))
}

fn unpack(bytes: &[u8]) -> Result<StoredVersion, StoreError> {
    let z = flate2::read::DeflateDecoder::new(bytes);
    serde_json::from_reader(z).map_err(json_err)
}

fn version_item(p: &Payment, h: &HistoryEntry) -> Result<Item, StoreError> {
    let stored = StoredVersion {
        p: p.clone(),
        e: StoredEntry {
            at: h.at,
            event: h.event.clone(),
            from: h.from,
            to: h.to,
            source: h.source.clone(),
            detail: h.detail.clone(),
        },
    };
    let mut item: Item = HashMap::from([
        ("pk".to_string(), s(payment_pk(&p.id))),
        ("sk".to_string(), s(version_sk(h.seq))),
        (
            "v".to_string(),
            AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(pack(&stored)?)),
        ),
        (
            "gsi1pk".to_string(),
            s(shards::feed_pk(&p.merchant_id, shards::feed_shard(&p.id))),
        ),
        ("gsi1sk".to_string(), s(feed_key(h))),
    ]);
    if h.seq == 1 {
        item.insert(
            "gsi2pk".into(),
            s(shards::listing_pk(
                &p.merchant_id,
                shards::listing_shard(&p.id),
            )),
        );
        item.insert("gsi2sk".into(), s(listing_key(p)));
    }
    // A version that moves money is also in the ledger (one index write more).
    if let Some(ledger) = walletpay_ports::reconcile::LedgerItem::of(p, h) {
        item.insert("gsi3pk".into(), s(ledger.partition()));
        item.insert("gsi3sk".into(), s(ledger.sort_key()));
        item.insert("lg".into(), s(ledger.compact()));
    }
    Ok(item)
}

fn decode_version(item: &Item) -> Result<PaymentVersion, StoreError> {
    let (Some(AttributeValue::B(v)), Some(AttributeValue::S(sk))) = (item.get("v"), item.get("sk"))
    else {
        return Err(StoreError::Backend(
            "version item without `v` or `sk`".into(),
        ));
    };
    let StoredVersion { p: payment, e } = unpack(v.as_ref())?;
    let seq = sk
        .strip_prefix("V#")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| StoreError::Backend("version item with a bad sort key".into()))?;
    let entry = HistoryEntry {
        payment_id: payment.id.clone(),
        merchant_id: payment.merchant_id.clone(),
        seq,
        at: e.at,
        event: e.event,
        from: e.from,
        to: e.to,
        source: e.source,
        detail: e.detail,
    };
    Ok(PaymentVersion { payment, entry })
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
        // The indexes: `<name>pk`/`<name>sk`; the event feed projects everything, the
        // payment listing only keys, the ledger its one attribute `lg`.
        let index = |name: &str, projection: ProjectionType| {
            let mut p = Projection::builder().projection_type(projection.clone());
            if projection == ProjectionType::Include {
                p = p.non_key_attributes("lg");
            }
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(&format!("{name}pk"), KeyType::Hash))
                .key_schema(key(&format!("{name}sk"), KeyType::Range))
                .projection(p.build())
                .build()
                .expect("index")
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            // The back office's aggregates are fed from the table's change stream.
            .stream_specification(
                aws_sdk_dynamodb::types::StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::NewImage)
                    .build()
                    .expect("stream specification"),
            )
            .attribute_definitions(attr("pk"))
            .attribute_definitions(attr("sk"))
            .attribute_definitions(attr("gsi1pk"))
            .attribute_definitions(attr("gsi1sk"))
            .attribute_definitions(attr("gsi2pk"))
            .attribute_definitions(attr("gsi2sk"))
            .attribute_definitions(attr("gsi3pk"))
            .attribute_definitions(attr("gsi3sk"))
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .global_secondary_indexes(index("gsi1", ProjectionType::All))
            .global_secondary_indexes(index("gsi2", ProjectionType::KeysOnly))
            .global_secondary_indexes(index("gsi3", ProjectionType::Include))
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                // A table made before the ledger index gets it.
                return self
                    .add_ledger_index(
                        attr("gsi3pk"),
                        attr("gsi3sk"),
                        index("gsi3", ProjectionType::Include),
                    )
                    .await;
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

    /// Adds the ledger index to a table that lacks it.
    async fn add_ledger_index(
        &self,
        pk: AttributeDefinition,
        sk: AttributeDefinition,
        gsi: GlobalSecondaryIndex,
    ) -> Result<(), StoreError> {
        let table = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(backend)?;
        let has = table
            .table()
            .map(|t| {
                t.global_secondary_indexes()
                    .iter()
                    .any(|g| g.index_name() == Some("gsi3"))
            })
            .unwrap_or(false);
        if has {
            return Ok(());
        }
        let create = aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
            .index_name("gsi3")
            .set_key_schema(Some(gsi.key_schema().to_vec()))
            .set_projection(gsi.projection().cloned())
            .build()
            .map_err(backend)?;
        self.client
            .update_table()
            .table_name(&self.table)
            .attribute_definitions(pk)
            .attribute_definitions(sk)
            .global_secondary_index_updates(
                aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                    .create(create)
                    .build(),
            )
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn get_item(
        &self,
        op: &'static str,
        pk: String,
        sk: &str,
    ) -> Result<Option<Item>, StoreError> {
        self.get_item_with(op, pk, sk, true).await
    }

    /// An item that never changes once written: an eventually consistent read (half the
    /// cost), and a consistent one only when that found nothing (it may be seconds old).
    async fn get_immutable(
        &self,
        op: &'static str,
        pk: String,
        sk: &str,
    ) -> Result<Option<Item>, StoreError> {
        match self.get_item_with(op, pk.clone(), sk, false).await? {
            Some(item) => Ok(Some(item)),
            None => self.get_item_with(op, pk, sk, true).await,
        }
    }

    async fn get_item_with(
        &self,
        op: &'static str,
        pk: String,
        sk: &str,
        consistent: bool,
    ) -> Result<Option<Item>, StoreError> {
        let out = metered!(
            self,
            read,
            op,
            self.client
                .get_item()
                .table_name(&self.table)
                .key("pk", s(pk))
                .key("sk", s(sk))
                .consistent_read(consistent)
        )
        .map_err(backend)?;
        Ok(out.item)
    }

    /// The latest version of a payment.
    async fn latest_version(
        &self,
        op: &'static str,
        id: &PaymentId,
        consistent: bool,
    ) -> Result<Option<PaymentVersion>, StoreError> {
        let out = metered!(
            self,
            read,
            op,
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :v)")
                .expression_attribute_values(":pk", s(payment_pk(id)))
                .expression_attribute_values(":v", s("V#"))
                .scan_index_forward(false)
                .limit(1)
                .consistent_read(consistent)
        )
        .map_err(backend)?;
        out.items
            .unwrap_or_default()
            .first()
            .map(decode_version)
            .transpose()
    }

    /// Puts a new version; false if that version exists already.
    async fn put_version(
        &self,
        op: &'static str,
        p: &Payment,
        h: &HistoryEntry,
    ) -> Result<bool, StoreError> {
        if h.seq != p.version || h.payment_id != p.id {
            return Err(StoreError::Backend(format!(
                "history entry {}#{} does not belong to version {} of {}",
                h.payment_id, h.seq, p.version, p.id
            )));
        }
        match metered!(
            self,
            write,
            op,
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(version_item(p, h)?))
                .condition_expression("attribute_not_exists(pk)")
        ) {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => {
                // Another writer's version, or our own: the SDK retries a put whose first
                // try landed but whose answer was lost, and the retry then finds it.
                let stored = self
                    .get_item(op, payment_pk(&p.id), &version_sk(h.seq))
                    .await?
                    .as_ref()
                    .map(decode_version)
                    .transpose()?;
                Ok(stored.is_some_and(|v| v.payment == *p && v.entry == *h))
            }
            Err(e) => Err(backend(e)),
        }
    }
}

#[async_trait]
impl MerchantStore for DynamoDbStore {
    async fn put_merchant(&self, merchant: &Merchant) -> Result<(), StoreError> {
        let previous = merchant
            .version
            .checked_sub(1)
            .ok_or(StoreError::Conflict)?;
        let item = encode(merchant, merchant_pk(&merchant.id), "MERCHANT".into())?;
        // Version 1 is a new merchant; a record written before versions has none (reads as 0).
        let condition = if previous == 0 {
            "attribute_not_exists(pk) OR attribute_not_exists(version) OR version = :previous"
        } else {
            "version = :previous"
        };
        match metered!(
            self,
            write,
            "put_merchant",
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(condition)
                .expression_attribute_values(":previous", AttributeValue::N(previous.to_string()))
        ) {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => {
                // The SDK retries a put whose answer was lost: that retry finds our own write.
                match self.get_merchant(&merchant.id).await? {
                    Some(stored) if stored == *merchant => Ok(()),
                    _ => Err(StoreError::Conflict),
                }
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn get_merchant(&self, id: &MerchantId) -> Result<Option<Merchant>, StoreError> {
        self.get_item("get_merchant", merchant_pk(id), "MERCHANT")
            .await?
            .map(decode)
            .transpose()
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let item = encode(key, api_key_pk(&key.key_id), "APIKEY".into())?;
        match metered!(
            self,
            write,
            "insert_api_key",
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
        self.get_immutable("get_api_key", api_key_pk(key_id), "APIKEY")
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
            "begin_idempotent",
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
            Err(e) if condition_failed(&e) => {
                match self.get_item("begin_idempotent(read)", pk, "IDEM").await? {
                    Some(item) => Ok(Begin::Existing(decode(item)?)),
                    // Deleted between our write and our read: let the caller try again.
                    None => Err(StoreError::Conflict),
                }
            }
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
            "take_over_idempotent",
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
        self.get_item("get_idempotent", idem_pk(merchant, key), "IDEM")
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
            "complete_idempotent",
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
            "release_idempotent",
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
        if payment.version != 1 {
            return Err(StoreError::Backend("a new payment is version 1".into()));
        }
        if self.put_version("insert_payment", payment, entry).await? {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists)
        }
    }

    async fn get_payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        Ok(self
            .latest_version("get_payment", id, true)
            .await?
            .map(|v| v.payment))
    }

    async fn update_payment(
        &self,
        payment: &Payment,
        entry: &HistoryEntry,
    ) -> Result<(), StoreError> {
        if payment.version < 2 {
            return Err(StoreError::Conflict);
        }
        if self.put_version("update_payment", payment, entry).await? {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn payment_version(
        &self,
        id: &PaymentId,
        seq: u64,
    ) -> Result<Option<PaymentVersion>, StoreError> {
        self.get_immutable("payment_version", payment_pk(id), &version_sk(seq))
            .await?
            .as_ref()
            .map(decode_version)
            .transpose()
    }

    async fn merchant_events(
        &self,
        merchant: &MerchantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<PaymentVersion>, bool), StoreError> {
        self.merged_feed(merchant, after, limit).await
    }

    async fn list_payments(
        &self,
        merchant: &MerchantId,
        query: &PaymentQuery,
    ) -> Result<(Vec<Payment>, Option<String>), StoreError> {
        self.merged_listing(merchant, query).await
    }

    async fn payment_history(&self, id: &PaymentId) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = metered!(
                self,
                read,
                "payment_history",
                self.client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("pk = :pk AND begins_with(sk, :v)")
                    .expression_attribute_values(":pk", s(payment_pk(id)))
                    .expression_attribute_values(":v", s("V#"))
                    .consistent_read(true)
                    .set_exclusive_start_key(start.take())
            )
            .map_err(backend)?;
            for item in page.items.unwrap_or_default() {
                out.push(decode_version(&item)?.entry);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl HealthStore for DynamoDbStore {
    /// `pk = HEALTH#<key>`, `sk = <minute:012>#<shard>`: `ADD attempts, errors`, kept two
    /// hours (TTL).
    async fn add_health(
        &self,
        key: &str,
        minute: i64,
        shard: u32,
        add: HealthCounts,
    ) -> Result<(), StoreError> {
        metered!(
            self,
            write,
            "add_health",
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(format!("HEALTH#{key}")))
                .key("sk", s(format!("{minute:012}#{shard}")))
                .update_expression("ADD attempts :a, errors :e SET #ttl = :ttl")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":a", AttributeValue::N(add.attempts.to_string()))
                .expression_attribute_values(":e", AttributeValue::N(add.errors.to_string()))
                .expression_attribute_values(
                    ":ttl",
                    AttributeValue::N((minute * 60 + 7200).to_string())
                )
        )
        .map_err(backend)?;
        Ok(())
    }

    async fn health_since(&self, key: &str, since_minute: i64) -> Result<HealthCounts, StoreError> {
        let page = metered!(
            self,
            read,
            "health_since",
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk >= :since")
                .expression_attribute_values(":pk", s(format!("HEALTH#{key}")))
                .expression_attribute_values(":since", s(format!("{since_minute:012}")))
        )
        .map_err(backend)?;
        let n = |item: &Item, k: &str| match item.get(k) {
            Some(AttributeValue::N(v)) => v.parse::<u64>().unwrap_or(0),
            _ => 0,
        };
        Ok(page
            .items
            .unwrap_or_default()
            .iter()
            .fold(HealthCounts::default(), |a, item| HealthCounts {
                attempts: a.attempts + n(item, "attempts"),
                errors: a.errors + n(item, "errors"),
            }))
    }
}

mod analytics;
mod checkout;
mod reconcile;
mod risk;
pub mod shards;

/// A payment version as the table's change stream gives it (the item's new image), or
/// `None` for an item that is no payment version.
pub fn version_from_image(item: &Item) -> Option<Result<PaymentVersion, StoreError>> {
    match (item.get("pk"), item.get("sk")) {
        (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk)))
            if pk.starts_with("PAYMENT#") && sk.starts_with("V#") =>
        {
            Some(decode_version(item))
        }
        _ => None,
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;
    use walletpay_domain::*;

    /// DynamoDB's size of an item: each attribute's name and value.
    pub(crate) fn item_size(item: &Item) -> usize {
        item.iter()
            .map(|(k, v)| {
                k.len()
                    + match v {
                        AttributeValue::S(s) => s.len(),
                        AttributeValue::B(b) => b.as_ref().len(),
                        AttributeValue::N(n) => n.len(),
                        _ => 8,
                    }
            })
            .sum()
    }

    /// The ledger's keys and summary on a version that moves money cost no write unit of
    /// their own: a typical payment's version stays under 1 KB with them (the index write
    /// is the one extra unit).
    #[test]
    fn a_money_movement_stays_within_one_write_unit() {
        let at = Timestamp(1_796_130_912_665);
        let p = Payment {
            id: PaymentId::new(at.millis(), 12345678901234567890),
            merchant_id: MerchantId::new(at.millis(), 98765432109876543210),
            merchant_reference: "order-1001".into(),
            amount: Money::positive(15_000_000, Currency::IDR).unwrap(),
            country: Country::ID,
            wallet: WalletId::Dana,
            provider: Provider::Xendit,
            provider_reference: Some("pr-a0b601d7-39dd-4dc2-9936-15d69fd95e92".into()),
            status: PaymentStatus::Succeeded,
            next_action: None,
            failure: None,
            customer: Customer {
                id: Some("cus_42".into()),
                phone: Some("+6281234567890".into()),
                email: Some("sari@example.com".into()),
                ip: Some("203.0.113.7".into()),
                device_id: Some("dev-1".into()),
            },
            return_url: Some("https://shop.example/thanks".into()),
            description: Some("Batik scarf".into()),
            created_at: at,
            updated_at: at,
            expires_at: at.plus_seconds(900),
            late_success: false,
            refunds: Vec::new(),
            route: Vec::new(),
            risk: None,
            fraud_report: None,
            checkout_session: None,
            incentive: None,
            version: 3,
        };
        let h = HistoryEntry {
            payment_id: p.id.clone(),
            merchant_id: p.merchant_id.clone(),
            seq: 3,
            at,
            event: "succeeded".into(),
            from: Some(PaymentStatus::RequiresAction),
            to: PaymentStatus::Succeeded,
            source: "webhook".into(),
            detail: None,
        };
        let item = version_item(&p, &h).unwrap();
        let lg: usize = ["gsi3pk", "gsi3sk", "lg"]
            .iter()
            .map(|k| {
                k.len()
                    + match item.get(*k) {
                        Some(AttributeValue::S(s)) => s.len(),
                        _ => 0,
                    }
            })
            .sum();
        assert!(lg <= 200, "the ledger adds {lg} bytes");
        assert!(item_size(&item) < 1024, "{} bytes", item_size(&item));
        let key = match item.get("gsi3sk") {
            Some(AttributeValue::S(k)) => k.clone(),
            _ => panic!("no ledger key"),
        };
        let compact = match item.get("lg") {
            Some(AttributeValue::S(c)) => c.clone(),
            _ => panic!("no ledger summary"),
        };
        let back =
            walletpay_ports::reconcile::LedgerItem::from_compact(Provider::Xendit, &key, &compact);
        assert_eq!(back, walletpay_ports::reconcile::LedgerItem::of(&p, &h));
    }
}
