//! The automatic refund of a success that came after its payment expired or was canceled,
//! for merchants who asked for one: its job is queued before the late success is written,
//! and the refund reserved right after (or by the worker, should the writer die between).

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
