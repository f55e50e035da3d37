//! Refunds: `POST /v1/payments/{id}/refunds`, `GET .../refunds[/{refund_id}]`, and the
//! refund worker.
//!
//! A refund is part of its payment: the API reserves the amount on the payment's refund
//! ledger and records the refund there, in one conditional write of the payment's next
//! version, before any provider call, so concurrent refunds can never add up to more than
//! was paid. Its job is queued just before that write. The worker calls the provider with the refund
//! id as the provider's idempotency key, retries what fails transiently with backoff
//! (`Settings::refund_retry_delays`: 5 s, 30 s, 2 min, 10 min, 1 h, then every 4 h), and
//! learns the outcome from the answer or later status checks; the job carries the attempt
//! count and the provider's refund reference between looks, so waiting writes nothing. A
//! refund that fails gives its reservation back; one that succeeds moves the payment to
//! `partially_refunded` or `refunded`, in the same write.

use crate::app::App;
use crate::error::{ApiError, Reply};
use crate::idempotency::{check_key, claim, finish, ms, request_hash, Claim};
use crate::payments::{load_own, MAX_BODY_BYTES};
use crate::status::send_due;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;
use walletpay_domain::{
    Decision, Failure, FailureCode, Lang, MerchantId, Money, Payment, PaymentEvent, PaymentId,
    Refund, RefundId, RefundReason, RefundRefusal, RefundStatus, Timestamp,
};
use walletpay_ports::{HistoryEntry, IdempotencyRecord, IdempotencyState, QueueError, StoreError};
use walletpay_wallet_adapter::{AdapterError, RefundOutcome, RefundRequest};

/// The API's view of a refund (a failure explained in `lang`, English by default, in a
/// refund's words: what happened to the money, never a payment's recovery advice).
pub fn refund_json(r: &Refund, lang: Option<Lang>) -> Value {
    let failure = r.failure.as_ref().map(|f| {
        let trouble =
            walletpay_domain::RefundTrouble::of(f.category, r.status == RefundStatus::Reversed);
        json!({
            "code": f.code,
            "category": f.category,
            "message": walletpay_domain::refund_failure_message(trouble, lang.unwrap_or(Lang::En)),
            "provider_code": f.provider_code,
        })
    });
    json!({
        "id": r.id.as_str(),
        "object": "refund",
        "payment_id": r.payment_id.as_str(),
        "amount": r.amount.minor,
        "currency": r.amount.currency.code(),
        "status": r.status.as_str(),
        "reason": r.reason.as_str(),
        "merchant_reference": r.merchant_reference,
        "failure": failure,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    })
}

struct NewRefund {
    amount: Option<i64>,
    reason: RefundReason,
    merchant_reference: Option<String>,
}

fn parse(body: &[u8]) -> Result<(NewRefund, Value), ApiError> {
    let bad = |code, field: &str, msg: &str| ApiError::new(400, code, msg.to_string()).field(field);
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                400,
                "invalid_json",
                format!("The body is not valid JSON: {e}."),
            )
        })?
    };
    let obj = value
        .as_object()
        .ok_or_else(|| ApiError::new(400, "invalid_json", "The body must be a JSON object."))?;
    let amount = match obj.get("amount") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(a) if a > 0 => Some(a),
            _ => {
                return Err(bad(
                    "amount_invalid",
                    "amount",
                    "`amount` must be a positive integer in minor units.",
                ))
            }
        },
        Some(_) => {
            return Err(bad(
                "amount_invalid",
                "amount",
                "`amount` must be a positive integer in minor units.",
            ))
        }
    };
    let reason = match obj.get("reason") {
        None | Some(Value::Null) => RefundReason::RequestedByCustomer,
        Some(Value::String(s)) => RefundReason::parse(s).ok_or_else(|| {
            bad(
                "invalid_field",
                "reason",
                "`reason` is requested_by_customer, duplicate, fraudulent or other.",
            )
        })?,
        Some(_) => return Err(bad("invalid_field", "reason", "`reason` must be a string.")),
    };
    let merchant_reference = match obj.get("merchant_reference") {
        None | Some(Value::Null) => None,
        Some(Value::String(s))
            if !s.is_empty() && s.chars().count() <= 128 && !s.chars().any(char::is_control) =>
        {
            Some(s.clone())
        }
        Some(_) => {
            return Err(bad(
                "invalid_field",
                "merchant_reference",
                "`merchant_reference` is a string of 1 to 128 characters.",
            ))
        }
    };
    Ok((
        NewRefund {
            amount,
            reason,
            merchant_reference,
        },
        value,
    ))
}

