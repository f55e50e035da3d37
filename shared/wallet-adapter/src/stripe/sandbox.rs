//! A local Stripe: PaymentIntents and Refunds for PromptPay, Pix and GrabPay with Stripe's
//! paths, form-encoded bodies, Bearer auth, `Idempotency-Key` replays, error bodies and
//! statuses; a checkout page (GrabPay's redirect, and the "hosted instructions" of the QR
//! methods) where a person approves or declines; `simulate`; webhooks signed with
//! `Stripe-Signature`; and the itemized payout reconciliation report of a day. Mount its
//! router anywhere (the local stack uses `/sandbox/stripe`).
//!
//! Test credentials: secret key [`SANDBOX_SECRET_KEY`], webhook signing secret
//! [`SANDBOX_WEBHOOK_SECRET`].
//!
//! Outcomes (`simulate`, or the page) and what the intent shows: `success` -> `succeeded`;
//! the failures leave it `requires_payment_method` with `last_payment_error`:
//! `insufficient_balance` (`payment_method_provider_decline`, decline code
//! `insufficient_funds`), `user_cancelled` (`payment_method_customer_decline`), `expired`
//! (`payment_intent_payment_attempt_expired`), `risk_rejected`
//! (`payment_method_provider_decline` / `fraudulent`), `limit_exceeded`
//! (`payment_method_provider_decline` / `withdrawal_count_limit_exceeded`),
//! `invalid_account` (`payment_method_unactivated`), `timeout`
//! (`payment_method_provider_timeout`).
//!
//! Magic amounts: see [`crate::sandbox_kit::magic`] (1101 answers 402
//! `payment_method_unavailable`, 1102 a 500 with nothing made, 1109 a slow answer; refunds of
//! 1111 stay `pending`, 2222 fail (`declined`), 3333 are made but answered with a 500, which
//! Stripe then replays for the same key, so the client finds the refund by listing them).

use super::signature;
use super::wire::{
    DisplayQrCode, ErrorBody, Event, EventData, List, NextAction, PaymentIntent, RedirectToUrl,
    Refund, StripeError,
};
use super::{SANDBOX_SECRET_KEY, SANDBOX_WEBHOOK_SECRET};
use crate::sandbox_kit::{
    self, alnum, checkout_page, csv_line, day_of, magic, now, DecideForm, IdempotencyMemory,
    Outcome, Remembered, SimulateBody,
};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use walletpay_domain::{Currency, Money};

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub secret_key: String,
    pub webhook_secret: String,
    /// The webhook endpoint registered with the account.
    pub webhook_url: String,
    /// The URL this sandbox's router is reachable at, for checkout links.
    pub public_url: String,
    /// How long the `1109` magic amount makes create wait before answering.
    pub slow_response: std::time::Duration,
}

impl SandboxConfig {
    pub fn new(public_url: impl Into<String>, webhook_url: impl Into<String>) -> Self {
        SandboxConfig {
            secret_key: SANDBOX_SECRET_KEY.into(),
            webhook_secret: SANDBOX_WEBHOOK_SECRET.into(),
            webhook_url: webhook_url.into(),
            public_url: public_url.into().trim_end_matches('/').to_string(),
            slow_response: std::time::Duration::from_secs(12),
        }
    }
}

/// An intent as the sandbox keeps it: what Stripe shows, and what it was before it settled.
#[derive(Debug, Clone)]
struct Kept {
    intent: PaymentIntent,
    before: PaymentIntent,
    return_url: Option<String>,
    settled_at: Option<i64>,
}

#[derive(Clone)]
pub struct StripeSandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    intents: Mutex<HashMap<String, Kept>>,
    refunds: Mutex<BTreeMap<String, Refund>>,
    idempotency: IdempotencyMemory,
    http: reqwest::Client,
}

/// What `simulate` did.
#[derive(Debug, Clone, Serialize)]
pub struct Simulated {
    pub payment_intent: PaymentIntent,
    /// HTTP statuses our webhook endpoint answered, one per delivery.
    pub webhook_statuses: Vec<Option<u16>>,
}

