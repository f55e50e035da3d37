//! The payment-events consumer: applies verified provider events to payments.

use crate::app::App;
use crate::transition::{transition, TransitionError};
use walletpay_domain::{Decision, PaymentStatus};
use walletpay_wallet_adapter::ProviderEvent;

/// What became of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The payment moved to this status.
    Moved(PaymentStatus),
    /// Duplicate or late: nothing changed.
    Stale,
    /// A refund of the payment is final (by this event or already).
    Refund(walletpay_domain::RefundStatus),
    /// Not for us or not trustworthy; dropped with a log line saying why.
    Ignored(&'static str),
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    /// Bad message on our own queue: retried, then dead-lettered for a person to look at.
    #[error("unreadable payment event: {0}")]
    Malformed(String),
    /// Worth retrying (store unavailable, payment not visible yet, contention).
    #[error(transparent)]
    Transient(#[from] TransitionError),
    /// A provider's hint that could not be confirmed with the provider yet.
    #[error("could not confirm the event for {0} with the provider")]
    Unconfirmed(walletpay_domain::PaymentId),
    /// A refund event that could not be applied yet (or at all: retried, then dead-lettered).
    #[error(transparent)]
    Refund(#[from] crate::refunds::WorkError),
}

/// Applies one queued message.
pub async fn consume_payment_event(app: &App, body: &str) -> Result<Applied, ConsumeError> {
    let event: ProviderEvent =
        serde_json::from_str(body).map_err(|e| ConsumeError::Malformed(e.to_string()))?;
    apply_provider_event(app, &event).await
}

pub async fn apply_provider_event(
    app: &App,
    event: &ProviderEvent,
) -> Result<Applied, ConsumeError> {
    let Some(id) = &event.payment_id else {
        tracing::warn!(provider = %event.provider, reference = %event.provider_reference, "event for a charge we did not create");
        return Ok(Applied::Ignored("unmatched"));
    };
    if let Some(update) = &event.refund {
        return match crate::refunds::apply_refund_update(app, id, update).await? {
            crate::refunds::Worked::Done(status) => {
                tracing::info!(payment = %id, refund = %update.provider_reference, status = status.as_str(), "refund final");
                Ok(Applied::Refund(status))
            }
            _ => Ok(Applied::Ignored("refund_not_pending")),
        };
    }
    let Some(payment_event) = event.status.to_event() else {
        return Ok(Applied::Ignored("pending"));
    };
    let payment = app
        .store
        .get_payment(id)
        .await
        .map_err(TransitionError::from)?
        .ok_or_else(|| TransitionError::NotFound(id.clone()))?;
    if payment.provider != event.provider {
        if payment.route.iter().any(|r| r.provider == event.provider) {
            // A provider the payment failed over from reports on it: failover happens only
            // when that provider refused before acting, so this is for reconciliation.
            tracing::error!(payment = %id, provider = %event.provider, status = ?event.status, "event from a provider this payment failed over from; reconcile");
            return Ok(Applied::Ignored("earlier_provider"));
        }
        tracing::warn!(payment = %id, provider = %event.provider, "event from a provider the payment does not use");
        return Ok(Applied::Ignored("provider_mismatch"));
    }
    if let Some(r) = &payment.provider_reference {
        if r != &event.provider_reference {
            tracing::warn!(payment = %id, reference = %event.provider_reference, "event for another charge of this payment");
            return Ok(Applied::Ignored("reference_mismatch"));
        }
    }
    if let Some(amount) = event.amount {
        if amount != payment.amount {
            tracing::error!(payment = %id, event_amount = %amount, payment_amount = %payment.amount, "provider reports another amount; event not applied");
            return Ok(Applied::Ignored("amount_mismatch"));
        }
    }
    if event.confirm {
        // A hint only: ask the provider, and apply what it says.
        let before = payment.status;
        let (after, answered) = crate::status::ask(app, payment, "webhook").await?;
        if !answered {
            // The hint must not be lost: the message comes back and asks again.
            return Err(ConsumeError::Unconfirmed(id.clone()));
        }
        return Ok(if after.status != before {
            tracing::info!(payment = %id, status = after.status.as_str(), "payment moved (confirmed with the provider)");
            Applied::Moved(after.status)
        } else {
            Applied::Stale
        });
    }
    let (after, decision) = transition(
        app,
        id,
        Some(payment),
        &payment_event,
        "webhook",
        Some(&event.provider_reference),
    )
    .await?;
    Ok(match decision {
        Decision::Move { .. } => {
            tracing::info!(payment = %id, status = after.status.as_str(), "payment moved");
            Applied::Moved(after.status)
        }
        Decision::Stale(_) | Decision::Refused(_) => Applied::Stale,
    })
}
