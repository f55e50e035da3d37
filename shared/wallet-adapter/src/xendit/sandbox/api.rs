//! Xendit's e-wallet charges API as the sandbox answers it: create and read charges,
//! refund them and read a refund.

use super::*;
use crate::sandbox_kit::{now, uuid_v4};
use crate::xendit::mapping::parse_amount;
use crate::xendit::wire::{Actions, Charge, CreateChargeBody, CreateRefundBody, RefundObject};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::value::RawValue;
use walletpay_domain::Currency;

pub(super) async fn create_charge(
    State(sb): State<XenditSandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "INVALID_API_KEY",
            "API key format is invalid",
        );
    }
    let req: CreateChargeBody = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return validation(&format!("invalid request body: {e}")),
    };
    if req.reference_id.is_empty() || req.reference_id.len() > 255 {
        return validation("reference_id must be between 1 and 255 characters");
    }
    if req.checkout_method != "ONE_TIME_PAYMENT" {
        return validation("checkout_method must be ONE_TIME_PAYMENT");
    }
    let Some(channel_currency) = currency_of_channel(&req.channel_code) else {
        return validation("channel_code is not a supported e-wallet channel");
    };
    let Ok(currency) = req.currency.parse::<Currency>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "UNSUPPORTED_CURRENCY",
            "currency is not supported",
        );
    };
    if currency != channel_currency {
        return error(
            StatusCode::BAD_REQUEST,
            "UNSUPPORTED_CURRENCY",
            "currency is not supported for this channel_code",
        );
    }
    let amount = match parse_amount(req.amount.get(), currency) {
        Ok(a) if a.minor > 0 => a,
        _ => return validation("amount must be a positive number"),
    };
    if currency == Currency::IDR && amount.whole_major().is_err() {
        return validation("amount must be a whole number for IDR");
    }
    let minimum = match currency {
        Currency::IDR => 10_000, // IDR 100.00
        Currency::PHP => 100,    // PHP 1.00
        _ => 1,
    };
    if amount.minor < minimum {
        return validation("amount is below the minimum for this channel");
    }
    let whole = amount.whole_major().ok();
    match whole {
        Some(10100) => {
            return error(
                StatusCode::FORBIDDEN,
                "CHANNEL_NOT_ACTIVATED",
                "Channel is not activated for this account",
            )
        }
        Some(10101) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "CHANNEL_UNAVAILABLE",
                "The e-wallet channel is unavailable",
            )
        }
        Some(10102) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "SERVER_ERROR",
                "An unexpected error occurred",
            )
        }
        _ => {}
    }
    let props = req.channel_properties.clone().unwrap_or_default();
    let is_ovo = req.channel_code == "ID_OVO";
    if is_ovo {
        match props.mobile_number.as_deref() {
            Some(n)
                if n.starts_with("+62")
                    && n.len() >= 10
                    && n[1..].bytes().all(|b| b.is_ascii_digit()) => {}
            _ => {
                return validation(
                    "channel_properties.mobile_number must be an E.164 Indonesian number",
                )
            }
        }
    } else if props.success_redirect_url.is_none() {
        return validation("channel_properties.success_redirect_url is required");
    }

    let id = format!("ewc_{}", uuid_v4());
    let page = format!("{}/checkout/{id}", sb.inner.config.public_url);
    let actions = if is_ovo {
        None
    } else if req.channel_code == "ID_SHOPEEPAY" {
        // ShopeePay Indonesia offers the app link and a QRIS code of the charge.
        let qris = walletpay_domain::emv::Qris {
            issuer: "ID.CO.SHOPEE.WWW".into(),
            merchant_pan: "936009180000000001".into(),
            merchant_id: "WALLETPAYSANDBOX".into(),
            criteria: "UMI".into(),
            nmid: "ID1020000000001".into(),
            mcc: "5999".into(),
            amount: Some(amount),
            merchant_name: "WALLETPAY SANDBOX".into(),
            merchant_city: "JAKARTA".into(),
            postal_code: "10110".into(),
            reference: Some(id[4..].chars().filter(|c| *c != '-').take(25).collect()),
        };
        Some(Actions {
            mobile_deeplink_checkout_url: Some(page.clone()),
            qr_checkout_string: Some(qris.payload().expect("a valid sandbox QRIS")),
            ..Default::default()
        })
    } else if req.channel_code.ends_with("_SHOPEEPAY") {
        Some(Actions {
            mobile_deeplink_checkout_url: Some(page.clone()),
            ..Default::default()
        })
    } else {
        Some(Actions {
            desktop_web_checkout_url: Some(page.clone()),
            mobile_web_checkout_url: Some(page),
            ..Default::default()
        })
    };
    let at = now().to_string();
    let charge = Charge {
        id: id.clone(),
        business_id: sb.inner.config.business_id.clone(),
        reference_id: req.reference_id,
        status: "PENDING".into(),
        currency: req.currency,
        charge_amount: req.amount,
        capture_amount: None,
        refunded_amount: None,
        checkout_method: req.checkout_method,
        channel_code: req.channel_code,
        channel_properties: req.channel_properties,
        is_redirect_required: actions.is_some(),
        actions,
        callback_url: Some(sb.inner.config.callback_url.clone()),
        created: at.clone(),
        updated: at,
        void_status: None,
        voided_at: None,
        capture_now: true,
        customer_id: None,
        payment_method_id: None,
        failure_code: None,
        basket: None,
        metadata: req.metadata,
    };
    sb.inner
        .charges
        .lock()
        .expect("sandbox lock")
        .insert(id.clone(), charge.clone());
    let lifetime = sb
        .inner
        .config
        .pending_lifetime
        .unwrap_or_else(|| channel_lifetime(&charge.channel_code));
    tokio::spawn({
        let sb = sb.clone();
        async move {
            tokio::time::sleep(lifetime).await;
            // Settled in the meantime: nothing to lapse.
            let _ = sb.settle(&id, &SimulateBody::plain(Outcome::Expired)).await;
        }
    });
    if whole == Some(10999) {
        tokio::time::sleep(sb.inner.config.slow_response).await;
    }
    (StatusCode::OK, Json(charge)).into_response()
}

