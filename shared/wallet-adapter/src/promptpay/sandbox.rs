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

use super::wire::{
    Bill, BillPayment, BillRefs, ErrorBody, ErrorDetail, List, Notification, Refund, RefundRequest,
};
use super::{SANDBOX_API_KEY, SANDBOX_BILLER_ID, SANDBOX_WEBHOOK_SECRET};
use crate::sandbox_kit::{
    alnum, checkout_page, csv_line, day_of, magic, now, DecideForm, IdempotencyMemory, Outcome,
    Remembered, SimulateBody,
};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
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
    created: Timestamp,
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
            }),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/bills", post(register).get(list_bills))
            .route("/v1/bill-payments", get(list_payments))
            .route("/v1/bills/cancel", post(cancel))
            .route("/v1/bill-payments/refunds", post(refund))
            .route("/v1/bill-payments/refunds/{id}", get(get_refund))
            .route("/simulate-refund/{id}", post(simulate_refund))
            .route("/pay/{reference}", get(page).post(decide))
            .route("/simulate/{reference}", post(simulate_api))
            .route("/reports/statement", get(report))
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
                crate::xendit::callback_token_matches(
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
        let header = crate::stripe::signature::header(
            &self.inner.config.webhook_secret,
            now().unix_seconds(),
            &body,
        );
        self.inner
            .http
            .post(&self.inner.config.callback_url)
            .header("content-type", "application/json")
            .header("x-bank-signature", header)
            .body(body)
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    }

    /// The payer pays the bill: it settles, and the callbacks go as `how` says.
    pub async fn simulate(
        &self,
        reference: &str,
        how: &SimulateBody,
    ) -> Result<BillPayment, String> {
        self.pay(reference, how, None).await
    }

    /// As `simulate`; `amount` (THB, 2 decimals) records a transfer of another amount than
    /// the bill's, as a bank that does not enforce the bill would.
    pub async fn pay(
        &self,
        reference: &str,
        how: &SimulateBody,
        amount: Option<&str>,
    ) -> Result<BillPayment, String> {
        if how.outcome != Outcome::Success {
            return Err("a PromptPay transfer is made or not: only `success` can be simulated (an unpaid bill expires)".into());
        }
        let payment = {
            let mut bills = self.lock();
            let k = bills.get_mut(reference).ok_or("no such bill")?;
            let status = k.status();
            if status != "open" {
                return Err(format!(
                    "the bill is {status}: the bank refuses payments of it"
                ));
            }
            let p = BillPayment {
                transaction_id: format!("{}{}", now().millis(), alnum(8).to_ascii_uppercase()),
                biller_id: k.bill.biller_id.clone(),
                ref1: k.bill.ref1.clone(),
                ref2: k.bill.ref2.clone(),
                amount: amount
                    .map(str::to_string)
                    .unwrap_or_else(|| k.bill.amount.clone()),
                currency: "THB".into(),
                status: "settled".into(),
                paid_at: now().to_string(),
                payer_bank: Some("014".into()),
            };
            k.payment = Some(p.clone());
            k.bill.status = Some("paid".into());
            p
        };
        if how.send_callback {
            self.notify(&payment).await;
            if how.duplicate {
                self.notify(&payment).await;
            }
            if how.stale_after {
                // An older copy (the bank's first try), arriving last.
                let mut older = payment.clone();
                older.paid_at = Timestamp(now().millis() - 60_000).to_string();
                self.notify(&older).await;
            }
        }
        Ok(payment)
    }

    /// The bank statement of a day: one credit per settled bill payment, one debit per
    /// refund.
    pub fn statement(&self, day: &str) -> String {
        let mut out = csv_line(
            &[
                "Date",
                "Transaction ID",
                "Type",
                "Biller ID",
                "Ref1",
                "Ref2",
                "Amount",
                "Currency",
                "Reference",
            ]
            .map(String::from),
        );
        let bills = self.lock();
        let mut rows: Vec<&Kept> = bills.values().collect();
        rows.sort_by_key(|k| (k.created, k.bill.ref1.clone()));
        for k in rows {
            if let Some(p) = &k.payment {
                if Timestamp::parse_rfc3339(&p.paid_at).is_some_and(|t| day_of(t) == day) {
                    out.push_str(&csv_line(&[
                        p.paid_at.clone(),
                        p.transaction_id.clone(),
                        "CREDIT".into(),
                        p.biller_id.clone(),
                        p.ref1.clone(),
                        p.ref2.clone().unwrap_or_default(),
                        p.amount.clone(),
                        "THB".into(),
                        String::new(),
                    ]));
                }
            }
            for (r, at) in &k.refunds {
                // A reversed refund was paid out, then came back: both movements are listed.
                let moves: &[(&str, &str)] = match r.status.as_str() {
                    "succeeded" => &[("DEBIT", "-")],
                    "reversed" => &[("DEBIT", "-"), ("REFUND_REVERSAL", "")],
                    _ => &[],
                };
                if day_of(*at) != day {
                    continue;
                }
                for (kind, sign) in moves {
                    out.push_str(&csv_line(&[
                        at.to_string(),
                        r.refund_id.clone(),
                        kind.to_string(),
                        k.bill.biller_id.clone(),
                        k.bill.ref1.clone(),
                        k.bill.ref2.clone().unwrap_or_default(),
                        format!("{sign}{}", r.amount),
                        "THB".into(),
                        r.reference.clone(),
                    ]));
                }
            }
        }
        out
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

async fn register(
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
            created: now(),
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
struct Refs {
    biller_id: String,
    ref1: String,
    ref2: Option<String>,
}

async fn list_bills(
    State(sb): State<BankSandbox>,
    headers: HeaderMap,
    Query(q): Query<Refs>,
) -> Response {
    listed(&sb, &headers, &q, |k| Some(k.shown()))
}

async fn list_payments(
    State(sb): State<BankSandbox>,
    headers: HeaderMap,
    Query(q): Query<Refs>,
) -> Response {
    listed(&sb, &headers, &q, |k| k.payment.clone())
}

/// A list of at most one item: `pick` from the bill kept under the query's reference for
/// the query's biller, or nothing.
fn listed<T: serde::Serialize>(
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

async fn refund(
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

async fn cancel(
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

    fn find_refund(&self, id: &str) -> Option<Refund> {
        self.lock()
            .values()
            .flat_map(|k| k.refunds.iter())
            .find(|(r, _)| r.refund_id == id)
            .map(|(r, _)| r.clone())
    }

    /// Settles a pending refund (`Some(true)` made, `Some(false)` refused), or with `None`
    /// returns a refund made and sends the `refund.reversed` callback.
    pub async fn settle_refund(&self, id: &str, made: Option<bool>) -> Option<Refund> {
        let r = {
            let mut bills = self.lock();
            let (r, _) = bills
                .values_mut()
                .flat_map(|k| k.refunds.iter_mut())
                .find(|(r, _)| r.refund_id == id)?;
            r.status = match (r.status.as_str(), made) {
                ("pending", Some(true)) => "succeeded",
                ("pending", Some(false)) => "failed",
                ("succeeded", None) => "reversed",
                _ => return None,
            }
            .into();
            if r.status == "failed" || r.status == "reversed" {
                r.failure_reason = Some("account_closed".into());
            }
            r.clone()
        };
        if r.status == "reversed" {
            self.callback(
                "refund.reversed",
                serde_json::to_value(&r).expect("serialises"),
            )
            .await;
        }
        Some(r)
    }
}

async fn get_refund(
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

async fn simulate_refund(
    State(sb): State<BankSandbox>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let made = if crate::sandbox_kit::refund_reversal(&body) {
        None
    } else {
        match crate::sandbox_kit::refund_outcome(&body) {
            Some(made) => Some(made),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    crate::sandbox_kit::REFUND_OUTCOME_OR_REVERSAL_EXPECTED,
                )
            }
        }
    };
    match sb.settle_refund(&id, made).await {
        Some(r) => Json(r).into_response(),
        None => error(
            StatusCode::CONFLICT,
            "conflict",
            "No such refund in a state this outcome applies to.",
        ),
    }
}

async fn page(State(sb): State<BankSandbox>, Path(reference): Path<String>) -> Response {
    let Some(k) = sb.lock().get(&reference).cloned() else {
        return (StatusCode::NOT_FOUND, "No such bill").into_response();
    };
    checkout_page(
        "Sandbox bank",
        "PromptPay",
        &format!("THB {}", k.bill.amount),
        &reference,
        k.payment.as_ref().map(|_| "paid"),
    )
    .into_response()
}

async fn decide(
    State(sb): State<BankSandbox>,
    Path(reference): Path<String>,
    Form(form): Form<DecideForm>,
) -> Response {
    let outcome = sb
        .simulate(&reference, &SimulateBody::plain(form.outcome))
        .await;
    let text = match outcome {
        Ok(_) => "Paid.".to_string(),
        Err(why) => why,
    };
    (StatusCode::OK, text).into_response()
}

async fn simulate_api(
    State(sb): State<BankSandbox>,
    Path(reference): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let how: SimulateBody = match serde_json::from_slice(&body) {
        Ok(h) => h,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string()),
    };
    #[derive(Deserialize)]
    struct Other {
        amount: Option<String>,
    }
    let other = serde_json::from_slice::<Other>(&body)
        .ok()
        .and_then(|o| o.amount);
    if other.as_deref().is_some_and(|a| thb(a).is_none()) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "amount is THB with 2 decimals.",
        );
    }
    match sb.pay(&reference, &how, other.as_deref()).await {
        Ok(p) => Json(p).into_response(),
        Err(why) if why.starts_with("no such") => error(StatusCode::NOT_FOUND, "not_found", &why),
        Err(why) => error(StatusCode::CONFLICT, "conflict", &why),
    }
}

#[derive(Deserialize)]
struct ReportQuery {
    date: String,
}

async fn report(State(sb): State<BankSandbox>, Query(q): Query<ReportQuery>) -> Response {
    (
        StatusCode::OK,
        [("content-type", "text/csv")],
        sb.statement(&q.date),
    )
        .into_response()
}
