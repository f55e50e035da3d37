//! `Idempotency-Key`: the two steps around every creating request. `claim` takes the key
//! with one conditional write (or answers from the request that took it first); `finish`
//! stores the answer for replays.

use crate::app::App;
use crate::error::{ApiError, Reply};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Duration;
use walletpay_domain::fields::IdempotencyKey;
use walletpay_domain::MerchantId;
use walletpay_ports::{Begin, IdempotencyRecord, IdempotencyState, StoreError};

/// Checks an `Idempotency-Key` header: 1 to 255 visible ASCII characters.
pub fn check_key(header: Option<&str>) -> Result<IdempotencyKey, ApiError> {
    let key = header.ok_or_else(|| {
        ApiError::new(
            400,
            "idempotency_key_missing",
            "Send an `Idempotency-Key` header (for example a UUID) so a retried request cannot act twice.",
        )
    })?;
    IdempotencyKey::parse(key).map_err(|why| {
        ApiError::new(
            400,
            "idempotency_key_invalid",
            format!("`Idempotency-Key` {why}."),
        )
    })
}

pub(crate) fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

/// A claim of `scoped_key` for the request `body`, fixing the ids it creates, with the
/// lease and expiry the settings give.
pub(crate) fn new_record(
    app: &App,
    merchant: &MerchantId,
    scoped_key: &str,
    body: &Value,
    payment_id: walletpay_domain::PaymentId,
    refund_id: Option<walletpay_domain::RefundId>,
) -> IdempotencyRecord {
    let now = app.clock.now();
    IdempotencyRecord {
        merchant_id: merchant.clone(),
        key: scoped_key.to_string(),
        request_hash: request_hash(body),
        payment_id,
        refund_id,
        state: IdempotencyState::InProgress,
        lease_until: now.plus_millis(ms(app.settings.idempotency_lease)),
        expires_at: now.plus_millis(ms(app.settings.idempotency_ttl)),
    }
}

/// SHA-256 of the request body, canonical whatever the client's key order and white space
/// (serde_json's map is ordered by key).
pub fn request_hash(body: &Value) -> String {
    hex::encode(Sha256::digest(body.to_string().as_bytes()))
}

fn replay(status: u16, body: String) -> Reply {
    Reply::json(status, body).with_header("idempotent-replayed", "true")
}

pub enum Claim {
    /// This request owns the key: here is its record (with the ids it creates).
    Owned(IdempotencyRecord),
    /// This request took the key over from one that died: what that one wrote may exist.
    TakenOver(IdempotencyRecord),
    /// The key was used before for this very request: here is its answer.
    Replay(Reply),
}

/// Claims the idempotency key, or answers from the request that claimed it first.
pub async fn claim(app: &App, record: &IdempotencyRecord) -> Result<Claim, ApiError> {
    let deadline = app
        .clock
        .now()
        .plus_millis(ms(app.settings.idempotency_wait));
    loop {
        let now = app.clock.now();
        let existing = match app.store.begin_idempotent(record, now).await {
            Ok(Begin::Started) => return Ok(Claim::Owned(record.clone())),
            Ok(Begin::Existing(existing)) => Some(existing),
            // The record vanished between our write and our read: try again.
            Err(StoreError::Conflict) => None,
            Err(e) => return Err(e.into()),
        };
        let Some(existing) = existing else {
            if app.clock.now() >= deadline {
                return Err(ApiError::unavailable("idempotency record keeps vanishing"));
            }
            continue;
        };
        if existing.request_hash != record.request_hash {
            return Err(ApiError::new(
                409,
                "idempotency_key_reused",
                "This Idempotency-Key was used for a different request. Use a new key for a new payment.",
            ));
        }
        match existing.state {
            IdempotencyState::Completed { status, body } => {
                return Ok(Claim::Replay(replay(status, body)))
            }
            IdempotencyState::InProgress if existing.lease_until <= now => {
                // The request that held the key stopped answering: carry on where it was.
                let renewed = IdempotencyRecord {
                    lease_until: now.plus_millis(ms(app.settings.idempotency_lease)),
                    ..existing.clone()
                };
                match app
                    .store
                    .take_over_idempotent(&renewed, existing.lease_until)
                    .await
                {
                    Ok(()) => return Ok(Claim::TakenOver(renewed)),
                    Err(StoreError::Conflict) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            IdempotencyState::InProgress => {}
        }
        if app.clock.now() >= deadline {
            return Err(ApiError::new(
                409,
                "idempotency_request_in_progress",
                "A request with this Idempotency-Key is still being processed. Retry in a few seconds.",
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Stores the answer for replays and returns it.
pub async fn finish(
    app: &App,
    merchant: &MerchantId,
    scoped_key: &str,
    status: u16,
    body: String,
) -> Result<Reply, ApiError> {
    match app
        .store
        .complete_idempotent(merchant, scoped_key, status, &body)
        .await
    {
        // Conflict: completed meanwhile by a request that took over; the answer is the same
        // resource either way.
        Ok(()) | Err(StoreError::Conflict) => Ok(Reply::json(status, body)),
        Err(e) => Err(e.into()),
    }
}