fn error(status: StatusCode, kind: &str, code: Option<&str>, message: &str) -> Response {
    (
        status,
        Json(ErrorBody {
            error: StripeError {
                kind: kind.into(),
                code: code.map(str::to_string),
                message: Some(message.into()),
                ..Default::default()
            },
        }),
    )
        .into_response()
}

fn invalid(param: &str, message: &str) -> Response {
    let mut body = ErrorBody {
        error: StripeError {
            kind: "invalid_request_error".into(),
            message: Some(message.into()),
            param: Some(param.into()),
            ..Default::default()
        },
    };
    body.error.code = None;
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

fn unix_now() -> i64 {
    now().unix_seconds()
}

/// The methods the sandbox takes, with their currencies.
fn method_currency(method: &str, currency: Currency) -> bool {
    matches!(
        (method, currency),
        ("promptpay", Currency::THB)
            | ("pix", Currency::BRL)
            | ("grabpay", Currency::MYR)
            | ("grabpay", Currency::SGD)
    )
}

fn outcome_error(o: Outcome) -> Option<StripeError> {
    let (code, decline) = match o {
        Outcome::Success => return None,
        Outcome::InsufficientBalance => (
            "payment_method_provider_decline",
            Some("insufficient_funds"),
        ),
        Outcome::UserCancelled => ("payment_method_customer_decline", None),
        Outcome::Expired => ("payment_intent_payment_attempt_expired", None),
        Outcome::RiskRejected => ("payment_method_provider_decline", Some("fraudulent")),
        Outcome::LimitExceeded => (
            "payment_method_provider_decline",
            Some("withdrawal_count_limit_exceeded"),
        ),
        Outcome::InvalidAccount => ("payment_method_unactivated", None),
        Outcome::Timeout => ("payment_method_provider_timeout", None),
    };
    Some(StripeError {
        kind: "card_error".into(),
        code: Some(code.into()),
        decline_code: decline.map(str::to_string),
        message: Some(format!("The payment was not completed ({code}).")),
        param: None,
    })
}

impl StripeSandbox {
    pub fn new(config: SandboxConfig) -> Self {
        StripeSandbox {
            inner: Arc::new(Inner {
                config,
                intents: Mutex::new(HashMap::new()),
                refunds: Mutex::new(BTreeMap::new()),
                idempotency: IdempotencyMemory::default(),
                http: crate::sandbox_kit::webhook_client(),
            }),
        }
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/payment_intents", post(create_intent))
            .route("/v1/payment_intents/{id}", get(get_intent))
            .route("/v1/payment_intents/{id}/cancel", post(cancel_intent))
            .route("/v1/refunds", post(create_refund).get(list_refunds))
            .route("/v1/refunds/{id}", get(get_refund))
            .route("/checkout/{id}", get(page).post(decide))
            .route("/simulate/{id}", post(simulate_api))
            .route("/simulate-refund/{id}", post(simulate_refund))
            .route("/reports/payout_reconciliation", get(report))
            .with_state(self.clone())
    }

    pub fn intent(&self, id: &str) -> Option<PaymentIntent> {
        self.lock_intents().get(id).map(|k| k.intent.clone())
    }

    /// The intent made for our payment (its `metadata[payment_id]`), if any.
    pub fn intent_for(&self, payment_id: &str) -> Option<PaymentIntent> {
        self.lock_intents()
            .values()
            .find(|k| k.intent.metadata.get("payment_id").map(String::as_str) == Some(payment_id))
            .map(|k| k.intent.clone())
    }

    pub fn refunds(&self) -> Vec<Refund> {
        self.inner
            .refunds
            .lock()
            .expect("sandbox lock")
            .values()
            .cloned()
            .collect()
    }

    fn lock_intents(&self) -> std::sync::MutexGuard<'_, HashMap<String, Kept>> {
        self.inner.intents.lock().expect("sandbox lock")
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let presented = if let Some(b) = v.strip_prefix("Bearer ") {
            b.trim().as_bytes().to_vec()
        } else if let Some(b) = v.strip_prefix("Basic ") {
            // Stripe also takes the key as the Basic user name.
            use base64::Engine;
            let Ok(d) = base64::engine::general_purpose::STANDARD.decode(b.trim()) else {
                return false;
            };
            d.strip_suffix(b":").map(<[u8]>::to_vec).unwrap_or(d)
        } else {
            return false;
        };
        crate::xendit::callback_token_matches(&presented, &[self.inner.config.secret_key.as_str()])
    }

    /// Settles a waiting intent and sends its webhooks as `how` says.
    pub async fn simulate(&self, id: &str, how: &SimulateBody) -> Result<Simulated, String> {
        let (after, before) = {
            let mut intents = self.lock_intents();
            let k = intents.get_mut(id).ok_or("no such payment intent")?;
            if !matches!(k.intent.status.as_str(), "requires_action" | "processing") {
                return Err(format!("payment intent is {}", k.intent.status));
            }
            k.before = k.intent.clone();
            match outcome_error(how.outcome) {
                None => {
                    k.intent.status = "succeeded".into();
                    k.intent.amount_received = k.intent.amount;
                }
                Some(e) => {
                    k.intent.status = "requires_payment_method".into();
                    k.intent.last_payment_error = Some(e);
                }
            }
            k.intent.next_action = None;
            k.settled_at = Some(unix_now());
            (k.intent.clone(), k.before.clone())
        };
        let mut webhook_statuses = Vec::new();
        if how.send_callback {
            let kind = if after.status == "succeeded" {
                "payment_intent.succeeded"
            } else {
                "payment_intent.payment_failed"
            };
            let event = self.event(kind, &after, unix_now());
            webhook_statuses.push(self.deliver(&event).await);
            if how.duplicate {
                webhook_statuses.push(self.deliver(&event).await);
            }
            if how.stale_after {
                let stale = self.event("payment_intent.requires_action", &before, before.created);
                webhook_statuses.push(self.deliver(&stale).await);
            }
        }
        Ok(Simulated {
            payment_intent: after,
            webhook_statuses,
        })
    }

    fn event(&self, kind: &str, pi: &PaymentIntent, created: i64) -> Event {
        Event {
            id: format!("evt_{}", alnum(24)),
            object: "event".into(),
            kind: kind.into(),
            created,
            livemode: false,
            api_version: Some("2024-06-20".into()),
            data: EventData {
                object: serde_json::to_value(pi).expect("an intent serialises"),
            },
        }
    }

    /// Posts an event to the webhook endpoint, signed as Stripe signs.
    pub async fn deliver(&self, event: &Event) -> Option<u16> {
        let body = serde_json::to_vec(event).expect("an event serialises");
        let header = signature::header(&self.inner.config.webhook_secret, unix_now(), &body);
        self.inner
            .http
            .post(&self.inner.config.webhook_url)
            .header("content-type", "application/json")
            .header("stripe-signature", header)
            .body(body)
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    }

    /// Settles a pending refund.
    pub fn settle_refund(&self, id: &str, success: bool) -> Option<Refund> {
        let mut refunds = self.inner.refunds.lock().expect("sandbox lock");
        let r = refunds.get_mut(id)?;
        if r.status != "pending" {
            return None;
        }
        r.status = if success { "succeeded" } else { "failed" }.into();
        if !success {
            r.failure_reason = Some("declined".into());
        }
        Some(r.clone())
    }

    /// The itemized payout reconciliation report (`payout_reconciliation.itemized.5`'s
    /// columns) of one day: a `charge` row per succeeded intent and a `refund` row per
    /// succeeded refund created that day, amounts in major units, a 3.4% fee on charges.
    pub fn payout_reconciliation(&self, day: &str) -> String {
        const COLUMNS: [&str; 19] = [
            "automatic_payout_id",
            "automatic_payout_effective_at",
            "balance_transaction_id",
            "created_utc",
            "created",
            "available_on_utc",
            "available_on",
            "currency",
            "gross",
            "fee",
            "net",
            "reporting_category",
            "source_id",
            "description",
            "customer_facing_amount",
            "customer_facing_currency",
            "charge_id",
            "payment_intent_id",
            "payment_method_type",
        ];
        let mut out = csv_line(&COLUMNS.map(String::from));
        let payout = format!("po_{}", alnum(24));
        let at = |secs: i64| {
            walletpay_domain::Timestamp(secs * 1000).to_string()[..19].replace('T', " ")
        };
        let major = |minor: i64, currency: &str| match super::mapping::parse_currency(currency) {
            Some(c) => Money { minor, currency: c }.decimal_string(c.exponent()),
            None => minor.to_string(),
        };
        let intents = self.lock_intents();
        let mut charges: Vec<&Kept> = intents
            .values()
            .filter(|k| k.intent.status == "succeeded")
            .filter(|k| day_of(walletpay_domain::Timestamp(k.intent.created * 1000)) == day)
            .collect();
        charges.sort_by_key(|k| (k.intent.created, k.intent.id.clone()));
        for k in charges {
            let pi = &k.intent;
            let fee = pi.amount * 34 / 1000;
            let method = pi.payment_method_types.first().cloned().unwrap_or_default();
            out.push_str(&csv_line(&[
                payout.clone(),
                at(pi.created + 2 * 86_400),
                format!("txn_{}", &pi.id[3..]),
                at(pi.created),
                at(pi.created),
                at(pi.created + 2 * 86_400),
                at(pi.created + 2 * 86_400),
                pi.currency.clone(),
                major(pi.amount, &pi.currency),
                major(fee, &pi.currency),
                major(pi.amount - fee, &pi.currency),
                "charge".into(),
                format!("py_{}", &pi.id[3..]),
                pi.metadata.get("payment_id").cloned().unwrap_or_default(),
                major(pi.amount, &pi.currency),
                pi.currency.clone(),
                format!("py_{}", &pi.id[3..]),
                pi.id.clone(),
                method,
            ]));
        }
        let refunds = self.inner.refunds.lock().expect("sandbox lock");
        for r in refunds.values().filter(|r| {
            r.status == "succeeded" && day_of(walletpay_domain::Timestamp(r.created * 1000)) == day
        }) {
            let pi = r.payment_intent.clone().unwrap_or_default();
            let method = intents
                .get(&pi)
                .and_then(|k| k.intent.payment_method_types.first().cloned())
                .unwrap_or_default();
            out.push_str(&csv_line(&[
                payout.clone(),
                at(r.created + 2 * 86_400),
                format!("txn_{}", &r.id[3..]),
                at(r.created),
                at(r.created),
                at(r.created + 2 * 86_400),
                at(r.created + 2 * 86_400),
                r.currency.clone(),
                format!("-{}", major(r.amount, &r.currency)),
                major(0, &r.currency),
                format!("-{}", major(r.amount, &r.currency)),
                "refund".into(),
                r.id.clone(),
                r.metadata.get("refund_id").cloned().unwrap_or_default(),
                format!("-{}", major(r.amount, &r.currency)),
                r.currency.clone(),
                format!("py_{}", pi.get(3..).unwrap_or_default()),
                pi,
                method,
            ]));
        }
        out
    }
}

