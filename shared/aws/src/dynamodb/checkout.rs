//! Checkout sessions in the one table: `pk = CHECKOUT#<session id>`, `sk = SESSION`, the
//! session as JSON in `c` beside its `version`; every write after the first is conditional
//! on the version before. A session (which holds the buyer's contact details) is kept 90
//! days past its expiry (TTL); its payments stay with the payments.

use super::reconcile::{from_json, n, to_json};
use super::*;
use walletpay_domain::checkout::CheckoutSession;
use walletpay_domain::SessionId;
use walletpay_ports::CheckoutStore;

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