fn not_refundable(p: &Payment) -> ApiError {
    ApiError::new(
        409,
        "payment_not_refundable",
        format!(
            "Only succeeded payments can be refunded; this one is {}.",
            p.status.as_str()
        ),
    )
}

fn exceeds(refundable_minor: i64, p: &Payment) -> ApiError {
    ApiError::new(
        422,
        "refund_exceeds_refundable",
        format!(
            "At most {} can still be refunded.",
            Money {
                minor: refundable_minor,
                currency: p.amount.currency
            }
        ),
    )
    .field("amount")
}

/// A refund job on the refunds queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefundJob {
    pub payment_id: PaymentId,
    pub refund_id: RefundId,
    pub due_at: Timestamp,
    /// Provider calls made so far (the worker backs off between them).
    #[serde(default)]
    pub attempts: u32,
    /// The provider's id for the refund once it answered with one, to ask about it next time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    /// When the refund was requested: a job whose refund never got written is dropped
    /// after a while.
    pub requested_at: Timestamp,
    /// The automatic refund of a late success: the worker makes the reservation itself if
    /// the writer did not live to.
    #[serde(default)]
    pub late_success: bool,
}

async fn enqueue(app: &App, job: &RefundJob) -> Result<(), QueueError> {
    let body = serde_json::to_string(job).expect("a refund job serialises");
    send_due(app.refunds.as_ref(), &body, job.due_at, app.clock.now()).await
}

/// `POST /v1/payments/{id}/refunds`.
pub async fn create_refund(
    app: &App,
    merchant: &MerchantId,
    payment_id: &str,
    idempotency_key: Option<&str>,
    body: &[u8],
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    let key = check_key(idempotency_key)?;
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            413,
            "body_too_large",
            "The body is larger than 64 KiB.",
        ));
    }
    let (new, value) = parse(body)?;
    let payment = load_own(app, merchant, payment_id).await?;
    if !payment.status.is_paid() {
        return Err(not_refundable(&payment));
    }
    // What the provider cannot refund is refused now, before anything is reserved.
    let partial = new.amount.unwrap_or(payment.refundable_minor()) < payment.amount.minor;
    if let Some(adapter) = app.adapters.get(payment.provider) {
        if let Err(why) = adapter.can_refund(payment.country, payment.wallet, partial) {
            return Err(ApiError::new(422, "refund_not_supported", why));
        }
    }
    if let Some(a) = new.amount {
        let m = Money {
            minor: a,
            currency: payment.amount.currency,
        };
        if m.whole_major().is_err() && m.currency == walletpay_domain::Currency::IDR {
            return Err(ApiError::new(
                422,
                "amount_not_payable",
                "IDR refunds must be whole rupiah.",
            )
            .field("amount"));
        }
        if a > payment.refundable_minor() {
            return Err(exceeds(payment.refundable_minor(), &payment));
        }
    } else if payment.refundable_minor() == 0 {
        return Err(exceeds(0, &payment));
    }

    let scoped_key = format!("refunds:{}:{key}", payment.id);
    let now = app.clock.now();
    let record = IdempotencyRecord {
        merchant_id: merchant.clone(),
        key: scoped_key.clone(),
        request_hash: request_hash(&value),
        payment_id: payment.id.clone(),
        refund_id: Some(RefundId::new(now.millis(), rand::random())),
        state: IdempotencyState::InProgress,
        lease_until: now.plus_millis(ms(app.settings.idempotency_lease)),
        expires_at: now.plus_millis(ms(app.settings.idempotency_ttl)),
    };
    let refund_id = match claim(app, &record).await? {
        Claim::Replay(reply) => return Ok(reply),
        Claim::Owned(owned) | Claim::TakenOver(owned) => {
            owned.refund_id.expect("refund claims carry a refund id")
        }
    };
    // The job goes out before the refund is written, so a written refund always has one. (A
    // taken-over claim whose refund the first request wrote finds it in `reserve`.)
    let job = RefundJob {
        payment_id: payment.id.clone(),
        refund_id: refund_id.clone(),
        due_at: now,
        attempts: 0,
        provider_reference: None,
        requested_at: now,
        late_success: false,
    };
    if let Err(e) = enqueue(app, &job).await {
        let _ = app.store.release_idempotent(merchant, &scoped_key).await;
        return Err(ApiError::unavailable(e));
    }
    let refund = match reserve(app, payment, &refund_id, &new).await {
        Ok(r) => r,
        Err(e) => {
            // A refusal wrote nothing: the key is free for a corrected request. A store
            // error may have written the reservation: the key stays taken, so a retry
            // takes it over with the same refund id and finds it.
            if e.status < 500 {
                let _ = app.store.release_idempotent(merchant, &scoped_key).await;
            }
            return Err(e);
        }
    };
    finish(
        app,
        merchant,
        &scoped_key,
        201,
        refund_json(&refund, lang).to_string(),
    )
    .await
}