/// Form fields by key; `key[]` and `key[0]` both collect into `key[]`.
fn fields(form: &[(String, String)]) -> HashMap<String, Vec<String>> {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in form {
        let key = match k.rsplit_once('[') {
            Some((base, idx))
                if idx
                    .trim_end_matches(']')
                    .bytes()
                    .all(|b| b.is_ascii_digit()) =>
            {
                format!("{base}[]")
            }
            _ => k.clone(),
        };
        map.entry(key).or_default().push(v.clone());
    }
    map
}

fn one<'a>(f: &'a HashMap<String, Vec<String>>, k: &str) -> Option<&'a str> {
    f.get(k).and_then(|v| v.first()).map(String::as_str)
}

/// A fingerprint of a form request, for idempotency.
fn fingerprint(path: &str, form: &[(String, String)]) -> String {
    let mut sorted = form.to_vec();
    sorted.sort();
    format!("{path}?{}", serde_urlencoded_like(&sorted))
}

fn serde_urlencoded_like(form: &[(String, String)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The answer from the idempotency memory, when the key was used before.
fn replayed(sb: &StripeSandbox, key: &Option<String>, print: &str) -> Option<Response> {
    let Some(k) = key else { return None };
    if k.len() > 255 {
        return Some(invalid(
            "Idempotency-Key",
            "Idempotency keys are at most 255 characters.",
        ));
    }
    match sb.inner.idempotency.check(k, print) {
        Remembered::New => None,
        Remembered::Replay(status, body) => {
            let mut answer = crate::sandbox_kit::remembered_answer(status, body);
            answer.headers_mut().insert(
                "idempotent-replayed",
                axum::http::HeaderValue::from_static("true"),
            );
            Some(answer)
        }
        Remembered::Mismatch => Some(error(
            StatusCode::BAD_REQUEST,
            "idempotency_error",
            None,
            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
        )),
    }
}

fn remember(sb: &StripeSandbox, key: &Option<String>, print: &str, status: StatusCode, body: &str) {
    if let Some(k) = key {
        sb.inner
            .idempotency
            .remember(k, print, status.as_u16(), body);
    }
}

fn json_answer<T: Serialize>(status: StatusCode, v: &T) -> (StatusCode, String) {
    (status, serde_json::to_string(v).expect("serialises"))
}

fn send((status, body): (StatusCode, String)) -> Response {
    (status, [("content-type", "application/json")], body).into_response()
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "invalid_request_error",
        None,
        "Invalid API Key provided.",
    )
}

async fn create_intent(
    State(sb): State<StripeSandbox>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let key = idempotency_key(&headers);
    let print = fingerprint("/v1/payment_intents", &form);
    if let Some(r) = replayed(&sb, &key, &print) {
        return r;
    }
    let f = fields(&form);
    let Some(amount) = one(&f, "amount")
        .and_then(|a| a.parse::<i64>().ok())
        .filter(|a| *a > 0)
    else {
        return invalid("amount", "Missing required param: amount.");
    };
    let Some(currency) = one(&f, "currency").and_then(super::mapping::parse_currency) else {
        return invalid("currency", "Invalid currency.");
    };
    let methods = f.get("payment_method_types[]").cloned().unwrap_or_default();
    let Some(method) = methods.first().cloned() else {
        return invalid(
            "payment_method_types",
            "Missing required param: payment_method_types.",
        );
    };
    if one(&f, "payment_method_data[type]") != Some(method.as_str()) {
        return invalid(
            "payment_method_data[type]",
            "payment_method_data[type] must match payment_method_types.",
        );
    }
    if !method_currency(&method, currency) {
        return invalid(
            "payment_method_types",
            &format!(
                "The payment method `{method}` does not support the currency {}.",
                currency.code().to_lowercase()
            ),
        );
    }
    if method == "promptpay" && one(&f, "payment_method_data[billing_details][email]").is_none() {
        return invalid(
            "payment_method_data[billing_details][email]",
            "PromptPay requires the customer's email.",
        );
    }
    let return_url = one(&f, "return_url").map(str::to_string);
    if method == "grabpay" && return_url.is_none() && one(&f, "confirm") == Some("true") {
        return invalid(
            "return_url",
            "A return_url is required to confirm a GrabPay PaymentIntent.",
        );
    }
    if let Some(at) = one(&f, "payment_method_options[pix][expires_at]") {
        let ahead = at.parse::<i64>().unwrap_or(0) - unix_now();
        if !(10..=1_209_600).contains(&ahead) {
            return invalid(
                "payment_method_options[pix][expires_at]",
                "expires_at must be between 10 seconds and 14 days in the future.",
            );
        }
    }
    let money = Money {
        minor: amount,
        currency,
    };
    let magic = sandbox_kit::whole(money);
    match magic {
        Some(magic::UNAVAILABLE) => {
            let mut e = outcome_error(Outcome::Success).unwrap_or_default();
            e.kind = "invalid_request_error".into();
            e.code = Some("payment_method_unavailable".into());
            e.message = Some("The payment method is currently unavailable.".into());
            let answer = json_answer(StatusCode::PAYMENT_REQUIRED, &ErrorBody { error: e });
            remember(&sb, &key, &print, answer.0, &answer.1);
            return send(answer);
        }
        Some(magic::SERVER_ERROR) => {
            let answer = json_answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                &ErrorBody {
                    error: StripeError {
                        kind: "api_error".into(),
                        message: Some("An unknown error occurred.".into()),
                        ..Default::default()
                    },
                },
            );
            remember(&sb, &key, &print, answer.0, &answer.1);
            return send(answer);
        }
        _ => {}
    }
    let id = format!("pi_{}", alnum(24));
    let page = format!("{}/checkout/{id}", sb.inner.config.public_url);
    let created = unix_now();
    let confirm = one(&f, "confirm") == Some("true");
    let next_action = confirm.then(|| match method.as_str() {
        "grabpay" => NextAction {
            kind: "redirect_to_url".into(),
            redirect_to_url: Some(RedirectToUrl {
                url: page.clone(),
                return_url: return_url.clone(),
            }),
            ..Default::default()
        },
        "promptpay" => NextAction {
            kind: "promptpay_display_qr_code".into(),
            promptpay_display_qr_code: Some(DisplayQrCode {
                data: walletpay_domain::emv::PromptPayBill {
                    biller_id: "010753600031508".into(),
                    ref1: id[3..17].to_ascii_uppercase(),
                    ref2: None,
                    amount: money,
                }
                .payload()
                .expect("a valid sandbox bill"),
                expires_at: None,
                hosted_instructions_url: Some(page.clone()),
                image_url_png: Some(format!("{page}.png")),
                image_url_svg: Some(format!("{page}.svg")),
            }),
            ..Default::default()
        },
        _ => {
            let expires_at = one(&f, "payment_method_options[pix][expires_at]")
                .and_then(|s| s.parse::<i64>().ok())
                .or_else(|| {
                    one(&f, "payment_method_options[pix][expires_after_seconds]")
                        .and_then(|s| s.parse::<i64>().ok())
                        .map(|secs| created + secs)
                })
                .unwrap_or(created + 86_400);
            NextAction {
                kind: "pix_display_qr_code".into(),
                pix_display_qr_code: Some(DisplayQrCode {
                    data: sandbox_kit::pix_code("sandbox.stripe.local", &id[3..17], money),
                    expires_at: Some(expires_at),
                    hosted_instructions_url: Some(page.clone()),
                    image_url_png: Some(format!("{page}.png")),
                    image_url_svg: Some(format!("{page}.svg")),
                }),
                ..Default::default()
            }
        }
    });
    let metadata: BTreeMap<String, String> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("metadata[")
                .and_then(|r| r.strip_suffix(']'))
                .map(|m| (m.to_string(), v.clone()))
        })
        .collect();
    let intent = PaymentIntent {
        id: id.clone(),
        object: "payment_intent".into(),
        amount,
        amount_received: 0,
        currency: currency.code().to_lowercase(),
        status: if confirm {
            "requires_action"
        } else {
            "requires_confirmation"
        }
        .into(),
        next_action,
        last_payment_error: None,
        cancellation_reason: None,
        metadata,
        payment_method_types: methods,
        created,
        livemode: false,
    };
    sb.lock_intents().insert(
        id.clone(),
        Kept {
            intent: intent.clone(),
            before: intent.clone(),
            return_url,
            settled_at: None,
        },
    );
    // A Pix QR lapses at its `expires_at`; PromptPay and GrabPay take no expiry (the
    // merchant cancels what it no longer waits for).
    if let Some(at) = intent
        .next_action
        .as_ref()
        .and_then(|a| a.pix_display_qr_code.as_ref())
        .and_then(|q| q.expires_at)
    {
        tokio::spawn({
            let sb = sb.clone();
            async move {
                let wait = (at - unix_now()).max(0) as u64;
                tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
                // Paid or canceled in the meantime: nothing lapses.
                let _ = sb
                    .simulate(&id, &SimulateBody::plain(Outcome::Expired))
                    .await;
            }
        });
    }
    let answer = json_answer(StatusCode::OK, &intent);
    remember(&sb, &key, &print, answer.0, &answer.1);
    if magic == Some(magic::SLOW) {
        tokio::time::sleep(sb.inner.config.slow_response).await;
    }
    send(answer)
}

