//! The refund worker: one job at a time, read as two steps. First the pending refund is
//! found and its provider asked (`ask`: the refund request the first time, a status query
//! once the provider took it); then its answer is applied (`apply`): settled, recorded as
//! submitted and looked at again later, or retried with backoff. Refund webhooks come in
//! through `apply_refund_update`; a provider undoing a refund it made, through `reverse`.

use super::late_success::reserve_late_success;
use super::{enqueue, find_refund, history, RefundJob};
use crate::app::App;
use crate::idempotency::ms;
use crate::status::send_due;
use std::time::Duration;
use walletpay_domain::{
    Decision, Failure, FailureCode, Payment, PaymentEvent, Refund, RefundId, RefundLine,
    RefundState, RefundStatus,
};
use walletpay_ports::{HistoryEntry, QueueError, StoreError};
use walletpay_wallet_adapter::{AdapterError, RefundOutcome, RefundRequest, RefundUpdate};

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

/// Handles one refund job: finds its pending refund, asks the provider about it, applies
/// the answer.
pub async fn process_refund_job(app: &App, body: &str) -> Result<Worked, WorkError> {
    let job: RefundJob =
        serde_json::from_str(body).map_err(|e| WorkError::Malformed(e.to_string()))?;
    let now = app.clock.now();
    if job.due_at > now {
        send_due(app.refunds.as_ref(), body, job.due_at, now).await?;
        return Ok(Worked::Deferred);
    }
    let (payment, refund) = match find_pending(app, &job).await? {
        Pending::Found(payment, refund) => (payment, refund),
        Pending::Nothing(worked) => return Ok(worked),
    };
    let answer = ask(app, &payment, &refund).await;
    apply(app, payment, refund, &job, answer).await
}

/// The refund a job is about, if there is still something to do for it. (Returned once per
/// job and taken apart at once: its size does not matter.)
#[allow(clippy::large_enum_variant)]
enum Pending {
    Found(Payment, Refund),
    /// Nothing to ask: the job's answer.
    Nothing(Worked),
}

async fn find_pending(app: &App, job: &RefundJob) -> Result<Pending, WorkError> {
    // A refund is only asked for of a payment that exists: one that does not is not ours
    // to refund, and waiting would change nothing.
    if app.store.get_payment(&job.payment_id).await?.is_none() {
        tracing::warn!(payment = %job.payment_id, refund = %job.refund_id, "refund job for a payment that does not exist; dropped");
        return Ok(Pending::Nothing(Worked::Dropped));
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
        if app.clock.now().millis() - job.requested_at.millis() > 5 * 60 * 1000 {
            return Ok(Pending::Nothing(Worked::Dropped));
        }
        return Err(WorkError::NotYetWritten(job.refund_id.clone()));
    };
    if refund.status != RefundStatus::Pending {
        return Ok(Pending::Nothing(Worked::Done(refund.status)));
    }
    let refund = match (&refund.provider_reference, &job.provider_reference) {
        (None, Some(r)) => with_reference(refund, r.clone()),
        _ => refund,
    };
    Ok(Pending::Found(payment, refund))
}

/// What asking the provider about a pending refund came to.
enum Answer {
    /// It cannot be asked (no adapter for its provider, no charge to refund): the refund
    /// fails with this.
    Unaskable(Failure),
    /// Its answer to the refund request (the first ask).
    ToRequest(Result<RefundOutcome, AdapterError>),
    /// Its answer to a status query about a refund it took.
    ToQuery(Result<RefundOutcome, AdapterError>),
}

