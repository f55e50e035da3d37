//! A local Midtrans: the Core API's `/v2/charge`, `/v2/{order_id}/status`,
//! `/v2/{order_id}/cancel` and `/v2/{order_id}/refund` for GoPay, ShopeePay and QRIS with
//! Midtrans's paths, Basic auth, string `status_code`s and statuses; a page where the
//! customer approves or declines (the deeplink's and QR's target); `simulate`; notifications
//! with `signature_key` posted to the configured URL; and a transactions report of a day.
//! Mount its router anywhere (the local stack uses `/sandbox/midtrans`).
//!
//! Test credentials: server key [`SANDBOX_SERVER_KEY`].
//!
//! A QRIS charge (`payment_type: qris`, `qris.acquirer` `gopay` by default or `airpay
//! shopee`) answers its code in `qr_string` (built with the domain's QRIS builder) beside a
//! `generate-qr-code` action; once paid it names the `issuer` (the simulate body's
//! `issuer`, by default the acquirer's own wallet) and `transaction_type` (`on-us` or
//! `off-us`), and a refund past Midtrans's QRIS window (45 days on-us, 7 off-us) is refused
//! (412).
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

mod api;
mod report;
mod simulate;

use crate::sandbox_kit as kit;

use super::signature::signature_key;
use super::wire::Transaction;
use super::SANDBOX_SERVER_KEY;
use crate::sandbox_kit::{uuid_v4, IdempotencyMemory};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use walletpay_domain::{Currency, Money, Timestamp};

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
    faults: kit::settlement::Faults,
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
                faults: kit::settlement::Faults::default(),
            }),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v2/charge", post(api::charge))
            .route("/v2/{order}/status", get(api::status_api))
            .route("/v2/{order}/cancel", post(api::cancel))
            .route("/v2/{order}/refund", post(api::refund))
            .route(
                "/checkout/{order}",
                get(kit::page::<Self>).post(kit::decide::<Self>),
            )
            // GoPay's `generate-qr-code` action: on to the page (the QR's target).
            .route("/checkout/{order}/qr-code", get(qr_code))
            .route("/simulate/{order}", post(kit::simulate::<Self>))
            .route("/statements", get(report::statement))
            .route(
                "/settlement/faults",
                post(kit::settlement::add_fault::<Self>),
            )
            .route(
                "/settlement/publish",
                post(kit::settlement::publish::<Self>),
            )
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
        crate::credentials::equals_any(&decoded, &[expected.as_str()])
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
}

fn unauthorized() -> Response {
    status(
        StatusCode::UNAUTHORIZED,
        "401",
        "Transaction cannot be authorized with the current client/server key.",
    )
}

fn not_found() -> Response {
    status(StatusCode::NOT_FOUND, "404", "Transaction doesn't exist.")
}

/// `GET /checkout/{order}/qr-code`: Midtrans answers the QR image; the sandbox sends the
/// customer on to the page the QR leads to.
async fn qr_code(axum::extract::Path(order): axum::extract::Path<String>) -> Response {
    axum::response::Redirect::to(&format!("../{order}")).into_response()
}
