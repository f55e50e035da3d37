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
use walletpay_wallet_adapter::{AdapterError, Cancel, ProviderStatus, Recovered};

/// SQS's longest delay.
const MAX_HOP: Duration = Duration::from_secs(900);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCheck {
    pub payment_id: PaymentId,
    /// 0 for the first check after creation.
    pub attempt: u32,
    pub due_at: Timestamp,
    /// The end of a held payment's review window (not a check of its charge: once the
    /// payment is decided, its approval's own chain does that).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub review: bool,
    /// The end of the checkout session this payment is an attempt of (not a check of its
    /// charge): what the session granted and did not use is released (see
    /// `checkout::incentives::settle`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub session_end: bool,
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
    let due_at = app
        .clock
        .now()
        .plus_millis(delay_for(app, attempt).as_millis() as i64);
    schedule_check(app, id, attempt, due_at, false).await
}

async fn schedule_check(
    app: &App,
    id: &PaymentId,
    attempt: u32,
    due_at: Timestamp,
    review: bool,
) -> Result<(), QueueError> {
    let check = StatusCheck {
        payment_id: id.clone(),
        attempt,
        due_at,
        review,
        session_end: false,
    };
    send(app, &check, app.clock.now()).await
}

/// Schedules the end of the checkout session `id` is an attempt of, at `due_at`.
pub async fn schedule_session_end(
    app: &App,
    id: &PaymentId,
    due_at: Timestamp,
) -> Result<(), QueueError> {
    let check = StatusCheck {
        payment_id: id.clone(),
        attempt: 0,
        due_at,
        review: false,
        session_end: true,
    };
    send(app, &check, app.clock.now()).await
}