pub(super) async fn get_charge(
    State(sb): State<XenditSandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "INVALID_API_KEY",
            "API key format is invalid",
        );
    }
    match sb.charge(&id) {
        Some(c) => (StatusCode::OK, Json(c)).into_response(),
        None => error(StatusCode::NOT_FOUND, "DATA_NOT_FOUND", "Charge not found"),
    }
}

pub(super) async fn create_refund(
    State(sb): State<XenditSandbox>,
    headers: HeaderMap,
    Path(charge_id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "INVALID_API_KEY",
            "API key format is invalid",
        );
    }
    let key = headers
        .get("x-idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(k) = &key {
        let refunds = sb.inner.refunds.lock().expect("sandbox lock");
        if let Some(existing) = refunds.1.get(k).and_then(|id| refunds.0.get(id)) {
            return (StatusCode::OK, Json(existing.clone())).into_response();
        }
    }
    let Some(charge) = sb.charge(&charge_id) else {
        return error(StatusCode::NOT_FOUND, "DATA_NOT_FOUND", "Charge not found");
    };
    let req: CreateRefundBody = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return validation(&format!("invalid request body: {e}")),
    };
    if ![
        "REQUESTED_BY_CUSTOMER",
        "DUPLICATE",
        "FRAUDULENT",
        "CANCELLATION",
        "OTHERS",
    ]
    .contains(&req.reason.as_str())
    {
        return validation("reason is not one of the allowed values");
    }
    if charge.channel_code == "ID_OVO" {
        return error(
            StatusCode::FORBIDDEN,
            "REFUND_NOT_SUPPORTED",
            "OVO one-time payments cannot be refunded",
        );
    }
    if charge.status != "SUCCEEDED" {
        return error(
            StatusCode::BAD_REQUEST,
            "INELIGIBLE_TRANSACTION",
            "Only SUCCEEDED charges can be refunded",
        );
    }
    let Ok(currency) = charge.currency.parse::<Currency>() else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SERVER_ERROR",
            "charge has no currency",
        );
    };
    let amount = match parse_amount(req.amount.get(), currency) {
        Ok(a) if a.minor > 0 => a,
        _ => return validation("amount must be a positive number"),
    };
    let paid = parse_amount(charge.charge_amount.get(), currency)
        .map(|m| m.minor)
        .unwrap_or(0);
    let taken: i64 = {
        let refunds = sb.inner.refunds.lock().expect("sandbox lock");
        refunds
            .0
            .values()
            .filter(|r| r.charge_id == charge_id && r.status != "FAILED")
            .filter_map(|r| parse_amount(r.refund_amount.get(), currency).ok())
            .map(|m| m.minor)
            .sum()
    };
    if amount.minor > paid - taken {
        return error(
            StatusCode::BAD_REQUEST,
            "REFUND_AMOUNT_EXCEEDED",
            "Refund amount is more than what is left to refund",
        );
    }
    let whole = amount.whole_major().ok();
    let (status, failure) = match whole {
        Some(1111) => ("PENDING", None),
        Some(2222) => ("FAILED", Some("INSUFFICIENT_MERCHANT_BALANCE")),
        _ => ("SUCCEEDED", None),
    };
    let at = now().to_string();
    let refund = RefundObject {
        id: format!("ewr_{}", uuid_v4()),
        charge_id: charge_id.clone(),
        status: status.into(),
        currency: charge.currency.clone(),
        channel_code: charge.channel_code.clone(),
        capture_amount: charge
            .capture_amount
            .clone()
            .unwrap_or(charge.charge_amount.clone()),
        refund_amount: req.amount,
        reason: req.reason,
        failure_code: failure.map(str::to_string),
        created: at.clone(),
        updated: at,
    };
    {
        let mut refunds = sb.inner.refunds.lock().expect("sandbox lock");
        refunds.0.insert(refund.id.clone(), refund.clone());
        if let Some(k) = key {
            refunds.1.insert(k, refund.id.clone());
        }
    }
    sb.recount_refunded(&charge_id);
    if whole == Some(3333) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SERVER_ERROR",
            "An unexpected error occurred",
        );
    }
    (StatusCode::OK, Json(refund)).into_response()
}