/// Reserves the amount and writes the refund, in one conditional write, re-reading the
/// payment when a concurrent writer got there first.
async fn reserve(
    app: &App,
    first: Payment,
    refund_id: &RefundId,
    new: &NewRefund,
) -> Result<Refund, ApiError> {
    let payment_id = first.id.clone();
    let mut current = Some(first);
    for attempt in 0..64u32 {
        let mut p = match current.take() {
            Some(p) => p,
            None => app
                .store
                .get_payment(&payment_id)
                .await?
                .ok_or_else(|| ApiError::not_found("payment"))?,
        };
        let amount_minor = new.amount.unwrap_or_else(|| p.refundable_minor());
        let event = PaymentEvent::RefundRequested {
            refund_id: refund_id.to_string(),
            amount_minor,
        };
        let now = app.clock.now();
        let from = p.status;
        match p.apply(&event, now) {
            Decision::Refused(RefundRefusal::NotRefundable) => return Err(not_refundable(&p)),
            Decision::Refused(RefundRefusal::ExceedsRefundable { refundable_minor }) => {
                return Err(exceeds(refundable_minor, &p))
            }
            Decision::Stale(_) => {
                // Our own reservation, written by a request that died: its refund is there.
                return find_refund(&p, refund_id)
                    .ok_or_else(|| ApiError::internal("refund reserved but not written"));
            }
            Decision::Move { .. } => {}
        }
        if let Some(line) = p.refund_line_mut(refund_id.as_str()) {
            line.reason = new.reason;
            line.merchant_reference = new.merchant_reference.clone();
        }
        let refund = find_refund(&p, refund_id).expect("the line was just added");
        let entry = history(&p, from, &event, "api", Some(refund_id.to_string()));
        crate::notifications::announce(app, &entry, &p)
            .await
            .map_err(ApiError::unavailable)?;
        match app.store.update_payment(&p, &entry).await {
            Ok(()) => return Ok(refund),
            Err(StoreError::Conflict) => {
                // Spread the retries of a burst of refunds a little.
                let jitter = rand::random::<u64>() % (5 + attempt as u64 * 2);
                tokio::time::sleep(Duration::from_millis(jitter)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        409,
        "refund_conflict",
        "Too many refunds of this payment at once. Retry with the same Idempotency-Key.",
    ))
}

fn history(
    p: &Payment,
    from: walletpay_domain::PaymentStatus,
    event: &PaymentEvent,
    source: &str,
    detail: Option<String>,
) -> HistoryEntry {
    HistoryEntry {
        payment_id: p.id.clone(),
        merchant_id: p.merchant_id.clone(),
        seq: p.version,
        at: p.updated_at,
        event: event.name().to_string(),
        from: Some(from),
        to: p.status,
        source: source.to_string(),
        detail,
    }
}

/// A refund as its payment records it.
pub fn find_refund(p: &Payment, id: &RefundId) -> Option<Refund> {
    p.refund_line(id.as_str()).and_then(|l| Refund::of(p, l))
}

fn parse_refund_id(id: &str) -> Result<RefundId, ApiError> {
    RefundId::parse(id).ok_or_else(|| ApiError::not_found("refund"))
}

/// `GET /v1/payments/{id}/refunds/{refund_id}`.
pub async fn get_refund(
    app: &App,
    merchant: &MerchantId,
    payment_id: &str,
    refund_id: &str,
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    let p = load_own(app, merchant, payment_id).await?;
    let refund_id = parse_refund_id(refund_id)?;
    let r = find_refund(&p, &refund_id).ok_or_else(|| ApiError::not_found("refund"))?;
    Ok(Reply::json(200, refund_json(&r, lang).to_string()))
}

/// `GET /v1/payments/{id}/refunds`: all of a payment's refunds, oldest first (a payment has
/// few, so one page).
pub async fn list_refunds(
    app: &App,
    merchant: &MerchantId,
    payment_id: &str,
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    let p = load_own(app, merchant, payment_id).await?;
    let data: Vec<Value> = p
        .refunds
        .iter()
        .filter_map(|l| Refund::of(&p, l))
        .map(|r| refund_json(&r, lang))
        .collect();
    Ok(Reply::json(
        200,
        json!({"data": data, "next_cursor": null}).to_string(),
    ))
}

/// What the worker did with one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Worked {
    /// The refund is final (now or already).
    Done(RefundStatus),
    /// Still pending; the next look is scheduled.
    Retrying(u32),
    /// Not due yet, sent on.
    Deferred,
    /// Left pending after the last attempt, for reconciliation.
    GaveUp,
    /// A job whose refund was never written.
    Dropped,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error("unreadable refund job: {0}")]
    Malformed(String),
    #[error("refund {0} not written yet")]
    NotYetWritten(RefundId),
    /// A provider's refund webhook names a refund no refund of the payment has recorded
    /// (yet: the worker records it when the provider answers).
    #[error("no refund with provider reference {0} (yet)")]
    Unmatched(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("refund {0} kept changing under us")]
    Contention(RefundId),
}