/// Schedules the end of a held payment's review window, at `due_at`.
pub async fn schedule_review_end(
    app: &App,
    id: &PaymentId,
    due_at: Timestamp,
) -> Result<(), QueueError> {
    schedule_check(app, id, 0, due_at, true).await
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
/// checks and by `GET /v1/payments/{id}?refresh=true`.
pub async fn refresh(
    app: &App,
    payment: Payment,
    source: &str,
) -> Result<Payment, TransitionError> {
    Ok(ask(app, payment, source).await?.0)
}

/// As `refresh`, and whether the provider answered (an outage, a provider that cannot be
/// asked, a recovery call that failed: not an answer).
pub async fn ask(
    app: &App,
    payment: Payment,
    source: &str,
) -> Result<(Payment, bool), TransitionError> {
    ask_inner(app, payment, None, source).await
}

/// As `ask`, about the charge a provider's webhook named: for a payment with no charge of
/// its own yet (its create's answer was lost), the provider is asked about that charge,
/// and must confirm it was made for this payment.
pub async fn ask_about(
    app: &App,
    payment: Payment,
    reference: &str,
    source: &str,
) -> Result<(Payment, bool), TransitionError> {
    ask_inner(app, payment, Some(reference), source).await
}

/// What the provider said: the event it stands for and the charge it is about.
type Told = Option<(PaymentEvent, Option<String>)>;

/// A payment past its expiry ends only on the provider's word: its own status (expired,
/// failed), a cancel it accepted, or its having made nothing for the payment. Silence, an
/// outage or a provider that cannot be asked never expire a payment; a charge that cannot
/// be canceled lapses at the provider, which then says so.
async fn ask_inner(
    app: &App,
    payment: Payment,
    hinted: Option<&str>,
    source: &str,
) -> Result<(Payment, bool), TransitionError> {
    let Some(adapter) = app.adapters.get(payment.provider).cloned() else {
        return Ok((payment, false));
    };
    let mut payment = payment;
    let mut told: Told = None;
    let mut answered = true;
    let mut nothing_made = false;
    let mut pending = false;
    let asks = adapter.answers_status_queries();
    match (&payment.provider_reference, hinted) {
        (None, Some(reference)) if asks => {
            match adapter.confirm_charge(reference, &payment.id).await {
                Ok(ProviderStatus::Pending) => {
                    told = Some((
                        PaymentEvent::Accepted {
                            provider_reference: reference.to_string(),
                            next_action: None,
                        },
                        Some(reference.to_string()),
                    ))
                }
                Ok(status) => told = status.to_event().map(|e| (e, Some(reference.to_string()))),
                Err(AdapterError::NotFound) => {
                    tracing::warn!(payment = %payment.id, reference, "the provider has no charge by that reference for this payment; hint dropped");
                }
                Err(e) => {
                    answered = false;
                    tracing::warn!(payment = %payment.id, error = %e, "could not confirm a webhook's charge with the provider");
                }
            }
        }
        (None, _) if payment.status == PaymentStatus::Processing => {
            match adapter
                .recover_charge(&crate::payments::charge_request(&payment))
                .await
            {
                Ok(Recovered::Found(created)) => {
                    let reference = created.provider_reference.clone();
                    let id = payment.id.clone();
                    payment = transition(
                        app,
                        &id,
                        Some(payment),
                        &PaymentEvent::Accepted {
                            provider_reference: created.provider_reference,
                            next_action: created.next_action,
                        },
                        source,
                        Some(&reference),
                    )
                    .await?
                    .0;
                    if let Some(e) = created.status.to_event() {
                        told = Some((e, Some(reference)));
                    }
                }
                Ok(Recovered::Declined(failure)) => {
                    told = Some((PaymentEvent::Failed { failure }, None))
                }
                Ok(Recovered::NothingMade) => nothing_made = true,
                Ok(Recovered::CannotTell) => {}
                Err(e) => {
                    answered = false;
                    tracing::info!(payment = %payment.id, error = %e, "the charge behind an unknown create is still unknown");
                }
            }
        }
        _ => {}
    }
    let reference = payment.provider_reference.clone();
    if let (None, Some(reference)) = (&told, &reference) {
        if !asks {
            answered = false;
        } else {
            match adapter.charge_status(reference).await {
                Ok(ProviderStatus::Pending) => pending = true,
                Ok(status) => told = status.to_event().map(|e| (e, None)),
                Err(e) => {
                    answered = false;
                    tracing::warn!(payment = %payment.id, error = %e, "status check could not reach the provider")
                }
            }
        }
    }
    let overdue = app.clock.now() >= payment.expires_at;
    if told.is_none() && overdue && answered && !payment.status.is_terminal() {
        if nothing_made {
            tracing::info!(payment = %payment.id, "expired: the provider made nothing for it");
            told = Some((PaymentEvent::Expired, None));
        } else if let (true, Some(reference)) = (pending, &reference) {
            told = expire_at_provider(adapter.as_ref(), &payment, reference).await;
        }
    }
    match told {
        Some((e, named)) => {
            let reference = named.or(reference);
            let id = payment.id.clone();
            let (p, _) =
                transition(app, &id, Some(payment), &e, source, reference.as_deref()).await?;
            Ok((p, answered))
        }
        None => Ok((payment, answered)),
    }
}

/// A charge still waiting past the payment's expiry: cancels it at the provider where the
/// provider allows it (the payment then expires), or learns it was paid in the meantime.
async fn expire_at_provider(
    adapter: &dyn walletpay_wallet_adapter::WalletAdapter,
    payment: &Payment,
    reference: &str,
) -> Told {
    match adapter.cancel_charge(reference).await {
        Ok(Cancel::Canceled) => {
            tracing::info!(payment = %payment.id, "expired: canceled at the provider");
            Some((PaymentEvent::Expired, None))
        }
        Ok(Cancel::Refused) => match adapter.charge_status(reference).await {
            // Refused and still waiting: asked again at the next check.
            Ok(ProviderStatus::Pending) | Err(_) => None,
            Ok(status) => status.to_event().map(|e| (e, None)),
        },
        // The charge lapses at the provider, which then reports it.
        Ok(Cancel::NotCancelable) => None,
        Err(e) => {
            tracing::warn!(payment = %payment.id, error = %e, "cancel at expiry did not go through; asked again at the next check");
            None
        }
    }
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
    if check.session_end {
        return crate::checkout::end_of_session(app, &payment).await;
    }
    // The end of a review window: the payment expires if still held; once decided, the
    // approval's own chain checks it (this one stops).
    if check.review && payment.status != PaymentStatus::RequiresReview {
        return Ok(Checked::Done(payment.status));
    }
    if payment.status == PaymentStatus::RequiresReview {
        let until = payment
            .risk
            .as_ref()
            .and_then(|r| r.review_until)
            .unwrap_or(payment.expires_at);
        if now < until {
            let again = StatusCheck {
                due_at: until,
                ..check
            };
            send(app, &again, now).await?;
            return Ok(Checked::Deferred);
        }
        let id = payment.id.clone();
        let (p, _) = transition(
            app,
            &id,
            Some(payment),
            &PaymentEvent::ReviewExpired,
            "review_window",
            None,
        )
        .await?;
        return Ok(Checked::Done(p.status));
    }
    if !worth_checking(&payment) {
        return Ok(Checked::Done(payment.status));
    }
    // From its creation, or from its approval for a payment held for review.
    let started = payment
        .risk
        .as_ref()
        .and_then(|r| r.review.as_ref())
        .map_or(payment.created_at, |r| r.at.max(payment.created_at));
    let horizon = started.plus_millis(app.settings.status_check_horizon.as_millis() as i64);
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

#[cfg(test)]
mod tests {
    //! What a status check decides about a payment past its expiry, for each thing a
    //! provider can answer (a scripted adapter; the stores are the embedded ones).
    use super::*;
    use crate::testing::{app_with, payment, Script};
    use walletpay_domain::{Failure, FailureCode};
    use walletpay_wallet_adapter::ChargeCreated;

    async fn check(script: Script, reference: Option<&str>) -> (PaymentStatus, bool, Vec<String>) {
        let (app, adapter) = app_with(script);
        let mut p = payment(&app, reference).await;
        // Expired a minute ago.
        p.expires_at = app.clock.now().plus_seconds(-60);
        let (after, answered) = ask(&app, p, "status_check").await.unwrap();
        (after.status, answered, adapter.calls())
    }

    #[tokio::test]
    async fn a_recovery_call_that_failed_is_not_an_answer() {
        let (status, answered, _) = check(
            Script {
                recover: Err(AdapterError::Unknown("timeout".into())),
                ..Script::default()
            },
            None,
        )
        .await;
        assert_eq!((status, answered), (PaymentStatus::Processing, false));
    }

    #[tokio::test]
    async fn a_provider_that_cannot_tell_never_expires_an_unknown_create() {
        let (status, answered, _) = check(Script::default(), None).await;
        assert_eq!((status, answered), (PaymentStatus::Processing, true));
    }

    #[tokio::test]
    async fn nothing_made_at_the_provider_expires_it() {
        let (status, _, _) = check(
            Script {
                recover: Ok(Recovered::NothingMade),
                ..Script::default()
            },
            None,
        )
        .await;
        assert_eq!(status, PaymentStatus::Expired);
    }

    #[tokio::test]
    async fn a_recovered_decline_fails_it() {
        let (status, _, _) = check(
            Script {
                recover: Ok(Recovered::Declined(Failure::new(
                    FailureCode::InsufficientBalance,
                    None,
                ))),
                ..Script::default()
            },
            None,
        )
        .await;
        assert_eq!(status, PaymentStatus::Failed);
    }

    #[tokio::test]
    async fn a_recovered_charge_is_recorded_then_asked_about() {
        let (status, _, calls) = check(
            Script {
                recover: Ok(Recovered::Found(ChargeCreated {
                    provider_reference: "ch_1".into(),
                    status: ProviderStatus::Pending,
                    next_action: None,
                })),
                status: Ok(ProviderStatus::Succeeded),
                ..Script::default()
            },
            None,
        )
        .await;
        assert_eq!(status, PaymentStatus::Succeeded);
        assert_eq!(calls, ["recover_charge", "charge_status ch_1"]);
    }

    #[tokio::test]
    async fn a_provider_that_cannot_be_asked_is_never_taken_as_answering() {
        let (status, answered, calls) = check(
            Script {
                asks: false,
                ..Script::default()
            },
            Some("psp_1"),
        )
        .await;
        assert_eq!((status, answered), (PaymentStatus::RequiresAction, false));
        assert!(calls.is_empty(), "{calls:?}");
    }

    #[tokio::test]
    async fn an_outage_never_expires_a_payment() {
        let (status, answered, calls) = check(
            Script {
                status: Err(AdapterError::Unknown("503".into())),
                ..Script::default()
            },
            Some("ch_1"),
        )
        .await;
        assert_eq!((status, answered), (PaymentStatus::RequiresAction, false));
        assert_eq!(calls, ["charge_status ch_1"], "no cancel without an answer");
    }

    #[tokio::test]
    async fn a_pending_charge_is_canceled_at_the_provider_and_only_then_expired() {
        let (status, _, calls) = check(
            Script {
                cancel: Ok(Cancel::Canceled),
                ..Script::default()
            },
            Some("ch_1"),
        )
        .await;
        assert_eq!(status, PaymentStatus::Expired);
        assert_eq!(calls, ["charge_status ch_1", "cancel_charge ch_1"]);
    }

    #[tokio::test]
    async fn a_charge_that_cannot_be_canceled_waits_for_the_provider() {
        let (status, answered, _) = check(
            Script {
                cancel: Ok(Cancel::NotCancelable),
                ..Script::default()
            },
            Some("ch_1"),
        )
        .await;
        assert_eq!((status, answered), (PaymentStatus::RequiresAction, true));
    }

    #[tokio::test]
    async fn a_cancel_refused_because_it_was_paid_records_the_success() {
        let (app, adapter) = app_with(Script {
            cancel: Ok(Cancel::Refused),
            // Pending at the first look, paid by the time the cancel is refused.
            statuses_after_cancel: Some(ProviderStatus::Succeeded),
            ..Script::default()
        });
        let mut p = payment(&app, Some("ch_1")).await;
        p.expires_at = app.clock.now().plus_seconds(-60);
        let (after, _) = ask(&app, p, "status_check").await.unwrap();
        assert_eq!(after.status, PaymentStatus::Succeeded);
        assert_eq!(
            adapter.calls(),
            [
                "charge_status ch_1",
                "cancel_charge ch_1",
                "charge_status ch_1"
            ]
        );
    }

    #[tokio::test]
    async fn a_webhook_naming_another_payments_charge_is_dropped() {
        let (app, _) = app_with(Script {
            confirm: Err(AdapterError::NotFound),
            ..Script::default()
        });
        let p = payment(&app, None).await;
        let (after, answered) = ask_about(&app, p, "ch_other", "webhook").await.unwrap();
        assert_eq!((after.status, answered), (PaymentStatus::Processing, true));
        assert!(after.provider_reference.is_none());
    }
}
