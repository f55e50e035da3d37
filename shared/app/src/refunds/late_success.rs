//! The automatic refund of a success that came after its payment expired or was canceled,
//! for merchants who asked for one, and always for a checkout attempt whose order another
//! attempt paid: its job is queued before the late success is written, and the refund
//! reserved right after (or by the worker, should the writer die between). A checkout
//! order paid twice otherwise (a second attempt's success seen by the session) is refunded
//! the same way (`refund_second_payment`).

use super::api::reserve;
use super::request::NewRefund;
use super::{enqueue, RefundJob};
use crate::app::App;
use walletpay_domain::fields::MerchantReference;
use walletpay_domain::{Payment, Refund, RefundId, RefundReason};
use walletpay_ports::{QueueError, StoreError};

/// The refund job of a success that arrived after the payment expired or was canceled, when
/// the merchant asked for such successes to be refunded. Queued before the late success is
/// written: should the writer die right after its write, the worker makes the refund
/// itself. The refund id derives from the payment, so one refund is made however often
/// this runs for one payment.
pub async fn late_success_job(
    app: &App,
    payment: &Payment,
) -> Result<Option<RefundJob>, StoreError> {
    if !order_paid_by_another(app, payment).await? {
        // A merchant that cannot be read fails the change (it is retried), rather than let
        // a late success go by without the refund the merchant may have asked for.
        let Some(merchant) = crate::merchant::cached(app, &payment.merchant_id).await? else {
            return Ok(None);
        };
        if !merchant.refund_late_successes {
            return Ok(None);
        }
    }
    Ok(Some(job_for(app, payment)))
}

/// Whether the payment is a checkout attempt whose order another attempt paid.
async fn order_paid_by_another(app: &App, payment: &Payment) -> Result<bool, StoreError> {
    let Some(id) = &payment.checkout_session else {
        return Ok(false);
    };
    let Some(session) = app.store.get_session(id).await? else {
        return Ok(false);
    };
    for other in session
        .attempts
        .iter()
        .filter_map(|a| a.payment_id.as_ref())
    {
        if other == &payment.id {
            continue;
        }
        if let Some(p) = app.store.get_payment(other).await? {
            if p.status.is_paid() {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The refund id a payment's automatic refund has (derived from the payment, so it is
/// made once however often it is asked for).
pub fn automatic_refund_id(payment: &Payment) -> RefundId {
    let seed =
        u128::from_str_radix(&hex::encode(&payment.id.body().as_bytes()[10..]), 16).unwrap_or(0);
    RefundId::new(payment.created_at.millis(), seed)
}

fn job_for(app: &App, payment: &Payment) -> RefundJob {
    let now = app.clock.now();
    RefundJob {
        payment_id: payment.id.clone(),
        refund_id: automatic_refund_id(payment),
        due_at: now,
        attempts: 0,
        provider_reference: None,
        requested_at: now,
        late_success: true,
    }
}

/// Refunds in full a checkout attempt that was paid after another attempt paid its order
/// (once: the refund id derives from the payment).
pub async fn refund_second_payment(app: &App, payment: &Payment) -> Result<(), QueueError> {
    if payment
        .refund_line(automatic_refund_id(payment).as_str())
        .is_some()
    {
        return Ok(());
    }
    tracing::warn!(payment = %payment.id, "a checkout order paid twice: refunding the second payment");
    let job = job_for(app, payment);
    enqueue(app, &job).await?;
    reserve_late_success(app, payment.clone(), &job.refund_id).await;
    Ok(())
}

/// Queues a late success's refund job (see `late_success_job`).
pub async fn queue_late_success_refund(app: &App, job: &RefundJob) -> Result<(), QueueError> {
    enqueue(app, job).await
}

/// Reserves the refund of a late success (the whole amount).
pub(super) async fn reserve_late_success(
    app: &App,
    payment: Payment,
    refund_id: &RefundId,
) -> Option<Refund> {
    let new = NewRefund {
        amount: None,
        reason: RefundReason::Other,
        merchant_reference: MerchantReference::parse("late_success").ok(),
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
