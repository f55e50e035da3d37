//! Checkout sessions in the one table: `pk = CHECKOUT#<session id>`, `sk = SESSION`, the
//! session as JSON in `c` beside its `version`; every write after the first is conditional
//! on the version before. A session (which holds the buyer's contact details) is kept 90
//! days past its expiry (TTL); its payments stay with the payments.
//!
//! First-purchase incentives: `pk = MERCHANT#<merchant>#INCENTIVES`, `sk = <incentive id>`,
//! the incentive as set up in `c`, with `remaining` (budget left, minor units), `grants`
//! and `active` beside it. A grant is one transaction: the incentive's `remaining` lowered
//! on condition `active AND remaining >= discount`, and one item per buyer key, `pk =
//! INCENTIVE#<id>`, `sk = BUYER#<key>` (the session in `session`), each on condition it does
//! not exist. Grants are kept as long as the incentive (no TTL): "once per buyer" has no end.

use super::reconcile::{from_json, n, to_json};
use super::*;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use walletpay_domain::checkout::CheckoutSession;
use walletpay_domain::incentive::{Incentive, Standing};
use walletpay_domain::{IncentiveId, SessionId};
use walletpay_ports::{CheckoutStore, Grant, IncentiveStore};

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

fn grant_pk(id: &IncentiveId) -> String {
    format!("INCENTIVE#{id}")
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
        id: &IncentiveId,
        buyer_keys: &[String],
    ) -> Result<Option<SessionId>, StoreError> {
        for k in buyer_keys {
            if let Some(item) = self
                .get_item("incentive_grant", grant_pk(id), &grant_sk(k))
                .await?
            {
                let session = match item.get("session") {
                    Some(AttributeValue::S(v)) => SessionId::parse(v),
                    _ => None,
                };
                return session
                    .map(Some)
                    .ok_or_else(|| StoreError::Backend("a grant without its session".into()));
            }
        }
        Ok(None)
    }

    async fn grant(
        &self,
        merchant: &MerchantId,
        id: &IncentiveId,
        buyer_keys: &[String],
        discount: i64,
        session: &SessionId,
    ) -> Result<Grant, StoreError> {
        if let Some(holder) = self.grant_holder(id, buyer_keys).await? {
            return Ok(if &holder == session {
                Grant::Held
            } else {
                Grant::AlreadyUsed
            });
        }
        let spend = Update::builder()
            .table_name(&self.table)
            .key("pk", s(incentives_pk(merchant)))
            .key("sk", s(id.as_str()))
            .update_expression("SET remaining = remaining - :d ADD grants :one")
            .condition_expression("active = :t AND remaining >= :d")
            .expression_attribute_values(":d", AttributeValue::N(discount.to_string()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .build()
            .map_err(backend)?;
        let mut tx = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(spend).build());
        for k in buyer_keys {
            let put = Put::builder()
                .table_name(&self.table)
                .item("pk", s(grant_pk(id)))
                .item("sk", s(grant_sk(k)))
                .item("session", s(session.as_str()))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(backend)?;
            tx = tx.transact_items(TransactWriteItem::builder().put(put).build());
        }
        match metered!(self, write, "grant_incentive", tx) {
            Ok(_) => Ok(Grant::Granted),
            Err(e) => match e.as_service_error() {
                // The reasons come in the order of the items: the budget's first.
                Some(TransactWriteItemsError::TransactionCanceledException(t)) => {
                    let reasons = t.cancellation_reasons();
                    let failed = |i: usize| {
                        reasons.get(i).and_then(|r| r.code()) == Some("ConditionalCheckFailed")
                    };
                    if failed(0) {
                        Ok(Grant::Exhausted)
                    } else if (1..=buyer_keys.len()).any(failed) {
                        // Another order of this buyer was granted it meanwhile.
                        Ok(Grant::AlreadyUsed)
                    } else {
                        Err(backend(e))
                    }
                }
                _ => Err(backend(e)),
            },
        }
    }
}
