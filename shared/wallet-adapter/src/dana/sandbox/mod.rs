//! A local DANA speaking SNAP: the B2B access token, host-to-host debit orders, status and
//! refund, each request's `X-SIGNATURE` checked against the merchant's public key (a wrong
//! one answers HTTP 401 with `401xx00`), the access token and `X-EXTERNAL-ID` (unique per
//! day) required; a page where the customer pays or declines (the `webRedirectUrl`);
//! `simulate`; finish notifications signed with DANA's own key pair; and a settlement report
//! of a day. Mount its router anywhere (the local stack uses `/sandbox/dana`).
//!
//! Test credentials: partner id [`SANDBOX_PARTNER_ID`], merchant id
//! [`SANDBOX_MERCHANT_ID`], channel id [`SANDBOX_CHANNEL_ID`], the merchant's key pair
//! ([`SANDBOX_MERCHANT_PRIVATE_KEY`], its public half registered here) and DANA's
//! ([`SANDBOX_DANA_PUBLIC_KEY`] for verifying notifications).
//!
//! Outcomes: `success` -> `00`; `user_cancelled` -> `05` (cancelled by user); the other
//! declines -> `06` with a `transactionStatusDesc` naming the reason (insufficient balance,
//! expired, risk rejected, over limit, account frozen, timeout). Magic amounts (whole
//! rupiah): 1102 answers `5005400` and makes nothing, 1109 answers slowly. Refunds succeed
//! at once except 2222 (`4035815`, refused) and 3333 (made, answered `5005800`; the same
//! `partnerRefundNo` then gets the refund).

mod api;
mod report;
mod simulate;

use crate::sandbox_kit as kit;

use super::signature;
use super::wire::{Amount, Answer, CreateOrder, Notify};
use super::{
    NOTIFY_PATH, SANDBOX_CHANNEL_ID, SANDBOX_DANA_PRIVATE_KEY, SANDBOX_MERCHANT_ID,
    SANDBOX_MERCHANT_PUBLIC_KEY, SANDBOX_PARTNER_ID,
};
use crate::sandbox_kit::{alnum, now};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use walletpay_domain::{Currency, Money, Timestamp};

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub partner_id: String,
    pub merchant_id: String,
    pub channel_id: String,
    /// The merchant's public key, as registered with DANA.
    pub merchant_public_key: String,
    /// DANA's private key, for notifications.
    pub dana_private_key: String,
    pub public_url: String,
    pub slow_response: std::time::Duration,
}

impl SandboxConfig {
    pub fn new(public_url: impl Into<String>) -> Self {
        SandboxConfig {
            partner_id: SANDBOX_PARTNER_ID.into(),
            merchant_id: SANDBOX_MERCHANT_ID.into(),
            channel_id: SANDBOX_CHANNEL_ID.into(),
            merchant_public_key: SANDBOX_MERCHANT_PUBLIC_KEY.into(),
            dana_private_key: SANDBOX_DANA_PRIVATE_KEY.into(),
            public_url: public_url.into().trim_end_matches('/').to_string(),
            slow_response: std::time::Duration::from_secs(12),
        }
    }
}

#[derive(Debug, Clone)]
struct Order {
    request: CreateOrder,
    reference_no: String,
    status: String,
    desc: String,
    created: Timestamp,
    notify_url: Option<String>,
    return_url: Option<String>,
    refunds: Vec<(String, String, Money, Timestamp)>,
}

#[derive(Clone)]
pub struct DanaSandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    /// Orders by partnerReferenceNo.
    orders: Mutex<HashMap<String, Order>>,
    tokens: Mutex<HashSet<String>>,
    external_ids: Mutex<HashSet<String>>,
    /// Refund answers by partnerRefundNo.
    refunds: Mutex<HashMap<String, Answer>>,
    http: reqwest::Client,
    faults: kit::settlement::Faults,
}

fn answer(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(Answer {
            response_code: code.into(),
            response_message: message.into(),
            ..Default::default()
        }),
    )
        .into_response()
}

fn idr(a: &Amount) -> Option<Money> {
    (a.currency == "IDR")
        .then(|| Money::parse_decimal(&a.value, Currency::IDR).ok())
        .flatten()
}

