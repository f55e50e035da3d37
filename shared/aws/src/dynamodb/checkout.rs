//! Checkout sessions in the one table: `pk = CHECKOUT#<session id>`, `sk = SESSION`, the
//! session as JSON in `c` beside its `version`; every write after the first is conditional
//! on the version before. A session (which holds the buyer's contact details) is kept 90
//! days past its expiry (TTL); its payments stay with the payments.
//!
//! First-purchase incentives: `pk = MERCHANT#<merchant>#INCENTIVES`, `sk = <incentive id>`,
//! the incentive as set up in `c`, with `remaining` (budget left, minor units), `grants`
//! and `active` beside it. A grant is one transaction: the incentive's `remaining` lowered
//! on condition `active AND remaining >= discount`, and one item per buyer key in the
//! first-purchase scope, `pk = FIRSTPAY#<merchant>#<country>#<wallet>#<shard of the key>`, `sk = BUYER#<key>`
//! (the session in `session`), each on condition it does not exist; its client request
//! token makes the SDK's own retry of it harmless. A release is the reverse transaction,
//! on condition the keys are still the session's. Grants that stand are kept as long as the
//! table (no TTL): "once per buyer" has no end.

use super::reconcile::{from_json, n, to_json};
use super::*;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use walletpay_domain::checkout::CheckoutSession;
use walletpay_domain::incentive::{Incentive, Standing};
use walletpay_domain::{IncentiveId, SessionId};
use walletpay_ports::{CheckoutStore, Grant, Holder, IncentiveStore};

/// How long a session is kept past its expiry.
const KEEP_MS: i64 = 90 * 86_400_000;

fn session_pk(id: &SessionId) -> String {
    format!("CHECKOUT#{id}")
}

fn session_item(c: &CheckoutSession) -> Result<Item, StoreError> {
    Ok(HashMap::from([
        ("pk".to_string(), s(session_pk(&c.id))),
        ("sk".to_string(), s("SESSION")),
        ("c".to_string(), to_json(c)?),
        ("version".to_string(), n(c.version)),
        ("ttl".to_string(), ttl(c.expires_at.plus_millis(KEEP_MS))),
    ]))
}

#[async_trait]
impl CheckoutStore for DynamoDbStore {
    async fn insert_session(&self, session: &CheckoutSession) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(session_item(session)?))
            .condition_expression("attribute_not_exists(pk)");
        match metered!(self, write, "insert_session", put) {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::AlreadyExists),
            Err(e) => Err(backend(e)),
        }
    }

    async fn get_session(&self, id: &SessionId) -> Result<Option<CheckoutSession>, StoreError> {
        match self
            .get_item("get_session", session_pk(id), "SESSION")
            .await?
        {
            Some(item) => Ok(Some(from_json(&item, "c")?)),
            None => Ok(None),
        }
    }

    async fn update_session(&self, session: &CheckoutSession) -> Result<(), StoreError> {
        let previous = session.version.checked_sub(1).ok_or(StoreError::Conflict)?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(session_item(session)?))
            .condition_expression("version = :previous")
            .expression_attribute_values(":previous", n(previous));
        match metered!(self, write, "update_session", put) {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::Conflict),
            Err(e) => Err(backend(e)),
        }
    }
}

fn incentives_pk(merchant: &MerchantId) -> String {
    format!("MERCHANT#{merchant}#INCENTIVES")
}

/// First-purchase grants of one scope are spread over this many partitions by buyer key: a
/// flash sale's new buyers of one wallet (a few writes and reads each) stay under a
/// partition's 1,000 writes and 3,000 reads a second.
const GRANT_SHARDS: u32 = 16;

fn grant_pk(scope: &str, buyer: &str) -> String {
    format!(
        "FIRSTPAY#{scope}#{}",
        super::shards::fnv1a(buyer) % GRANT_SHARDS
    )
}

