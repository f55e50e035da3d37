//! Refunds: the API (`api`: `POST /v1/payments/{id}/refunds`, `GET .../refunds[/{refund_id}]`),
//! the refund worker (`worker`), the automatic refund of a late success (`late_success`),
//! and the request body (`request`).
//!
//! A refund is part of its payment: the API reserves the amount on the payment's refund
//! ledger and records the refund there, in one conditional write of the payment's next
//! version, before any provider call, so concurrent refunds can never add up to more than
//! was paid. Its job is queued just before that write. The worker calls the provider with
//! the refund id as the provider's idempotency key, retries what fails transiently with
//! backoff (`Settings::refund_retry_delays`: 5 s, 30 s, 2 min, 10 min, 1 h, then every 4 h),
//! and learns the outcome from the answer or later status checks; the job carries the
//! attempt count and the provider's refund reference between looks, so waiting writes
//! nothing. A refund that fails gives its reservation back; one that succeeds moves the
//! payment to `partially_refunded` or `refunded`, in the same write.

mod api;
mod late_success;
mod request;
mod worker;

pub use api::{create_refund, get_refund, list_refunds, refund_json};
pub use late_success::{
    automatic_refund_id, late_success_job, queue_late_success_refund, refund_late_success,
    refund_second_payment,
};
pub use worker::{
    apply_refund_update, heal_refund, process_refund_job, reverse, WorkError, Worked,
};

use crate::app::App;
use crate::status::send_due;
use serde::{Deserialize, Serialize};
use walletpay_domain::{
    Payment, PaymentEvent, PaymentId, PaymentStatus, Refund, RefundId, Timestamp,
};
use walletpay_ports::{HistoryEntry, QueueError};

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

pub(crate) async fn enqueue(app: &App, job: &RefundJob) -> Result<(), QueueError> {
    let body = serde_json::to_string(job).expect("a refund job serialises");
    send_due(app.refunds.as_ref(), &body, job.due_at, app.clock.now()).await
}

/// A refund as its payment records it.
pub fn find_refund(p: &Payment, id: &RefundId) -> Option<Refund> {
    p.refund_line(id.as_str()).and_then(|l| Refund::of(p, l))
}

pub(crate) fn history(
    p: &Payment,
    from: PaymentStatus,
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