async fn ask(app: &App, payment: &Payment, refund: &Refund) -> Answer {
    let Some(adapter) = app.adapters.get(payment.provider) else {
        return Answer::Unaskable(Failure::new(
            FailureCode::MerchantAuthenticationFailed,
            None,
        ));
    };
    let Some(charge) = payment.provider_reference.as_deref() else {
        return Answer::Unaskable(Failure::new(
            FailureCode::Unknown,
            Some("NO_CHARGE_REFERENCE".into()),
        ));
    };
    match &refund.provider_reference {
        Some(provider_ref) => Answer::ToQuery(adapter.refund_status(charge, provider_ref).await),
        None => Answer::ToRequest(
            adapter
                .refund(&RefundRequest {
                    refund_id: &refund.id,
                    payment_id: &payment.id,
                    charge_reference: charge,
                    amount: refund.amount,
                    reason: refund.reason,
                })
                .await,
        ),
    }
}

/// Applies the provider's answer to the refund.
async fn apply(
    app: &App,
    payment: Payment,
    refund: Refund,
    job: &RefundJob,
    answer: Answer,
) -> Result<Worked, WorkError> {
    let (asking_create, outcome) = match answer {
        Answer::Unaskable(failure) => return settle(app, payment, refund, Err(failure)).await,
        Answer::ToRequest(outcome) => (true, outcome),
        Answer::ToQuery(outcome) => (false, outcome),
    };
    match outcome {
        Ok(RefundOutcome::Succeeded { provider_reference }) => {
            settle(
                app,
                payment,
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
            settle(app, payment, r, Err(failure)).await
        }
        Ok(RefundOutcome::Pending { provider_reference }) => {
            if refund.provider_reference.is_none() {
                // The provider took it: its reference goes on the refund now, so the
                // provider's webhook about this refund can be matched to it.
                record_submitted(app, payment, &refund.id, &provider_reference).await?;
            }
            retry_later(app, with_reference(refund, provider_reference), job).await
        }
        // Only the provider's own refusal of the refund request fails a refund. Asking
        // about one it took, a connection that never opened, or our own configuration
        // tells nothing about whether money moved: those wait and ask again (after the last
        // attempt, reconciliation settles it).
        Err(AdapterError::Declined(failure))
            if asking_create && failure.code != FailureCode::WalletUnavailable =>
        {
            settle(app, payment, refund, Err(failure)).await
        }
        Err(AdapterError::Unsupported(why)) if asking_create => {
            tracing::error!(refund = %refund.id, %why, "provider refused the refund request");
            settle(
                app,
                payment,
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
            retry_later(app, refund, job).await
        }
        Err(e) => {
            tracing::warn!(refund = %refund.id, error = %e, "refund outcome unknown; will ask again");
            retry_later(app, refund, job).await
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
    change: impl Fn(&mut RefundLine),
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
    update: &RefundUpdate,
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
            let reversal =
                |l: &RefundLine| l.state == RefundState::Succeeded && update.outcome.is_err();
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

/// A refund reconciliation found made in the provider's settlement data while we show it
/// pending: it succeeds (one version, source `reconciliation`, announced as
/// `refund.succeeded`). A refund no longer pending is left as it is.
pub async fn heal_refund(
    app: &App,
    payment_id: &walletpay_domain::PaymentId,
    refund_id: &RefundId,
) -> Result<bool, WorkError> {
    let Some(first) = app.store.get_payment(payment_id).await? else {
        return Ok(false);
    };
    if first
        .refund_line(refund_id.as_str())
        .is_none_or(|l| l.state != RefundState::Pending)
    {
        return Ok(false);
    }
    let event = PaymentEvent::RefundSucceeded {
        refund_id: refund_id.to_string(),
    };
    let written = write_refund_change(
        app,
        first,
        refund_id,
        &event,
        walletpay_ports::reconcile::RECONCILIATION,
        |_| {},
    )
    .await?;
    Ok(matches!(written, Written::Done))
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
        if line.state != RefundState::Pending || line.provider_reference.is_some() {
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

#[cfg(test)]
mod tests {
    use super::super::api::reserve;
    use super::super::request::NewRefund;
    use super::*;
    use crate::testing::{app_with, Script};
    use walletpay_domain::{PaymentId, RefundReason};

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
