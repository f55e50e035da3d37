//! A local Xendit on its Payments API v3: payment requests (`/v3/payment_requests`: create,
//! read, cancel, and Xendit's own test-mode `simulate`), payments (`/v3/payments/{id}`) and
//! the unified refunds (`/refunds`), with Xendit's paths, fields, statuses, Basic auth,
//! `api-version`, idempotency keys and error bodies; a checkout page where a person approves
//! or declines; the shared `simulate` for scripts; and webhooks with `x-callback-token` sent
//! to the configured URL; and the Transaction Service (`GET /transactions`) of what it
//! booked, with settlement faults on request (`sandbox_kit::settlement`). Mount its router anywhere (the local stack uses `/sandbox/xendit`).
//!
//! Test credentials: secret key [`SANDBOX_SECRET_KEY`], callback token
//! [`SANDBOX_CALLBACK_TOKEN`].
//!
//! Each channel answers as Xendit's channel pages describe: redirect wallets a `WEB_URL`,
//! ShopeePay a `DEEPLINK_URL` too (and in Indonesia a QRIS code of the request), OVO no
//! action (a push to the app; its `mobile_number` is required; a moment later the request is
//! `PENDING`, the push on the customer's phone), QRIS a QRIS code and QR Ph a
//! QR Ph code (built with the domain's EMV builders). Amounts outside a channel's limits
//! answer 400 `INVALID_VALUE_ERROR`. A request nobody pays expires at its channel's
//! documented expiry (DANA 24 h, OVO 15 min, QRIS 48 h, ...;
//! [`SandboxConfig::pending_lifetime`] overrides it): `EXPIRED` and a
//! `payment_request.expiry` webhook.
//!
//! Simulated outcomes and the `failure_code` each produces: `success` (SUCCEEDED, a payment
//! with a capture), `insufficient_balance` (INSUFFICIENT_BALANCE), `user_cancelled`
//! (USER_DECLINED_PAYMENT), `expired` (USER_DID_NOT_AUTHORIZE), `risk_rejected`
//! (ACCOUNT_ACCESS_BLOCKED), `limit_exceeded` (PAYMENT_AMOUNT_LIMITS_EXCEEDED),
//! `invalid_account` (INVALID_ACCOUNT_DETAILS), `timeout` (PARTNER_TIMEOUT_ERROR). In the
//! simulate body, `"send_callback": false` settles without a webhook (a lost webhook),
//! `"duplicate": true` sends it twice, `"stale_after": true` follows it with the failure of
//! an earlier attempt (out of order), `"late": true` with `success` settles a request Xendit
//! already expired (the race Xendit's webhook page warns of) or canceled (a capture already
//! under way), and `"issuer"` names who paid a QRIS code (default `DANA`).
//!
//! Magic amounts on create (whole units of the currency; the sandbox's own, Xendit publishes
//! none for v3): `10100` answers 403 INVALID_MERCHANT_SETTINGS, `10101` 503 CHANNEL_UNAVAILABLE, `10102`
//! 500 SERVER_ERROR (nothing is made); `10999` makes the request but answers only after
//! [`SandboxConfig::slow_response`] (longer than a client's timeout: an unknown outcome).
//! Creates honour `idempotency-key` as Xendit's other APIs document it: the same key and
//! body answer the first request's answer again, another body 409 DUPLICATE_ERROR.
//!
//! Refunds answer 200 `PENDING` and settle after [`SandboxConfig::refund_settle_after`]
//! (`refund.succeeded` or `refund.failed`), except for magic amounts: `1111` stays PENDING
//! until `POST /simulate-refund/{id}`, `2222` FAILS (INSUFFICIENT_BALANCE), `3333` is made
//! but answered with a 500 (the retry under the same key finds it). A refund the channel
//! cannot make answers 403 REFUND_NOT_SUPPORTED (OVO, QR Ph, TrueMoney, LINE Pay, a QRIS
//! issuer outside Xendit's table) or PARTIAL_REFUND_NOT_SUPPORTED (LinkAja), one above what
//! is left 400 REFUND_AMOUNT_EXCEEDED, one while another is pending 400 REFUND_IN_PROGRESS,
//! one of a request not SUCCEEDED 400 INELIGIBLE_TRANSACTION_STATUS.

mod api;
mod report;
mod simulate;

use crate::sandbox_kit as kit;

