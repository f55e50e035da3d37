//! The refund API: create (reserve the amount and write the refund in one conditional write
//! of the payment, the job queued first), read one, list a payment's.

use super::request::{parse, NewRefund};
use super::{enqueue, find_refund, history, RefundJob};
use crate::app::App;
use crate::error::{ApiError, Reply};
use crate::idempotency::{check_key, claim, finish, Claim};
use crate::payments::{load_own, MAX_BODY_BYTES};
use serde_json::{json, Value};
use walletpay_domain::{
    Decision, Lang, MerchantId, Money, Payment, PaymentEvent, Refund, RefundId, RefundRefusal,
    RefundStatus,
};
use walletpay_ports::StoreError;
use walletpay_wallet_adapter::{RefundCheck, RefundSupport};

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
    // The key first: a retry of a refund already made answers that refund, whatever the
    // payment has become since (a full refund leaves nothing refundable).
    let scoped_key = format!("refunds:{}:{}", payment.id, key.as_str());
    let now = app.clock.now();
    let record = crate::idempotency::new_record(
        app,
        merchant,
        &scoped_key,
        &value,
        payment.id.clone(),
        Some(RefundId::new(now.millis(), rand::random())),
    );
    let (refund_id, taken_over) = match claim(app, &record).await? {
        Claim::Replay(reply) => return Ok(reply),
        Claim::Owned(owned) => (owned.refund_id, false),
        Claim::TakenOver(owned) => (owned.refund_id, true),
    };
    let refund_id = refund_id.expect("refund claims carry a refund id");
    // A request that died after reserving this refund: it stands, and `reserve` finds it.
    // Otherwise the refund is checked against the payment and its provider now, before
    // anything is reserved; a refusal frees the key for a corrected request, and a provider
    // that cannot be asked decides nothing (503, the key free for a retry).
    let reserved = taken_over && payment.refund_line(refund_id.as_str()).is_some();
    if !reserved {
        let checked = match refusal(&payment, new.amount) {
            Some(e) => Err(e),
            None => provider_takes(app, &payment, new.amount).await,
        };
        if let Err(e) = checked {
            let _ = app.store.release_idempotent(merchant, &scoped_key).await;
            return Err(e);
        }
    }
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

/// Why the payment cannot be refunded by `amount` (`None`: what is left), if it cannot.
fn refusal(payment: &Payment, amount: Option<i64>) -> Option<ApiError> {
    if !payment.status.is_paid() {
        return Some(not_refundable(payment));
    }
    match amount {
        Some(a) => {
            let m = Money {
                minor: a,
                currency: payment.amount.currency,
            };
            if m.whole_major().is_err() && m.currency == walletpay_domain::Currency::IDR {
                return Some(
                    ApiError::new(
                        422,
                        "amount_not_payable",
                        "IDR refunds must be whole rupiah.",
                    )
                    .field("amount"),
                );
            }
            (a > payment.refundable_minor()).then(|| exceeds(payment.refundable_minor(), payment))
        }
        None => (payment.refundable_minor() == 0).then(|| exceeds(0, payment)),
    }
}

/// Asks the payment's provider whether it can make this refund.
async fn provider_takes(app: &App, payment: &Payment, amount: Option<i64>) -> Result<(), ApiError> {
    let Some(adapter) = app.adapters.get(payment.provider) else {
        // The worker fails a refund of a provider that is not configured, clearly.
        return Ok(());
    };
    let Some(charge) = payment.provider_reference.as_deref() else {
        return Ok(());
    };
    let minor = amount.unwrap_or(payment.refundable_minor());
    let check = RefundCheck {
        country: payment.country,
        wallet: payment.wallet,
        charge_reference: charge,
        amount: Money {
            minor,
            currency: payment.amount.currency,
        },
        partial: minor < payment.amount.minor,
    };
    match adapter.refund_support(&check).await {
        Ok(RefundSupport::Supported) => Ok(()),
        Ok(RefundSupport::Refused(why)) => Err(ApiError::new(422, "refund_not_supported", why)),
        Err(e) => {
            tracing::warn!(payment = %payment.id, error = %e, "the provider could not say whether it can make the refund");
            Err(ApiError::new(
                503,
                "service_unavailable",
                "The payment's provider could not be asked whether it can make this refund. Nothing was reserved; retry with the same Idempotency-Key.",
            ))
        }
    }
}