/// A transaction's client request token (at most 36 characters), the same for the same
/// grant or release of the same session.
fn request_token(what: &str, incentive: &IncentiveId, session: &SessionId, nonce: u64) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{what}#{incentive}#{session}#{nonce}"));
    hex::encode(digest)[..36].to_string()
}

fn cancelled_for_condition(
    e: &SdkError<TransactWriteItemsError>,
    items: std::ops::Range<usize>,
) -> bool {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(t)) => {
            let reasons = t.cancellation_reasons();
            items
                .into_iter()
                .any(|i| reasons.get(i).and_then(|r| r.code()) == Some("ConditionalCheckFailed"))
        }
        _ => false,
    }
}

/// Another transaction touched the same items at the same moment: worth trying again.
fn transaction_conflict(e: &SdkError<TransactWriteItemsError>) -> bool {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(t)) => t
            .cancellation_reasons()
            .iter()
            .any(|r| r.code() == Some("TransactionConflict")),
        Some(TransactWriteItemsError::TransactionInProgressException(_)) => true,
        _ => false,
    }
}

/// Where grants were kept before they were sharded: still read, so a buyer who had a
/// first-purchase incentive then never gets a second.
fn legacy_grant_pk(scope: &str) -> String {
    format!("FIRSTPAY#{scope}")
}

fn grant_sk(buyer: &str) -> String {
    format!("BUYER#{buyer}")
}

fn number(item: &Item, attr: &str) -> Result<i64, StoreError> {
    match item.get(attr) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| StoreError::Backend(format!("`{attr}` is not an integer: {v}"))),
        _ => Err(StoreError::Backend(format!(
            "an incentive without `{attr}`"
        ))),
    }
}

fn standing(item: &Item) -> Result<Standing, StoreError> {
    let mut incentive: Incentive = from_json(item, "c")?;
    incentive.active = matches!(item.get("active"), Some(AttributeValue::Bool(true)));
    Ok(Standing {
        incentive,
        remaining: number(item, "remaining")?,
        grants: number(item, "grants")? as u64,
    })
}

