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

use super::mapping::{parse_amount, wallet_for_channel};
use super::wire::{
    Actions, Callback, Charge, CreateChargeBody, CreateRefundBody, ErrorBody, RefundObject,
};
use super::{SANDBOX_CALLBACK_TOKEN, SANDBOX_SECRET_KEY};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde::Serialize;
use serde_json::value::RawValue;
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

use crate::sandbox_kit::{now, uuid_v4};
pub use crate::sandbox_kit::{Outcome, SimulateBody};

/// The `failure_code` of a charge the customer did not approve within the channel's limit.
const LAPSED: &str = "USER_DID_NOT_AUTHORIZE_THE_PAYMENT";

/// Xendit's status and `failure_code` for an outcome.
fn xendit_result(o: Outcome) -> (&'static str, Option<&'static str>) {
    match o {
        Outcome::Success => ("SUCCEEDED", None),
        Outcome::InsufficientBalance => ("FAILED", Some("INSUFFICIENT_BALANCE")),
        Outcome::UserCancelled => ("FAILED", Some("USER_DECLINED_PAYMENT")),
        Outcome::Expired => ("FAILED", Some(LAPSED)),
        Outcome::RiskRejected => ("FAILED", Some("ACCOUNT_ACCESS_BLOCKED")),
        Outcome::LimitExceeded => ("FAILED", Some("MAXIMUM_LIMIT_REACHED")),
        Outcome::InvalidAccount => ("FAILED", Some("INVALID_ACCOUNT_DETAILS")),
        Outcome::Timeout => ("FAILED", Some("PARTNER_TIMEOUT_ERROR")),
    }
}

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

#[derive(Debug)]
pub enum SimulateError {
    NotFound,
    NotPending(String),
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
            .route("/ewallets/charges", post(create_charge))
            .route("/ewallets/charges/{id}", get(get_charge))
            .route("/checkout/{id}", get(checkout_page).post(checkout_decide))
            .route("/simulate/{id}", post(simulate_api))
            .route("/ewallets/charges/{id}/refunds", post(create_refund))
            .route(
                "/ewallets/charges/{id}/refunds/{refund_id}",
                get(get_refund),
            )
            .route("/simulate-refund/{refund_id}", post(simulate_refund))
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

    /// Settles a PENDING refund; returns it, or None if there is no pending refund by that id.
    pub fn settle_refund(&self, refund_id: &str, success: bool) -> Option<RefundObject> {
        let mut refunds = self.inner.refunds.lock().expect("sandbox lock");
        let r = refunds.0.get_mut(refund_id)?;
        if r.status != "PENDING" {
            return None;
        }
        r.status = if success { "SUCCEEDED" } else { "FAILED" }.into();
        if !success {
            r.failure_code = Some("REFUND_FAILED".into());
        }
        r.updated = now().to_string();
        let out = r.clone();
        drop(refunds);
        self.recount_refunded(&out.charge_id);
        Some(out)
    }

    /// Keeps the charge's `refunded_amount` equal to its succeeded refunds.
    fn recount_refunded(&self, charge_id: &str) {
        let mut charges = self.inner.charges.lock().expect("sandbox lock");
        let Some(c) = charges.get_mut(charge_id) else {
            return;
        };
        let Ok(currency) = c.currency.parse::<Currency>() else {
            return;
        };
        let refunds = self.inner.refunds.lock().expect("sandbox lock");
        let total: i64 = refunds
            .0
            .values()
            .filter(|r| r.charge_id == charge_id && r.status == "SUCCEEDED")
            .filter_map(|r| parse_amount(r.refund_amount.get(), currency).ok())
            .map(|m| m.minor)
            .sum();
        c.refunded_amount = (total > 0).then(|| {
            let m = walletpay_domain::Money {
                minor: total,
                currency,
            };
            RawValue::from_string(
                super::mapping::amount_literal(m).unwrap_or_else(|_| m.decimal_string(2)),
            )
            .expect("a decimal literal is valid JSON")
        });
    }

