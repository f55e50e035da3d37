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

use super::mapping::{adyen_exponent, from_adyen, wallet_for_method};
use super::signature::{sign, SignedFields};
use super::wire::{
    Action, Amount, CancelRequest, ErrorBody, ModificationResponse, Notification,
    NotificationAmount, NotificationItemWrapper, NotificationRequestItem, PaymentRequest,
    PaymentResponse, RefundRequest,
};
use super::{SANDBOX_API_KEY, SANDBOX_HMAC_KEY, SANDBOX_MERCHANT_ACCOUNT};
use crate::sandbox_kit::{
    self, checkout_page, csv_line, day_of, magic, now, DecideForm, IdempotencyMemory, Outcome,
    Remembered, SimulateBody,
};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
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

fn reason_of(o: Outcome) -> (&'static str, bool, &'static str) {
    // (event code, success, reason)
    match o {
        Outcome::Success => ("AUTHORISATION", true, ""),
        Outcome::InsufficientBalance => ("AUTHORISATION", false, "Not enough balance"),
        Outcome::UserCancelled => ("AUTHORISATION", false, "Shopper Cancelled"),
        Outcome::Expired => ("OFFER_CLOSED", true, ""),
        Outcome::RiskRejected => ("AUTHORISATION", false, "FRAUD"),
        Outcome::LimitExceeded => ("AUTHORISATION", false, "Withdrawal amount exceeded"),
        Outcome::InvalidAccount => ("AUTHORISATION", false, "Invalid Card Number"),
        Outcome::Timeout => ("AUTHORISATION", false, "Acquirer Error"),
    }
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
            }),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v71/payments", post(create_payment))
            .route("/v71/payments/{psp}/refunds", post(create_refund))
            .route("/v71/payments/{psp}/cancels", post(cancel_payment))
            .route("/checkout/{psp}", get(page).post(decide))
            .route("/simulate/{psp}", post(simulate_api))
            .route("/simulate-refund/{psp}", post(simulate_refund))
            .route("/reports/settlement_detail_report", get(report))
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
                crate::xendit::callback_token_matches(
                    v.as_bytes(),
                    &[self.inner.config.api_key.as_str()],
                )
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

    /// Settles a pending payment and sends its notifications as `how` says.
    pub async fn simulate(&self, psp: &str, how: &SimulateBody) -> Result<SandboxPayment, String> {
        let (event, success, reason) = reason_of(how.outcome);
        let p = {
            let mut payments = self.lock();
            let p = payments.get_mut(psp).ok_or("no such payment")?;
            if p.state != "pending" {
                return Err(format!("payment is {}", p.state));
            }
            p.state = match how.outcome {
                Outcome::Success => "authorised",
                Outcome::Expired => "expired",
                _ => "refused",
            }
            .into();
            p.reason = reason.into();
            p.clone()
        };
        if how.send_callback {
            let item = self.item(Event {
                code: event,
                success,
                reason,
                psp_reference: psp,
                original_reference: None,
                merchant_reference: None,
                payment: &p,
                amount: p.amount,
            });
            self.deliver(item.clone()).await;
            if how.duplicate {
                self.deliver(item).await;
            }
            if how.stale_after {
                let late = self.item(Event {
                    code: "OFFER_CLOSED",
                    success: true,
                    reason: "",
                    psp_reference: psp,
                    original_reference: None,
                    merchant_reference: None,
                    payment: &p,
                    amount: p.amount,
                });
                self.deliver(late).await;
            }
        }
        Ok(p)
    }

    /// Settles a refund still waiting and sends its REFUND notification.
    pub async fn settle_refund(&self, psp: &str, success: bool) -> Option<SandboxRefund> {
        let r = {
            let mut refunds = self.inner.refunds.lock().expect("sandbox lock");
            let r = refunds.get_mut(psp)?;
            if r.state != "received" {
                return None;
            }
            r.state = if success { "refunded" } else { "failed" }.into();
            r.clone()
        };
        self.notify_refund(&r).await;
        Some(r)
    }

    /// Undoes a refund made (the shopper's account could not take the money back) and sends
    /// the REFUNDED_REVERSED notification.
    pub async fn reverse_refund(&self, psp: &str) -> Option<SandboxRefund> {
        let r = {
            let mut refunds = self.inner.refunds.lock().expect("sandbox lock");
            let r = refunds.get_mut(psp)?;
            if r.state != "refunded" {
                return None;
            }
            r.state = "reversed".into();
            r.clone()
        };
        self.notify_refund(&r).await;
        Some(r)
    }

    /// Sends a refund's notification again, as Adyen does until one is accepted.
    pub async fn resend_refund_notification(&self, psp: &str) -> bool {
        let r = self
            .inner
            .refunds
            .lock()
            .expect("sandbox lock")
            .get(psp)
            .cloned();
        match r {
            Some(r) if r.state != "received" => {
                self.notify_refund(&r).await;
                true
            }
            _ => false,
        }
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

    /// The settlement details report of a day: a `Settled` row per authorised payment and a
    /// `Refunded` row per refund made, created that day; 2.9% commission on payments.
    pub fn settlement_details(&self, day: &str) -> String {
        const COLUMNS: [&str; 23] = [
            "Company Account",
            "Merchant Account",
            "Psp Reference",
            "Merchant Reference",
            "Payment Method",
            "Creation Date",
            "TimeZone",
            "Type",
            "Modification Reference",
            "Gross Currency",
            "Gross Debit (GC)",
            "Gross Credit (GC)",
            "Exchange Rate",
            "Net Currency",
            "Net Debit (NC)",
            "Net Credit (NC)",
            "Commission (NC)",
            "Markup (NC)",
            "Scheme Fees (NC)",
            "Interchange (NC)",
            "Payment Method Variant",
            "Modification Merchant Reference",
            "Batch Number",
        ];
        // Amounts in major units with Adyen's own decimals (IDR: none).
        let money = |value: i64, a: &Amount| match adyen_exponent(a.currency) {
            0 => value.to_string(),
            e => {
                let unit = 10i64.pow(e);
                let sign = if value < 0 { "-" } else { "" };
                let v = value.abs();
                format!(
                    "{sign}{}.{:0width$}",
                    v / unit,
                    v % unit,
                    width = e as usize
                )
            }
        };
        let when = |t: Timestamp| t.to_string()[..19].replace('T', " ");
        let mut out = csv_line(&COLUMNS.map(String::from));
        let payments = self.lock();
        let mut settled: Vec<&SandboxPayment> = payments
            .values()
            .filter(|p| p.state == "authorised" && day_of(p.created) == day)
            .collect();
        settled.sort_by_key(|p| (p.created, p.psp_reference.clone()));
        for p in settled {
            let fee = p.amount.value * 29 / 1000;
            out.push_str(&csv_line(&[
                "WalletpayCompany".into(),
                self.inner.config.merchant_account.clone(),
                p.psp_reference.clone(),
                p.merchant_reference.clone(),
                p.method.clone(),
                when(p.created),
                "UTC".into(),
                "Settled".into(),
                p.psp_reference.clone(),
                p.amount.currency.code().into(),
                String::new(),
                money(p.amount.value, &p.amount),
                "1".into(),
                p.amount.currency.code().into(),
                String::new(),
                money(p.amount.value - fee, &p.amount),
                money(fee, &p.amount),
                money(0, &p.amount),
                money(0, &p.amount),
                money(0, &p.amount),
                p.method.clone(),
                String::new(),
                "1".into(),
            ]));
        }
        let refunds = self.inner.refunds.lock().expect("sandbox lock");
        for r in refunds
            .values()
            .filter(|r| r.state == "refunded" && day_of(r.created) == day)
        {
            let (reference, method) = payments
                .get(&r.payment_psp_reference)
                .map(|p| (p.merchant_reference.clone(), p.method.clone()))
                .unwrap_or_default();
            out.push_str(&csv_line(&[
                "WalletpayCompany".into(),
                self.inner.config.merchant_account.clone(),
                r.payment_psp_reference.clone(),
                reference,
                method.clone(),
                when(r.created),
                "UTC".into(),
                "Refunded".into(),
                r.psp_reference.clone(),
                r.amount.currency.code().into(),
                money(r.amount.value, &r.amount),
                String::new(),
                "1".into(),
                r.amount.currency.code().into(),
                money(r.amount.value, &r.amount),
                String::new(),
                money(0, &r.amount),
                money(0, &r.amount),
                money(0, &r.amount),
                money(0, &r.amount),
                method,
                r.reference.clone(),
                "1".into(),
            ]));
        }
        out
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

async fn create_payment(
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

async fn create_refund(
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

async fn cancel_payment(
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

async fn page(State(sb): State<AdyenSandbox>, Path(psp_ref): Path<String>) -> Response {
    let Some(p) = sb.payment(&psp_ref) else {
        return (StatusCode::NOT_FOUND, "No such payment").into_response();
    };
    let amount = from_adyen(p.amount.value, p.amount.currency).to_string();
    checkout_page(
        "Adyen",
        &p.method,
        &amount,
        &p.merchant_reference,
        (p.state != "pending").then_some(p.state.as_str()),
    )
    .into_response()
}

async fn decide(
    State(sb): State<AdyenSandbox>,
    Path(psp_ref): Path<String>,
    Form(form): Form<DecideForm>,
) -> Response {
    let back = sb.payment(&psp_ref).map(|p| p.return_url);
    let _ = sb
        .simulate(&psp_ref, &SimulateBody::plain(form.outcome))
        .await;
    match back {
        Some(url) => Redirect::to(&url).into_response(),
        None => (StatusCode::NOT_FOUND, "No such payment").into_response(),
    }
}

async fn simulate_api(
    State(sb): State<AdyenSandbox>,
    Path(psp_ref): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let how: SimulateBody = match serde_json::from_slice(&body) {
        Ok(h) => h,
        Err(e) => return validation(&format!("expected {{\"outcome\": ...}}: {e}")),
    };
    match sb.simulate(&psp_ref, &how).await {
        Ok(p) => (StatusCode::OK, Json(p)).into_response(),
        Err(why) if why.starts_with("no such") => {
            error(StatusCode::NOT_FOUND, "000", &why, "validation")
        }
        Err(why) => error(StatusCode::CONFLICT, "000", &why, "validation"),
    }
}

async fn simulate_refund(
    State(sb): State<AdyenSandbox>,
    Path(psp_ref): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if crate::sandbox_kit::refund_reversal(&body) {
        return match sb.reverse_refund(&psp_ref).await {
            Some(r) => (StatusCode::OK, Json(r)).into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                "000",
                "No refund made by that pspReference",
                "validation",
            ),
        };
    }
    let Some(success) = crate::sandbox_kit::refund_outcome(&body) else {
        return validation(crate::sandbox_kit::REFUND_OUTCOME_OR_REVERSAL_EXPECTED);
    };
    match sb.settle_refund(&psp_ref, success).await {
        Some(r) => (StatusCode::OK, Json(r)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "000",
            "No refund waiting by that pspReference",
            "validation",
        ),
    }
}

#[derive(Deserialize)]
struct ReportQuery {
    date: String,
}

async fn report(State(sb): State<AdyenSandbox>, Query(q): Query<ReportQuery>) -> Response {
    (
        StatusCode::OK,
        [("content-type", "text/csv")],
        sb.settlement_details(&q.date),
    )
        .into_response()
}