fn no_such(kind: &str, id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such {kind}: '{id}'"),
    )
}

async fn get_intent(
    State(sb): State<StripeSandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    match sb.intent(&id) {
        Some(pi) => send(json_answer(StatusCode::OK, &pi)),
        None => no_such("payment_intent", &id),
    }
}

async fn cancel_intent(
    State(sb): State<StripeSandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let f = fields(&form);
    let mut intents = sb.lock_intents();
    let Some(k) = intents.get_mut(&id) else {
        return no_such("payment_intent", &id);
    };
    let cancellable = [
        "requires_payment_method",
        "requires_capture",
        "requires_confirmation",
        "requires_action",
    ];
    if !cancellable.contains(&k.intent.status.as_str()) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("payment_intent_unexpected_state"),
            &format!(
                "You cannot cancel this PaymentIntent because it has a status of {}.",
                k.intent.status
            ),
        );
    }
    k.before = k.intent.clone();
    k.intent.status = "canceled".into();
    k.intent.next_action = None;
    k.intent.cancellation_reason = one(&f, "cancellation_reason").map(str::to_string);
    send(json_answer(StatusCode::OK, &k.intent))
}

async fn create_refund(
    State(sb): State<StripeSandbox>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let key = idempotency_key(&headers);
    let print = fingerprint("/v1/refunds", &form);
    if let Some(r) = replayed(&sb, &key, &print) {
        return r;
    }
    let f = fields(&form);
    let Some(pi_id) = one(&f, "payment_intent") else {
        return invalid("payment_intent", "Missing required param: payment_intent.");
    };
    let Some(pi) = sb.intent(pi_id) else {
        return no_such("payment_intent", pi_id);
    };
    if pi.status != "succeeded" {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("charge_not_refundable"),
            "This PaymentIntent has no successful charge to refund.",
        );
    }
    let reason = one(&f, "reason").map(str::to_string);
    if reason
        .as_deref()
        .is_some_and(|r| !["duplicate", "fraudulent", "requested_by_customer"].contains(&r))
    {
        return invalid("reason", "Invalid reason.");
    }
    let taken: i64 = sb
        .refunds()
        .iter()
        .filter(|r| {
            r.payment_intent.as_deref() == Some(pi_id)
                && r.status != "failed"
                && r.status != "canceled"
        })
        .map(|r| r.amount)
        .sum();
    let left = pi.amount - taken;
    let amount = match one(&f, "amount") {
        None => left,
        Some(a) => match a.parse::<i64>() {
            Ok(a) if a > 0 => a,
            _ => return invalid("amount", "Invalid positive integer."),
        },
    };
    if amount > left {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("amount_too_large"),
            &format!(
                "Refund amount ({amount}) is greater than unrefunded amount on charge ({left})."
            ),
        );
    }
    let magic = super::mapping::parse_currency(&pi.currency).and_then(|currency| {
        sandbox_kit::whole(Money {
            minor: amount,
            currency,
        })
    });
    let (status, failure) = match magic {
        Some(magic::REFUND_PENDING) => ("pending", None),
        Some(magic::REFUND_FAILS) => ("failed", Some("declined")),
        _ => ("succeeded", None),
    };
    let metadata: BTreeMap<String, String> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("metadata[")
                .and_then(|r| r.strip_suffix(']'))
                .map(|m| (m.to_string(), v.clone()))
        })
        .collect();
    let refund = Refund {
        id: format!("re_{}", alnum(24)),
        object: "refund".into(),
        amount,
        currency: pi.currency.clone(),
        payment_intent: Some(pi_id.to_string()),
        status: status.into(),
        failure_reason: failure.map(str::to_string),
        reason,
        metadata,
        created: unix_now(),
    };
    sb.inner
        .refunds
        .lock()
        .expect("sandbox lock")
        .insert(refund.id.clone(), refund.clone());
    let answer = if magic == Some(magic::REFUND_LOST) {
        json_answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            &ErrorBody {
                error: StripeError {
                    kind: "api_error".into(),
                    message: Some("An unknown error occurred.".into()),
                    ..Default::default()
                },
            },
        )
    } else {
        json_answer(StatusCode::OK, &refund)
    };
    remember(&sb, &key, &print, answer.0, &answer.1);
    send(answer)
}