/// Reserves the amount and writes the refund, in one conditional write, re-reading the
/// payment when a concurrent writer got there first.
pub(super) async fn reserve(
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
            line.merchant_reference = new
                .merchant_reference
                .as_ref()
                .map(|r| r.as_str().to_string());
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
                crate::contention::pause(attempt).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idempotency::request_hash;
    use crate::testing::{app_with, payment, Script};
    use walletpay_domain::PaymentStatus;
    use walletpay_ports::{IdempotencyRecord, IdempotencyState};
    use walletpay_wallet_adapter::AdapterError;

    async fn paid(app: &App) -> Payment {
        let p = payment(app, Some("ch_1")).await;
        crate::transition::transition(
            app,
            &p.id.clone(),
            Some(p),
            &PaymentEvent::Succeeded,
            "webhook",
            None,
        )
        .await
        .unwrap()
        .0
    }

    async fn refundable(app: &App, p: &Payment) -> i64 {
        app.store
            .get_payment(&p.id)
            .await
            .unwrap()
            .unwrap()
            .refundable_minor()
    }

    /// A provider that cannot be asked whether it can make the refund decides nothing: 503,
    /// nothing reserved, and the key free for the retry; one that says it cannot: 422
    /// `refund_not_supported`, nothing reserved.
    #[tokio::test]
    async fn a_refund_the_provider_cannot_confirm_or_make_reserves_nothing() {
        let (app, _) = app_with(Script {
            refund_support: Err(AdapterError::Unknown("timed out".into())),
            ..Script::default()
        });
        let p = paid(&app).await;
        let e = create_refund(
            &app,
            &p.merchant_id,
            p.id.as_str(),
            Some("k-1"),
            b"{}",
            None,
        )
        .await
        .unwrap_err();
        assert_eq!((e.status, e.code), (503, "service_unavailable"));
        assert_eq!(refundable(&app, &p).await, p.amount.minor);
        let (app2, _) = app_with(Script {
            refund_support: Ok(RefundSupport::Refused("not for this issuer".into())),
            ..Script::default()
        });
        let q = paid(&app2).await;
        let e = create_refund(
            &app2,
            &q.merchant_id,
            q.id.as_str(),
            Some("k-1"),
            b"{}",
            None,
        )
        .await
        .unwrap_err();
        assert_eq!((e.status, e.code), (422, "refund_not_supported"));
        assert_eq!(e.message, "not for this issuer");
        assert_eq!(refundable(&app2, &q).await, q.amount.minor);
        // The keys were freed: a retry under them starts afresh.
        for (a, x) in [(&app, &p), (&app2, &q)] {
            let key = format!("refunds:{}:k-1", x.id);
            assert!(a
                .store
                .get_idempotent(&x.merchant_id, &key)
                .await
                .unwrap()
                .is_none());
        }
    }

    /// A request that reserved its refund and died before answering: the retry under the
    /// same key takes its claim over and answers that refund, without asking the provider
    /// again (its answer may have changed) and without ever releasing the key, so no second
    /// refund can be made under a new id.
    #[tokio::test]
    async fn a_taken_over_refund_stands_without_a_second_check() {
        let (app, adapter) = app_with(Script {
            refund_support: Err(AdapterError::Unknown("the provider is down now".into())),
            ..Script::default()
        });
        let p = paid(&app).await;
        let now = app.clock.now();
        let refund_id = RefundId::new(now.millis(), 9);
        let scoped_key = format!("refunds:{}:k-dead", p.id);
        let record = IdempotencyRecord {
            merchant_id: p.merchant_id.clone(),
            key: scoped_key.clone(),
            request_hash: request_hash(&json!({})),
            payment_id: p.id.clone(),
            refund_id: Some(refund_id.clone()),
            state: IdempotencyState::InProgress,
            // The request holding it died long ago.
            lease_until: now.plus_millis(-60_000),
            expires_at: now.plus_millis(3_600_000),
        };
        assert!(matches!(
            claim(&app, &record).await.unwrap(),
            Claim::Owned(_)
        ));
        let new = NewRefund {
            amount: None,
            reason: walletpay_domain::RefundReason::RequestedByCustomer,
            merchant_reference: None,
        };
        reserve(&app, p.clone(), &refund_id, &new).await.unwrap();
        let answer = create_refund(
            &app,
            &p.merchant_id,
            p.id.as_str(),
            Some("k-dead"),
            b"{}",
            None,
        )
        .await
        .unwrap();
        assert_eq!(answer.status, 201, "{}", answer.body);
        assert!(answer.body.contains(refund_id.as_str()), "{}", answer.body);
        assert!(
            !adapter
                .calls()
                .iter()
                .any(|c| c.starts_with("refund_support")),
            "the provider was not asked again: {:?}",
            adapter.calls()
        );
        let stored = app.store.get_payment(&p.id).await.unwrap().unwrap();
        assert_eq!(stored.refunds.len(), 1, "one refund, not two");
        assert_eq!(stored.status, PaymentStatus::Succeeded);
    }

    /// A retry of a full refund, once made, answers that refund again: nothing is left to
    /// refund, but the retry is the same request, not a new one.
    #[tokio::test]
    async fn a_retried_full_refund_answers_the_refund_made() {
        let (app, _) = app_with(Script::default());
        let p = paid(&app).await;
        let first = create_refund(
            &app,
            &p.merchant_id,
            p.id.as_str(),
            Some("k-full"),
            b"{}",
            None,
        )
        .await
        .unwrap();
        assert_eq!(first.status, 201);
        assert_eq!(refundable(&app, &p).await, 0);
        let again = create_refund(
            &app,
            &p.merchant_id,
            p.id.as_str(),
            Some("k-full"),
            b"{}",
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            (again.status, again.body.as_str()),
            (201, first.body.as_str())
        );
        // A new request for more is refused, and frees its key.
        let more = create_refund(
            &app,
            &p.merchant_id,
            p.id.as_str(),
            Some("k-more"),
            b"{}",
            None,
        )
        .await
        .unwrap_err();
        assert_eq!(more.code, "refund_exceeds_refundable");
        let key = format!("refunds:{}:k-more", p.id);
        assert!(app
            .store
            .get_idempotent(&p.merchant_id, &key)
            .await
            .unwrap()
            .is_none());
    }
}
