//! Settling a waiting PaymentIntent or a pending refund as a tester or the checkout page
//! says, with the events Stripe would send.

use super::*;
use crate::sandbox_kit::{Outcome, SimulateBody};
use crate::sandbox_kit::{SandboxError, Shown, Simulator};
use crate::stripe::wire::{Refund, StripeError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

pub(super) fn outcome_error(o: Outcome) -> Option<StripeError> {
    let (code, decline) = match o {
        Outcome::Success => return None,
        Outcome::InsufficientBalance => (
            "payment_method_provider_decline",
            Some("insufficient_funds"),
        ),
        Outcome::UserCancelled => ("payment_method_customer_decline", None),
        Outcome::Expired => ("payment_intent_payment_attempt_expired", None),
        Outcome::RiskRejected => ("payment_method_provider_decline", Some("fraudulent")),
        Outcome::LimitExceeded => (
            "payment_method_provider_decline",
            Some("withdrawal_count_limit_exceeded"),
        ),
        Outcome::InvalidAccount => ("payment_method_unactivated", None),
        Outcome::Timeout => ("payment_method_provider_timeout", None),
    };
    Some(StripeError {
        kind: "card_error".into(),
        code: Some(code.into()),
        decline_code: decline.map(str::to_string),
        message: Some(format!("The payment was not completed ({code}).")),
        param: None,
    })
}

impl StripeSandbox {
    /// Settles a pending refund.
    pub fn settle_refund(&self, id: &str, success: bool) -> Option<Refund> {
        let mut refunds = self.inner.refunds.lock().expect("sandbox lock");
        let r = refunds.get_mut(id)?;
        if r.status != "pending" {
            return None;
        }
        r.status = if success { "succeeded" } else { "failed" }.into();
        if !success {
            r.failure_reason = Some("declined".into());
        }
        Some(r.clone())
    }
}

pub(super) async fn simulate_refund(
    State(sb): State<StripeSandbox>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(success) = crate::sandbox_kit::refund_outcome(&body) else {
        return invalid("outcome", crate::sandbox_kit::REFUND_OUTCOME_EXPECTED);
    };
    match sb.settle_refund(&id, success) {
        Some(r) => send(json_answer(StatusCode::OK, &r)),
        None => no_such("pending refund", &id),
    }
}

impl Simulator for StripeSandbox {
    const NAME: &'static str = "Stripe";
    const CHARGE: &'static str = "payment_intent";
    type Settled = Simulated;

    /// Also under `{id}.png` and `{id}.svg`: the QR code images' links land on the page.
    fn canonical(&self, id: &str) -> String {
        id.trim_end_matches(".png")
            .trim_end_matches(".svg")
            .to_string()
    }

    fn shown(&self, id: &str) -> Option<Shown> {
        let pi = self.intent(id)?;
        let waiting = pi.status == "requires_action";
        Some(Shown {
            method: pi.payment_method_types.first().cloned().unwrap_or_default(),
            amount: format!("{} {}", pi.currency.to_uppercase(), pi.amount),
            reference: pi
                .metadata
                .get("payment_id")
                .cloned()
                .unwrap_or_else(|| pi.id.clone()),
            settled: (!waiting).then_some(pi.status),
        })
    }

    /// Settles a waiting intent and sends its webhooks as `how` says.
    async fn simulate(&self, id: &str, how: &SimulateBody) -> Result<Simulated, SandboxError> {
        let (after, before) = {
            let mut intents = self.lock_intents();
            let k = intents
                .get_mut(id)
                .ok_or_else(|| SandboxError::not_found(Self::CHARGE, id))?;
            if !matches!(k.intent.status.as_str(), "requires_action" | "processing") {
                return Err(SandboxError::Conflict(format!(
                    "payment intent is {}",
                    k.intent.status
                )));
            }
            k.before = k.intent.clone();
            match outcome_error(how.outcome) {
                None => {
                    k.intent.status = "succeeded".into();
                    k.intent.amount_received = k.intent.amount;
                }
                Some(e) => {
                    k.intent.status = "requires_payment_method".into();
                    k.intent.last_payment_error = Some(e);
                }
            }
            k.intent.next_action = None;
            k.settled_at = Some(unix_now());
            (k.intent.clone(), k.before.clone())
        };
        let mut webhook_statuses = Vec::new();
        if how.send_callback {
            let kind = if after.status == "succeeded" {
                "payment_intent.succeeded"
            } else {
                "payment_intent.payment_failed"
            };
            let event = self.event(kind, &after, unix_now());
            webhook_statuses.push(self.deliver(&event).await);
            if how.duplicate {
                webhook_statuses.push(self.deliver(&event).await);
            }
            if how.stale_after {
                let stale = self.event("payment_intent.requires_action", &before, before.created);
                webhook_statuses.push(self.deliver(&stale).await);
            }
        }
        Ok(Simulated {
            payment_intent: after,
            webhook_statuses,
        })
    }

    fn return_to(&self, id: &str) -> Option<String> {
        self.lock_intents()
            .get(id)
            .and_then(|k| k.return_url.clone())
    }

    fn refusal(&self, e: &SandboxError) -> Response {
        match e {
            SandboxError::NotFound { what, reference } => no_such(what, reference),
            SandboxError::Conflict(why) => error(
                e.status(),
                "invalid_request_error",
                Some("payment_intent_unexpected_state"),
                why,
            ),
            SandboxError::BadRequest(why) => invalid("outcome", why),
        }
    }
}