async fn get_refund(
    State(sb): State<StripeSandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    match sb.inner.refunds.lock().expect("sandbox lock").get(&id) {
        Some(r) => send(json_answer(StatusCode::OK, r)),
        None => no_such("refund", &id),
    }
}

#[derive(Deserialize)]
struct RefundQuery {
    payment_intent: Option<String>,
}

async fn list_refunds(
    State(sb): State<StripeSandbox>,
    headers: HeaderMap,
    Query(q): Query<RefundQuery>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let mut data: Vec<Refund> = sb
        .refunds()
        .into_iter()
        .filter(|r| q.payment_intent.is_none() || r.payment_intent == q.payment_intent)
        .collect();
    data.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
    send(json_answer(
        StatusCode::OK,
        &List {
            object: "list".into(),
            data,
            has_more: false,
            url: "/v1/refunds".into(),
        },
    ))
}

async fn page(State(sb): State<StripeSandbox>, Path(id): Path<String>) -> Response {
    let id = id
        .trim_end_matches(".png")
        .trim_end_matches(".svg")
        .to_string();
    let Some(pi) = sb.intent(&id) else {
        return (StatusCode::NOT_FOUND, "No such payment intent").into_response();
    };
    let waiting = pi.status == "requires_action";
    checkout_page(
        "Stripe",
        pi.payment_method_types
            .first()
            .map(String::as_str)
            .unwrap_or(""),
        &format!("{} {}", pi.currency.to_uppercase(), pi.amount),
        pi.metadata
            .get("payment_id")
            .map(String::as_str)
            .unwrap_or(&pi.id),
        (!waiting).then_some(pi.status.as_str()),
    )
    .into_response()
}