/// Handles one refund job.
pub async fn process_refund_job(app: &App, body: &str) -> Result<Worked, WorkError> {
    let job: RefundJob =
        serde_json::from_str(body).map_err(|e| WorkError::Malformed(e.to_string()))?;
    let now = app.clock.now();
    if job.due_at > now {
        send_due(app.refunds.as_ref(), body, job.due_at, now).await?;
        return Ok(Worked::Deferred);
    }
    // A refund is only asked for of a payment that exists: one that does not is not ours
    // to refund, and waiting would change nothing.
    if app.store.get_payment(&job.payment_id).await?.is_none() {
        tracing::warn!(payment = %job.payment_id, refund = %job.refund_id, "refund job for a payment that does not exist; dropped");
        return Ok(Worked::Dropped);
    }
    let found = crate::transition::read_soon(|| async {
        let p = app.store.get_payment(&job.payment_id).await?;
        Ok::<_, StoreError>(p.and_then(|p| find_refund(&p, &job.refund_id).map(|r| (p, r))))
    })
    .await?;
    let found = match found {
        None if job.late_success => {
            // The late success was written but its writer did not reserve the refund.
            if let Some(p) = app.store.get_payment(&job.payment_id).await? {
                if p.late_success {
                    reserve_late_success(app, p, &job.refund_id).await;
                }
            }
            let p = app.store.get_payment(&job.payment_id).await?;
            p.and_then(|p| find_refund(&p, &job.refund_id).map(|r| (p, r)))
        }
        other => other,
    };
    let Some((payment, refund)) = found else {
        // The API sends the job before it writes the refund; give it a few minutes.
        if now.millis() - job.requested_at.millis() > 5 * 60 * 1000 {
            return Ok(Worked::Dropped);
        }
        return Err(WorkError::NotYetWritten(job.refund_id));
    };
    if refund.status != RefundStatus::Pending {
        return Ok(Worked::Done(refund.status));
    }
    let refund = match (&refund.provider_reference, &job.provider_reference) {
        (None, Some(r)) => with_reference(refund, r.clone()),
        _ => refund,
    };
    let Some(adapter) = app.adapters.get(payment.provider) else {
        return settle(
            app,
            payment.clone(),
            refund,
            Err(Failure::new(
                FailureCode::MerchantAuthenticationFailed,
                None,
            )),
        )
        .await;
    };
    let Some(charge) = payment.provider_reference.clone() else {
        return settle(
            app,
            payment.clone(),
            refund,
            Err(Failure::new(
                FailureCode::Unknown,
                Some("NO_CHARGE_REFERENCE".into()),
            )),
        )
        .await;
    };
    let asking_create = refund.provider_reference.is_none();
    let outcome = match &refund.provider_reference {
        Some(provider_ref) => adapter.refund_status(&charge, provider_ref).await,
        None => {
            adapter
                .refund(&RefundRequest {
                    refund_id: &refund.id,
                    payment_id: &payment.id,
                    charge_reference: &charge,
                    amount: refund.amount,
                    reason: refund.reason,
                })
                .await
        }
    };
    match outcome {
        Ok(RefundOutcome::Succeeded { provider_reference }) => {
            settle(
                app,
                payment.clone(),
                with_reference(refund, provider_reference),
                Ok(()),
            )
            .await
        }
        Ok(RefundOutcome::Failed {
            provider_reference,
            failure,
        }) => {
            let r = match provider_reference {
                Some(p) => with_reference(refund, p),
                None => refund,
            };
            settle(app, payment.clone(), r, Err(failure)).await
        }
        Ok(RefundOutcome::Pending { provider_reference }) => {
            if refund.provider_reference.is_none() {
                // The provider took it: its reference goes on the refund now, so the
                // provider's webhook about this refund can be matched to it.
                record_submitted(app, payment.clone(), &refund.id, &provider_reference).await?;
            }
            retry_later(app, with_reference(refund, provider_reference), &job).await
        }
        // Only the provider's own refusal of the refund request fails a refund. Asking
        // about one it took, a connection that never opened, or our own configuration
        // tells nothing about whether money moved: those wait and ask again (after the last
        // attempt, reconciliation settles it).
        Err(AdapterError::Declined(failure))
            if asking_create && failure.code != FailureCode::WalletUnavailable =>
        {
            settle(app, payment.clone(), refund, Err(failure)).await
        }
        Err(AdapterError::Unsupported(why)) if asking_create => {
            tracing::error!(refund = %refund.id, %why, "provider refused the refund request");
            settle(
                app,
                payment.clone(),
                refund,
                Err(Failure::new(
                    FailureCode::Unknown,
                    Some("UNSUPPORTED_REQUEST".into()),
                )),
            )
            .await
        }
        Err(AdapterError::Config(why)) => {
            tracing::error!(refund = %refund.id, %why, "provider credentials missing or refused; refund waits");
            retry_later(app, refund, &job).await
        }
        Err(e) => {
            tracing::warn!(refund = %refund.id, error = %e, "refund outcome unknown; will ask again");
            retry_later(app, refund, &job).await
        }
    }
}

