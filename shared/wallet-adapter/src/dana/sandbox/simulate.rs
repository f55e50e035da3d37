//! Settling a waiting order as a tester or the checkout page says, with DANA's finish
//! notifications.

use super::*;
use crate::dana::wire::Answer;
use crate::sandbox_kit::{Outcome, SimulateBody};
use crate::sandbox_kit::{SandboxError, Shown, Simulator};
use axum::response::Response;

impl Simulator for DanaSandbox {
    const NAME: &'static str = "DANA";
    const CHARGE: &'static str = "order";
    type Settled = Answer;

    fn shown(&self, reference_no: &str) -> Option<Shown> {
        let o = self.by_reference_no(reference_no)?;
        Some(Shown {
            method: "DANA".into(),
            amount: format!("IDR {}", o.request.amount.value),
            reference: o.request.partner_reference_no.clone(),
            settled: (o.status != "01").then_some(o.desc),
        })
    }

    /// The customer pays or declines; the notifications go as `how` says.
    /// `reference_no` is DANA's, or the `<partnerReferenceNo>:<referenceNo>` walletpay keeps.
    async fn simulate(
        &self,
        reference_no: &str,
        how: &SimulateBody,
    ) -> Result<Answer, SandboxError> {
        let reference_no = reference_no.rsplit(':').next().unwrap_or(reference_no);
        let (status, desc) = match how.outcome {
            Outcome::Success => ("00", "Success"),
            Outcome::UserCancelled => ("05", "Cancelled by user"),
            Outcome::InsufficientBalance => ("06", "Failed: insufficient balance"),
            Outcome::Expired => ("06", "Failed: payment expired"),
            Outcome::RiskRejected => ("06", "Failed: risk rejected"),
            Outcome::LimitExceeded => ("06", "Failed: over the user's limit"),
            Outcome::InvalidAccount => ("06", "Failed: account frozen"),
            Outcome::Timeout => ("06", "Failed: timeout"),
        };
        let (o, before) = {
            let mut orders = self.lock();
            let o = orders
                .values_mut()
                .find(|o| o.reference_no == reference_no)
                .ok_or_else(|| SandboxError::not_found(Self::CHARGE, reference_no))?;
            if o.status != "01" {
                return Err(SandboxError::Conflict(format!("order is {}", o.status)));
            }
            let before = o.status.clone();
            o.status = status.into();
            o.desc = desc.into();
            (o.clone(), before)
        };
        if how.send_callback {
            self.notify(&o, status, desc).await;
            if how.duplicate {
                self.notify(&o, status, desc).await;
            }
            if how.stale_after {
                self.notify(&o, &before, "Initiated").await;
            }
        }
        Ok(Answer {
            response_code: "2000000".into(),
            response_message: "Successful".into(),
            ..Default::default()
        })
    }

    fn return_to(&self, reference_no: &str) -> Option<String> {
        self.by_reference_no(reference_no)
            .and_then(|o| o.return_url)
    }

    fn refusal(&self, e: &SandboxError) -> Response {
        let code = match e {
            SandboxError::NotFound { .. } => "4040000",
            SandboxError::Conflict(_) => "4090000",
            SandboxError::BadRequest(_) => "4000000",
        };
        answer(e.status(), code, &e.to_string())
    }
}

impl DanaSandbox {
    /// The order DANA knows by `reference_no` (or by the `<partnerReferenceNo>:<referenceNo>`
    /// walletpay keeps).
    fn by_reference_no(&self, reference_no: &str) -> Option<Order> {
        let reference_no = reference_no.rsplit(':').next().unwrap_or(reference_no);
        self.lock()
            .values()
            .find(|o| o.reference_no == reference_no)
            .cloned()
    }
}
