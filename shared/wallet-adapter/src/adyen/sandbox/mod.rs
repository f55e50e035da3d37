//! A local Adyen: Checkout API v71 `/payments`, `/payments/{psp}/refunds` and
//! `/payments/{psp}/cancels` with Adyen's paths, camelCase bodies, `X-API-Key` auth,
//! `Idempotency-Key`, result codes and error bodies; a page where the shopper approves or
//! declines (the redirect target, and the QR's landing page); `simulate`; standard
//! notifications, each item HMAC-signed, posted to the configured webhook URL; and the
//! settlement details report of a day. Mount its router anywhere (the local stack uses
//! `/sandbox/adyen`, so the API is at `/sandbox/adyen/v71`).
//!
//! Test credentials: API key [`SANDBOX_API_KEY`], merchant account
//! [`SANDBOX_MERCHANT_ACCOUNT`], HMAC key [`SANDBOX_HMAC_KEY`].
//!
//! Outcomes and the notification each sends: `success` (AUTHORISATION true); AUTHORISATION
//! false with reason `Not enough balance` (insufficient_balance), `Shopper Cancelled`
//! (user_cancelled), `FRAUD` (risk_rejected), `Withdrawal amount exceeded`
//! (limit_exceeded), `Invalid Card Number` (invalid_account), `Acquirer Error` (timeout);
//! `expired` sends OFFER_CLOSED. `stale_after` follows a success with an OFFER_CLOSED (the
//! race Adyen's own docs warn about). An offer nobody settles closes by itself after
//! [`SandboxConfig::offer_lifetime`] (an hour; Adyen documents no figure for wallets), with
//! its OFFER_CLOSED notification: Adyen cannot be asked, so that is how a shop learns it.
//! `simulate-refund` with `reversed` undoes a refund made (REFUNDED_REVERSED).
//!
//! Magic amounts (whole units, [`crate::sandbox_kit::magic`]): 1101 is refused at once
//! (`Issuer Unavailable`), 1102 answers 500 and makes nothing, 1109 answers slowly. Refunds
//! answer `received` and their REFUND notification follows a moment later, except: 1111
//! waits for `simulate-refund`, 2222 is refused (REFUND success false), 3333 is made but
//! answered with a 500 (the retry under the same key gets the receipt).

mod api;
mod report;
mod simulate;

use crate::sandbox_kit as kit;

use super::signature::{sign, SignedFields};
use super::wire::{
    Amount, ErrorBody, Notification, NotificationAmount, NotificationItemWrapper,
    NotificationRequestItem,
};
use super::{SANDBOX_API_KEY, SANDBOX_HMAC_KEY, SANDBOX_MERCHANT_ACCOUNT};
use crate::sandbox_kit::{self, now, IdempotencyMemory, Remembered};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use walletpay_domain::Timestamp;

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub api_key: String,
    pub merchant_account: String,
    pub hmac_key: String,
    pub webhook_url: String,
    /// The URL this sandbox's router is reachable at, for shopper pages.
    pub public_url: String,
    pub slow_response: std::time::Duration,
    /// How long an unpaid offer stays open before Adyen closes it (OFFER_CLOSED).
    pub offer_lifetime: std::time::Duration,
}

impl SandboxConfig {
    pub fn new(public_url: impl Into<String>, webhook_url: impl Into<String>) -> Self {
        SandboxConfig {
            api_key: SANDBOX_API_KEY.into(),
            merchant_account: SANDBOX_MERCHANT_ACCOUNT.into(),
            hmac_key: SANDBOX_HMAC_KEY.into(),
            webhook_url: webhook_url.into(),
            public_url: public_url.into().trim_end_matches('/').to_string(),
            slow_response: std::time::Duration::from_secs(12),
            offer_lifetime: std::time::Duration::from_secs(3600),
        }
    }
}

