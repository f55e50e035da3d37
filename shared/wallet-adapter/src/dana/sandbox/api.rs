//! DANA's SNAP API as the sandbox answers it: the B2B token, direct debit payment, status,
//! cancel and refund, each request's signature checked.

use super::*;
use crate::dana::signature;
use crate::dana::wire::{Answer, CancelOrder, CreateOrder, RefundOrder, StatusQuery};
use crate::sandbox_kit::{alnum, magic, now};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use walletpay_domain::Timestamp;

pub(super) async fn token(State(sb): State<DanaSandbox>, headers: HeaderMap) -> Response {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
    let key = signature::public_key(&sb.inner.config.merchant_public_key).expect("sandbox key");
    let data = format!("{}|{}", h("x-client-key"), h("x-timestamp"));
    if h("x-client-key") != sb.inner.config.partner_id
        || !signature::verify(&[key], &data, h("x-signature"))
    {
        return answer(
            StatusCode::UNAUTHORIZED,
            "4017300",
            "Unauthorized. Invalid Signature",
        );
    }
    let t = alnum(40);
    sb.inner
        .tokens
        .lock()
        .expect("sandbox lock")
        .insert(t.clone());
    (
        StatusCode::OK,
        Json(Answer {
            response_code: "2007300".into(),
            response_message: "Successful".into(),
            access_token: Some(t),
            token_type: Some("Bearer".into()),
            expires_in: Some("900".into()),
            ..Default::default()
        }),
    )
        .into_response()
}

pub(super) async fn create(
    State(sb): State<DanaSandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = sb.check(
        "54",
        "/payment-gateway/v1.0/debit/payment-host-to-host.htm",
        &headers,
        &body,
    ) {
        return r;
    }
    let req: CreateOrder = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                "4005401",
                &format!("Invalid Field Format {e}"),
            )
        }
    };
    if req.merchant_id != sb.inner.config.merchant_id {
        return answer(StatusCode::NOT_FOUND, "4045408", "Invalid Merchant");
    }
    let Some(amount) = idr(&req.amount).filter(|m| m.minor > 0) else {
        return answer(
            StatusCode::BAD_REQUEST,
            "4005401",
            "Invalid Field Format amount",
        );
    };
    // IDR 20,000,000: DANA's per-transaction limit.
    if amount.minor > 2_000_000_000 {
        return answer(
            StatusCode::FORBIDDEN,
            "4035402",
            "Exceeds Transaction Amount Limit",
        );
    }
    let whole = amount.whole_major().ok();
    if whole == Some(magic::SERVER_ERROR) {
        return answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            "5005400",
            "General Error",
        );
    }
    let ok = |o: &Order| Answer {
        response_code: "2005400".into(),
        response_message: "Successful".into(),
        reference_no: Some(o.reference_no.clone()),
        partner_reference_no: Some(o.request.partner_reference_no.clone()),
        web_redirect_url: Some(format!(
            "{}/checkout/{}",
            sb.inner.config.public_url, o.reference_no
        )),
        ..Default::default()
    };
    let existing = sb.lock().get(&req.partner_reference_no).cloned();
    if let Some(o) = existing {
        // merchantId + partnerReferenceNo: the same data again is the same order.
        let same = serde_json::to_value(&o.request).ok() == serde_json::to_value(&req).ok();
        return if same {
            (StatusCode::OK, Json(ok(&o))).into_response()
        } else {
            answer(StatusCode::NOT_FOUND, "4045418", "Inconsistent Request")
        };
    }
    let url = |kind: &str| {
        req.url_params
            .iter()
            .find(|p| p.kind == kind)
            .map(|p| p.url.clone())
    };
    let o = Order {
        reference_no: format!("{}{}", now().millis(), alnum(8).to_ascii_uppercase()),
        status: "01".into(),
        desc: "Initiated".into(),
        created: now(),
        notify_url: url("NOTIFICATION"),
        return_url: url("PAY_RETURN"),
        refunds: Vec::new(),
        request: req,
    };
    sb.lock()
        .insert(o.request.partner_reference_no.clone(), o.clone());
    // An order nobody pays closes at its validUpTo, and DANA notifies that it expired.
    if let Some(until) = Timestamp::parse_rfc3339(&o.request.valid_up_to) {
        tokio::spawn({
            let sb = sb.clone();
            let reference = o.request.partner_reference_no.clone();
            async move {
                let wait = (until.millis() - now().millis()).max(0) as u64;
                tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                sb.close(
                    &reference,
                    "Cancelled, the order has been closed because it is expired",
                    true,
                )
                .await;
            }
        });
    }
    if whole == Some(magic::SLOW) {
        tokio::time::sleep(sb.inner.config.slow_response).await;
    }
    (StatusCode::OK, Json(ok(&o))).into_response()
}

