//! A local Stripe: PaymentIntents and Refunds for PromptPay, Pix and GrabPay with Stripe's
//! paths, form-encoded bodies, Bearer auth, `Idempotency-Key` replays, error bodies and
//! statuses; a checkout page (GrabPay's redirect, and the "hosted instructions" of the QR
//! methods) where a person approves or declines; `simulate`; webhooks signed with
//! `Stripe-Signature`; and the Reporting API (`report_types`, `report_runs`, `files`) over
//! what it booked, with settlement faults on request. Mount its
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

mod api;
mod report;
mod simulate;

use crate::sandbox_kit as kit;

use super::signature;
use super::{SANDBOX_SECRET_KEY, SANDBOX_WEBHOOK_SECRET};
use crate::sandbox_kit::{alnum, now, IdempotencyMemory, Remembered};
use crate::stripe::wire::{ErrorBody, Event, EventData, PaymentIntent, Refund, StripeError};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use walletpay_domain::Currency;

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
    faults: kit::settlement::Faults,
    runs: Mutex<HashMap<String, report::Run>>,
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

impl StripeSandbox {
    pub fn new(config: SandboxConfig) -> Self {
        StripeSandbox {
            inner: Arc::new(Inner {
                config,
                intents: Mutex::new(HashMap::new()),
                refunds: Mutex::new(BTreeMap::new()),
                idempotency: IdempotencyMemory::default(),
                http: crate::sandbox_kit::webhook_client(),
                faults: kit::settlement::Faults::default(),
                runs: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/payment_intents", post(api::create_intent))
            .route("/v1/payment_intents/{id}", get(api::get_intent))
            .route("/v1/payment_intents/{id}/cancel", post(api::cancel_intent))
            .route(
                "/v1/refunds",
                post(api::create_refund).get(api::list_refunds),
            )
            .route("/v1/refunds/{id}", get(api::get_refund))
            .route(
                "/checkout/{id}",
                get(kit::page::<Self>).post(kit::decide::<Self>),
            )
            .route("/simulate/{id}", post(kit::simulate::<Self>))
            .route("/simulate-refund/{id}", post(simulate::simulate_refund))
            .route("/v1/reporting/report_types/{id}", get(report::report_type))
            .route(
                "/v1/reporting/report_runs",
                post(report::create_run).get(report::list_runs),
            )
            .route("/v1/reporting/report_runs/{id}", get(report::get_run))
            .route("/v1/files/{id}/contents", get(report::file_contents))
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
        crate::credentials::equals_any(&presented, &[self.inner.config.secret_key.as_str()])
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
            .header(signature::HEADER, header)
            .body(body)
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
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

fn no_such(kind: &str, id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such {kind}: '{id}'"),
    )
}