fn with_reference(mut r: Refund, provider_reference: String) -> Refund {
    r.provider_reference = Some(provider_reference);
    r
}

/// Schedules the next look, counting the attempt and keeping the provider's reference in
/// the job.
async fn retry_later(app: &App, refund: Refund, job: &RefundJob) -> Result<Worked, WorkError> {
    let now = app.clock.now();
    let attempts = job.attempts + 1;
    if attempts >= app.settings.refund_max_attempts {
        tracing::error!(refund = %refund.id, attempts, provider_reference = ?refund.provider_reference, "refund still pending after the last attempt; reconciliation will settle it");
        return Ok(Worked::GaveUp);
    }
    let delays = &app.settings.refund_retry_delays;
    let delay = delays
        .get(attempts as usize - 1)
        .or(delays.last())
        .copied()
        .unwrap_or(Duration::from_secs(60));
    let next = RefundJob {
        due_at: now.plus_millis(ms(delay)),
        attempts,
        provider_reference: refund.provider_reference.clone(),
        ..job.clone()
    };
    enqueue(app, &next).await?;
    Ok(Worked::Retrying(attempts))
}

/// Makes a pending refund final and applies it to the payment, in one write: a success
/// moves the payment to partially refunded or refunded, a failure releases the reservation.
/// A failure that finds the refund already succeeded (it lost the race to the success) is
/// the provider undoing it.
async fn settle(
    app: &App,
    first: Payment,
    refund: Refund,
    result: Result<(), Failure>,
) -> Result<Worked, WorkError> {
    let refund_id = refund.id.clone();
    let (status, event) = match &result {
        Ok(()) => (
            RefundStatus::Succeeded,
            PaymentEvent::RefundSucceeded {
                refund_id: refund_id.to_string(),
            },
        ),
        Err(_) => (
            RefundStatus::Failed,
            PaymentEvent::RefundFailed {
                refund_id: refund_id.to_string(),
            },
        ),
    };
    let failure = result.err();
    let written = write_refund_change(app, first, &refund_id, &event, "refund_worker", |line| {
        line.failure = failure.clone();
        if line.provider_reference.is_none() {
            line.provider_reference = refund.provider_reference.clone();
        }
    })
    .await?;
    match (written, failure) {
        (Written::Done, _) => {
            tracing::info!(refund = %refund_id, status = status.as_str(), "refund settled");
            Ok(Worked::Done(status))
        }
        (Written::AlreadyFinal(p), Some(why))
            if find_refund(&p, &refund_id).map(|r| r.status) == Some(RefundStatus::Succeeded) =>
        {
            reverse(app, *p, &refund_id, &why).await
        }
        (Written::AlreadyFinal(p), _) => Ok(Worked::Done(
            find_refund(&p, &refund_id).map_or(status, |r| r.status),
        )),
    }
}

