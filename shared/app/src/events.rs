//! The payment-events consumer: applies verified provider events to payments.

use crate::app::App;
use crate::transition::{transition, TransitionError};
use walletpay_domain::{Decision, PaymentEvent, PaymentStatus};
use walletpay_wallet_adapter::{AdapterError, ProviderEvent, ProviderStatus};

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
    if let Some(report) = &event.report {
        return report_announced(app, event.provider, report).await;
    }
    let Some(id) = &event.payment_id else {
        tracing::warn!(provider = %event.provider, reference = %event.provider_reference, "event for a charge we did not create");
        return Ok(Applied::Ignored("unmatched"));
    };
    // Providers are only told of a payment once it is written, so a payment that cannot be
    // found is not ours (or was never made): retrying would change nothing.
    let Some(payment) = app
        .store
        .get_payment(id)
        .await
        .map_err(TransitionError::from)?
    else {
        tracing::warn!(provider = %event.provider, payment = %id, "event for a payment that does not exist; dropped");
        return Ok(Applied::Ignored("unknown_payment"));
    };
    // Only the payment's own provider, about the payment's own charge, can move it or its
    // refunds.
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
    let charge_mismatch = match &payment.provider_reference {
        Some(r) => r != &event.provider_reference,
        // A refund is only ever made of a charge we know.
        None => event.refund.is_some(),
    };
    if charge_mismatch {
        if event.refund.is_none() && event.status == ProviderStatus::Succeeded {
            return another_charge_paid(app, payment, event).await;
        }
        tracing::warn!(payment = %id, reference = %event.provider_reference, "event for another charge of this payment");
        return Ok(Applied::Ignored("reference_mismatch"));
    }
    if let Some(update) = &event.refund {
        return match crate::refunds::apply_refund_update(app, payment, update).await? {
            crate::refunds::Worked::Done(status) => {
                tracing::info!(payment = %id, refund = %update.provider_reference, status = status.as_str(), "refund final");
                Ok(Applied::Refund(status))
            }
            crate::refunds::Worked::Dropped => Ok(Applied::Ignored("refund_mismatch")),
            _ => Ok(Applied::Ignored("refund_not_pending")),
        };
    }
    let Some(payment_event) = event.status.to_event() else {
        return Ok(Applied::Ignored("pending"));
    };
    if let Some(amount) = event.amount {
        if amount != payment.amount {
            tracing::error!(payment = %id, event_amount = %amount, payment_amount = %payment.amount, "provider reports another amount; event not applied");
            return Ok(Applied::Ignored("amount_mismatch"));
        }
    }
    if event.confirm {
        // A hint only: ask the provider about the charge it names, and apply what it says.
        let before = payment.status;
        let (after, answered) =
            crate::status::ask_about(app, payment, &event.provider_reference, "webhook").await?;
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

/// A settlement report the provider announced: kept (the run of the day it covers reads
/// it), and that day's run enqueued.
async fn report_announced(
    app: &App,
    provider: walletpay_domain::Provider,
    report: &walletpay_wallet_adapter::ReportAnnounced,
) -> Result<Applied, ConsumeError> {
    use walletpay_ports::reconcile::ReportNotice;
    use walletpay_reconcile::Date;
    let offset = app.settings.reconcile.offset(provider);
    let announced_on = Date::of(report.announced_at, offset);
    // A notification delivered again changes nothing.
    let known = app
        .store
        .report_notices(provider, announced_on)
        .await
        .map_err(TransitionError::from)?
        .iter()
        .any(|n| n.file == report.file && n.url == report.url);
    let source = app
        .adapters
        .get(provider)
        .is_some_and(|a| a.has_settlement_source());
    if known || !source {
        return Ok(Applied::Ignored("report_announced"));
    }
    app.store
        .put_report_notice(&ReportNotice {
            provider,
            file: report.file.clone(),
            url: report.url.clone(),
            announced_at: report.announced_at,
            announced_on,
        })
        .await
        .map_err(TransitionError::from)?;
    tracing::info!(%provider, file = %report.file, "settlement report announced");
    if report.file.starts_with("settlement_detail_report") {
        let job = crate::reconcile::Job {
            provider,
            date: announced_on.plus_days(-1),
            waits: 0,
            // A report for a day done before (a correction): the day is run again.
            again: true,
        };
        let body = serde_json::to_string(&job).expect("a job serializes");
        app.reconcile_jobs
            .send(&body, std::time::Duration::ZERO)
            .await
            .map_err(TransitionError::from)?;
    }
    Ok(Applied::Ignored("report_announced"))
}

/// A success reported for another charge than the payment's own. Where the provider
/// confirms it was made for this payment (`confirm_charge`: its own record names our
/// payment) and paid, the customer paid it: a create whose answer was lost was sent again
/// and the provider made a second charge. A payment still waiting succeeds on that charge
/// (the one it waited on is canceled at the provider); one already paid has been paid twice,
/// and that is for a person (reconciliation lists it).
async fn another_charge_paid(
    app: &App,
    payment: walletpay_domain::Payment,
    event: &ProviderEvent,
) -> Result<Applied, ConsumeError> {
    let id = payment.id.clone();
    let Some(adapter) = app.adapters.get(payment.provider).cloned() else {
        return Ok(Applied::Ignored("reference_mismatch"));
    };
    match adapter.confirm_charge(&event.provider_reference, &id).await {
        Ok(ProviderStatus::Succeeded) => {}
        Ok(_) | Err(AdapterError::NotFound) => {
            tracing::warn!(payment = %id, reference = %event.provider_reference, "another charge's success not confirmed by the provider; dropped");
            return Ok(Applied::Ignored("reference_mismatch"));
        }
        Err(e) => {
            tracing::warn!(payment = %id, error = %e, "another charge's success could not be confirmed yet");
            return Err(ConsumeError::Unconfirmed(id));
        }
    }
    if payment.status.is_paid() {
        tracing::error!(payment = %id, reference = %event.provider_reference, charge = ?payment.provider_reference, "a second charge made for this payment was paid too: the customer paid twice; refund one, reconcile");
        return Ok(Applied::Ignored("paid_twice"));
    }
    let previous = payment.provider_reference.clone();
    let (after, decision) = crate::transition::transition_to_charge(
        app,
        &id,
        Some(payment),
        &PaymentEvent::Succeeded,
        "webhook",
        &event.provider_reference,
    )
    .await?;
    if !matches!(decision, Decision::Move { .. }) {
        return Ok(Applied::Stale);
    }
    tracing::error!(payment = %id, paid = %event.provider_reference, previous = ?previous, "the customer paid another charge made for this payment; recorded on it");
    if let Some(old) = previous {
        if let Err(e) = adapter.cancel_charge(&old).await {
            tracing::error!(payment = %id, charge = %old, error = %e, "the charge no longer used could not be canceled; reconcile");
        }
    }
    Ok(Applied::Moved(after.status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{app_with, Script};
    use walletpay_domain::{Failure, FailureCode, Provider, RefundLine, RefundReason, RefundState};
    use walletpay_ports::HistoryEntry;
    use walletpay_wallet_adapter::{ProviderStatus, RefundUpdate};

    /// A paid payment at Xendit (charge `ch_1`) with one refund waiting, named `rf_1` there.
    async fn paid_with_pending_refund(app: &App) -> walletpay_domain::Payment {
        let mut p = crate::testing::payment(app, Some("ch_1")).await;
        let now = app.clock.now();
        p.status = PaymentStatus::Succeeded;
        p.refunds.push(RefundLine {
            refund_id: "ref_01m8ab8makqqg641md11702kgn".into(),
            amount_minor: 5_000_000,
            state: RefundState::Pending,
            reason: RefundReason::RequestedByCustomer,
            merchant_reference: None,
            failure: None,
            provider_reference: Some("rf_1".into()),
            created_at: now,
            updated_at: now,
        });
        p.version = 2;
        let entry = HistoryEntry {
            payment_id: p.id.clone(),
            merchant_id: p.merchant_id.clone(),
            seq: 2,
            at: now,
            event: "refund_requested".into(),
            from: Some(PaymentStatus::RequiresAction),
            to: PaymentStatus::Succeeded,
            source: "api".into(),
            detail: None,
        };
        app.store.update_payment(&p, &entry).await.unwrap();
        p
    }

    fn refund_event(
        p: &walletpay_domain::Payment,
        provider: Provider,
        charge: &str,
        refund: &str,
        ours: Option<&str>,
    ) -> ProviderEvent {
        ProviderEvent {
            provider,
            payment_id: Some(p.id.clone()),
            provider_reference: charge.into(),
            status: ProviderStatus::Pending,
            amount: None,
            occurred_at: None,
            refund: Some(RefundUpdate {
                provider_reference: refund.into(),
                refund_id: ours.map(str::to_string),
                outcome: Err(Failure::new(FailureCode::Unknown, None)),
                amount: None,
            }),
            confirm: false,
            report: None,
        }
    }

    async fn refund_state(app: &App, p: &walletpay_domain::Payment) -> RefundState {
        app.store.get_payment(&p.id).await.unwrap().unwrap().refunds[0].state
    }

    #[tokio::test]
    async fn a_refund_event_from_another_provider_changes_nothing() {
        let (app, _) = app_with(Script::default());
        let p = paid_with_pending_refund(&app).await;
        let e = refund_event(&p, Provider::Stripe, "ch_1", "rf_1", None);
        assert_eq!(
            apply_provider_event(&app, &e).await.unwrap(),
            Applied::Ignored("provider_mismatch")
        );
        assert_eq!(refund_state(&app, &p).await, RefundState::Pending);
    }

    #[tokio::test]
    async fn a_refund_event_about_another_charge_changes_nothing() {
        let (app, _) = app_with(Script::default());
        let p = paid_with_pending_refund(&app).await;
        let e = refund_event(&p, Provider::Xendit, "ch_other", "rf_1", None);
        assert_eq!(
            apply_provider_event(&app, &e).await.unwrap(),
            Applied::Ignored("reference_mismatch")
        );
        assert_eq!(refund_state(&app, &p).await, RefundState::Pending);
    }

    #[tokio::test]
    async fn a_refund_event_naming_another_refund_reference_changes_nothing() {
        let (app, _) = app_with(Script::default());
        let p = paid_with_pending_refund(&app).await;
        // Our refund id, but a provider reference that is not the one recorded for it.
        let ours = p.refunds[0].refund_id.clone();
        let e = refund_event(&p, Provider::Xendit, "ch_1", "rf_forged", Some(&ours));
        assert_eq!(
            apply_provider_event(&app, &e).await.unwrap(),
            Applied::Ignored("refund_mismatch")
        );
        assert_eq!(refund_state(&app, &p).await, RefundState::Pending);
        // The genuine one settles it.
        let genuine = refund_event(&p, Provider::Xendit, "ch_1", "rf_1", None);
        apply_provider_event(&app, &genuine).await.unwrap();
        assert_eq!(refund_state(&app, &p).await, RefundState::Failed);
    }

    #[tokio::test]
    async fn a_reversal_of_another_amount_than_the_refunds_is_not_applied() {
        let (app, _) = app_with(Script::default());
        let p = paid_with_pending_refund(&app).await;
        let settled = refund_event(&p, Provider::Xendit, "ch_1", "rf_1", None);
        let mut made = settled.clone();
        made.refund.as_mut().unwrap().outcome = Ok(());
        apply_provider_event(&app, &made).await.unwrap();
        assert_eq!(refund_state(&app, &p).await, RefundState::Succeeded);
        // The provider says it took back less than the refund.
        let mut partial = settled;
        partial.refund.as_mut().unwrap().amount = Some(walletpay_domain::Money {
            minor: 1_000_000,
            currency: walletpay_domain::Currency::IDR,
        });
        assert_eq!(
            apply_provider_event(&app, &partial).await.unwrap(),
            Applied::Ignored("refund_mismatch")
        );
        assert_eq!(refund_state(&app, &p).await, RefundState::Succeeded);
    }

    #[tokio::test]
    async fn an_event_for_a_payment_that_does_not_exist_is_dropped_not_retried() {
        let (app, _) = app_with(Script::default());
        let e = ProviderEvent {
            provider: Provider::Pix,
            payment_id: walletpay_domain::PaymentId::parse("pay_01m8ab8makqqg641md11702kgn"),
            provider_reference: "01M8AB8MAKQQG641MD11702KGN".into(),
            status: ProviderStatus::Succeeded,
            amount: None,
            occurred_at: None,
            refund: None,
            confirm: true,
            report: None,
        };
        assert_eq!(
            apply_provider_event(&app, &e).await.unwrap(),
            Applied::Ignored("unknown_payment")
        );
    }

    fn success_of(p: &walletpay_domain::Payment, reference: &str) -> ProviderEvent {
        ProviderEvent {
            provider: Provider::Xendit,
            payment_id: Some(p.id.clone()),
            provider_reference: reference.into(),
            status: ProviderStatus::Succeeded,
            amount: Some(p.amount),
            occurred_at: None,
            refund: None,
            confirm: true,
            report: None,
        }
    }

    /// A create whose answer was lost, sent again, and the provider made a second charge:
    /// the customer pays the first. Confirmed with the provider as made for this payment and
    /// paid, it is the payment's success, recorded on that charge, and the charge the
    /// payment waited on is canceled. Unconfirmed, it changes nothing.
    #[tokio::test]
    async fn a_paid_second_charge_of_a_payment_is_its_success() {
        let (app, adapter) = app_with(Script {
            confirm: Ok(ProviderStatus::Succeeded),
            cancel: Ok(walletpay_wallet_adapter::Cancel::Canceled),
            ..Script::default()
        });
        let p = crate::testing::payment(&app, Some("ch_resent")).await;
        let applied = apply_provider_event(&app, &success_of(&p, "ch_first"))
            .await
            .unwrap();
        assert_eq!(applied, Applied::Moved(PaymentStatus::Succeeded));
        let after = app.store.get_payment(&p.id).await.unwrap().unwrap();
        assert_eq!(after.status, PaymentStatus::Succeeded);
        assert_eq!(after.provider_reference.as_deref(), Some("ch_first"));
        let history = app.store.payment_history(&p.id).await.unwrap();
        assert_eq!(
            history.last().unwrap().detail.as_deref(),
            Some("another_charge")
        );
        let calls = adapter.calls();
        assert!(
            calls.contains(&"confirm_charge ch_first".to_string()),
            "{calls:?}"
        );
        assert!(
            calls.contains(&"cancel_charge ch_resent".to_string()),
            "{calls:?}"
        );
        // Paid twice: not applied again, for a person.
        let again = apply_provider_event(&app, &success_of(&after, "ch_resent"))
            .await
            .unwrap();
        assert_eq!(again, Applied::Ignored("paid_twice"));

        let (app, _) = app_with(Script {
            confirm: Ok(ProviderStatus::Pending),
            ..Script::default()
        });
        let q = crate::testing::payment(&app, Some("ch_resent")).await;
        assert_eq!(
            apply_provider_event(&app, &success_of(&q, "ch_other"))
                .await
                .unwrap(),
            Applied::Ignored("reference_mismatch")
        );
        let unchanged = app.store.get_payment(&q.id).await.unwrap().unwrap();
        assert_eq!(unchanged.status, PaymentStatus::RequiresAction);
        assert_eq!(unchanged.provider_reference.as_deref(), Some("ch_resent"));
    }
}
