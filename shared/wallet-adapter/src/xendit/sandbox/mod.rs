//! A local Xendit: the e-wallet charge endpoints with Xendit's paths, fields, statuses, Basic
//! auth and error bodies, a checkout page where a person approves or declines, a simulate
//! endpoint for scripts, and callbacks signed with `x-callback-token` sent to the configured
//! URL. Mount its router anywhere (the local stack uses `/sandbox/xendit`).
//!
//! Test credentials: secret key [`SANDBOX_SECRET_KEY`], callback token
//! [`SANDBOX_CALLBACK_TOKEN`].
//!
//! Simulated outcomes and the `failure_code` each produces:
//! `success` (SUCCEEDED), `insufficient_balance` (INSUFFICIENT_BALANCE), `user_cancelled`
//! (USER_DECLINED_PAYMENT), `expired` (USER_DID_NOT_AUTHORIZE_THE_PAYMENT), `risk_rejected`
//! (ACCOUNT_ACCESS_BLOCKED), `limit_exceeded` (MAXIMUM_LIMIT_REACHED), `invalid_account`
//! (INVALID_ACCOUNT_DETAILS), `timeout` (PARTNER_TIMEOUT_ERROR). In the simulate body,
//! `"send_callback": false` settles the charge without a callback (a lost webhook),
//! `"duplicate": true` sends it twice, `"stale_after": true` follows it with one carrying
//! the charge as it was before (out of order), and `"late": true` with `success` settles a
//! charge Xendit already timed out (a wallet that settles after Xendit gave up on it).
//!
//! A charge nobody settles lapses at its channel's time limit, as Xendit's do (OVO 55 s,
//! the Indonesian redirect wallets 30 minutes; [`SandboxConfig::pending_lifetime`]
//! overrides it): FAILED with USER_DID_NOT_AUTHORIZE_THE_PAYMENT, and its callback.
//!
//! Magic amounts on create (whole units of the currency), after Xendit's own test amounts:
//! `10100` answers 403 CHANNEL_NOT_ACTIVATED, `10101` 503 CHANNEL_UNAVAILABLE, `10102` 500
//! SERVER_ERROR (no charge is made); `10999` makes the charge but answers only after
//! [`SandboxConfig::slow_response`] (longer than a client's timeout: an unknown outcome).
//!
//! Refunds (`POST /ewallets/charges/{id}/refunds`, `GET .../refunds/{refund_id}`) honour
//! `x-idempotency-key` (the same key returns the same refund) and succeed at once, except
//! for magic amounts: `1111` stays PENDING until `POST /simulate-refund/{refund_id}`
//! settles it, `2222` FAILS (INSUFFICIENT_MERCHANT_BALANCE), `3333` is made and succeeds
//! but the answer is a 500 (an unknown outcome: the retry with the same key finds it).
//! OVO charges cannot be refunded (403 REFUND_NOT_SUPPORTED); a refund above what is left
//! answers 400 REFUND_AMOUNT_EXCEEDED; a charge that is not SUCCEEDED, 400
//! INELIGIBLE_TRANSACTION. (These three codes are the sandbox's own names.)

mod api;
mod simulate;

use crate::sandbox_kit as kit;

use super::wire::{Callback, Charge, ErrorBody, RefundObject};
use super::{SANDBOX_CALLBACK_TOKEN, SANDBOX_SECRET_KEY};
use crate::sandbox_kit::now;
use crate::xendit::mapping::wallet_for_channel;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use walletpay_domain::Currency;

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub secret_key: String,
    pub callback_token: String,
    /// Where callbacks go (the account's callback URL in Xendit's dashboard).
    pub callback_url: String,
    /// The URL this sandbox's router is reachable at, for checkout links.
    pub public_url: String,
    pub business_id: String,
    /// How long the `10999` magic amount makes create wait before answering.
    pub slow_response: std::time::Duration,
    /// How long a charge waits for the customer before it lapses; `None`: the channel's
    /// own time limit.
    pub pending_lifetime: Option<std::time::Duration>,
}

