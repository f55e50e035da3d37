//! A local Midtrans: the Core API's `/v2/charge`, `/v2/{order_id}/status`,
//! `/v2/{order_id}/cancel` and `/v2/{order_id}/refund` for GoPay and ShopeePay with
//! Midtrans's paths, Basic auth, string `status_code`s and statuses; a page where the
//! customer approves or declines (the deeplink's and QR's target); `simulate`; notifications
//! with `signature_key` posted to the configured URL; and a transactions report of a day.
//! Mount its router anywhere (the local stack uses `/sandbox/midtrans`).
//!
//! Test credentials: server key [`SANDBOX_SERVER_KEY`].
//!
//! Outcomes: `success` -> `settlement`; `user_cancelled` -> `cancel`; `expired` -> `expire`;
//! every other decline -> `deny` (Midtrans reports no finer reason). `stale_after` follows
//! the final notification with the `pending` one (out of order).
//!
//! Magic amounts (whole rupiah, [`crate::sandbox_kit::magic`]): 1102 answers 500 and makes
//! nothing, 1109 answers slowly. (Midtrans documents no "channel unavailable" answer, so
//! 1101 is an ordinary payment here.) Refunds are approved at once, except 2222 (412,
//! refused) and 3333 (made, answered 500; the same `refund_key` then gets the refund).
//! Refunds never wait, so 1111 is ordinary too.
//!
//! The transactions report (`/reports/transactions?date=`) is the sandbox's own CSV:
//! Midtrans documents no settlement-report columns.

use super::mapping::payment_type;
use super::signature::signature_key;
use super::wire::{Action, ChargeRequest, RefundRequest, Transaction};
use super::SANDBOX_SERVER_KEY;
use crate::sandbox_kit::{
    checkout_page, csv_line, day_of, magic, now, uuid_v4, DecideForm, IdempotencyMemory, Outcome,
    Remembered, SimulateBody,
};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use walletpay_domain::{Country, Currency, Money, Timestamp};

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub server_key: String,
    pub notification_url: String,
    pub public_url: String,
    pub merchant_id: String,
    pub slow_response: std::time::Duration,
}

impl SandboxConfig {
    pub fn new(public_url: impl Into<String>, notification_url: impl Into<String>) -> Self {
        SandboxConfig {
            server_key: SANDBOX_SERVER_KEY.into(),
            notification_url: notification_url.into(),
            public_url: public_url.into().trim_end_matches('/').to_string(),
            merchant_id: "G141532850".into(),
            slow_response: std::time::Duration::from_secs(12),
        }
    }
}

/// An order as the sandbox keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct Order {
    pub transaction: Transaction,
    /// The transaction before it settled (for out-of-order notifications).
    #[serde(skip)]
    pub before: Transaction,
    pub gross_minor: i64,
    pub refunded_minor: i64,
    pub return_url: Option<String>,
    pub created: Timestamp,
    pub refunds: Vec<(String, i64, Timestamp)>,
}

#[derive(Clone)]
pub struct MidtransSandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    orders: Mutex<HashMap<String, Order>>,
    refund_keys: IdempotencyMemory,
    http: reqwest::Client,
}

/// `{"status_code", "status_message", "id"}` with the given HTTP status.
fn status(http: StatusCode, code: &str, message: &str) -> Response {
    (
        http,
        Json(serde_json::json!({
            "status_code": code,
            "status_message": message,
            "id": uuid_v4(),
        })),
    )
        .into_response()
}

/// Midtrans writes times in Jakarta time: `2026-11-25 17:00:00`.
fn wib(t: Timestamp) -> String {
    Timestamp(t.millis() + 7 * 3600 * 1000).to_string()[..19].replace('T', " ")
}

fn gross(minor: i64) -> String {
    Money {
        minor,
        currency: Currency::IDR,
    }
    .decimal_string(2)
}

