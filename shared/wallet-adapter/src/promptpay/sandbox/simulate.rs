//! The payer paying a bill, and a refund settling or being undone, as a tester or the
//! payer's page says, with the bank's callbacks.

use super::*;
use crate::promptpay::wire::{BillPayment, Refund};
use crate::sandbox_kit::{alnum, now, Outcome, SimulateBody};
use crate::sandbox_kit::{SandboxError, Shown, Simulator};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use walletpay_domain::Timestamp;

impl BankSandbox {
    /// Settles a pending refund (`Some(true)` made, `Some(false)` refused), or with `None`
    /// returns a refund made and sends the `refund.reversed` callback.
    pub async fn settle_refund(&self, id: &str, made: Option<bool>) -> Option<Refund> {
        let r = {
            let mut bills = self.lock();
            let (r, _) = bills
                .values_mut()
                .flat_map(|k| k.refunds.iter_mut())
                .find(|(r, _)| r.refund_id == id)?;
            r.status = match (r.status.as_str(), made) {
                ("pending", Some(true)) => "succeeded",
                ("pending", Some(false)) => "failed",
                ("succeeded", None) => "reversed",
                _ => return None,
            }
            .into();
            if r.status == "failed" || r.status == "reversed" {
                r.failure_reason = Some("account_closed".into());
            }
            r.clone()
        };
        if r.status == "reversed" {
            self.callback(
                "refund.reversed",
                serde_json::to_value(&r).expect("serialises"),
            )
            .await;
        }
        Some(r)
    }
}

pub(super) async fn simulate_refund(
    State(sb): State<BankSandbox>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let made = if crate::sandbox_kit::refund_reversal(&body) {
        None
    } else {
        match crate::sandbox_kit::refund_outcome(&body) {
            Some(made) => Some(made),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    crate::sandbox_kit::REFUND_OUTCOME_OR_REVERSAL_EXPECTED,
                )
            }
        }
    };
    match sb.settle_refund(&id, made).await {
        Some(r) => Json(r).into_response(),
        None => error(
            StatusCode::CONFLICT,
            "conflict",
            "No such refund in a state this outcome applies to.",
        ),
    }
}

impl Simulator for BankSandbox {
    const NAME: &'static str = "Sandbox bank";
    const OUTCOMES: &'static [Outcome] = &[Outcome::Success];
    const CHARGE: &'static str = "bill";
    type Settled = BillPayment;

    fn shown(&self, reference: &str) -> Option<Shown> {
        let k = self.lock().get(reference).cloned()?;
        let status = k.status();
        Some(Shown {
            method: "PromptPay".into(),
            amount: format!("THB {}", k.bill.amount),
            reference: reference.to_string(),
            settled: (status != "open").then(|| status.to_string()),
        })
    }

    /// The payer pays the bill (`how.amount`: another amount than the bill's).
    async fn simulate(
        &self,
        reference: &str,
        how: &SimulateBody,
    ) -> Result<BillPayment, SandboxError> {
        if how.amount.as_deref().is_some_and(|a| thb(a).is_none()) {
            return Err(SandboxError::BadRequest(
                "amount is THB with 2 decimals.".into(),
            ));
        }
        self.pay(reference, how, how.amount.as_deref()).await
    }

    /// A PromptPay transfer is made in the payer's banking app: no shop to go back to.
    fn return_to(&self, _reference: &str) -> Option<String> {
        None
    }

    fn refusal(&self, e: &SandboxError) -> Response {
        let code = match e {
            SandboxError::NotFound { .. } => "not_found",
            SandboxError::Conflict(_) => "conflict",
            SandboxError::BadRequest(_) => "invalid_request",
        };
        error(e.status(), code, &e.to_string())
    }
}

impl BankSandbox {
    /// The payer pays the bill: it settles, and the callbacks go as `how` says. `amount`
    /// (THB, 2 decimals) records a transfer of another amount than the bill's, as a bank that
    /// does not enforce the bill would.
    async fn pay(
        &self,
        reference: &str,
        how: &SimulateBody,
        amount: Option<&str>,
    ) -> Result<BillPayment, SandboxError> {
        if how.outcome != Outcome::Success {
            return Err(SandboxError::Conflict("a PromptPay transfer is made or not: only `success` can be simulated (an unpaid bill expires)".into()));
        }
        let payment = {
            let mut bills = self.lock();
            let k = bills
                .get_mut(reference)
                .ok_or_else(|| SandboxError::not_found(Self::CHARGE, reference))?;
            let status = k.status();
            if status != "open" {
                return Err(SandboxError::Conflict(format!(
                    "the bill is {status}: the bank refuses payments of it"
                )));
            }
            let p = BillPayment {
                transaction_id: format!("{}{}", now().millis(), alnum(8).to_ascii_uppercase()),
                biller_id: k.bill.biller_id.clone(),
                ref1: k.bill.ref1.clone(),
                ref2: k.bill.ref2.clone(),
                amount: amount
                    .map(str::to_string)
                    .unwrap_or_else(|| k.bill.amount.clone()),
                currency: "THB".into(),
                status: "settled".into(),
                paid_at: now().to_string(),
                payer_bank: Some("014".into()),
            };
            k.payment = Some(p.clone());
            k.bill.status = Some("paid".into());
            p
        };
        if how.send_callback {
            self.notify(&payment).await;
            if how.duplicate {
                self.notify(&payment).await;
            }
            if how.stale_after {
                // An older copy (the bank's first try), arriving last.
                let mut older = payment.clone();
                older.paid_at = Timestamp(now().millis() - 60_000).to_string();
                self.notify(&older).await;
            }
        }
        Ok(payment)
    }
}
