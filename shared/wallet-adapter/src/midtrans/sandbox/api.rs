//! Midtrans's Core API as the sandbox answers it: charge, status, cancel and refund.

use super::*;
use crate::midtrans::mapping::payment_type;
use crate::midtrans::wire::{Action, ChargeRequest, RefundRequest, Transaction};
use crate::sandbox_kit::Simulator;
use crate::sandbox_kit::{magic, now, uuid_v4, Outcome, Remembered, SimulateBody};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use walletpay_domain::{Country, Currency};

pub(super) async fn charge(
    State(sb): State<MidtransSandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let req: ChargeRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return status(
                StatusCode::BAD_REQUEST,
                "400",
                &format!("One or more parameters in the payload is invalid: {e}"),
            )
        }
    };
    let wallet = match req.payment_type.as_str() {
        "gopay" => walletpay_domain::WalletId::Gopay,
        "shopeepay" => walletpay_domain::WalletId::Shopeepay,
        "qris" => walletpay_domain::WalletId::Qris,
        _ => {
            return status(
                StatusCode::BAD_REQUEST,
                "400",
                "payment_type is not supported",
            )
        }
    };
    debug_assert!(payment_type(Country::ID, wallet).is_some());
    let order_id = req.transaction_details.order_id.clone();
    if order_id.is_empty() || order_id.len() > 50 {
        return status(
            StatusCode::BAD_REQUEST,
            "400",
            "transaction_details.order_id is invalid",
        );
    }
    if req
        .custom_expiry
        .as_ref()
        .is_some_and(|e| e.seconds().is_none())
    {
        return status(
            StatusCode::BAD_REQUEST,
            "400",
            "custom_expiry.expiry_duration must be positive, its unit second, minute, hour or day",
        );
    }
    if req.transaction_details.gross_amount < 1 {
        return status(
            StatusCode::BAD_REQUEST,
            "400",
            "transaction_details.gross_amount must be at least 1",
        );
    }
    if sb.lock().contains_key(&order_id) {
        return status(
            StatusCode::NOT_ACCEPTABLE,
            "406",
            "The request could not be completed due to a conflict with the current state of the target resource, please try again",
        );
    }
    let whole = req.transaction_details.gross_amount;
    if whole == magic::SERVER_ERROR {
        return status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500",
            "Sorry, we encountered internal server error. We will fix this soon.",
        );
    }
    let created = now();
    let page = format!("{}/checkout/{order_id}", sb.inner.config.public_url);
    let actions = match wallet {
        walletpay_domain::WalletId::Gopay => vec![
            Action {
                name: "generate-qr-code".into(),
                method: "GET".into(),
                url: format!("{page}/qr-code"),
            },
            Action {
                name: "deeplink-redirect".into(),
                method: "GET".into(),
                url: page.clone(),
            },
            Action {
                name: "get-status".into(),
                method: "GET".into(),
                url: format!("{}/v2/{order_id}/status", sb.inner.config.public_url),
            },
            Action {
                name: "cancel".into(),
                method: "POST".into(),
                url: format!("{}/v2/{order_id}/cancel", sb.inner.config.public_url),
            },
        ],
        // QRIS: the code's image (its page here) and the code itself in `qr_string`.
        walletpay_domain::WalletId::Qris => vec![Action {
            name: "generate-qr-code".into(),
            method: "GET".into(),
            url: format!("{page}/qr-code"),
        }],
        _ => vec![Action {
            name: "deeplink-redirect".into(),
            method: "GET".into(),
            url: page.clone(),
        }],
    };
    let acquirer = match (&req.qris, wallet) {
        (_, w) if w != walletpay_domain::WalletId::Qris => None,
        (None, _) => Some("gopay".to_string()),
        (Some(q), _) if matches!(q.acquirer.as_str(), "gopay" | "airpay shopee") => {
            Some(q.acquirer.clone())
        }
        (Some(_), _) => {
            return status(
                StatusCode::BAD_REQUEST,
                "400",
                "qris.acquirer must be gopay or airpay shopee",
            )
        }
    };
    let minor = whole * 100;
    let qr_string = acquirer.as_deref().map(|a| {
        walletpay_domain::emv::Qris {
            issuer: if a == "gopay" {
                "COM.GO-JEK.WWW"
            } else {
                "ID.CO.SHOPEE.WWW"
            }
            .into(),
            merchant_pan: "9360091434905263034".into(),
            merchant_id: sb.inner.config.merchant_id.clone(),
            criteria: "UKE".into(),
            nmid: "ID1020000000002".into(),
            mcc: "5999".into(),
            amount: Some(walletpay_domain::Money {
                minor,
                currency: Currency::IDR,
            }),
            merchant_name: "WALLETPAY SANDBOX".into(),
            merchant_city: "JAKARTA".into(),
            postal_code: "10110".into(),
            reference: Some(
                order_id
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .take(25)
                    .collect(),
            ),
        }
        .payload()
        .expect("a valid sandbox QRIS")
    });
    let t = Transaction {
        status_code: "201".into(),
        status_message: format!(
            "{} transaction is created",
            match wallet {
                walletpay_domain::WalletId::Gopay => "GoPay",
                walletpay_domain::WalletId::Qris => "QRIS",
                _ => "ShopeePay",
            }
        ),
        transaction_id: Some(uuid_v4()),
        order_id: Some(order_id.clone()),
        merchant_id: Some(sb.inner.config.merchant_id.clone()),
        gross_amount: Some(gross(minor)),
        currency: Some("IDR".into()),
        payment_type: Some(req.payment_type.clone()),
        transaction_time: Some(wib(created)),
        transaction_status: Some("pending".into()),
        fraud_status: Some("accept".into()),
        actions,
        qr_string,
        acquirer,
        ..Default::default()
    };
    let return_url = req
        .gopay
        .as_ref()
        .and_then(|g| g.callback_url.clone())
        .or_else(|| req.shopeepay.as_ref().and_then(|s| s.callback_url.clone()));
    sb.lock().insert(
        order_id,
        Order {
            transaction: t.clone(),
            before: t.clone(),
            gross_minor: minor,
            refunded_minor: 0,
            return_url,
            created,
            refunds: Vec::new(),
        },
    );
    // An unpaid charge expires when its custom_expiry says (GoPay's own default otherwise:
    // 15 minutes), with its notification.
    let lifetime = req
        .custom_expiry
        .as_ref()
        .and_then(|e| e.seconds())
        .unwrap_or(15 * 60);
    tokio::spawn({
        let sb = sb.clone();
        let order_id = req.transaction_details.order_id.clone();
        async move {
            tokio::time::sleep(std::time::Duration::from_secs(lifetime.max(0) as u64)).await;
            // Settled or canceled in the meantime: nothing to expire.
            let _ = sb
                .simulate(&order_id, &SimulateBody::plain(Outcome::Expired))
                .await;
        }
    });
    if whole == magic::SLOW {
        tokio::time::sleep(sb.inner.config.slow_response).await;
    }
    (StatusCode::OK, Json(t)).into_response()
}