/// What one notification item reports.
struct Event<'a> {
    code: &'a str,
    success: bool,
    reason: &'a str,
    /// The item's own reference (the payment's, or a modification's).
    psp_reference: &'a str,
    /// For a modification, the payment's.
    original_reference: Option<&'a str>,
    /// For a modification, the reference it was requested with (else the payment's).
    merchant_reference: Option<&'a str>,
    payment: &'a SandboxPayment,
    amount: Amount,
}

/// A payment as the sandbox keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxPayment {
    pub psp_reference: String,
    pub merchant_reference: String,
    pub method: String,
    pub amount: Amount,
    /// `pending`, `authorised`, `refused`, `expired`, `cancelled`.
    pub state: String,
    pub reason: String,
    pub return_url: String,
    pub created: Timestamp,
}

/// A refund as the sandbox keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxRefund {
    pub psp_reference: String,
    pub payment_psp_reference: String,
    pub reference: String,
    pub amount: Amount,
    /// `received`, `refunded`, `failed`, `reversed`.
    pub state: String,
    pub created: Timestamp,
}

#[derive(Clone)]
pub struct AdyenSandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    payments: Mutex<HashMap<String, SandboxPayment>>,
    refunds: Mutex<BTreeMap<String, SandboxRefund>>,
    idempotency: IdempotencyMemory,
    http: reqwest::Client,
    faults: kit::settlement::Faults,
}

fn error(status: StatusCode, code: &str, message: &str, kind: &str) -> Response {
    (
        status,
        Json(ErrorBody {
            status: status.as_u16(),
            error_code: code.into(),
            message: message.into(),
            error_type: kind.into(),
            psp_reference: Some(psp()),
        }),
    )
        .into_response()
}

fn validation(message: &str) -> Response {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "702",
        message,
        "validation",
    )
}

/// Adyen's pspReferences: 16 characters, upper-case letters and digits.
fn psp() -> String {
    sandbox_kit::alnum(16).to_ascii_uppercase()
}