use super::wire::{ErrorBody, Payment, PaymentRequest, Refund, Webhook};
use super::{SANDBOX_CALLBACK_TOKEN, SANDBOX_SECRET_KEY};
use crate::sandbox_kit::{now, IdempotencyMemory};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use crate::sandbox_kit::{Outcome, SimulateBody};

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub secret_key: String,
    pub callback_token: String,
    /// Where webhooks go (the account's webhook URL in Xendit's dashboard).
    pub callback_url: String,
    /// The URL this sandbox's router is reachable at, for checkout links.
    pub public_url: String,
    pub business_id: String,
    /// How long the `10999` magic amount makes create wait before answering.
    pub slow_response: Duration,
    /// How long a request waits for the customer before it expires; `None`: the channel's
    /// own expiry.
    pub pending_lifetime: Option<Duration>,
    /// How long a refund stays PENDING before it settles.
    pub refund_settle_after: Duration,
}

impl SandboxConfig {
    pub fn new(public_url: impl Into<String>, callback_url: impl Into<String>) -> Self {
        SandboxConfig {
            secret_key: SANDBOX_SECRET_KEY.into(),
            callback_token: SANDBOX_CALLBACK_TOKEN.into(),
            callback_url: callback_url.into(),
            public_url: public_url.into().trim_end_matches('/').to_string(),
            business_id: "5f27a14a9bf05c73dd040bc8".into(),
            slow_response: Duration::from_secs(12),
            pending_lifetime: None,
            refund_settle_after: Duration::from_millis(200),
        }
    }
}

/// A channel as Xendit's channel pages describe it: its limits in whole units and how long a
/// request waits for the customer.
pub struct Channel {
    pub code: &'static str,
    pub country: &'static str,
    pub min: i64,
    pub max: i64,
    pub expiry: Duration,
}

const MIN: u64 = 60;
const HOUR: u64 = 3600;

/// Xendit's channel pages (their "Min–Max" and "Payment Request Expiry"): where a page gives
/// no expiry, 15 minutes, the usual one.
pub const CHANNELS: &[Channel] = &[
    Channel {
        code: "DANA",
        country: "ID",
        min: 100,
        max: 20_000_000,
        expiry: Duration::from_secs(24 * HOUR),
    },
    Channel {
        code: "OVO",
        country: "ID",
        min: 100,
        max: 20_000_000,
        expiry: Duration::from_secs(15 * MIN),
    },
    Channel {
        code: "SHOPEEPAY",
        country: "ID",
        min: 1,
        max: 20_000_000,
        expiry: Duration::from_secs(30 * MIN),
    },
    Channel {
        code: "LINKAJA",
        country: "ID",
        min: 100,
        max: 10_000_000,
        expiry: Duration::from_secs(30 * MIN),
    },
    Channel {
        code: "QRIS",
        country: "ID",
        min: 1,
        max: 10_000_000,
        expiry: Duration::from_secs(48 * HOUR),
    },
    Channel {
        code: "GCASH",
        country: "PH",
        min: 1,
        max: 100_000,
        expiry: Duration::from_secs(15 * MIN),
    },
    Channel {
        code: "PAYMAYA",
        country: "PH",
        min: 1,
        max: 100_000,
        expiry: Duration::from_secs(15 * MIN),
    },
    Channel {
        code: "GRABPAY",
        country: "PH",
        min: 1,
        max: 100_000,
        expiry: Duration::from_secs(15 * MIN),
    },
    Channel {
        code: "QRPH",
        country: "PH",
        min: 1,
        max: 50_000,
        expiry: Duration::from_secs(15 * MIN),
    },
    Channel {
        code: "MOMO",
        country: "VN",
        min: 1,
        max: 50_000_000,
        expiry: Duration::from_secs(15 * MIN),
    },
    Channel {
        code: "ZALOPAY",
        country: "VN",
        min: 1,
        max: 50_000_000,
        expiry: Duration::from_secs(15 * MIN),
    },
    Channel {
        code: "TRUEMONEY",
        country: "TH",
        min: 1,
        max: 50_000,
        expiry: Duration::from_secs(2 * HOUR),
    },
    Channel {
        code: "LINEPAY",
        country: "TH",
        min: 1,
        max: 50_000,
        expiry: Duration::from_secs(20 * MIN),
    },
    Channel {
        code: "SHOPEEPAY",
        country: "TH",
        min: 1,
        max: 100_000,
        expiry: Duration::from_secs(15 * MIN),
    },
];

pub fn channel(code: &str, country: &str) -> Option<&'static Channel> {
    CHANNELS
        .iter()
        .find(|c| c.code == code && c.country == country)
}

/// A payment request as the sandbox keeps it, with the payment made against it.
#[derive(Debug, Clone)]
struct Kept {
    request: PaymentRequest,
    payment: Option<Payment>,
}

#[derive(Default)]
struct Refunds {
    by_id: HashMap<String, Refund>,
}