impl MidtransSandbox {
    pub fn new(config: SandboxConfig) -> Self {
        MidtransSandbox {
            inner: Arc::new(Inner {
                config,
                orders: Mutex::new(HashMap::new()),
                refund_keys: IdempotencyMemory::default(),
                http: crate::sandbox_kit::webhook_client(),
            }),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v2/charge", post(charge))
            .route("/v2/{order}/status", get(status_api))
            .route("/v2/{order}/cancel", post(cancel))
            .route("/v2/{order}/refund", post(refund))
            .route("/checkout/{order}", get(page).post(decide))
            .route("/simulate/{order}", post(simulate_api))
            .route("/reports/transactions", get(report))
            .with_state(self.clone())
    }

    pub fn order(&self, order_id: &str) -> Option<Order> {
        self.lock().get(order_id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Order>> {
        self.inner.orders.lock().expect("sandbox lock")
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        use base64::Engine;
        let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some(b) = v.strip_prefix("Basic ") else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(b.trim()) else {
            return false;
        };
        let expected = format!("{}:", self.inner.config.server_key);
        crate::xendit::callback_token_matches(&decoded, &[expected.as_str()])
    }

    /// The notification Midtrans would send for `t`, signed.
    fn notification(&self, t: &Transaction) -> Transaction {
        let mut n = t.clone();
        n.actions.clear();
        n.signature_key = Some(signature_key(
            n.order_id.as_deref().unwrap_or(""),
            &n.status_code,
            n.gross_amount.as_deref().unwrap_or(""),
            &self.inner.config.server_key,
        ));
        n
    }

    pub async fn notify(&self, t: &Transaction) -> Option<u16> {
        self.inner
            .http
            .post(&self.inner.config.notification_url)
            .json(&self.notification(t))
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    }

    /// Settles a pending order and sends its notifications as `how` says.
    pub async fn simulate(
        &self,
        order_id: &str,
        how: &SimulateBody,
    ) -> Result<Transaction, String> {
        let (after, before) = {
            let mut orders = self.lock();
            let o = orders.get_mut(order_id).ok_or("no such order")?;
            if o.transaction.transaction_status.as_deref() != Some("pending") {
                return Err(format!(
                    "order is {}",
                    o.transaction.transaction_status.clone().unwrap_or_default()
                ));
            }
            o.before = o.transaction.clone();
            let t = &mut o.transaction;
            let (code, status, message) = match how.outcome {
                Outcome::Success => ("200", "settlement", "Success, transaction is found"),
                Outcome::UserCancelled => ("200", "cancel", "Success, transaction is cancelled"),
                Outcome::Expired => ("407", "expire", "Success, transaction is expired"),
                _ => ("202", "deny", "Transaction is denied"),
            };
            t.status_code = code.into();
            t.transaction_status = Some(status.into());
            t.status_message = message.into();
            t.actions.clear();
            if status == "settlement" {
                t.settlement_time = Some(wib(now()));
            }
            (t.clone(), o.before.clone())
        };
        if how.send_callback {
            self.notify(&after).await;
            if how.duplicate {
                self.notify(&after).await;
            }
            if how.stale_after {
                self.notify(&before).await;
            }
        }
        Ok(after)
    }

    /// The sandbox's transactions report of a day (Jakarta time is not used here: days are
    /// UTC): one row per settled order and per refund.
    pub fn transactions_report(&self, day: &str) -> String {
        let mut out = csv_line(
            &[
                "Order ID",
                "Transaction ID",
                "Payment Type",
                "Transaction Time",
                "Settlement Time",
                "Type",
                "Gross Amount",
                "Fee",
                "Net Amount",
                "Transaction Status",
                "Currency",
                "Refund Key",
            ]
            .map(String::from),
        );
        let orders = self.lock();
        let mut list: Vec<&Order> = orders.values().collect();
        list.sort_by_key(|o| (o.created, o.transaction.order_id.clone()));
        for o in list {
            let t = &o.transaction;
            let paid = matches!(
                t.transaction_status.as_deref(),
                Some("settlement" | "refund" | "partial_refund")
            );
            if paid && day_of(o.created) == day {
                let fee = o.gross_minor * 2 / 100;
                out.push_str(&csv_line(&[
                    t.order_id.clone().unwrap_or_default(),
                    t.transaction_id.clone().unwrap_or_default(),
                    t.payment_type.clone().unwrap_or_default(),
                    t.transaction_time.clone().unwrap_or_default(),
                    t.settlement_time.clone().unwrap_or_default(),
                    "payment".into(),
                    gross(o.gross_minor),
                    gross(fee),
                    gross(o.gross_minor - fee),
                    t.transaction_status.clone().unwrap_or_default(),
                    "IDR".into(),
                    String::new(),
                ]));
            }
            for (key, minor, at) in &o.refunds {
                if day_of(*at) != day {
                    continue;
                }
                out.push_str(&csv_line(&[
                    t.order_id.clone().unwrap_or_default(),
                    t.transaction_id.clone().unwrap_or_default(),
                    t.payment_type.clone().unwrap_or_default(),
                    wib(*at),
                    wib(*at),
                    "refund".into(),
                    format!("-{}", gross(*minor)),
                    gross(0),
                    format!("-{}", gross(*minor)),
                    "refund".into(),
                    "IDR".into(),
                    key.clone(),
                ]));
            }
        }
        out
    }
}

fn unauthorized() -> Response {
    status(
        StatusCode::UNAUTHORIZED,
        "401",
        "Transaction cannot be authorized with the current client/server key.",
    )
}

async fn charge(
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
        _ => vec![Action {
            name: "deeplink-redirect".into(),
            method: "GET".into(),
            url: page.clone(),
        }],
    };
    let minor = whole * 100;
    let t = Transaction {
        status_code: "201".into(),
        status_message: format!(
            "{} transaction is created",
            if wallet == walletpay_domain::WalletId::Gopay {
                "GoPay"
            } else {
                "ShopeePay"
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

fn not_found() -> Response {
    status(StatusCode::NOT_FOUND, "404", "Transaction doesn't exist.")
}

async fn status_api(
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
            (StatusCode::OK, Json(t)).into_response()
        }
        None => not_found(),
    }
}

async fn cancel(
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

async fn refund(
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
        if !paid || req.amount <= 0 || req.amount == magic::REFUND_FAILS {
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

async fn page(State(sb): State<MidtransSandbox>, Path(order): Path<String>) -> Response {
    let order = order.trim_end_matches("/qr-code").to_string();
    let Some(o) = sb.order(&order) else {
        return (StatusCode::NOT_FOUND, "Transaction doesn't exist.").into_response();
    };
    let t = &o.transaction;
    let state = t.transaction_status.clone().unwrap_or_default();
    checkout_page(
        "Midtrans",
        t.payment_type.as_deref().unwrap_or(""),
        &format!("IDR {}", t.gross_amount.clone().unwrap_or_default()),
        &order,
        (state != "pending").then_some(state.as_str()),
    )
    .into_response()
}

async fn decide(
    State(sb): State<MidtransSandbox>,
    Path(order): Path<String>,
    Form(form): Form<DecideForm>,
) -> Response {
    let back = sb.order(&order).and_then(|o| o.return_url);
    let _ = sb
        .simulate(&order, &SimulateBody::plain(form.outcome))
        .await;
    match back {
        Some(url) => Redirect::to(&url).into_response(),
        None => Redirect::to(&format!("{}/checkout/{order}", sb.inner.config.public_url))
            .into_response(),
    }
}

async fn simulate_api(
    State(sb): State<MidtransSandbox>,
    Path(order): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let how: SimulateBody = match serde_json::from_slice(&body) {
        Ok(h) => h,
        Err(e) => {
            return status(
                StatusCode::BAD_REQUEST,
                "400",
                &format!("expected {{\"outcome\": ...}}: {e}"),
            )
        }
    };
    match sb.simulate(&order, &how).await {
        Ok(t) => (StatusCode::OK, Json(t)).into_response(),
        Err(why) if why.starts_with("no such") => not_found(),
        Err(why) => status(StatusCode::CONFLICT, "412", &why),
    }
}

#[derive(Deserialize)]
struct ReportQuery {
    date: String,
}

async fn report(State(sb): State<MidtransSandbox>, Query(q): Query<ReportQuery>) -> Response {
    (
        StatusCode::OK,
        [("content-type", "text/csv")],
        sb.transactions_report(&q.date),
    )
        .into_response()
}
