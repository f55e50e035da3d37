//! A sandbox acquiring bank for PromptPay bill payments, speaking the protocol in `wire`:
//! `POST /v1/bills` (register a bill; `Idempotency-Key`), `GET /v1/bills` and
//! `GET /v1/bill-payments` (inquiry by biller id and references), `POST /v1/bills/cancel`,
//! `POST /v1/bill-payments/refunds` (`Idempotency-Key`) and `GET
//! /v1/bill-payments/refunds/{id}`, Bearer auth, `{"error": {code, message}}` bodies;
//! callbacks signed with `X-Bank-Signature`; a page standing in for the payer's banking app
//! (`/pay/{reference}`); `simulate` and `simulate-refund`; and the bank statement of a day.
//! Mount its router anywhere (the local stack uses `/sandbox/promptpay`).
//!
//! A bill can be paid until its `expires_at`; after that it is `expired` and the bank
//! refuses payments of it, as it does for a bill withdrawn with `cancel`.
//!
//! Test credentials: API key [`SANDBOX_API_KEY`], callback secret
//! [`SANDBOX_WEBHOOK_SECRET`], biller id [`SANDBOX_BILLER_ID`].
//!
//! A PromptPay transfer either happens or does not: the payer's bank never reports a
//! decline to the merchant's bank, so `success` is the only outcome a bill can be given; an
//! unpaid bill simply expires. Magic amounts (whole baht): 1102 answers 500 and registers
//! nothing, 1109 registers the bill and answers slowly. Refunds succeed at once, except
//! 1111 (`pending` until `simulate-refund/{refund id}` says `success` or `failed`), 2222
//! (refused: `account_closed`) and 3333 (made, answered 500; the same key then gets the
//! refund). `simulate-refund` with `reversed` returns a refund made (the payer's bank sent
//! it back) and sends the `refund.reversed` callback.

mod api;
mod report;
mod simulate;

use crate::sandbox_kit as kit;

use super::wire::{Bill, BillPayment, ErrorBody, ErrorDetail, Notification, Refund};
use super::{SANDBOX_API_KEY, SANDBOX_BILLER_ID, SANDBOX_WEBHOOK_SECRET};
use crate::sandbox_kit::{now, IdempotencyMemory, Remembered};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use walletpay_domain::{Currency, Money, Timestamp};

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub api_key: String,
    pub webhook_secret: String,
    pub biller_id: String,
    pub callback_url: String,
    pub public_url: String,
    pub slow_response: std::time::Duration,
}

impl SandboxConfig {
    pub fn new(public_url: impl Into<String>, callback_url: impl Into<String>) -> Self {
        SandboxConfig {
            api_key: SANDBOX_API_KEY.into(),
            webhook_secret: SANDBOX_WEBHOOK_SECRET.into(),
            biller_id: SANDBOX_BILLER_ID.into(),
            callback_url: callback_url.into(),
            public_url: public_url.into().trim_end_matches('/').to_string(),
            slow_response: std::time::Duration::from_secs(12),
        }
    }
}

#[derive(Debug, Clone)]
struct Kept {
    bill: Bill,
    payment: Option<BillPayment>,
    refunds: Vec<(Refund, Timestamp)>,
    canceled: bool,
}

impl Kept {
    /// `paid`, `canceled`, `expired` (its `expires_at` passed) or `open`.
    fn status(&self) -> &'static str {
        if self.payment.is_some() {
            "paid"
        } else if self.canceled {
            "canceled"
        } else if Timestamp::parse_rfc3339(&self.bill.expires_at).is_some_and(|t| now() >= t) {
            "expired"
        } else {
            "open"
        }
    }

    /// The bill as the bank shows it.
    fn shown(&self) -> Bill {
        Bill {
            status: Some(self.status().into()),
            ..self.bill.clone()
        }
    }
}

#[derive(Clone)]
pub struct BankSandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    /// Bills by `ref1 + ref2`.
    bills: Mutex<HashMap<String, Kept>>,
    idempotency: IdempotencyMemory,
    http: reqwest::Client,
    faults: kit::settlement::Faults,
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(ErrorBody {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
            },
        }),
    )
        .into_response()
}

fn thb(s: &str) -> Option<Money> {
    Money::parse_decimal(s, Currency::THB).ok()
}

impl BankSandbox {
    pub fn new(config: SandboxConfig) -> Self {
        BankSandbox {
            inner: Arc::new(Inner {
                config,
                bills: Mutex::new(HashMap::new()),
                idempotency: IdempotencyMemory::default(),
                http: crate::sandbox_kit::webhook_client(),
                faults: kit::settlement::Faults::default(),
            }),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/bills", post(api::register).get(api::list_bills))
            .route("/v1/bill-payments", get(api::list_payments))
            .route("/v1/bills/cancel", post(api::cancel))
            .route("/v1/bill-payments/refunds", post(api::refund))
            .route("/v1/bill-payments/refunds/{id}", get(api::get_refund))
            .route("/simulate-refund/{id}", post(simulate::simulate_refund))
            .route(
                "/pay/{reference}",
                get(kit::page::<Self>).post(kit::decide::<Self>),
            )
            .route("/simulate/{reference}", post(kit::simulate::<Self>))
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

    /// Whether a bill is registered under `reference` (`ref1 + ref2`).
    pub fn has_bill(&self, reference: &str) -> bool {
        self.lock().contains_key(reference)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Kept>> {
        self.inner.bills.lock().expect("sandbox lock")
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|k| {
                crate::credentials::equals_any(
                    k.trim().as_bytes(),
                    &[self.inner.config.api_key.as_str()],
                )
            })
    }

    /// Posts a callback that `p` settled, signed.
    pub async fn notify(&self, p: &BillPayment) -> Option<u16> {
        self.callback(
            "bill_payment.settled",
            serde_json::to_value(p).expect("serialises"),
        )
        .await
    }

    /// Posts a signed callback.
    async fn callback(&self, event: &str, data: serde_json::Value) -> Option<u16> {
        let body = serde_json::to_vec(&Notification {
            event: event.into(),
            data,
        })
        .expect("serialises");
        let header = crate::promptpay::signature::header(
            &self.inner.config.webhook_secret,
            now().unix_seconds(),
            &body,
        );
        self.inner
            .http
            .post(&self.inner.config.callback_url)
            .header("content-type", "application/json")
            .header(crate::promptpay::signature::HEADER, header)
            .body(body)
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    }
}

fn unauthorized() -> Response {
    error(StatusCode::UNAUTHORIZED, "unauthorized", "Invalid API key.")
}

/// The answer remembered for an `Idempotency-Key` (or the refusal of a key used for
/// another request); `None` for a new key.
fn replay(sb: &BankSandbox, key: &str, print: &str, what: &str) -> Option<Response> {
    match sb.inner.idempotency.check(key, print) {
        Remembered::Replay(status, answer) => {
            Some(crate::sandbox_kit::remembered_answer(status, answer))
        }
        Remembered::Mismatch => Some(error(
            StatusCode::CONFLICT,
            "idempotency_key_reused",
            &format!("The key was used for another {what}."),
        )),
        Remembered::New => None,
    }
}

fn reference_of(ref1: &str, ref2: Option<&str>) -> String {
    format!("{ref1}{}", ref2.unwrap_or(""))
}
