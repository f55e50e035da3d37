//! Adyen's Checkout API as the sandbox answers it: payments, refunds and cancels.

use super::*;
use crate::adyen::mapping::{from_adyen, wallet_for_method};
use crate::adyen::wire::{
    Action, CancelRequest, ModificationResponse, PaymentRequest, PaymentResponse, RefundRequest,
};
use crate::sandbox_kit::Simulator;
use crate::sandbox_kit::{self, magic, now, Outcome, SimulateBody};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

pub(super) async fn create_payment(
    State(sb): State<AdyenSandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let key = match key_of(&headers) {
        Ok(k) => k,
        Err(why) => return validation(why),
    };
    let print = format!("/payments {}", String::from_utf8_lossy(&body));
    if let Some(r) = replay(&sb, &key, &print) {
        return r;
    }
    let req: PaymentRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return validation(&format!(
                "Structure of PaymentRequest contains the following unknown fields or errors: {e}"
            ))
        }
    };
    if req.merchant_account != sb.inner.config.merchant_account {
        return error(
            StatusCode::FORBIDDEN,
            "901",
            "Invalid Merchant Account",
            "security",
        );
    }
    if req.reference.is_empty() || req.reference.len() > 80 {
        return validation("Reference is required and at most 80 characters");
    }
    let Some((country, _wallet)) = wallet_for_method(&req.payment_method.kind) else {
        return validation("Invalid payment method type");
    };
    if req.country_code != country.as_str() || req.amount.currency != country.currency() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "905_1",
            &format!(
                "Could not find an acquirer account for the provided currency ({}).",
                req.amount.currency
            ),
            "configuration",
        );
    }
    if req.amount.value <= 0 {
        return validation("Amount must be positive");
    }
    let money = from_adyen(req.amount.value, req.amount.currency);
    let whole = sandbox_kit::whole(money);
    if whole == Some(magic::SERVER_ERROR) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "000",
            "An unknown error occurred",
            "internal",
        );
    }
    let psp_reference = psp();
    if whole == Some(magic::UNAVAILABLE) {
        let r = PaymentResponse {
            result_code: "Refused".into(),
            psp_reference: Some(psp_reference),
            merchant_reference: Some(req.reference.clone()),
            action: None,
            refusal_reason: Some("Issuer Unavailable".into()),
            refusal_reason_code: Some("5".into()),
            amount: Some(req.amount),
        };
        return ok_json(&sb, &key, &print, &r);
    }
    let page = format!("{}/checkout/{psp_reference}", sb.inner.config.public_url);
    let action = match req.payment_method.kind.as_str() {
        "pix" => Action {
            kind: "qrCode".into(),
            payment_method_type: Some("pix".into()),
            qr_code_data: Some(sandbox_kit::pix_code(
                "sandbox.adyen.local",
                &psp_reference,
                money,
            )),
            url: Some(page),
            ..Default::default()
        },
        _ => Action {
            kind: "redirect".into(),
            payment_method_type: Some(req.payment_method.kind.clone()),
            url: Some(page),
            method: Some("GET".into()),
            ..Default::default()
        },
    };
    let kept = SandboxPayment {
        psp_reference: psp_reference.clone(),
        merchant_reference: req.reference.clone(),
        method: req.payment_method.kind.clone(),
        amount: req.amount,
        state: "pending".into(),
        reason: String::new(),
        return_url: req.return_url.clone(),
        created: now(),
    };
    sb.lock().insert(psp_reference.clone(), kept);
    tokio::spawn({
        let sb = sb.clone();
        let psp = psp_reference.clone();
        async move {
            tokio::time::sleep(sb.inner.config.offer_lifetime).await;
            // Settled in the meantime: nothing to close.
            let _ = sb
                .simulate(&psp, &SimulateBody::plain(Outcome::Expired))
                .await;
        }
    });
    let r = PaymentResponse {
        result_code: if action.kind == "qrCode" {
            "PresentToShopper"
        } else {
            "RedirectShopper"
        }
        .into(),
        psp_reference: Some(psp_reference),
        merchant_reference: Some(req.reference),
        action: Some(action),
        refusal_reason: None,
        refusal_reason_code: None,
        amount: Some(req.amount),
    };
    let answer = ok_json(&sb, &key, &print, &r);
    if whole == Some(magic::SLOW) {
        tokio::time::sleep(sb.inner.config.slow_response).await;
    }
    answer
}

pub(super) async fn create_refund(
    State(sb): State<AdyenSandbox>,
    headers: HeaderMap,
    Path(payment_psp): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let key = match key_of(&headers) {
        Ok(k) => k,
        Err(why) => return validation(why),
    };
    let print = format!(
        "/payments/{payment_psp}/refunds {}",
        String::from_utf8_lossy(&body)
    );
    if let Some(r) = replay(&sb, &key, &print) {
        return r;
    }
    let req: RefundRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return validation(&format!("Structure of RefundRequest contains errors: {e}")),
    };
    let Some(p) = sb.payment(&payment_psp) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "167",
            "Original pspReference required for this operation",
            "validation",
        );
    };
    if req.amount.currency != p.amount.currency || req.amount.value <= 0 {
        return validation("Invalid amount");
    }
    let whole = sandbox_kit::whole(from_adyen(req.amount.value, req.amount.currency));
    // Adyen takes the request and decides later: a refund of an unpaid payment, or of more
    // than is left, fails in its notification.
    let left = p.amount.value
        - sb.refunds()
            .iter()
            .filter(|r| r.payment_psp_reference == payment_psp && r.state != "failed")
            .map(|r| r.amount.value)
            .sum::<i64>();
    let doomed =
        p.state != "authorised" || req.amount.value > left || whole == Some(magic::REFUND_FAILS);
    let refund = SandboxRefund {
        psp_reference: psp(),
        payment_psp_reference: payment_psp.clone(),
        reference: req.reference.clone(),
        amount: req.amount,
        state: "received".into(),
        created: now(),
    };
    sb.inner
        .refunds
        .lock()
        .expect("sandbox lock")
        .insert(refund.psp_reference.clone(), refund.clone());
    let receipt = ModificationResponse {
        merchant_account: sb.inner.config.merchant_account.clone(),
        payment_psp_reference: payment_psp,
        psp_reference: refund.psp_reference.clone(),
        reference: Some(req.reference),
        status: "received".into(),
        amount: Some(req.amount),
    };
    let answer = ok_json(&sb, &key, &print, &receipt);
    if whole != Some(magic::REFUND_PENDING) {
        let sb2 = sb.clone();
        let psp_reference = refund.psp_reference.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            sb2.settle_refund(&psp_reference, !doomed).await;
        });
    }
    if whole == Some(magic::REFUND_LOST) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "000",
            "An unknown error occurred",
            "internal",
        );
    }
    answer
}

pub(super) async fn cancel_payment(
    State(sb): State<AdyenSandbox>,
    headers: HeaderMap,
    Path(payment_psp): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let req: CancelRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return validation(&format!("Structure of CancelRequest contains errors: {e}")),
    };
    if sb.payment(&payment_psp).is_none() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "167",
            "Original pspReference required for this operation",
            "validation",
        );
    }
    let receipt = ModificationResponse {
        merchant_account: req.merchant_account,
        payment_psp_reference: payment_psp,
        psp_reference: psp(),
        reference: req.reference,
        status: "received".into(),
        amount: None,
    };
    (StatusCode::CREATED, Json(receipt)).into_response()
}