    pub fn charge(&self, id: &str) -> Option<Charge> {
        self.inner
            .charges
            .lock()
            .expect("sandbox lock")
            .get(id)
            .cloned()
    }

    /// Settles a pending charge with `outcome` and sends the callback.
    pub async fn simulate(&self, id: &str, outcome: Outcome) -> Result<Simulated, SimulateError> {
        self.settle(id, &SimulateBody::plain(outcome)).await
    }

    /// Settles a pending charge and sends its callbacks as `how` says: none, once, twice,
    /// or once followed by a stale one carrying the charge as it was before.
    pub async fn settle(&self, id: &str, how: &SimulateBody) -> Result<Simulated, SimulateError> {
        self.settle_late(id, how, false).await
    }

    /// As `settle`; with `late`, a success may also settle a charge that lapsed.
    pub async fn settle_late(
        &self,
        id: &str,
        how: &SimulateBody,
        late: bool,
    ) -> Result<Simulated, SimulateError> {
        let (charge, before) = {
            let mut charges = self.inner.charges.lock().expect("sandbox lock");
            let c = charges.get_mut(id).ok_or(SimulateError::NotFound)?;
            let timed_out = c.status == "FAILED"
                && c.failure_code.as_deref() == Some(LAPSED)
                && how.outcome == Outcome::Success;
            if c.status != "PENDING" && !(late && timed_out) {
                return Err(SimulateError::NotPending(c.status.clone()));
            }
            let before = c.clone();
            let (status, failure) = xendit_result(how.outcome);
            c.status = status.into();
            c.failure_code = failure.map(str::to_string);
            if status == "SUCCEEDED" {
                c.capture_amount = Some(c.charge_amount.clone());
            }
            c.updated = now().to_string();
            (c.clone(), before)
        };
        let mut callback_status = None;
        if how.send_callback {
            callback_status = self.send_callback(&charge).await;
            if how.duplicate {
                self.send_callback(&charge).await;
            }
            if how.stale_after {
                self.send_callback(&before).await;
            }
        }
        Ok(Simulated {
            charge,
            callback_status,
        })
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
        super::callback_token_matches(&decoded, &[expected.as_str()])
    }
}

fn currency_of_channel(channel: &str) -> Option<Currency> {
    let (country, _) = wallet_for_channel(channel)?;
    Some(country.currency())
}