async fn decide(
    State(sb): State<StripeSandbox>,
    Path(id): Path<String>,
    Form(form): Form<DecideForm>,
) -> Response {
    let back = sb
        .lock_intents()
        .get(&id)
        .and_then(|k| k.return_url.clone());
    let _ = sb.simulate(&id, &SimulateBody::plain(form.outcome)).await;
    match back {
        Some(url) => Redirect::to(&url).into_response(),
        None => {
            Redirect::to(&format!("{}/checkout/{id}", sb.inner.config.public_url)).into_response()
        }
    }
}

async fn simulate_api(
    State(sb): State<StripeSandbox>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let how: SimulateBody = match serde_json::from_slice(&body) {
        Ok(h) => h,
        Err(e) => return invalid("outcome", &format!("expected {{\"outcome\": ...}}: {e}")),
    };
    match sb.simulate(&id, &how).await {
        Ok(done) => (StatusCode::OK, Json(done)).into_response(),
        Err(why) if why.starts_with("no such") => no_such("payment_intent", &id),
        Err(why) => error(
            StatusCode::CONFLICT,
            "invalid_request_error",
            Some("payment_intent_unexpected_state"),
            &why,
        ),
    }
}

async fn simulate_refund(
    State(sb): State<StripeSandbox>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(success) = crate::sandbox_kit::refund_outcome(&body) else {
        return invalid("outcome", crate::sandbox_kit::REFUND_OUTCOME_EXPECTED);
    };
    match sb.settle_refund(&id, success) {
        Some(r) => send(json_answer(StatusCode::OK, &r)),
        None => no_such("pending refund", &id),
    }
}

#[derive(Deserialize)]
struct ReportQuery {
    date: String,
}

async fn report(State(sb): State<StripeSandbox>, Query(q): Query<ReportQuery>) -> Response {
    (
        StatusCode::OK,
        [("content-type", "text/csv")],
        sb.payout_reconciliation(&q.date),
    )
        .into_response()
}