/// Cancel Order (service 57): an order the customer has not paid is closed (`2005700`); one
/// paid or refunded is refused with `4045700` Invalid Transaction Status, one closed
/// already with `4035700` Transaction Expired.
pub(super) async fn cancel(
    State(sb): State<DanaSandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    const PATH: &str = "/payment-gateway/v1.0/debit/cancel.htm";
    if let Err(r) = sb.check("57", PATH, &headers, &body) {
        return r;
    }
    let q: CancelOrder = match serde_json::from_slice(&body) {
        Ok(q) => q,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                "4005701",
                &format!("Invalid Field Format {e}"),
            )
        }
    };
    if q.merchant_id != sb.inner.config.merchant_id {
        return answer(StatusCode::NOT_FOUND, "4045708", "Invalid Merchant");
    }
    let Some(o) = sb.lock().get(&q.original_partner_reference_no).cloned() else {
        return answer(StatusCode::NOT_FOUND, "4045701", "Transaction Not Found");
    };
    let done = |o: &Order| {
        (
            StatusCode::OK,
            Json(Answer {
                response_code: "2005700".into(),
                response_message: "Success".into(),
                original_partner_reference_no: Some(o.request.partner_reference_no.clone()),
                original_reference_no: Some(o.reference_no.clone()),
                ..Default::default()
            }),
        )
            .into_response()
    };
    match o.status.as_str() {
        "01" => match sb
            .close(
                &q.original_partner_reference_no,
                "Cancelled by merchant",
                false,
            )
            .await
        {
            Some(closed) => done(&closed),
            None => answer(
                StatusCode::NOT_FOUND,
                "4045700",
                "Invalid Transaction Status",
            ),
        },
        "05" => answer(StatusCode::FORBIDDEN, "4035700", "Transaction Expired"),
        _ => answer(
            StatusCode::NOT_FOUND,
            "4045700",
            "Invalid Transaction Status",
        ),
    }
}

pub(super) async fn status(
    State(sb): State<DanaSandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = sb.check(
        "55",
        "/payment-gateway/v1.0/debit/status.htm",
        &headers,
        &body,
    ) {
        return r;
    }
    let q: StatusQuery = match serde_json::from_slice(&body) {
        Ok(q) => q,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                "4005501",
                &format!("Invalid Field Format {e}"),
            )
        }
    };
    let Some(o) = sb.lock().get(&q.original_partner_reference_no).cloned() else {
        return answer(StatusCode::NOT_FOUND, "4045501", "Transaction Not Found");
    };
    if q.original_reference_no
        .as_deref()
        .is_some_and(|r| r != o.reference_no)
    {
        return answer(StatusCode::NOT_FOUND, "4045501", "Transaction Not Found");
    }
    (
        StatusCode::OK,
        Json(Answer {
            response_code: "2005500".into(),
            response_message: "Successful".into(),
            original_partner_reference_no: Some(o.request.partner_reference_no.clone()),
            original_reference_no: Some(o.reference_no.clone()),
            latest_transaction_status: Some(o.status.clone()),
            transaction_status_desc: Some(o.desc.clone()),
            amount: Some(o.request.amount.clone()),
            ..Default::default()
        }),
    )
        .into_response()
}

pub(super) async fn refund(
    State(sb): State<DanaSandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = sb.check(
        "58",
        "/payment-gateway/v1.0/debit/refund.htm",
        &headers,
        &body,
    ) {
        return r;
    }
    let req: RefundOrder = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                "4005801",
                &format!("Invalid Field Format {e}"),
            )
        }
    };
    if let Some(done) = sb
        .inner
        .refunds
        .lock()
        .expect("sandbox lock")
        .get(&req.partner_refund_no)
    {
        return (StatusCode::OK, Json(done.clone())).into_response();
    }
    let Some(amount) = idr(&req.refund_amount).filter(|m| m.minor > 0) else {
        return answer(
            StatusCode::BAD_REQUEST,
            "4005801",
            "Invalid Field Format refundAmount",
        );
    };
    let whole = amount.whole_major().ok();
    let made = {
        let mut orders = sb.lock();
        let Some(o) = orders.get_mut(&req.original_partner_reference_no) else {
            return answer(StatusCode::NOT_FOUND, "4045801", "Transaction Not Found");
        };
        let paid = idr(&o.request.amount).map(|m| m.minor).unwrap_or(0);
        let refunded: i64 = o.refunds.iter().map(|(_, _, m, _)| m.minor).sum();
        if !matches!(o.status.as_str(), "00" | "04") || whole == Some(magic::REFUND_FAILS) {
            return answer(
                StatusCode::FORBIDDEN,
                "4035815",
                "Transaction Not Permitted",
            );
        }
        if amount.minor > paid - refunded {
            return answer(
                StatusCode::FORBIDDEN,
                "4035813",
                "Insufficient Funds for refund",
            );
        }
        let refund_no = format!("{}{}", now().millis(), alnum(6).to_ascii_uppercase());
        o.refunds.push((
            refund_no.clone(),
            req.partner_refund_no.clone(),
            amount,
            now(),
        ));
        if refunded + amount.minor == paid {
            o.status = "04".into();
        }
        Answer {
            response_code: "2005800".into(),
            response_message: "Successful".into(),
            original_partner_reference_no: Some(req.original_partner_reference_no.clone()),
            refund_no: Some(refund_no),
            partner_refund_no: Some(req.partner_refund_no.clone()),
            refund_amount: Some(req.refund_amount.clone()),
            ..Default::default()
        }
    };
    sb.inner
        .refunds
        .lock()
        .expect("sandbox lock")
        .insert(req.partner_refund_no.clone(), made.clone());
    if whole == Some(magic::REFUND_LOST) {
        return answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            "5005800",
            "General Error",
        );
    }
    (StatusCode::OK, Json(made)).into_response()
}
