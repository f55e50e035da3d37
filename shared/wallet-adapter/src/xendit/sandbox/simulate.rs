//! Paying a payment request (or failing it) as a tester, the checkout page or Xendit's own
//! test-mode `simulate` says, and settling refunds, with Xendit's webhooks.

use super::*;
use crate::sandbox_kit::{now, uuid_v4, SandboxError, Shown, Simulator};
use crate::xendit::mapping::parse_amount;
use crate::xendit::wire::{Capture, PaymentDetails, SimulateAnswer, SimulatePayment};
use axum::extract::{Path, State};
use walletpay_domain::Timestamp;

/// Xendit's status and `failure_code` for an outcome.
pub(super) fn xendit_result(o: Outcome) -> (&'static str, Option<&'static str>) {
    match o {
        Outcome::Success => ("SUCCEEDED", None),
        Outcome::InsufficientBalance => ("FAILED", Some("INSUFFICIENT_BALANCE")),
        Outcome::UserCancelled => ("FAILED", Some("USER_DECLINED_PAYMENT")),
        Outcome::Expired => ("FAILED", Some("USER_DID_NOT_AUTHORIZE")),
        Outcome::RiskRejected => ("FAILED", Some("ACCOUNT_ACCESS_BLOCKED")),
        Outcome::LimitExceeded => ("FAILED", Some("PAYMENT_AMOUNT_LIMITS_EXCEEDED")),
        Outcome::InvalidAccount => ("FAILED", Some("INVALID_ACCOUNT_DETAILS")),
        Outcome::Timeout => ("FAILED", Some("PARTNER_TIMEOUT_ERROR")),
    }
}

/// Who pays a channel's requests, as `payment_details.issuer_name` names it.
fn default_issuer(channel: &str) -> &'static str {
    match channel {
        "QRIS" => "DANA",
        "QRPH" => "GCASH",
        _ => "",
    }
}

impl Simulator for XenditSandbox {
    const NAME: &'static str = "Xendit";
    const CHARGE: &'static str = "payment_request";
    type Settled = Simulated;

    fn shown(&self, id: &str) -> Option<Shown> {
        let r = self.payment_request(id)?;
        Some(Shown {
            method: r.channel_code.clone(),
            amount: format!("{} {}", r.currency, r.request_amount.get()),
            reference: r.reference_id.clone(),
            settled: (!matches!(r.status.as_str(), "REQUIRES_ACTION" | "PENDING"))
                .then_some(r.status),
        })
    }

    async fn simulate(&self, id: &str, how: &SimulateBody) -> Result<Simulated, SandboxError> {
        self.settle(id, how).await
    }

    /// The request's success URL after a success, its failure URL (else the success one)
    /// after anything else.
    fn return_to(&self, id: &str) -> Option<String> {
        let r = self.payment_request(id)?;
        let props = r.channel_properties.unwrap_or_default();
        if r.status == "SUCCEEDED" {
            props.success_return_url
        } else {
            props.failure_return_url.or(props.success_return_url)
        }
    }

    fn refusal(&self, e: &SandboxError) -> Response {
        match e {
            SandboxError::NotFound { .. } => not_found("Payment request"),
            SandboxError::Conflict(why) => {
                error(StatusCode::CONFLICT, "INACTIVE_PAYMENT_REQUEST", why)
            }
            SandboxError::BadRequest(why) => validation(why),
        }
    }
}