#[derive(Clone)]
pub struct XenditSandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    requests: Mutex<HashMap<String, Kept>>,
    /// Payment ids to their requests.
    payments: Mutex<HashMap<String, String>>,
    creates: IdempotencyMemory,
    refunds: Mutex<Refunds>,
    refund_keys: IdempotencyMemory,
    http: reqwest::Client,
    faults: kit::settlement::Faults,
}

/// What `simulate` did: the request after the outcome, its payment, and the webhook's
/// delivery.
#[derive(Debug, Clone, Serialize)]
pub struct Simulated {
    pub payment_request: PaymentRequest,
    pub payment: Option<Payment>,
    /// HTTP status our webhook got back, or None if none was sent or it could not be
    /// delivered.
    pub callback_status: Option<u16>,
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(ErrorBody {
            error_code: code.into(),
            message: message.into(),
        }),
    )
        .into_response()
}

fn validation(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "API_VALIDATION_ERROR", message)
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "INVALID_API_KEY",
        "API key format is invalid",
    )
}

fn not_found(what: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "DATA_NOT_FOUND",
        &format!("{what} not found"),
    )
}

impl XenditSandbox {
    pub fn new(config: SandboxConfig) -> Self {
        XenditSandbox {
            inner: Arc::new(Inner {
                config,
                requests: Mutex::new(HashMap::new()),
                payments: Mutex::new(HashMap::new()),
                creates: IdempotencyMemory::default(),
                refunds: Mutex::new(Refunds::default()),
                refund_keys: IdempotencyMemory::default(),
                http: crate::sandbox_kit::webhook_client(),
                faults: kit::settlement::Faults::default(),
            }),
        }
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v3/payment_requests", post(api::create_request))
            .route("/v3/payment_requests/{id}", get(api::get_request))
            .route(
                "/v3/payment_requests/{id}/cancel",
                post(api::cancel_request),
            )
            .route(
                "/v3/payment_requests/{id}/simulate",
                post(simulate::simulate_payment),
            )
            .route("/v3/payments/{id}", get(api::get_payment))
            .route("/refunds", post(api::create_refund).get(api::list_refunds))
            .route("/refunds/{id}", get(api::get_refund))
            .route("/transactions", get(report::list_transactions))
            .route(
                "/settlement/faults",
                post(kit::settlement::add_fault::<Self>),
            )
            .route(
                "/settlement/publish",
                post(kit::settlement::publish::<Self>),
            )
            .route(
                "/checkout/{id}",
                get(kit::page::<Self>).post(kit::decide::<Self>),
            )
            .route("/simulate/{id}", post(kit::simulate::<Self>))
            .route("/simulate-refund/{id}", post(simulate::simulate_refund))
            .with_state(self.clone())
    }

    /// Every payment request made so far.
    pub fn payment_requests(&self) -> Vec<PaymentRequest> {
        self.lock().values().map(|k| k.request.clone()).collect()
    }

    pub fn payment_request(&self, id: &str) -> Option<PaymentRequest> {
        self.lock().get(id).map(|k| k.request.clone())
    }

    /// The payment made against a request (its capture), once there is one.
    pub fn payment_of(&self, request_id: &str) -> Option<Payment> {
        self.lock().get(request_id).and_then(|k| k.payment.clone())
    }

    /// Every refund made so far.
    pub fn refunds(&self) -> Vec<Refund> {
        self.refunds_lock().by_id.values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Kept>> {
        self.inner.requests.lock().expect("sandbox lock")
    }

    fn refunds_lock(&self) -> std::sync::MutexGuard<'_, Refunds> {
        self.inner.refunds.lock().expect("sandbox lock")
    }

    /// Posts a webhook as Xendit does.
    pub async fn send_webhook(&self, event: &str, data: serde_json::Value) -> Option<u16> {
        let hook = Webhook {
            event: event.into(),
            business_id: self.inner.config.business_id.clone(),
            created: now().to_string(),
            api_version: Some("v3".into()),
            data: serde_json::value::RawValue::from_string(data.to_string()).expect("JSON is JSON"),
        };
        self.inner
            .http
            .post(&self.inner.config.callback_url)
            .header("x-callback-token", &self.inner.config.callback_token)
            .json(&hook)
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some(encoded) = value.strip_prefix("Basic ") else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let expected = format!("{}:", self.inner.config.secret_key);
        crate::credentials::equals_any(&decoded, &[expected.as_str()])
    }
}

/// The `api-version` every `/v3` call carries ("Requires `api-version` header", Xendit's v3
/// migration guide; the reference lists one value). `Some`: the answer to a call without it
/// or with another.
fn version_refused(headers: &HeaderMap) -> Option<Response> {
    match headers.get("api-version").map(|v| v.to_str().unwrap_or("")) {
        Some(v) if v == crate::xendit::API_VERSION => None,
        _ => Some(validation("api-version must be 2024-11-11")),
    }
}