async fn create_charge(
    State(sb): State<XenditSandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "INVALID_API_KEY",
            "API key format is invalid",
        );
    }
    let req: CreateChargeBody = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return validation(&format!("invalid request body: {e}")),
    };
    if req.reference_id.is_empty() || req.reference_id.len() > 255 {
        return validation("reference_id must be between 1 and 255 characters");
    }
    if req.checkout_method != "ONE_TIME_PAYMENT" {
        return validation("checkout_method must be ONE_TIME_PAYMENT");
    }
    let Some(channel_currency) = currency_of_channel(&req.channel_code) else {
        return validation("channel_code is not a supported e-wallet channel");
    };
    let Ok(currency) = req.currency.parse::<Currency>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "UNSUPPORTED_CURRENCY",
            "currency is not supported",
        );
    };
    if currency != channel_currency {
        return error(
            StatusCode::BAD_REQUEST,
            "UNSUPPORTED_CURRENCY",
            "currency is not supported for this channel_code",
        );
    }
    let amount = match parse_amount(req.amount.get(), currency) {
        Ok(a) if a.minor > 0 => a,
        _ => return validation("amount must be a positive number"),
    };
    if currency == Currency::IDR && amount.whole_major().is_err() {
        return validation("amount must be a whole number for IDR");
    }
    let minimum = match currency {
        Currency::IDR => 10_000, // IDR 100.00
        Currency::PHP => 100,    // PHP 1.00
        _ => 1,
    };
    if amount.minor < minimum {
        return validation("amount is below the minimum for this channel");
    }
    let whole = amount.whole_major().ok();
    match whole {
        Some(10100) => {
            return error(
                StatusCode::FORBIDDEN,
                "CHANNEL_NOT_ACTIVATED",
                "Channel is not activated for this account",
            )
        }
        Some(10101) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "CHANNEL_UNAVAILABLE",
                "The e-wallet channel is unavailable",
            )
        }
        Some(10102) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "SERVER_ERROR",
                "An unexpected error occurred",
            )
        }
        _ => {}
    }
    let props = req.channel_properties.clone().unwrap_or_default();
    let is_ovo = req.channel_code == "ID_OVO";
    if is_ovo {
        match props.mobile_number.as_deref() {
            Some(n)
                if n.starts_with("+62")
                    && n.len() >= 10
                    && n[1..].bytes().all(|b| b.is_ascii_digit()) => {}
            _ => {
                return validation(
                    "channel_properties.mobile_number must be an E.164 Indonesian number",
                )
            }
        }
    } else if props.success_redirect_url.is_none() {
        return validation("channel_properties.success_redirect_url is required");
    }

    let id = format!("ewc_{}", uuid_v4());
    let page = format!("{}/checkout/{id}", sb.inner.config.public_url);
    let actions = if is_ovo {
        None
    } else if req.channel_code == "ID_SHOPEEPAY" {
        // ShopeePay Indonesia offers the app link and a QRIS code of the charge.
        let qris = walletpay_domain::emv::Qris {
            issuer: "ID.CO.SHOPEE.WWW".into(),
            merchant_pan: "936009180000000001".into(),
            merchant_id: "WALLETPAYSANDBOX".into(),
            criteria: "UMI".into(),
            nmid: "ID1020000000001".into(),
            mcc: "5999".into(),
            amount: Some(amount),
            merchant_name: "WALLETPAY SANDBOX".into(),
            merchant_city: "JAKARTA".into(),
            postal_code: "10110".into(),
            reference: Some(id[4..].chars().filter(|c| *c != '-').take(25).collect()),
        };
        Some(Actions {
            mobile_deeplink_checkout_url: Some(page.clone()),
            qr_checkout_string: Some(qris.payload().expect("a valid sandbox QRIS")),
            ..Default::default()
        })
    } else if req.channel_code.ends_with("_SHOPEEPAY") {
        Some(Actions {
            mobile_deeplink_checkout_url: Some(page.clone()),
            ..Default::default()
        })
    } else {
        Some(Actions {
            desktop_web_checkout_url: Some(page.clone()),
            mobile_web_checkout_url: Some(page),
            ..Default::default()
        })
    };
    let at = now().to_string();
    let charge = Charge {
        id: id.clone(),
        business_id: sb.inner.config.business_id.clone(),
        reference_id: req.reference_id,
        status: "PENDING".into(),
        currency: req.currency,
        charge_amount: req.amount,
        capture_amount: None,
        refunded_amount: None,
        checkout_method: req.checkout_method,
        channel_code: req.channel_code,
        channel_properties: req.channel_properties,
        is_redirect_required: actions.is_some(),
        actions,
        callback_url: Some(sb.inner.config.callback_url.clone()),
        created: at.clone(),
        updated: at,
        void_status: None,
        voided_at: None,
        capture_now: true,
        customer_id: None,
        payment_method_id: None,
        failure_code: None,
        basket: None,
        metadata: req.metadata,
    };
    sb.inner
        .charges
        .lock()
        .expect("sandbox lock")
        .insert(id.clone(), charge.clone());
    let lifetime = sb
        .inner
        .config
        .pending_lifetime
        .unwrap_or_else(|| channel_lifetime(&charge.channel_code));
    tokio::spawn({
        let sb = sb.clone();
        async move {
            tokio::time::sleep(lifetime).await;
            // Settled in the meantime: nothing to lapse.
            let _ = sb.simulate(&id, Outcome::Expired).await;
        }
    });
    if whole == Some(10999) {
        tokio::time::sleep(sb.inner.config.slow_response).await;
    }
    (StatusCode::OK, Json(charge)).into_response()
}