/// A channel's time limit for the customer to approve (Xendit's e-wallet documentation:
/// OVO 55 s, DANA, LinkAja and ShopeePay 30 minutes; 30 minutes where it states none).
pub fn channel_lifetime(channel: &str) -> std::time::Duration {
    match channel {
        "ID_OVO" => std::time::Duration::from_secs(55),
        _ => std::time::Duration::from_secs(30 * 60),
    }
}

impl SandboxConfig {
    pub fn new(public_url: impl Into<String>, callback_url: impl Into<String>) -> Self {
        SandboxConfig {
            secret_key: SANDBOX_SECRET_KEY.into(),
            callback_token: SANDBOX_CALLBACK_TOKEN.into(),
            callback_url: callback_url.into(),
            public_url: public_url.into().trim_end_matches('/').to_string(),
            business_id: "5f27a14a9bf05c73dd040bc8".into(),
            slow_response: std::time::Duration::from_secs(12),
            pending_lifetime: None,
        }
    }
}

pub use crate::sandbox_kit::{Outcome, SimulateBody};

/// The `failure_code` of a charge the customer did not approve within the channel's limit.
const LAPSED: &str = "USER_DID_NOT_AUTHORIZE_THE_PAYMENT";

#[derive(Clone)]
pub struct XenditSandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    charges: Mutex<HashMap<String, Charge>>,
    /// Refunds by id, and refund ids by idempotency key.
    refunds: Mutex<(HashMap<String, RefundObject>, HashMap<String, String>)>,
    http: reqwest::Client,
}

/// What `simulate` did: the charge after the outcome and the callback's delivery.
#[derive(Debug, Clone, Serialize)]
pub struct Simulated {
    pub charge: Charge,
    /// HTTP status our callback got back, or None if it could not be delivered.
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

impl XenditSandbox {
    pub fn new(config: SandboxConfig) -> Self {
        XenditSandbox {
            inner: Arc::new(Inner {
                config,
                charges: Mutex::new(HashMap::new()),
                refunds: Mutex::new((HashMap::new(), HashMap::new())),
                http: crate::sandbox_kit::webhook_client(),
            }),
        }
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/ewallets/charges", post(api::create_charge))
            .route("/ewallets/charges/{id}", get(api::get_charge))
            .route(
                "/checkout/{id}",
                get(kit::page::<Self>).post(kit::decide::<Self>),
            )
            .route("/simulate/{id}", post(kit::simulate::<Self>))
            .route("/ewallets/charges/{id}/refunds", post(api::create_refund))
            .route(
                "/ewallets/charges/{id}/refunds/{refund_id}",
                get(api::get_refund),
            )
            .route(
                "/simulate-refund/{refund_id}",
                post(simulate::simulate_refund),
            )
            .with_state(self.clone())
    }

    /// Every charge created so far.
    pub fn charges(&self) -> Vec<Charge> {
        self.inner
            .charges
            .lock()
            .expect("sandbox lock")
            .values()
            .cloned()
            .collect()
    }

    /// Every refund made so far.
    pub fn refunds(&self) -> Vec<RefundObject> {
        self.inner
            .refunds
            .lock()
            .expect("sandbox lock")
            .0
            .values()
            .cloned()
            .collect()
    }

    pub fn charge(&self, id: &str) -> Option<Charge> {
        self.inner
            .charges
            .lock()
            .expect("sandbox lock")
            .get(id)
            .cloned()
    }

    /// Posts the callback for `charge` as Xendit does.
    pub async fn send_callback(&self, charge: &Charge) -> Option<u16> {
        let cb = Callback {
            event: "ewallet.capture".into(),
            business_id: self.inner.config.business_id.clone(),
            created: now().to_string(),
            api_version: None,
            data: charge.clone(),
        };
        self.inner
            .http
            .post(&self.inner.config.callback_url)
            .header("x-callback-token", &self.inner.config.callback_token)
            .json(&cb)
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

fn currency_of_channel(channel: &str) -> Option<Currency> {
    let (country, _) = wallet_for_channel(channel)?;
    Some(country.currency())
}
