//! After risk control: the shop's review of a payment held in `requires_review`
//! (`POST /v1/payments/{id}/review`) and its report of a fraud (`POST
//! /v1/payments/{id}/fraud-report`), which labels the payment for backtests and training.
//!
//! An approved payment goes to the providers as a new one would (routing as it stands now,
//! its first status check sent before the write); a declined one fails with `risk_rejected`;
//! one the shop leaves past its review window expires (see `status`).

use super::{load_own, offer, record_outcome, transition_error};
use crate::app::App;
use crate::error::{ApiError, Reply};
use crate::idempotency::ms;
use crate::transition::transition;
use crate::view::payment_json;
use walletpay_domain::risk::ReviewChoice;
use walletpay_domain::{
    Decision, Failure, FailureCode, Lang, MerchantId, PaymentEvent, PaymentStatus,
};

fn not_in_review(status: PaymentStatus) -> ApiError {
    ApiError::new(
        409,
        "not_in_review",
        format!(
            "The payment is not waiting for review: it is {}.",
            status.as_str()
        ),
    )
}

/// The answer to a decision the payment already holds (a retry, or a concurrent request
/// that got there first).
fn decided_alike(
    app: &App,
    p: &walletpay_domain::Payment,
    choice: ReviewChoice,
    lang: Option<Lang>,
) -> Option<Reply> {
    p.risk
        .as_ref()
        .and_then(|r| r.review.as_ref())
        .filter(|r| r.decision == choice)
        .map(|_| Reply::json(200, payment_json(app, p, lang)))
}

/// `POST /v1/payments/{id}/review {"decision": "approve" | "decline"}`.
///
/// An approval retried after the process died between its write and the provider call
/// answers the payment as it stands (`processing`): its first status check, sent before
/// the write, sends the create to the provider under the payment's idempotency key, as for
/// any create whose answer was lost.
pub async fn review_payment(
    app: &App,
    merchant: &MerchantId,
    actor: &str,
    id: &str,
    body: &[u8],
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        decision: ReviewChoice,
    }
    let choice = serde_json::from_slice::<Body>(body)
        .map_err(|_| {
            ApiError::new(
                400,
                "invalid_field",
                "The body is {\"decision\": \"approve\" | \"decline\"}.",
            )
            .field("decision")
        })?
        .decision;
    let p = load_own(app, merchant, id).await?;
    // The same decision again answers as the first did.
    if let Some(answer) = decided_alike(app, &p, choice, lang) {
        return Ok(answer);
    }
    if p.status != PaymentStatus::RequiresReview {
        return Err(not_in_review(p.status));
    }
    let now = app.clock.now();
    let until = p
        .risk
        .as_ref()
        .and_then(|r| r.review_until)
        .unwrap_or(p.expires_at);
    if now >= until {
        let pid = p.id.clone();
        let (p, _) = transition(
            app,
            &pid,
            Some(p),
            &PaymentEvent::ReviewExpired,
            "review_window",
            None,
        )
        .await
        .map_err(transition_error)?;
        // Another request decided just before the window closed: it stands.
        if let Some(answer) = decided_alike(app, &p, choice, lang) {
            return Ok(answer);
        }
        if p.status != PaymentStatus::Expired {
            return Err(not_in_review(p.status));
        }
        return Err(ApiError::new(
            409,
            "review_window_over",
            "The review window is over: the payment expired.",
        ));
    }
    let pid = p.id.clone();
    if choice == ReviewChoice::Decline {
        let event = PaymentEvent::ReviewDeclined {
            by: actor.to_string(),
            failure: Failure::new(FailureCode::RiskRejected, None),
        };
        let (p, decision) = transition(app, &pid, Some(p), &event, "review", None)
            .await
            .map_err(transition_error)?;
        if !matches!(decision, Decision::Move { .. }) {
            return decided_alike(app, &p, choice, lang).ok_or_else(|| not_in_review(p.status));
        }
        return Ok(Reply::json(200, payment_json(app, &p, lang)));
    }

    // Approved: routed as a new payment would be now.
    let plan = crate::routing::plan_for(app, merchant, p.country, p.wallet).await?;
    let Some((adapter, reason)) = plan.first().cloned() else {
        return Err(ApiError::new(
            503,
            "wallet_unavailable",
            format!(
                "No provider can take {} right now; the payment stays in review.",
                p.wallet
            ),
        ));
    };
    crate::status::schedule(app, &pid, 0)
        .await
        .map_err(ApiError::unavailable)?;
    let event = PaymentEvent::ReviewApproved {
        by: actor.to_string(),
        expires_at: now.plus_millis(ms(app.settings.payment_ttl)),
        provider: adapter.provider(),
        reason: format!("review approved; {reason}"),
    };
    let (p, decision) = transition(app, &pid, Some(p), &event, "review", None)
        .await
        .map_err(transition_error)?;
    if !matches!(decision, Decision::Move { .. }) {
        // Another request decided first: the same decision answers alike.
        return decided_alike(app, &p, choice, lang).ok_or_else(|| not_in_review(p.status));
    }
    let (p, outcome) = offer(app, p, adapter, &plan[1..]).await?;
    let p = record_outcome(app, p, outcome).await?;
    Ok(Reply::json(200, payment_json(app, &p, lang)))
}

/// `POST /v1/payments/{id}/fraud-report {"reason"?}`: the payment was fraud. Once per
/// payment; a second report changes nothing.
pub async fn report_fraud(
    app: &App,
    merchant: &MerchantId,
    id: &str,
    body: &[u8],
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(default)]
        reason: Option<String>,
    }
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<Body>(body)
            .map_err(|_| ApiError::new(400, "invalid_json", "The body is {\"reason\"?: string}."))?
            .reason
    };
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 500 || r.chars().any(char::is_control))
    {
        return Err(ApiError::new(
            400,
            "invalid_field",
            "`reason` is at most 500 characters, no control characters.",
        )
        .field("reason"));
    }
    let p = load_own(app, merchant, id).await?;
    let pid = p.id.clone();
    let (p, _) = transition(
        app,
        &pid,
        Some(p),
        &PaymentEvent::FraudReported { reason },
        "merchant",
        None,
    )
    .await
    .map_err(transition_error)?;
    Ok(Reply::json(200, payment_json(app, &p, lang)))
}