impl DynamoDbStore {
    /// A buyer key's grant and the partition it is in: its shard, or where grants were kept
    /// before the shards.
    async fn grant_item(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<(String, Item)>, StoreError> {
        for pk in [grant_pk(scope, key), legacy_grant_pk(scope)] {
            if let Some(item) = self
                .get_item("incentive_grant", pk.clone(), &grant_sk(key))
                .await?
            {
                return Ok(Some((pk, item)));
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl IncentiveStore for DynamoDbStore {
    async fn insert_incentive(&self, incentive: &Incentive) -> Result<(), StoreError> {
        let item = HashMap::from([
            ("pk".to_string(), s(incentives_pk(&incentive.merchant_id))),
            ("sk".to_string(), s(incentive.id.as_str())),
            ("c".to_string(), to_json(incentive)?),
            (
                "remaining".to_string(),
                AttributeValue::N(incentive.budget.to_string()),
            ),
            ("grants".to_string(), n(0)),
            ("active".to_string(), AttributeValue::Bool(incentive.active)),
        ]);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)");
        match metered!(self, write, "insert_incentive", put) {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::AlreadyExists),
            Err(e) => Err(backend(e)),
        }
    }

    async fn get_incentive(
        &self,
        merchant: &MerchantId,
        id: &IncentiveId,
    ) -> Result<Option<Standing>, StoreError> {
        match self
            .get_item("get_incentive", incentives_pk(merchant), id.as_str())
            .await?
        {
            Some(item) => Ok(Some(standing(&item)?)),
            None => Ok(None),
        }
    }

    async fn list_incentives(&self, merchant: &MerchantId) -> Result<Vec<Standing>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let q = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(incentives_pk(merchant)))
                .set_exclusive_start_key(start.take());
            let page = metered!(self, read, "list_incentives", q).map_err(backend)?;
            for item in page.items() {
                out.push(standing(item)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    async fn set_incentive_active(
        &self,
        merchant: &MerchantId,
        id: &IncentiveId,
        active: bool,
    ) -> Result<bool, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(incentives_pk(merchant)))
            .key("sk", s(id.as_str()))
            .update_expression("SET active = :a")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":a", AttributeValue::Bool(active));
        match metered!(self, write, "set_incentive_active", update) {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }

    async fn grant_holder(
        &self,
        scope: &str,
        buyer_keys: &[String],
    ) -> Result<Option<Holder>, StoreError> {
        for k in buyer_keys {
            if let Some((_, item)) = self.grant_item(scope, k).await? {
                let text = |attr: &str| match item.get(attr) {
                    Some(AttributeValue::S(v)) => Some(v.as_str()),
                    _ => None,
                };
                let holder = (|| {
                    Some(Holder {
                        session: SessionId::parse(text("session")?)?,
                        incentive: IncentiveId::parse(text("incentive")?)?,
                        discount: number(&item, "discount").ok()?,
                    })
                })();
                return holder
                    .map(Some)
                    .ok_or_else(|| StoreError::Backend("an unreadable incentive grant".into()));
            }
        }
        Ok(None)
    }

    async fn grant(
        &self,
        incentive: &Incentive,
        buyer_keys: &[String],
        discount: i64,
        session: &SessionId,
        nonce: u64,
    ) -> Result<Grant, StoreError> {
        let scope = incentive.first_purchase_scope();
        let held = |holder: Holder| {
            if &holder.session == session {
                Grant::Held(holder)
            } else {
                Grant::AlreadyUsed
            }
        };
        if let Some(holder) = self.grant_holder(&scope, buyer_keys).await? {
            return Ok(held(holder));
        }
        let spend = Update::builder()
            .table_name(&self.table)
            .key("pk", s(incentives_pk(&incentive.merchant_id)))
            .key("sk", s(incentive.id.as_str()))
            .update_expression("SET remaining = remaining - :d ADD grants :one")
            .condition_expression("active = :t AND remaining >= :d")
            .expression_attribute_values(":d", AttributeValue::N(discount.to_string()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .build()
            .map_err(backend)?;
        let mut items = vec![TransactWriteItem::builder().update(spend).build()];
        for k in buyer_keys {
            items.push(
                TransactWriteItem::builder()
                    .put(grant_put(
                        self, &scope, k, incentive, discount, session, true,
                    )?)
                    .build(),
            );
        }
        let token = request_token("grant", &incentive.id, session, nonce);
        for attempt in 0.. {
            let tx = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(&token);
            let e = match metered!(self, write, "grant_incentive", tx) {
                Ok(_) => return Ok(Grant::Granted),
                Err(e) => e,
            };
            // The reasons come in the order of the items: the budget's first. A buyer key
            // taken is looked at first: granted meanwhile, to another order of this buyer,
            // or to this one by a request whose answer was lost.
            if cancelled_for_condition(&e, 1..buyer_keys.len() + 1) {
                return match self.grant_holder(&scope, buyer_keys).await? {
                    Some(holder) => Ok(held(holder)),
                    None => Err(StoreError::Conflict),
                };
            }
            if cancelled_for_condition(&e, 0..1) {
                return Ok(Grant::Exhausted);
            }
            if transaction_conflict(&e) && attempt < 3 {
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                continue;
            }
            return Err(backend(e));
        }
        unreachable!("the loop returns")
    }

    async fn release_grant(
        &self,
        incentive: &Incentive,
        buyer_keys: &[String],
        discount: i64,
        session: &SessionId,
        nonce: u64,
    ) -> Result<(), StoreError> {
        let scope = incentive.first_purchase_scope();
        let mut items = Vec::new();
        for k in buyer_keys {
            // Where the grant is (a grant from before the shards is released where it is).
            let pk = match self.grant_item(&scope, k).await? {
                Some((pk, _)) => pk,
                None => grant_pk(&scope, k),
            };
            let delete = aws_sdk_dynamodb::types::Delete::builder()
                .table_name(&self.table)
                .key("pk", s(pk))
                .key("sk", s(grant_sk(k)))
                .condition_expression("#s = :s")
                .expression_attribute_names("#s", "session")
                .expression_attribute_values(":s", s(session.as_str()))
                .build()
                .map_err(backend)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        items.push(
            TransactWriteItem::builder()
                .update(budget_change(self, incentive, discount, -1)?)
                .build(),
        );
        self.transact_budget(
            "release_incentive",
            items,
            buyer_keys.len(),
            request_token("release", &incentive.id, session, nonce),
        )
        .await
    }

    async fn restore_grant(
        &self,
        incentive: &Incentive,
        buyer_keys: &[String],
        discount: i64,
        session: &SessionId,
        nonce: u64,
    ) -> Result<(), StoreError> {
        let scope = incentive.first_purchase_scope();
        if let Some(holder) = self.grant_holder(&scope, buyer_keys).await? {
            if &holder.session == session {
                return Ok(());
            }
        }
        let mut items = Vec::new();
        for k in buyer_keys {
            items.push(
                TransactWriteItem::builder()
                    .put(grant_put(
                        self, &scope, k, incentive, discount, session, false,
                    )?)
                    .build(),
            );
        }
        items.push(
            TransactWriteItem::builder()
                .update(budget_change(self, incentive, -discount, 1)?)
                .build(),
        );
        self.transact_budget(
            "restore_incentive",
            items,
            0,
            request_token("restore", &incentive.id, session, nonce),
        )
        .await
    }
}

/// A buyer key's grant item (on condition it is new, for a grant).
fn grant_put(
    store: &DynamoDbStore,
    scope: &str,
    key: &str,
    incentive: &Incentive,
    discount: i64,
    session: &SessionId,
    only_new: bool,
) -> Result<Put, StoreError> {
    let mut put = Put::builder()
        .table_name(&store.table)
        .item("pk", s(grant_pk(scope, key)))
        .item("sk", s(grant_sk(key)))
        .item("session", s(session.as_str()))
        .item("incentive", s(incentive.id.as_str()))
        .item("discount", AttributeValue::N(discount.to_string()));
    if only_new {
        put = put.condition_expression("attribute_not_exists(pk)");
    }
    put.build().map_err(backend)
}

/// `remaining` and `grants` moved by `remaining` and `grants`, unconditionally.
fn budget_change(
    store: &DynamoDbStore,
    incentive: &Incentive,
    remaining: i64,
    grants: i64,
) -> Result<Update, StoreError> {
    Update::builder()
        .table_name(&store.table)
        .key("pk", s(incentives_pk(&incentive.merchant_id)))
        .key("sk", s(incentive.id.as_str()))
        .update_expression("ADD remaining :d, grants :g")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":d", AttributeValue::N(remaining.to_string()))
        .expression_attribute_values(":g", AttributeValue::N(grants.to_string()))
        .build()
        .map_err(backend)
}

impl DynamoDbStore {
    /// A release or restore: done, or nothing to do when one of the first `keys` items'
    /// conditions failed (the grant is no longer this session's); transaction conflicts
    /// retried.
    async fn transact_budget(
        &self,
        op: &'static str,
        items: Vec<TransactWriteItem>,
        keys: usize,
        token: String,
    ) -> Result<(), StoreError> {
        for attempt in 0.. {
            let tx = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(&token);
            let e = match metered!(self, write, op, tx) {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            if keys > 0 && cancelled_for_condition(&e, 0..keys) {
                return Ok(());
            }
            if transaction_conflict(&e) && attempt < 3 {
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                continue;
            }
            return Err(backend(e));
        }
        unreachable!("the loop returns")
    }
}