impl AdyenSandbox {
    pub fn new(config: SandboxConfig) -> Self {
        AdyenSandbox {
            inner: Arc::new(Inner {
                config,
                payments: Mutex::new(HashMap::new()),
                refunds: Mutex::new(BTreeMap::new()),
                idempotency: IdempotencyMemory::default(),
                http: crate::sandbox_kit::webhook_client(),
                faults: kit::settlement::Faults::default(),
            }),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v71/payments", post(api::create_payment))
            .route("/v71/payments/{psp}/refunds", post(api::create_refund))
            .route("/v71/payments/{psp}/cancels", post(api::cancel_payment))
            .route(
                "/checkout/{psp}",
                get(kit::page::<Self>).post(kit::decide::<Self>),
            )
            .route("/simulate/{psp}", post(kit::simulate::<Self>))
            .route("/simulate-refund/{psp}", post(simulate::simulate_refund))
            .route(
                "/reports/download/MerchantAccount/{account}/{file}",
                get(report::download),
            )
            .route(
                "/settlement/faults",
                post(kit::settlement::add_fault::<Self>),
            )
            .route("/settlement/publish", post(report::publish))
            .with_state(self.clone())
    }

    pub fn payment(&self, psp: &str) -> Option<SandboxPayment> {
        self.lock().get(psp).cloned()
    }

    /// The payment made for our reference, if any.
    pub fn payment_for(&self, reference: &str) -> Option<SandboxPayment> {
        self.lock()
            .values()
            .find(|p| p.merchant_reference == reference)
            .cloned()
    }

    pub fn refunds(&self) -> Vec<SandboxRefund> {
        self.inner
            .refunds
            .lock()
            .expect("sandbox lock")
            .values()
            .cloned()
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SandboxPayment>> {
        self.inner.payments.lock().expect("sandbox lock")
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        headers
            .get("x-api-key")
            .map(|v| {
                crate::credentials::equals_any(v.as_bytes(), &[self.inner.config.api_key.as_str()])
            })
            .unwrap_or(false)
    }

    /// One signed notification item.
    fn item(&self, e: Event<'_>) -> NotificationRequestItem {
        let currency = e.amount.currency.code().to_string();
        let success = if e.success { "true" } else { "false" };
        let fields = SignedFields {
            psp_reference: e.psp_reference,
            original_reference: e.original_reference.unwrap_or(""),
            merchant_account_code: &self.inner.config.merchant_account,
            merchant_reference: e
                .merchant_reference
                .unwrap_or(&e.payment.merchant_reference),
            value: e.amount.value,
            currency: &currency,
            event_code: e.code,
            success,
        };
        let signature = sign(&self.inner.config.hmac_key, &fields.signing_string())
            .expect("the sandbox's HMAC key is hex");
        NotificationRequestItem {
            additional_data: Some(BTreeMap::from([("hmacSignature".to_string(), signature)])),
            amount: NotificationAmount {
                currency,
                value: e.amount.value,
            },
            event_code: e.code.into(),
            event_date: now().to_string(),
            merchant_account_code: self.inner.config.merchant_account.clone(),
            merchant_reference: e
                .merchant_reference
                .unwrap_or(&e.payment.merchant_reference)
                .to_string(),
            original_reference: e.original_reference.map(str::to_string),
            psp_reference: e.psp_reference.into(),
            payment_method: Some(e.payment.method.clone()),
            reason: e.reason.into(),
            success: success.into(),
        }
    }

    /// Posts one notification holding `item`.
    pub async fn deliver(&self, item: NotificationRequestItem) -> Option<u16> {
        let n = Notification {
            live: "false".into(),
            notification_items: vec![NotificationItemWrapper { item }],
        };
        self.inner
            .http
            .post(&self.inner.config.webhook_url)
            .json(&n)
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    }

    /// A refund's notification for its state: REFUND (made or refused), or
    /// REFUNDED_REVERSED for one made and then undone.
    async fn notify_refund(&self, r: &SandboxRefund) {
        let Some(p) = self.payment(&r.payment_psp_reference) else {
            return;
        };
        let ok = r.state != "failed";
        let item = self.item(Event {
            code: if r.state == "reversed" {
                "REFUNDED_REVERSED"
            } else {
                "REFUND"
            },
            success: ok,
            reason: match r.state.as_str() {
                "failed" => "Insufficient balance on payment",
                "reversed" => "Refund reversed by the issuer",
                _ => "",
            },
            psp_reference: &r.psp_reference,
            original_reference: Some(&r.payment_psp_reference),
            merchant_reference: Some(&r.reference),
            payment: &p,
            amount: r.amount,
        });
        self.deliver(item).await;
    }
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "000",
        "HTTP Status Response - Unauthorized",
        "security",
    )
}

fn key_of(headers: &HeaderMap) -> Result<Option<String>, &'static str> {
    match headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
        None => Ok(None),
        Some(k) if k.len() > 64 => Err("Idempotency-Key is at most 64 characters"),
        Some(k) => Ok(Some(k.to_string())),
    }
}

fn replay(sb: &AdyenSandbox, key: &Option<String>, print: &str) -> Option<Response> {
    let k = key.as_ref()?;
    match sb.inner.idempotency.check(k, print) {
        Remembered::New => None,
        Remembered::Replay(status, body) => {
            Some(crate::sandbox_kit::remembered_answer(status, body))
        }
        Remembered::Mismatch => Some(validation(
            "The Idempotency-Key was used with a different request",
        )),
    }
}

fn ok_json<T: Serialize>(sb: &AdyenSandbox, key: &Option<String>, print: &str, v: &T) -> Response {
    let body = serde_json::to_string(v).expect("serialises");
    if let Some(k) = key {
        sb.inner.idempotency.remember(k, print, 200, &body);
    }
    (StatusCode::OK, [("content-type", "application/json")], body).into_response()
}

pub use report::{file_name, SANDBOX_REPORT_API_KEY};