/// What writing a refund's change came to.
enum Written {
    Done,
    /// The event no longer applies (another writer made the refund final): the payment as
    /// it stands.
    AlreadyFinal(Box<Payment>),
}

/// Applies a refund's event to its payment with one conditional write (the next version,
/// with its history entry, announced), re-reading and deciding again on a conflict;
/// `change` fills in the refund's line once the event applies.
async fn write_refund_change(
    app: &App,
    first: Payment,
    refund_id: &RefundId,
    event: &PaymentEvent,
    source: &str,
    change: impl Fn(&mut walletpay_domain::RefundLine),
) -> Result<Written, WorkError> {
    let payment_id = first.id.clone();
    let mut current = Some(first);
    for _ in 0..20 {
        let mut payment = match current.take() {
            Some(p) => p,
            None => app
                .store
                .get_payment(&payment_id)
                .await?
                .ok_or_else(|| WorkError::NotYetWritten(refund_id.clone()))?,
        };
        let from = payment.status;
        if !matches!(payment.apply(event, app.clock.now()), Decision::Move { .. }) {
            return Ok(Written::AlreadyFinal(Box::new(payment)));
        }
        if let Some(line) = payment.refund_line_mut(refund_id.as_str()) {
            change(line);
        }
        let entry = history(&payment, from, event, source, Some(refund_id.to_string()));
        crate::notifications::announce(app, &entry, &payment).await?;
        match app.store.update_payment(&payment, &entry).await {
            Ok(()) => return Ok(Written::Done),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(WorkError::Contention(refund_id.clone()))
}

/// A refund's outcome from the payment's own provider (the caller checked that): settles
/// the refund of `payment` the update is about, found by the provider's reference for it
/// or, before the worker recorded that, by our refund id when the provider echoes it. A
/// refund already recorded under another reference is not this update's: `Dropped`.
/// `Unmatched` when no refund is found yet (the worker records the reference as soon as the
/// provider answers; the message is retried). A failure reported for a refund that
/// succeeded is the provider reversing it.
pub async fn apply_refund_update(
    app: &App,
    payment: Payment,
    update: &walletpay_wallet_adapter::RefundUpdate,
) -> Result<Worked, WorkError> {
    let by_reference = payment
        .refunds
        .iter()
        .find(|l| l.provider_reference.as_deref() == Some(update.provider_reference.as_str()));
    let line = match by_reference {
        Some(l) => l.clone(),
        None => {
            let ours = update
                .refund_id
                .as_deref()
                .and_then(|ours| payment.refunds.iter().find(|l| l.refund_id == ours));
            // A reversal can come under a reference of its own; an update that names our refund
            // under another reference than the one recorded is otherwise not about it.
            let reversal = |l: &walletpay_domain::RefundLine| {
                l.state == walletpay_domain::RefundState::Succeeded && update.outcome.is_err()
            };
            match ours {
                Some(l) if l.provider_reference.is_some() && !reversal(l) => {
                    tracing::warn!(payment = %payment.id, refund = %l.refund_id, reference = %update.provider_reference, "refund event names another refund reference than the one recorded; dropped");
                    return Ok(Worked::Dropped);
                }
                Some(l) => l.clone(),
                None => return Err(WorkError::Unmatched(update.provider_reference.clone())),
            }
        }
    };
    let Some(refund) = Refund::of(&payment, &line) else {
        return Ok(Worked::Dropped);
    };
    if let Some(amount) = update.amount.filter(|a| *a != refund.amount) {
        // A refund made or undone in part is not what we asked for: a person looks at it.
        tracing::error!(payment = %payment.id, refund = %refund.id, reported = %amount, ours = %refund.amount, "the provider reports a refund of another amount; not applied, reconcile");
        return Ok(Worked::Dropped);
    }
    let refund = match refund.provider_reference {
        None => with_reference(refund, update.provider_reference.clone()),
        Some(_) => refund,
    };
    match (refund.status, &update.outcome) {
        (RefundStatus::Pending, outcome) => settle(app, payment, refund, outcome.clone()).await,
        (RefundStatus::Succeeded, Err(why)) => reverse(app, payment, &refund.id, why).await,
        (status, _) => Ok(Worked::Done(status)),
    }
}

/// A refund the provider reported made, then undid: the refund becomes `reversed` and its
/// amount refundable again, in one write, announced as `refund.reversed`.
pub async fn reverse(
    app: &App,
    first: Payment,
    refund_id: &RefundId,
    why: &Failure,
) -> Result<Worked, WorkError> {
    let event = PaymentEvent::RefundReversed {
        refund_id: refund_id.to_string(),
    };
    let payment_id = first.id.clone();
    match write_refund_change(app, first, refund_id, &event, "webhook", |line| {
        line.failure = Some(why.clone());
    })
    .await?
    {
        Written::Done => {
            tracing::error!(payment = %payment_id, refund = %refund_id, provider_code = ?why.provider_code, "the provider reversed a refund it had made; the amount is refundable again");
            Ok(Worked::Done(RefundStatus::Reversed))
        }
        Written::AlreadyFinal(p) => Ok(Worked::Done(
            find_refund(&p, refund_id).map_or(RefundStatus::Reversed, |r| r.status),
        )),
    }
}

/// Records the provider's reference of a refund it took but has not settled (one version
/// of the payment, announced as `refund.updated`; the refund stays pending).
async fn record_submitted(
    app: &App,
    first: Payment,
    refund_id: &RefundId,
    provider_reference: &str,
) -> Result<(), WorkError> {
    let payment_id = first.id.clone();
    let mut current = Some(first);
    for _ in 0..20 {
        let mut p = match current.take() {
            Some(p) => p,
            None => app
                .store
                .get_payment(&payment_id)
                .await?
                .ok_or_else(|| WorkError::NotYetWritten(refund_id.clone()))?,
        };
        let Some(line) = p.refund_line_mut(refund_id.as_str()) else {
            return Ok(());
        };
        if line.state != walletpay_domain::RefundState::Pending || line.provider_reference.is_some()
        {
            return Ok(());
        }
        let now = app.clock.now();
        line.provider_reference = Some(provider_reference.to_string());
        line.updated_at = now;
        p.version += 1;
        p.updated_at = now;
        let entry = HistoryEntry {
            payment_id: p.id.clone(),
            merchant_id: p.merchant_id.clone(),
            seq: p.version,
            at: now,
            event: "refund_submitted".into(),
            from: Some(p.status),
            to: p.status,
            source: "refund_worker".into(),
            detail: Some(refund_id.to_string()),
        };
        crate::notifications::announce(app, &entry, &p).await?;
        match app.store.update_payment(&p, &entry).await {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict) => current = None,
            Err(e) => return Err(e.into()),
        }
    }
    Err(WorkError::Contention(refund_id.clone()))
}

/// The refund job of a success that arrived after the payment expired or was canceled, when
/// the merchant asked for such successes to be refunded. Queued before the late success is
/// written: should the writer die right after its write, the worker makes the refund
/// itself. The refund id derives from the payment, so one refund is made however often
/// this runs for one payment.
pub async fn late_success_job(
    app: &App,
    payment: &Payment,
) -> Result<Option<RefundJob>, StoreError> {
    // A merchant that cannot be read fails the change (it is retried), rather than let a
    // late success go by without the refund the merchant may have asked for.
    let Some(merchant) = crate::merchant::cached(app, &payment.merchant_id).await? else {
        return Ok(None);
    };
    if !merchant.refund_late_successes {
        return Ok(None);
    }
    let seed =
        u128::from_str_radix(&hex::encode(&payment.id.body().as_bytes()[10..]), 16).unwrap_or(0);
    let now = app.clock.now();
    Ok(Some(RefundJob {
        payment_id: payment.id.clone(),
        refund_id: RefundId::new(payment.created_at.millis(), seed),
        due_at: now,
        attempts: 0,
        provider_reference: None,
        requested_at: now,
        late_success: true,
    }))
}

/// Queues a late success's refund job (see `late_success_job`).
pub async fn queue_late_success_refund(app: &App, job: &RefundJob) -> Result<(), QueueError> {
    enqueue(app, job).await
}

/// Reserves the refund of a late success (the whole amount).
async fn reserve_late_success(app: &App, payment: Payment, refund_id: &RefundId) -> Option<Refund> {
    let new = NewRefund {
        amount: None,
        reason: RefundReason::Other,
        merchant_reference: Some("late_success".into()),
    };
    let id = payment.id.clone();
    match reserve(app, payment, refund_id, &new).await {
        Ok(r) => {
            tracing::info!(payment = %id, refund = %r.id, "late success refunded automatically");
            Some(r)
        }
        Err(e) => {
            tracing::error!(payment = %id, code = e.code, "late-success refund not made");
            None
        }
    }
}

/// After the late success is written: reserves its refund at once (the queued job then
/// finds it).
pub async fn refund_late_success(app: &App, payment: &Payment, job: &RefundJob) {
    reserve_late_success(app, payment.clone(), &job.refund_id).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{app_with, Script};

    /// A payment paid at the scripted provider with one refund waiting there.
    async fn with_pending_refund(app: &App) -> (Payment, RefundId) {
        let p = crate::testing::payment(app, Some("ch_1")).await;
        let (p, _) = crate::transition::transition(
            app,
            &p.id.clone(),
            Some(p),
            &PaymentEvent::Succeeded,
            "webhook",
            None,
        )
        .await
        .unwrap();
        let refund_id = RefundId::new(app.clock.now().millis(), 3);
        let new = NewRefund {
            amount: Some(5_000_000),
            reason: RefundReason::RequestedByCustomer,
            merchant_reference: None,
        };
        let id = p.id.clone();
        reserve(app, p, &refund_id, &new).await.unwrap();
        let p = app.store.get_payment(&id).await.unwrap().unwrap();
        (p, refund_id)
    }

    /// The provider's success and its later reversal are applied at once: the reversal,
    /// reading the refund still pending, loses the race to the success, and is applied as
    /// the reversal it is, not dropped.
    #[tokio::test]
    async fn a_reversal_that_loses_the_race_to_the_success_is_still_applied() {
        let (app, _) = app_with(Script::default());
        let (stale, refund_id) = with_pending_refund(&app).await;
        let id = stale.id.clone();
        let refund = find_refund(&stale, &refund_id).unwrap();
        assert_eq!(
            settle(&app, stale.clone(), refund.clone(), Ok(()))
                .await
                .unwrap(),
            Worked::Done(RefundStatus::Succeeded)
        );
        let why = Failure::new(FailureCode::Unknown, Some("REFUNDED_REVERSED".into()));
        assert_eq!(
            settle(&app, stale, refund, Err(why)).await.unwrap(),
            Worked::Done(RefundStatus::Reversed)
        );
        let p = app.store.get_payment(&id).await.unwrap().unwrap();
        assert_eq!(p.status, walletpay_domain::PaymentStatus::Succeeded);
        assert_eq!(p.refundable_minor(), p.amount.minor);
    }

    #[tokio::test]
    async fn a_refund_job_for_a_payment_that_does_not_exist_is_dropped_not_retried() {
        let (app, adapter) = app_with(Script::default());
        let now = app.clock.now();
        let job = RefundJob {
            payment_id: PaymentId::parse("pay_01m8ab8makqqg641md11702kgn").unwrap(),
            refund_id: RefundId::new(now.millis(), 1),
            due_at: now,
            attempts: 0,
            provider_reference: None,
            requested_at: now,
            late_success: false,
        };
        let body = serde_json::to_string(&job).unwrap();
        assert_eq!(
            process_refund_job(&app, &body).await.unwrap(),
            Worked::Dropped
        );
        assert!(adapter.calls().is_empty());
    }
}
