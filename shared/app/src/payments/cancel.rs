//! `POST /v1/payments/{id}/cancel`.

use super::{load_own, transition_error};
use crate::app::App;
use crate::error::{ApiError, Reply};
use crate::transition::transition;
use crate::view::payment_json;
use walletpay_domain::{Lang, MerchantId, Payment, PaymentEvent, PaymentStatus};
use walletpay_wallet_adapter::{AdapterError, Cancel, ProviderStatus};

/// `POST /v1/payments/{id}/cancel`: the customer will not pay. Cancels the charge at the
/// provider where it can. Where it cannot (a pending Xendit charge), the provider is first
/// asked where the charge stands, so a charge already paid is never called canceled; a
/// waiting one is marked `canceled` here and the status checks keep watching it, so a
/// payment the customer completes anyway is still recorded (`late_success`). A cancel call
/// or a status call that does not go through answers 503 and changes nothing.
pub async fn cancel_payment(
    app: &App,
    merchant: &MerchantId,
    id: &str,
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    let mut p = load_own(app, merchant, id).await?;
    let closed = |app: &App, p: &Payment| match p.status {
        PaymentStatus::Canceled => Some(Ok(Reply::json(200, payment_json(app, p, lang)))),
        PaymentStatus::RequiresReview
        | PaymentStatus::Processing
        | PaymentStatus::RequiresAction => None,
        _ => Some(Ok(not_cancelable(app, p, lang))),
    };
    if let Some(answer) = closed(app, &p) {
        return answer;
    }
    // Held for review: nothing was sent to a provider, unless an approval got there first
    // (then the payment is canceled as any sent one is).
    if p.status == PaymentStatus::RequiresReview {
        let id = p.id.clone();
        let (after, decision) = transition(
            app,
            &id,
            Some(p),
            &PaymentEvent::ReviewCanceled,
            "api",
            None,
        )
        .await
        .map_err(transition_error)?;
        if matches!(decision, walletpay_domain::Decision::Move { .. }) {
            return Ok(Reply::json(200, payment_json(app, &after, lang)));
        }
        p = after;
        if let Some(answer) = closed(app, &p) {
            return answer;
        }
    }
    let Some(adapter) = app.adapters.get(p.provider).cloned() else {
        return mark_canceled(app, p, lang).await;
    };
    // A create whose answer was lost: find its charge first.
    if p.provider_reference.is_none() {
        p = crate::status::refresh(app, p, "api")
            .await
            .map_err(transition_error)?;
        if let Some(answer) = closed(app, &p) {
            return answer;
        }
    }
    let Some(reference) = p.provider_reference.clone() else {
        return mark_canceled(app, p, lang).await;
    };
    let unavailable = |what: &str, e: AdapterError| {
        ApiError::unavailable(format!("cancel of {}: {what}: {e}", p.id))
    };
    match adapter.cancel_charge(&reference).await {
        Ok(Cancel::Canceled) => tracing::info!(payment = %p.id, "canceled at the provider"),
        Ok(Cancel::Refused) => {
            let status = adapter
                .charge_status(&reference)
                .await
                .map_err(|e| unavailable("refused, status unknown", e))?;
            return as_the_provider_says(app, p, status, lang).await;
        }
        Ok(Cancel::NotCancelable) if adapter.answers_status_queries() => {
            match adapter.charge_status(&reference).await {
                Ok(ProviderStatus::Pending) => {
                    tracing::info!(payment = %p.id, "the provider cannot cancel this charge; marking canceled and watching")
                }
                Ok(status) => return as_the_provider_says(app, p, status, lang).await,
                Err(e) => return Err(unavailable("status unknown", e)),
            }
        }
        // A provider that cannot be asked (Adyen) tells by webhook: a success it reports
        // after this is recorded as a late success.
        Ok(Cancel::NotCancelable) => {
            tracing::info!(payment = %p.id, "the provider can neither cancel nor be asked; marking canceled and watching")
        }
        Err(e) => return Err(unavailable("the provider's cancel did not go through", e)),
    }
    mark_canceled(app, p, lang).await
}

async fn mark_canceled(app: &App, p: Payment, lang: Option<Lang>) -> Result<Reply, ApiError> {
    let id = p.id.clone();
    let (after, _) = transition(app, &id, Some(p), &PaymentEvent::Canceled, "api", None)
        .await
        .map_err(transition_error)?;
    Ok(Reply::json(200, payment_json(app, &after, lang)))
}

/// The provider's word on a charge that could not be canceled: recorded, and answered
/// `409`; never `canceled`.
async fn as_the_provider_says(
    app: &App,
    p: Payment,
    status: ProviderStatus,
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    let after = match status.to_event() {
        Some(event) => {
            let id = p.id.clone();
            let reference = p.provider_reference.clone();
            transition(app, &id, Some(p), &event, "api", reference.as_deref())
                .await
                .map_err(transition_error)?
                .0
        }
        None => p,
    };
    Ok(not_cancelable(app, &after, lang))
}

/// `409` for a payment past waiting, with the payment beside the error: `payment_already_
/// succeeded` for one the customer paid (refund it instead), else `payment_not_cancelable`.
fn not_cancelable(app: &App, p: &Payment, lang: Option<Lang>) -> Reply {
    let (code, message) = if p.status.is_paid() {
        (
            "payment_already_succeeded",
            "The customer has already paid: refund the payment instead.".to_string(),
        )
    } else if matches!(
        p.status,
        PaymentStatus::Processing | PaymentStatus::RequiresAction
    ) {
        // The provider refused the cancel of a charge still waiting: the customer's wallet
        // is answering it (a push approved on the phone, say).
        (
            "payment_not_cancelable",
            "The customer's wallet is answering this payment right now: it cannot be canceled. Its outcome follows shortly.".to_string(),
        )
    } else {
        (
            "payment_not_cancelable",
            format!("A {} payment cannot be canceled.", p.status.as_str()),
        )
    };
    let body = serde_json::json!({
        "error": {"code": code, "message": message, "field": null},
        "payment": serde_json::from_str::<serde_json::Value>(&payment_json(app, p, lang))
            .unwrap_or_default(),
    });
    Reply::json(409, body.to_string())
}