async fn get_charge(
    State(sb): State<XenditSandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "INVALID_API_KEY",
            "API key format is invalid",
        );
    }
    match sb.charge(&id) {
        Some(c) => (StatusCode::OK, Json(c)).into_response(),
        None => error(StatusCode::NOT_FOUND, "DATA_NOT_FOUND", "Charge not found"),
    }
}

async fn simulate_api(
    State(sb): State<XenditSandbox>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let req: SimulateBody = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return validation(&format!("expected {{\"outcome\": ...}}: {e}")),
    };
    #[derive(serde::Deserialize)]
    struct Late {
        #[serde(default)]
        late: bool,
    }
    let late = serde_json::from_slice::<Late>(&body).is_ok_and(|l| l.late);
    match sb.settle_late(&id, &req, late).await {
        Ok(done) => (StatusCode::OK, Json(done)).into_response(),
        Err(SimulateError::NotFound) => {
            error(StatusCode::NOT_FOUND, "DATA_NOT_FOUND", "Charge not found")
        }
        Err(SimulateError::NotPending(s)) => error(
            StatusCode::CONFLICT,
            "INVALID_STATUS",
            &format!("charge is {s}, not PENDING"),
        ),
    }
}

async fn checkout_page(State(sb): State<XenditSandbox>, Path(id): Path<String>) -> Response {
    let Some(c) = sb.charge(&id) else {
        return (
            StatusCode::NOT_FOUND,
            Html("<h1>Charge not found</h1>".to_string()),
        )
            .into_response();
    };
    let amount = format!("{} {}", c.currency, RawValue::get(&c.charge_amount));
    crate::sandbox_kit::checkout_page(
        "Xendit",
        &c.channel_code,
        &amount,
        &c.reference_id,
        (c.status != "PENDING").then_some(c.status.as_str()),
    )
    .into_response()
}

async fn checkout_decide(
    State(sb): State<XenditSandbox>,
    Path(id): Path<String>,
    Form(form): Form<crate::sandbox_kit::DecideForm>,
) -> Response {
    match sb.simulate(&id, form.outcome).await {
        Ok(done) => {
            let props = done.charge.channel_properties.unwrap_or_default();
            let target = if done.charge.status == "SUCCEEDED" {
                props.success_redirect_url
            } else {
                props.failure_redirect_url.or(props.success_redirect_url)
            };
            match target {
                Some(url) => Redirect::to(&url).into_response(),
                None => Html(format!(
                    "<p>Payment {}.</p>",
                    crate::sandbox_kit::escape(&done.charge.status)
                ))
                .into_response(),
            }
        }
        Err(_) => {
            Redirect::to(&format!("{}/checkout/{id}", sb.inner.config.public_url)).into_response()
        }
    }
}