pub(super) async fn get_refund(
    State(sb): State<XenditSandbox>,
    headers: HeaderMap,
    Path((charge_id, refund_id)): Path<(String, String)>,
) -> Response {
    if !sb.authorized(&headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "INVALID_API_KEY",
            "API key format is invalid",
        );
    }
    let refunds = sb.inner.refunds.lock().expect("sandbox lock");
    match refunds.0.get(&refund_id) {
        Some(r) if r.charge_id == charge_id => (StatusCode::OK, Json(r.clone())).into_response(),
        _ => error(StatusCode::NOT_FOUND, "DATA_NOT_FOUND", "Refund not found"),
    }
}

impl XenditSandbox {
    /// Keeps the charge's `refunded_amount` equal to its succeeded refunds.
    pub(super) fn recount_refunded(&self, charge_id: &str) {
        let mut charges = self.inner.charges.lock().expect("sandbox lock");
        let Some(c) = charges.get_mut(charge_id) else {
            return;
        };
        let Ok(currency) = c.currency.parse::<Currency>() else {
            return;
        };
        let refunds = self.inner.refunds.lock().expect("sandbox lock");
        let total: i64 = refunds
            .0
            .values()
            .filter(|r| r.charge_id == charge_id && r.status == "SUCCEEDED")
            .filter_map(|r| parse_amount(r.refund_amount.get(), currency).ok())
            .map(|m| m.minor)
            .sum();
        c.refunded_amount = (total > 0).then(|| {
            let m = walletpay_domain::Money {
                minor: total,
                currency,
            };
            RawValue::from_string(
                crate::xendit::mapping::amount_literal(m).unwrap_or_else(|_| m.decimal_string(2)),
            )
            .expect("a decimal literal is valid JSON")
        });
    }
}
