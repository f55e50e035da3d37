//! Settling a pending payment or a waiting refund as a tester or the checkout page says,
//! with the notifications Adyen would send.

use super::*;
use crate::adyen::mapping::from_adyen;
use crate::sandbox_kit::{Outcome, SimulateBody};
use crate::sandbox_kit::{SandboxError, Shown, Simulator};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

pub(super) fn reason_of(o: Outcome) -> (&'static str, bool, &'static str) {
    // (event code, success, reason)
    match o {
        Outcome::Success => ("AUTHORISATION", true, ""),
        Outcome::InsufficientBalance => ("AUTHORISATION", false, "Not enough balance"),
        Outcome::UserCancelled => ("AUTHORISATION", false, "Shopper Cancelled"),
        Outcome::Expired => ("OFFER_CLOSED", true, ""),
        Outcome::RiskRejected => ("AUTHORISATION", false, "FRAUD"),
        Outcome::LimitExceeded => ("AUTHORISATION", false, "Withdrawal amount exceeded"),
        Outcome::InvalidAccount => ("AUTHORISATION", false, "Invalid Card Number"),
        Outcome::Timeout => ("AUTHORISATION", false, "Acquirer Error"),
    }
}

impl AdyenSandbox {
    /// Settles a refund still waiting and sends its REFUND notification.
    pub async fn settle_refund(&self, psp: &str, success: bool) -> Option<SandboxRefund> {
        let r = {
            let mut refunds = self.inner.refunds.lock().expect("sandbox lock");
            let r = refunds.get_mut(psp)?;
            if r.state != "received" {
                return None;
            }
            r.state = if success { "refunded" } else { "failed" }.into();
            r.clone()
        };
        self.notify_refund(&r).await;
        Some(r)
    }

    /// Undoes a refund made (the shopper's account could not take the money back) and sends
    /// the REFUNDED_REVERSED notification.
    pub async fn reverse_refund(&self, psp: &str) -> Option<SandboxRefund> {
        let r = {
            let mut refunds = self.inner.refunds.lock().expect("sandbox lock");
            let r = refunds.get_mut(psp)?;
            if r.state != "refunded" {
                return None;
            }
            r.state = "reversed".into();
            r.clone()
        };
        self.notify_refund(&r).await;
        Some(r)
    }

    /// Sends a refund's notification again, as Adyen does until one is accepted.
    pub async fn resend_refund_notification(&self, psp: &str) -> bool {
        let r = self
            .inner
            .refunds
            .lock()
            .expect("sandbox lock")
            .get(psp)
            .cloned();
        match r {
            Some(r) if r.state != "received" => {
                self.notify_refund(&r).await;
                true
            }
            _ => false,
        }
    }
}

pub(super) async fn simulate_refund(
    State(sb): State<AdyenSandbox>,
    Path(psp_ref): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if crate::sandbox_kit::refund_reversal(&body) {
        return match sb.reverse_refund(&psp_ref).await {
            Some(r) => (StatusCode::OK, Json(r)).into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                "000",
                "No refund made by that pspReference",
                "validation",
            ),
        };
    }
    let Some(success) = crate::sandbox_kit::refund_outcome(&body) else {
        return validation(crate::sandbox_kit::REFUND_OUTCOME_OR_REVERSAL_EXPECTED);
    };
    match sb.settle_refund(&psp_ref, success).await {
        Some(r) => (StatusCode::OK, Json(r)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "000",
            "No refund waiting by that pspReference",
            "validation",
        ),
    }
}

impl Simulator for AdyenSandbox {
    const NAME: &'static str = "Adyen";
    const CHARGE: &'static str = "payment";
    type Settled = SandboxPayment;

    fn shown(&self, psp: &str) -> Option<Shown> {
        let p = self.payment(psp)?;
        Some(Shown {
            method: p.method.clone(),
            amount: from_adyen(p.amount.value, p.amount.currency).to_string(),
            reference: p.merchant_reference.clone(),
            settled: (p.state != "pending").then_some(p.state),
        })
    }

    /// Settles a pending payment and sends its notifications as `how` says.
    async fn simulate(
        &self,
        psp: &str,
        how: &SimulateBody,
    ) -> Result<SandboxPayment, SandboxError> {
        let (event, success, reason) = reason_of(how.outcome);
        let p = {
            let mut payments = self.lock();
            let p = payments
                .get_mut(psp)
                .ok_or_else(|| SandboxError::not_found(Self::CHARGE, psp))?;
            if p.state != "pending" {
                return Err(SandboxError::Conflict(format!("payment is {}", p.state)));
            }
            p.state = match how.outcome {
                Outcome::Success => "authorised",
                Outcome::Expired => "expired",
                _ => "refused",
            }
            .into();
            p.reason = reason.into();
            p.clone()
        };
        if how.send_callback {
            let item = self.item(Event {
                code: event,
                success,
                reason,
                psp_reference: psp,
                original_reference: None,
                merchant_reference: None,
                payment: &p,
                amount: p.amount,
            });
            self.deliver(item.clone()).await;
            if how.duplicate {
                self.deliver(item).await;
            }
            if how.stale_after {
                let late = self.item(Event {
                    code: "OFFER_CLOSED",
                    success: true,
                    reason: "",
                    psp_reference: psp,
                    original_reference: None,
                    merchant_reference: None,
                    payment: &p,
                    amount: p.amount,
                });
                self.deliver(late).await;
            }
        }
        Ok(p)
    }

    fn return_to(&self, psp: &str) -> Option<String> {
        self.payment(psp).map(|p| p.return_url)
    }

    fn refusal(&self, e: &SandboxError) -> Response {
        match e {
            // Adyen answers a body it cannot read with 422, errorCode 702.
            SandboxError::BadRequest(why) => validation(why),
            _ => error(e.status(), "000", &e.to_string(), "validation"),
        }
    }
}
