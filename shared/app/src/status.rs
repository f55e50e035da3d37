//! Status checks: how every payment reaches the provider's truth when webhooks are late,
//! lost or never sent, and how `requires_action` payments expire without table scans.
//!
//! Each non-final payment has one chain of delayed messages on the status-check queue. A
//! check reads the payment, asks the provider where the charge stands (when we know its
//! reference), applies what it learns, and schedules the next check. The chain stops at a
//! final state, or at the horizon (creation + `status_check_horizon`, 24 h by default), after
//! which only webhooks and reconciliation can change the payment.
//!
//! Schedule (`Settings::status_check_delays`): 10 s, 30 s, 2 min, 10 min, 1 h, then every
//! 4 h. SQS delays a message at most 15 minutes, so a longer wait travels as several hops:
//! the message carries its due time and is re-sent until it is due.

use crate::app::App;
use crate::transition::{transition, TransitionError};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use walletpay_domain::{Payment, PaymentEvent, PaymentId, PaymentStatus, Timestamp};
use walletpay_ports::{Queue, QueueError};
use walletpay_wallet_adapter::{AdapterError, ProviderStatus};

/// SQS's longest delay.
const MAX_HOP: Duration = Duration::from_secs(900);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCheck {
    pub payment_id: PaymentId,
    /// 0 for the first check after creation.
    pub attempt: u32,
    pub due_at: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("unreadable status check: {0}")]
    Malformed(String),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// What a check did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// Not due yet: sent on for another hop.
    Deferred,
    /// The payment is where it should stay; no further checks.
    Done(PaymentStatus),
    /// Checked; the next check is scheduled.
    Rescheduled(PaymentStatus),
    /// Past the horizon; checks stop.
    GaveUp(PaymentStatus),
}

fn delay_for(app: &App, attempt: u32) -> Duration {
    let delays = &app.settings.status_check_delays;
    delays
        .get(attempt as usize)
        .or(delays.last())
        .copied()
        .unwrap_or(Duration::from_secs(60))
}

/// Sends `body` to be handled at `due_at`: in one hop if SQS can delay it that long, else
/// in the first of several (the handler sends it on until it is due).
pub(crate) async fn send_due(
    queue: &dyn Queue,
    body: &str,
    due_at: Timestamp,
    now: Timestamp,
) -> Result<(), QueueError> {
    let wait = Duration::from_millis((due_at.millis() - now.millis()).max(0) as u64);
    queue.send(body, wait.min(MAX_HOP)).await
}

async fn send(app: &App, check: &StatusCheck, now: Timestamp) -> Result<(), QueueError> {
    let body = serde_json::to_string(check).expect("a status check serialises");
    send_due(app.status_checks.as_ref(), &body, check.due_at, now).await
}

/// Schedules check number `attempt` for a payment.
pub async fn schedule(app: &App, id: &PaymentId, attempt: u32) -> Result<(), QueueError> {
    let now = app.clock.now();
    let due_at = now.plus_millis(delay_for(app, attempt).as_millis() as i64);
    send(
        app,
        &StatusCheck {
            payment_id: id.clone(),
            attempt,
            due_at,
        },
        now,
    )
    .await
}

/// Whether the provider could still change this payment, so checking is worth it.
fn worth_checking(p: &Payment) -> bool {
    match p.status {
        PaymentStatus::Processing | PaymentStatus::RequiresAction => true,
        // The customer may still approve at the provider after we stopped waiting: money
        // taken must be seen. Only a charge we know can be asked about.
        PaymentStatus::Expired | PaymentStatus::Canceled => p.provider_reference.is_some(),
        _ => false,
    }
}

/// Asks the provider about one payment now and applies the answer. Used by the status
/// checks and by `GET /v1/payments/{id}?refresh=true`. A payment past its expiry that the
/// provider could not be asked about is left as it is (it may have been paid).
pub async fn refresh(
    app: &App,
    payment: Payment,
    source: &str,
) -> Result<Payment, TransitionError> {
    Ok(ask(app, payment, source).await?.0)
}

