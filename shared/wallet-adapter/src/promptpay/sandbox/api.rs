//! The acquiring bank's bill-payment API as its sandbox answers it: register, list and
//! cancel bills, list payments, refund them and read a refund.

use super::*;
use crate::promptpay::wire::{Bill, BillRefs, List, Refund, RefundRequest};
use crate::sandbox_kit::{alnum, magic, now};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use walletpay_domain::Timestamp;

pub(super) async fn register(
    State(sb): State<BankSandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let print = String::from_utf8_lossy(&body).to_string();
    if let Some(answer) = key.as_deref().and_then(|k| replay(&sb, k, &print, "bill")) {
        return answer;
    }
    let mut bill: Bill = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string()),
    };
    if bill.biller_id != sb.inner.config.biller_id {
        return error(
            StatusCode::FORBIDDEN,
            "unknown_biller",
            "The biller id is not this account's.",
        );
    }
    let Some(amount) = thb(&bill.amount).filter(|a| a.minor > 0) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_amount",
            "amount is THB with 2 decimals.",
        );
    };
    if Timestamp::parse_rfc3339(&bill.expires_at).is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_expiry",
            "expires_at is RFC 3339.",
        );
    }
    let whole = amount.whole_major().ok();
    if whole == Some(magic::SERVER_ERROR) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Try again later.",
        );
    }
    let reference = reference_of(&bill.ref1, bill.ref2.as_deref());
    if sb.has_bill(&reference) {
        return error(
            StatusCode::CONFLICT,
            "duplicate_bill",
            "A bill with these references exists.",
        );
    }
    bill.status = Some("open".into());
    sb.lock().insert(
        reference,
        Kept {
            bill: bill.clone(),
            payment: None,
            refunds: Vec::new(),
            canceled: false,
        },
    );
    let answer = serde_json::to_string(&bill).expect("serialises");
    if let Some(k) = &key {
        sb.inner.idempotency.remember(k, &print, 201, &answer);
    }
    if whole == Some(magic::SLOW) {
        tokio::time::sleep(sb.inner.config.slow_response).await;
    }
    (
        StatusCode::CREATED,
        [("content-type", "application/json")],
        answer,
    )
        .into_response()
}

#[derive(Deserialize)]
pub(super) struct Refs {
    biller_id: String,
    ref1: String,
    ref2: Option<String>,
}

pub(super) async fn list_bills(
    State(sb): State<BankSandbox>,
    headers: HeaderMap,
    Query(q): Query<Refs>,
) -> Response {
    listed(&sb, &headers, &q, |k| Some(k.shown()))
}

pub(super) async fn list_payments(
    State(sb): State<BankSandbox>,
    headers: HeaderMap,
    Query(q): Query<Refs>,
) -> Response {
    listed(&sb, &headers, &q, |k| k.payment.clone())
}

/// A list of at most one item: `pick` from the bill kept under the query's reference for
/// the query's biller, or nothing.
pub(super) fn listed<T: serde::Serialize>(
    sb: &BankSandbox,
    headers: &HeaderMap,
    q: &Refs,
    pick: impl Fn(&Kept) -> Option<T>,
) -> Response {
    if !sb.authorized(headers) {
        return unauthorized();
    }
    let data: Vec<T> = sb
        .lock()
        .get(&reference_of(&q.ref1, q.ref2.as_deref()))
        .filter(|k| k.bill.biller_id == q.biller_id)
        .and_then(pick)
        .into_iter()
        .collect();
    Json(List { data }).into_response()
}

pub(super) async fn refund(
    State(sb): State<BankSandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "idempotency_key_required",
            "Refunds need an Idempotency-Key.",
        );
    };
    let print = String::from_utf8_lossy(&body).to_string();
    if let Some(answer) = replay(&sb, &key, &print, "refund") {
        return answer;
    }
    let req: RefundRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string()),
    };
    let Some(amount) = thb(&req.amount).filter(|a| a.minor > 0) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_amount",
            "amount is THB with 2 decimals.",
        );
    };
    let whole = amount.whole_major().ok();
    let refund = {
        let mut bills = sb.lock();
        let Some(k) = bills.get_mut(&reference_of(&req.ref1, req.ref2.as_deref())) else {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                "No bill payment with these references.",
            );
        };
        let Some(paid) = &k.payment else {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_paid",
                "The bill is not paid.",
            );
        };
        let paid_minor = thb(&paid.amount).map(|m| m.minor).unwrap_or(0);
        let refunded: i64 = k
            .refunds
            .iter()
            .filter(|(r, _)| r.status == "succeeded" || r.status == "pending")
            .filter_map(|(r, _)| thb(&r.amount))
            .map(|m| m.minor)
            .sum();
        if amount.minor > paid_minor - refunded {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "amount_exceeds_payment",
                "More than is left of the payment.",
            );
        }
        let failed = whole == Some(magic::REFUND_FAILS);
        let status = if failed {
            "failed"
        } else if whole == Some(magic::REFUND_PENDING) {
            "pending"
        } else {
            "succeeded"
        };
        let r = Refund {
            refund_id: format!("RF{}", alnum(14).to_ascii_uppercase()),
            transaction_id: paid.transaction_id.clone(),
            ref1: k.bill.ref1.clone(),
            ref2: k.bill.ref2.clone(),
            amount: req.amount.clone(),
            status: status.into(),
            failure_reason: failed.then(|| "account_closed".to_string()),
            reference: req.reference.clone(),
        };
        k.refunds.push((r.clone(), now()));
        r
    };
    let answer = serde_json::to_string(&refund).expect("serialises");
    sb.inner.idempotency.remember(&key, &print, 201, &answer);
    if whole == Some(magic::REFUND_LOST) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Try again later.",
        );
    }
    (
        StatusCode::CREATED,
        [("content-type", "application/json")],
        answer,
    )
        .into_response()
}

pub(super) async fn cancel(
    State(sb): State<BankSandbox>,
    headers: HeaderMap,
    Json(q): Json<BillRefs>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let mut bills = sb.lock();
    let Some(k) = bills
        .get_mut(&reference_of(&q.ref1, q.ref2.as_deref()))
        .filter(|k| k.bill.biller_id == q.biller_id)
    else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "No bill with these references.",
        );
    };
    match k.status() {
        "open" => {
            k.canceled = true;
            Json(k.shown()).into_response()
        }
        "canceled" => Json(k.shown()).into_response(),
        other => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bill_not_open",
            &format!("The bill is {other}."),
        ),
    }
}

impl BankSandbox {
    /// Every refund the bank made or was asked for.
    pub fn refunds(&self) -> Vec<Refund> {
        self.lock()
            .values()
            .flat_map(|k| k.refunds.iter().map(|(r, _)| r.clone()))
            .collect()
    }

    pub(super) fn find_refund(&self, id: &str) -> Option<Refund> {
        self.lock()
            .values()
            .flat_map(|k| k.refunds.iter())
            .find(|(r, _)| r.refund_id == id)
            .map(|(r, _)| r.clone())
    }
}

pub(super) async fn get_refund(
    State(sb): State<BankSandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    match sb.find_refund(&id) {
        Some(r) => Json(r).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "No such refund."),
    }
}