pub(super) async fn status_api(
    State(sb): State<MidtransSandbox>,
    headers: HeaderMap,
    Path(order): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    match sb.order(&order) {
        Some(o) => {
            let mut t = o.transaction;
            t.actions.clear();
            // Midtrans's status answers carry no QRIS code (none of its examples does).
            t.qr_string = None;
            (StatusCode::OK, Json(t)).into_response()
        }
        None => not_found(),
    }
}

pub(super) async fn cancel(
    State(sb): State<MidtransSandbox>,
    headers: HeaderMap,
    Path(order): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let mut orders = sb.lock();
    let Some(o) = orders.get_mut(&order) else {
        return not_found();
    };
    if o.transaction.transaction_status.as_deref() != Some("pending") {
        return status(
            StatusCode::PRECONDITION_FAILED,
            "412",
            "Merchant cannot modify the status of the transaction",
        );
    }
    o.before = o.transaction.clone();
    o.transaction.status_code = "200".into();
    o.transaction.status_message = "Success, transaction is canceled".into();
    o.transaction.transaction_status = Some("cancel".into());
    o.transaction.actions.clear();
    (StatusCode::OK, Json(o.transaction.clone())).into_response()
}

pub(super) async fn refund(
    State(sb): State<MidtransSandbox>,
    headers: HeaderMap,
    Path(order): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let req: RefundRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return status(
                StatusCode::BAD_REQUEST,
                "400",
                &format!("One or more parameters in the payload is invalid: {e}"),
            )
        }
    };
    let print = format!("{order} {}", req.amount);
    match sb.inner.refund_keys.check(&req.refund_key, &print) {
        Remembered::Replay(code, answer) => {
            return crate::sandbox_kit::remembered_answer(code, answer)
        }
        Remembered::Mismatch => {
            return status(
                StatusCode::BAD_REQUEST,
                "400",
                "refund_key was used for another refund",
            )
        }
        Remembered::New => {}
    }
    let answer = {
        let mut orders = sb.lock();
        let Some(o) = orders.get_mut(&order) else {
            return not_found();
        };
        let paid = matches!(
            o.transaction.transaction_status.as_deref(),
            Some("settlement" | "partial_refund")
        );
        let minor = req.amount * 100;
        // A QRIS payment past its refund window (on-us 45 days, off-us 7).
        let lapsed = o.transaction.payment_type.as_deref() == Some("qris")
            && crate::midtrans::mapping::qris_refund_refusal(&o.transaction, now()).is_some();
        if !paid || req.amount <= 0 || req.amount == magic::REFUND_FAILS || lapsed {
            return status(
                StatusCode::PRECONDITION_FAILED,
                "412",
                "Merchant cannot modify the status of the transaction",
            );
        }
        if minor > o.gross_minor - o.refunded_minor {
            return status(
                StatusCode::PRECONDITION_FAILED,
                "414",
                "Refund amount is greater than the remaining amount",
            );
        }
        o.refunded_minor += minor;
        o.refunds.push((req.refund_key.clone(), minor, now()));
        let t = &mut o.transaction;
        t.transaction_status = Some(
            if o.refunded_minor == o.gross_minor {
                "refund"
            } else {
                "partial_refund"
            }
            .into(),
        );
        let mut a = t.clone();
        a.status_code = "200".into();
        a.status_message = "Success, refund request is approved".into();
        a.refund_amount = Some(gross(minor));
        a.refund_key = Some(req.refund_key.clone());
        a.refund_chargeback_id = Some(o.refunds.len() as i64 + 100_000);
        a
    };
    let text = serde_json::to_string(&answer).expect("serialises");
    sb.inner
        .refund_keys
        .remember(&req.refund_key, &print, 200, &text);
    if req.amount == magic::REFUND_LOST {
        return status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500",
            "Sorry, we encountered internal server error. We will fix this soon.",
        );
    }
    (StatusCode::OK, [("content-type", "application/json")], text).into_response()
}