impl DanaSandbox {
    pub fn new(config: SandboxConfig) -> Self {
        DanaSandbox {
            inner: Arc::new(Inner {
                config,
                orders: Mutex::new(HashMap::new()),
                tokens: Mutex::new(HashSet::new()),
                external_ids: Mutex::new(HashSet::new()),
                refunds: Mutex::new(HashMap::new()),
                http: crate::sandbox_kit::webhook_client(),
                faults: kit::settlement::Faults::default(),
            }),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1.0/access-token/b2b.htm", post(api::token))
            .route(
                "/payment-gateway/v1.0/debit/payment-host-to-host.htm",
                post(api::create),
            )
            .route("/payment-gateway/v1.0/debit/status.htm", post(api::status))
            .route("/payment-gateway/v1.0/debit/refund.htm", post(api::refund))
            .route("/payment-gateway/v1.0/debit/cancel.htm", post(api::cancel))
            .route(
                "/checkout/{reference}",
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

    /// The order DANA made for our payment, by its `referenceNo`.
    pub fn reference_for(&self, partner_reference: &str) -> Option<String> {
        self.lock()
            .get(partner_reference)
            .map(|o| o.reference_no.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Order>> {
        self.inner.orders.lock().expect("sandbox lock")
    }

    /// Checks a signed request: token, partner, external id, signature. `Err` is the SNAP
    /// answer to give.
    #[allow(clippy::result_large_err)] // handlers return the Response as is
    fn check(
        &self,
        service: &str,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Response> {
        let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
        let unauthorized = |why: &str| {
            answer(
                StatusCode::UNAUTHORIZED,
                &format!("401{service}00"),
                &format!("Unauthorized. {why}"),
            )
        };
        let token = h("authorization").strip_prefix("Bearer ").unwrap_or("");
        if !self
            .inner
            .tokens
            .lock()
            .expect("sandbox lock")
            .contains(token)
        {
            return Err(unauthorized("Invalid Token (B2B)"));
        }
        if h("x-partner-id") != self.inner.config.partner_id {
            return Err(unauthorized("Unknown Client"));
        }
        if h("channel-id").is_empty() {
            return Err(answer(
                StatusCode::BAD_REQUEST,
                &format!("400{service}02"),
                "Invalid Mandatory Field CHANNEL-ID",
            ));
        }
        let key =
            signature::public_key(&self.inner.config.merchant_public_key).expect("sandbox key");
        let data = signature::string_to_sign("POST", path, body, h("x-timestamp"));
        if !signature::verify(&[key], &data, h("x-signature")) {
            return Err(unauthorized("Invalid Signature"));
        }
        let external = format!(
            "{}:{}",
            &h("x-timestamp").get(..10).unwrap_or(""),
            h("x-external-id")
        );
        if h("x-external-id").is_empty() || h("x-external-id").len() > 36 {
            return Err(answer(
                StatusCode::BAD_REQUEST,
                &format!("400{service}02"),
                "Invalid Mandatory Field X-EXTERNAL-ID",
            ));
        }
        if !self
            .inner
            .external_ids
            .lock()
            .expect("sandbox lock")
            .insert(external)
        {
            return Err(answer(
                StatusCode::CONFLICT,
                &format!("409{service}01"),
                "Duplicate X-EXTERNAL-ID",
            ));
        }
        Ok(())
    }

    /// Sends DANA's finish notification for an order, signed with DANA's key.
    async fn notify(&self, o: &Order, status: &str, desc: &str) -> Option<u16> {
        let url = o.notify_url.clone()?;
        let body = serde_json::to_vec(&Notify {
            original_partner_reference_no: o.request.partner_reference_no.clone(),
            original_reference_no: o.reference_no.clone(),
            merchant_id: o.request.merchant_id.clone(),
            amount: o.request.amount.clone(),
            latest_transaction_status: status.into(),
            transaction_status_desc: Some(desc.into()),
            created_time: Some(signature::timestamp(o.created)),
            finished_time: Some(signature::timestamp(now())),
        })
        .expect("serialises");
        let ts = signature::timestamp(now());
        let path = url::Url::parse(&url)
            .map(|u| u.path().to_string())
            .unwrap_or_else(|_| NOTIFY_PATH.to_string());
        let key = signature::private_key(&self.inner.config.dana_private_key).expect("sandbox key");
        let sig = signature::sign(&key, &signature::string_to_sign("POST", &path, &body, &ts));
        self.inner
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("x-timestamp", ts)
            .header("x-signature", sig)
            .header("x-partner-id", self.inner.config.partner_id.clone())
            .header("x-external-id", alnum(20))
            .body(body)
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    }

    /// Closes an order still waiting: `desc` says why (its `validUpTo` passed, or the merchant
    /// canceled it); its finish notification follows for a lapse. `None` if it was not
    /// waiting.
    async fn close(&self, partner_reference: &str, desc: &str, notify: bool) -> Option<Order> {
        let o = {
            let mut orders = self.lock();
            let o = orders.get_mut(partner_reference)?;
            if o.status != "01" {
                return None;
            }
            o.status = "05".into();
            o.desc = desc.into();
            o.clone()
        };
        if notify {
            self.notify(&o, "05", desc).await;
        }
        Some(o)
    }
}
