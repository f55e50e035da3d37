use crate::app::App;
use walletpay_domain::{Decision, Payment, PaymentEvent, PaymentId};
use walletpay_ports::{HistoryEntry, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error("payment {0} not found")]
    NotFound(PaymentId),
    #[error("payment {0} kept changing under us")]
    Contention(PaymentId),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("notification not queued: {0}")]
    Queue(#[from] walletpay_ports::QueueError),
}

/// Applies `event` to a payment with one conditional write (the new version with its history
/// entry), re-reading and deciding again when another writer got there first. The change's
/// notification is queued just before the write (see `notifications`).
/// `start` is a copy already in hand, to save the first read.
pub async fn transition(
    app: &App,
    id: &PaymentId,
    start: Option<Payment>,
    event: &PaymentEvent,
    source: &str,
    provider_reference: Option<&str>,
) -> Result<(Payment, Decision), TransitionError> {
    write_event(app, id, start, event, source, provider_reference, false).await
}

/// As [`transition`], and the payment's charge becomes `provider_reference` in the same
/// write: for another charge the provider made for this payment that the customer paid (a
/// lost create sent again, where the provider made a second charge).
pub async fn transition_to_charge(
    app: &App,
    id: &PaymentId,
    start: Option<Payment>,
    event: &PaymentEvent,
    source: &str,
    provider_reference: &str,
) -> Result<(Payment, Decision), TransitionError> {
    write_event(
        app,
        id,
        start,
        event,
        source,
        Some(provider_reference),
        true,
    )
    .await
}

async fn write_event(
    app: &App,
    id: &PaymentId,
    start: Option<Payment>,
    event: &PaymentEvent,
    source: &str,
    provider_reference: Option<&str>,
    rebind: bool,
) -> Result<(Payment, Decision), TransitionError> {
    let mut current = start;
    for _ in 0..10 {
        let mut p = match current.take() {
            Some(p) => p,
            None => app
                .store
                .get_payment(id)
                .await?
                .ok_or_else(|| TransitionError::NotFound(id.clone()))?,
        };
        let from = p.status;
        let decision = p.apply(event, app.clock.now());
        if !matches!(decision, Decision::Move { .. }) {
            return Ok((p, decision));
        }
        if p.provider_reference.is_none() || rebind {
            p.provider_reference = provider_reference.map(str::to_string);
        }
        let late = matches!(
            decision,
            Decision::Move {
                late_success: true,
                ..
            }
        );
        let entry = HistoryEntry {
            payment_id: p.id.clone(),
            merchant_id: p.merchant_id.clone(),
            seq: p.version,
            at: p.updated_at,
            event: event.name().to_string(),
            from: Some(from),
            to: p.status,
            source: source.to_string(),
            detail: match event {
                PaymentEvent::Failed { failure } => Some(failure.code.as_str().to_string()),
                PaymentEvent::ReviewApproved { by, .. } => Some(format!("approved by {by}")),
                PaymentEvent::ReviewDeclined { by, .. } => Some(format!("declined by {by}")),
                PaymentEvent::FraudReported { reason } => reason.clone(),
                _ if late => Some("late_success".to_string()),
                _ if rebind => Some("another_charge".to_string()),
                _ => None,
            },
        };
        crate::notifications::announce(app, &entry, &p).await?;
        // A late success's automatic refund is queued before the write, like its event.
        let late_refund = if late {
            crate::refunds::late_success_job(app, &p).await?
        } else {
            None
        };
        if let Some(job) = &late_refund {
            crate::refunds::queue_late_success_refund(app, job).await?;
        }
        match app.store.update_payment(&p, &entry).await {
            Ok(()) => {
                if let Some(job) = &late_refund {
                    crate::refunds::refund_late_success(app, &p, job).await;
                }
                // A late success made with a first-purchase discount: its order, which may
                // have ended unpaid and given the grant back, is settled again now.
                if late && p.incentive.is_some() && p.checkout_session.is_some() {
                    let now = app.clock.now();
                    if let Err(e) = crate::status::schedule_session_end(app, &p.id, now).await {
                        tracing::warn!(payment = %p.id, error = %e, "a late success's order is not settled again yet; its next read does it");
                    }
                }
                // The provider refused: a failed attempt for the device and phone. (Risk
                // control's own refusals are no `Failed` event, so a block never feeds
                // itself.)
                if let PaymentEvent::Failed { .. } = event {
                    crate::risk::count_failure(app, &p).await;
                }
                return Ok((p, decision));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(TransitionError::Contention(id.clone()))
}

/// For a job queued just before the write it is about: reads until that write shows (up to
/// three tries over 250 ms), since the job can reach its consumer a moment before the write
/// lands. `None` if it still does not show; the job then goes back to its queue.
pub async fn read_soon<T, E, F, Fut>(mut read: F) -> Result<Option<T>, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, E>>,
{
    for wait_ms in [0u64, 50, 200] {
        tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
        if let Some(found) = read().await? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}