async fn create_refund(
    State(sb): State<XenditSandbox>,
    headers: HeaderMap,
    Path(charge_id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "INVALID_API_KEY",
            "API key format is invalid",
        );
    }
    let key = headers
        .get("x-idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(k) = &key {
        let refunds = sb.inner.refunds.lock().expect("sandbox lock");
        if let Some(existing) = refunds.1.get(k).and_then(|id| refunds.0.get(id)) {
            return (StatusCode::OK, Json(existing.clone())).into_response();
        }
    }
    let Some(charge) = sb.charge(&charge_id) else {
        return error(StatusCode::NOT_FOUND, "DATA_NOT_FOUND", "Charge not found");
    };
    let req: CreateRefundBody = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return validation(&format!("invalid request body: {e}")),
    };
    if ![
        "REQUESTED_BY_CUSTOMER",
        "DUPLICATE",
        "FRAUDULENT",
        "CANCELLATION",
        "OTHERS",
    ]
    .contains(&req.reason.as_str())
    {
        return validation("reason is not one of the allowed values");
    }
    if charge.channel_code == "ID_OVO" {
        return error(
            StatusCode::FORBIDDEN,
            "REFUND_NOT_SUPPORTED",
            "OVO one-time payments cannot be refunded",
        );
    }
    if charge.status != "SUCCEEDED" {
        return error(
            StatusCode::BAD_REQUEST,
            "INELIGIBLE_TRANSACTION",
            "Only SUCCEEDED charges can be refunded",
        );
    }
    let Ok(currency) = charge.currency.parse::<Currency>() else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SERVER_ERROR",
            "charge has no currency",
        );
    };
    let amount = match parse_amount(req.amount.get(), currency) {
        Ok(a) if a.minor > 0 => a,
        _ => return validation("amount must be a positive number"),
    };
    let paid = parse_amount(charge.charge_amount.get(), currency)
        .map(|m| m.minor)
        .unwrap_or(0);
    let taken: i64 = {
        let refunds = sb.inner.refunds.lock().expect("sandbox lock");
        refunds
            .0
            .values()
            .filter(|r| r.charge_id == charge_id && r.status != "FAILED")
            .filter_map(|r| parse_amount(r.refund_amount.get(), currency).ok())
            .map(|m| m.minor)
            .sum()
    };
    if amount.minor > paid - taken {
        return error(
            StatusCode::BAD_REQUEST,
            "REFUND_AMOUNT_EXCEEDED",
            "Refund amount is more than what is left to refund",
        );
    }
    let whole = amount.whole_major().ok();
    let (status, failure) = match whole {
        Some(1111) => ("PENDING", None),
        Some(2222) => ("FAILED", Some("INSUFFICIENT_MERCHANT_BALANCE")),
        _ => ("SUCCEEDED", None),
    };
    let at = now().to_string();
    let refund = RefundObject {
        id: format!("ewr_{}", uuid_v4()),
        charge_id: charge_id.clone(),
        status: status.into(),
        currency: charge.currency.clone(),
        channel_code: charge.channel_code.clone(),
        capture_amount: charge
            .capture_amount
            .clone()
            .unwrap_or(charge.charge_amount.clone()),
        refund_amount: req.amount,
        reason: req.reason,
        failure_code: failure.map(str::to_string),
        created: at.clone(),
        updated: at,
    };
    {
        let mut refunds = sb.inner.refunds.lock().expect("sandbox lock");
        refunds.0.insert(refund.id.clone(), refund.clone());
        if let Some(k) = key {
            refunds.1.insert(k, refund.id.clone());
        }
    }
    sb.recount_refunded(&charge_id);
    if whole == Some(3333) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SERVER_ERROR",
            "An unexpected error occurred",
        );
    }
    (StatusCode::OK, Json(refund)).into_response()
}

async fn get_refund(
    State(sb): State<XenditSandbox>,
    headers: HeaderMap,
    Path((charge_id, refund_id)): Path<(String, String)>,
) -> Response {
    if !sb.authorized(&headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "INVALID_API_KEY",
            "API key format is invalid",
        );
    }
    let refunds = sb.inner.refunds.lock().expect("sandbox lock");
    match refunds.0.get(&refund_id) {
        Some(r) if r.charge_id == charge_id => (StatusCode::OK, Json(r.clone())).into_response(),
        _ => error(StatusCode::NOT_FOUND, "DATA_NOT_FOUND", "Refund not found"),
    }
}

async fn simulate_refund(
    State(sb): State<XenditSandbox>,
    Path(refund_id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(success) = crate::sandbox_kit::refund_outcome(&body) else {
        return validation(crate::sandbox_kit::REFUND_OUTCOME_EXPECTED);
    };
    match sb.settle_refund(&refund_id, success) {
        Some(r) => (StatusCode::OK, Json(r)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "DATA_NOT_FOUND",
            "No pending refund by that id",
        ),
    }
}