impl XenditSandbox {
    /// Pays or fails a request still waiting, and sends its webhooks as `how` says: none,
    /// once, twice, or once followed by the failure of an earlier attempt. With `how.late`,
    /// a success may also settle a request that already expired or was canceled.
    pub async fn settle(&self, id: &str, how: &SimulateBody) -> Result<Simulated, SandboxError> {
        let (request, payment) = {
            let mut requests = self.lock();
            let k = requests
                .get_mut(id)
                .ok_or_else(|| SandboxError::not_found(Self::CHARGE, id))?;
            let waiting = matches!(k.request.status.as_str(), "REQUIRES_ACTION" | "PENDING");
            let raced = matches!(k.request.status.as_str(), "EXPIRED" | "CANCELED")
                && how.late
                && how.outcome == Outcome::Success;
            if !waiting && !raced {
                return Err(SandboxError::Conflict(format!(
                    "payment request is {}, not waiting for the customer",
                    k.request.status
                )));
            }
            let (status, failure) = xendit_result(how.outcome);
            let at = now().to_string();
            let r = &k.request;
            let payment = Payment {
                payment_id: format!("py-{}", uuid_v4()),
                business_id: r.business_id.clone(),
                reference_id: r.reference_id.clone(),
                payment_request_id: r.payment_request_id.clone(),
                kind: r.kind.clone(),
                country: r.country.clone(),
                currency: r.currency.clone(),
                request_amount: r.request_amount.clone(),
                capture_method: r.capture_method.clone(),
                channel_code: r.channel_code.clone(),
                captures: if status == "SUCCEEDED" {
                    vec![Capture {
                        capture_id: format!("cptr-{}", uuid_v4()),
                        capture_amount: r.request_amount.clone(),
                        capture_timestamp: Some(at.clone()),
                    }]
                } else {
                    Vec::new()
                },
                status: status.into(),
                payment_details: Some(PaymentDetails {
                    issuer_name: how
                        .issuer
                        .clone()
                        .or_else(|| Some(default_issuer(&r.channel_code).to_string()))
                        .filter(|i| !i.is_empty()),
                    ..PaymentDetails::default()
                }),
                failure_code: failure.map(str::to_string),
                metadata: r.metadata.clone(),
                created: at.clone(),
                updated: at.clone(),
            };
            k.request.status = status.into();
            k.request.failure_code = failure.map(str::to_string);
            k.request.latest_payment_id = Some(payment.payment_id.clone());
            k.request.actions.clear();
            k.request.updated = at;
            k.payment = Some(payment.clone());
            (k.request.clone(), payment)
        };
        self.inner.payments.lock().expect("sandbox lock").insert(
            payment.payment_id.clone(),
            request.payment_request_id.clone(),
        );
        let event = if payment.status == "SUCCEEDED" {
            "payment.capture"
        } else {
            "payment.failure"
        };
        let data = serde_json::to_value(&payment).expect("serialises");
        let mut callback_status = None;
        if how.send_callback {
            callback_status = self.send_webhook(event, data.clone()).await;
            if how.duplicate {
                self.send_webhook(event, data).await;
            }
            if how.stale_after {
                // An earlier attempt the customer gave up on, delivered late.
                let earlier = Payment {
                    payment_id: format!("py-{}", uuid_v4()),
                    status: "FAILED".into(),
                    failure_code: Some("USER_DECLINED_PAYMENT".into()),
                    captures: Vec::new(),
                    updated: Timestamp(now().millis() - 60_000).to_string(),
                    ..payment.clone()
                };
                self.send_webhook(
                    "payment.failure",
                    serde_json::to_value(&earlier).expect("serialises"),
                )
                .await;
            }
        }
        Ok(Simulated {
            payment_request: request,
            payment: Some(payment),
            callback_status,
        })
    }

    /// Settles a PENDING refund, with its webhook; None if no refund by that id is pending.
    pub async fn settle_refund(&self, id: &str, made: bool) -> Option<Refund> {
        let refund = {
            let mut refunds = self.refunds_lock();
            let r = refunds.by_id.get_mut(id)?;
            if r.status != "PENDING" {
                return None;
            }
            r.status = if made { "SUCCEEDED" } else { "FAILED" }.into();
            if !made {
                r.failure_code = Some("INSUFFICIENT_BALANCE".into());
            }
            r.updated = now().to_string();
            r.clone()
        };
        let event = if made {
            "refund.succeeded"
        } else {
            "refund.failed"
        };
        self.send_webhook(event, serde_json::to_value(&refund).expect("serialises"))
            .await;
        Some(refund)
    }
}

/// `POST /v3/payment_requests/{id}/simulate` (Xendit's test mode): `{"amount": <number>}`,
/// the request's own amount; answered PENDING, the payment's webhook follows.
pub(super) async fn simulate_payment(
    State(sb): State<XenditSandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    if let Some(r) = version_refused(&headers) {
        return r;
    }
    let req: SimulatePayment = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return validation(&format!("invalid request body: {e}")),
    };
    let Some(request) = sb.payment_request(&id) else {
        return not_found("Payment request");
    };
    let Ok(currency) = request.currency.parse() else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SERVER_ERROR",
            "no currency",
        );
    };
    let asked = parse_amount(req.amount.get(), currency).ok();
    if asked != parse_amount(request.request_amount.get(), currency).ok() {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_VALUE_ERROR",
            "amount must be the payment request's amount",
        );
    }
    if !matches!(request.status.as_str(), "REQUIRES_ACTION" | "PENDING") {
        return error(
            StatusCode::BAD_REQUEST,
            "INACTIVE_PAYMENT_REQUEST",
            "Payment request is already inactive.",
        );
    }
    tokio::spawn({
        let sb = sb.clone();
        async move {
            let _ = sb.settle(&id, &SimulateBody::plain(Outcome::Success)).await;
        }
    });
    (
        StatusCode::OK,
        Json(SimulateAnswer {
            status: "PENDING".into(),
            message: "Payment simulation has been triggered. You will be informed of the result via a webhook.".into(),
        }),
    )
        .into_response()
}

/// `POST /simulate-refund/{id}` with `{"outcome": "success" | "failed"}`.
pub(super) async fn simulate_refund(
    State(sb): State<XenditSandbox>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(made) = crate::sandbox_kit::refund_outcome(&body) else {
        return validation(crate::sandbox_kit::REFUND_OUTCOME_EXPECTED);
    };
    match sb.settle_refund(&id, made).await {
        Some(r) => (StatusCode::OK, Json(r)).into_response(),
        None => not_found("Pending refund"),
    }
}
