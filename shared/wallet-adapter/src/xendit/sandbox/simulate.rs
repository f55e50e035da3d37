//! Settling a pending charge or a pending refund as a tester or the checkout page says,
//! with Xendit's callbacks.

use super::*;
use crate::sandbox_kit::now;
use crate::sandbox_kit::{SandboxError, Shown, Simulator};
use crate::xendit::wire::RefundObject;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::value::RawValue;

/// Xendit's status and `failure_code` for an outcome.
pub(super) fn xendit_result(o: Outcome) -> (&'static str, Option<&'static str>) {
    match o {
        Outcome::Success => ("SUCCEEDED", None),
        Outcome::InsufficientBalance => ("FAILED", Some("INSUFFICIENT_BALANCE")),
        Outcome::UserCancelled => ("FAILED", Some("USER_DECLINED_PAYMENT")),
        Outcome::Expired => ("FAILED", Some(LAPSED)),
        Outcome::RiskRejected => ("FAILED", Some("ACCOUNT_ACCESS_BLOCKED")),
        Outcome::LimitExceeded => ("FAILED", Some("MAXIMUM_LIMIT_REACHED")),
        Outcome::InvalidAccount => ("FAILED", Some("INVALID_ACCOUNT_DETAILS")),
        Outcome::Timeout => ("FAILED", Some("PARTNER_TIMEOUT_ERROR")),
    }
}

impl XenditSandbox {
    /// Settles a PENDING refund; returns it, or None if there is no pending refund by that id.
    pub fn settle_refund(&self, refund_id: &str, success: bool) -> Option<RefundObject> {
        let mut refunds = self.inner.refunds.lock().expect("sandbox lock");
        let r = refunds.0.get_mut(refund_id)?;
        if r.status != "PENDING" {
            return None;
        }
        r.status = if success { "SUCCEEDED" } else { "FAILED" }.into();
        if !success {
            r.failure_code = Some("REFUND_FAILED".into());
        }
        r.updated = now().to_string();
        let out = r.clone();
        drop(refunds);
        self.recount_refunded(&out.charge_id);
        Some(out)
    }
}

pub(super) async fn simulate_refund(
    State(sb): State<XenditSandbox>,
    Path(refund_id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(success) = crate::sandbox_kit::refund_outcome(&body) else {
        return validation(crate::sandbox_kit::REFUND_OUTCOME_EXPECTED);
    };
    match sb.settle_refund(&refund_id, success) {
        Some(r) => (StatusCode::OK, Json(r)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "DATA_NOT_FOUND",
            "No pending refund by that id",
        ),
    }
}

impl Simulator for XenditSandbox {
    const NAME: &'static str = "Xendit";
    const CHARGE: &'static str = "charge";
    type Settled = Simulated;

    fn shown(&self, id: &str) -> Option<Shown> {
        let c = self.charge(id)?;
        Some(Shown {
            method: c.channel_code.clone(),
            amount: format!("{} {}", c.currency, RawValue::get(&c.charge_amount)),
            reference: c.reference_id.clone(),
            settled: (c.status != "PENDING").then_some(c.status),
        })
    }

    async fn simulate(&self, id: &str, how: &SimulateBody) -> Result<Simulated, SandboxError> {
        self.settle(id, how).await
    }

    /// The charge's success URL after a success, its failure URL (else the success one)
    /// after anything else.
    fn return_to(&self, id: &str) -> Option<String> {
        let c = self.charge(id)?;
        let props = c.channel_properties.unwrap_or_default();
        if c.status == "SUCCEEDED" {
            props.success_redirect_url
        } else {
            props.failure_redirect_url.or(props.success_redirect_url)
        }
    }

    fn refusal(&self, e: &SandboxError) -> Response {
        match e {
            SandboxError::NotFound { .. } => {
                error(StatusCode::NOT_FOUND, "DATA_NOT_FOUND", "Charge not found")
            }
            SandboxError::Conflict(why) => error(StatusCode::CONFLICT, "INVALID_STATUS", why),
            SandboxError::BadRequest(why) => validation(why),
        }
    }
}

impl XenditSandbox {
    /// Settles a pending charge and sends its callbacks as `how` says: none, once, twice,
    /// or once followed by a stale one carrying the charge as it was before. With
    /// `how.late`, a success may also settle a charge that lapsed.
    pub async fn settle(&self, id: &str, how: &SimulateBody) -> Result<Simulated, SandboxError> {
        let (charge, before) = {
            let mut charges = self.inner.charges.lock().expect("sandbox lock");
            let c = charges
                .get_mut(id)
                .ok_or_else(|| SandboxError::not_found(Self::CHARGE, id))?;
            let timed_out = c.status == "FAILED"
                && c.failure_code.as_deref() == Some(LAPSED)
                && how.outcome == Outcome::Success;
            if c.status != "PENDING" && !(how.late && timed_out) {
                return Err(SandboxError::Conflict(format!(
                    "charge is {}, not PENDING",
                    c.status
                )));
            }
            let before = c.clone();
            let (status, failure) = xendit_result(how.outcome);
            c.status = status.into();
            c.failure_code = failure.map(str::to_string);
            if status == "SUCCEEDED" {
                c.capture_amount = Some(c.charge_amount.clone());
            }
            c.updated = now().to_string();
            (c.clone(), before)
        };
        let mut callback_status = None;
        if how.send_callback {
            callback_status = self.send_callback(&charge).await;
            if how.duplicate {
                self.send_callback(&charge).await;
            }
            if how.stale_after {
                self.send_callback(&before).await;
            }
        }
        Ok(Simulated {
            charge,
            callback_status,
        })
    }
}