/// As `refresh`, and whether the provider answered.
pub async fn ask(
    app: &App,
    payment: Payment,
    source: &str,
) -> Result<(Payment, bool), TransitionError> {
    let now = app.clock.now();
    let overdue = now >= payment.expires_at;
    let mut event = None;
    let mut answered = true;
    let payment = match (
        &payment.provider_reference,
        app.adapters.get(payment.provider),
    ) {
        (None, Some(adapter)) if payment.status == PaymentStatus::Processing => {
            recover(app, adapter.as_ref(), payment, source).await?
        }
        _ => payment,
    };
    if let (Some(reference), Some(adapter)) = (
        &payment.provider_reference,
        app.adapters.get(payment.provider),
    ) {
        match adapter.charge_status(reference).await {
            Ok(ProviderStatus::Pending) => {}
            Ok(status) => event = status.to_event(),
            Err(AdapterError::NotFound) => {}
            Err(e) => {
                answered = false;
                tracing::warn!(payment = %payment.id, error = %e, "status check could not reach the provider")
            }
        }
    }
    if event.is_none() && overdue && answered && !payment.status.is_terminal() {
        event = Some(PaymentEvent::Expired);
    }
    match event {
        Some(e) => {
            let reference = payment.provider_reference.clone();
            let id = payment.id.clone();
            let (p, _) =
                transition(app, &id, Some(payment), &e, source, reference.as_deref()).await?;
            Ok((p, answered))
        }
        None => Ok((payment, answered)),
    }
}

/// A payment whose create had an unknown outcome has no provider reference: asks the
/// provider for the charge made for it (where the provider can say without charging
/// again) and records it as the create's answer would have been.
async fn recover(
    app: &App,
    adapter: &dyn walletpay_wallet_adapter::WalletAdapter,
    payment: Payment,
    source: &str,
) -> Result<Payment, TransitionError> {
    let found = match adapter
        .recover_charge(&crate::payments::charge_request(&payment))
        .await
    {
        Ok(Some(created)) => created,
        Ok(None) => return Ok(payment),
        Err(e) => {
            tracing::info!(payment = %payment.id, error = %e, "the charge behind an unknown create is still unknown");
            return Ok(payment);
        }
    };
    let reference = found.provider_reference.clone();
    let id = payment.id.clone();
    let (p, _) = transition(
        app,
        &id,
        Some(payment),
        &PaymentEvent::Accepted {
            provider_reference: found.provider_reference,
            next_action: found.next_action,
        },
        source,
        Some(&reference),
    )
    .await?;
    Ok(p)
}

/// Handles one status-check message.
pub async fn run_check(app: &App, body: &str) -> Result<Checked, CheckError> {
    let check: StatusCheck =
        serde_json::from_str(body).map_err(|e| CheckError::Malformed(e.to_string()))?;
    let now = app.clock.now();
    if check.due_at > now {
        send(app, &check, now).await?;
        return Ok(Checked::Deferred);
    }
    let Some(payment) = app
        .store
        .get_payment(&check.payment_id)
        .await
        .map_err(TransitionError::from)?
    else {
        tracing::warn!(payment = %check.payment_id, "status check for an unknown payment dropped");
        return Ok(Checked::Done(PaymentStatus::Failed));
    };
    if !worth_checking(&payment) {
        return Ok(Checked::Done(payment.status));
    }
    let horizon = payment
        .created_at
        .plus_millis(app.settings.status_check_horizon.as_millis() as i64);
    let payment = refresh(app, payment, "status_check").await?;
    if !worth_checking(&payment) {
        return Ok(Checked::Done(payment.status));
    }
    if now >= horizon {
        tracing::info!(payment = %payment.id, status = payment.status.as_str(), "status checks stop at the horizon");
        return Ok(Checked::GaveUp(payment.status));
    }
    schedule(app, &payment.id, check.attempt + 1).await?;
    Ok(Checked::Rescheduled(payment.status))
}
