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

use super::snap;
use super::wire::{Amount, Answer, CancelOrder, CreateOrder, Notify, RefundOrder, StatusQuery};
use super::{
    NOTIFY_PATH, SANDBOX_CHANNEL_ID, SANDBOX_DANA_PRIVATE_KEY, SANDBOX_MERCHANT_ID,
    SANDBOX_MERCHANT_PUBLIC_KEY, SANDBOX_PARTNER_ID,
};
use crate::sandbox_kit::{
    alnum, checkout_page, csv_line, day_of, magic, now, DecideForm, Outcome, SimulateBody,
};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
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
            }),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1.0/access-token/b2b.htm", post(token))
            .route(
                "/payment-gateway/v1.0/debit/payment-host-to-host.htm",
                post(create),
            )
            .route("/payment-gateway/v1.0/debit/status.htm", post(status))
            .route("/payment-gateway/v1.0/debit/refund.htm", post(refund))
            .route("/payment-gateway/v1.0/debit/cancel.htm", post(cancel))
            .route("/checkout/{reference}", get(page).post(decide))
            .route("/simulate/{reference}", post(simulate_api))
            .route("/reports/settlement", get(report))
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
        let key = snap::public_key(&self.inner.config.merchant_public_key).expect("sandbox key");
        let data = snap::string_to_sign("POST", path, body, h("x-timestamp"));
        if !snap::verify(&[key], &data, h("x-signature")) {
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
            created_time: Some(snap::timestamp(o.created)),
            finished_time: Some(snap::timestamp(now())),
        })
        .expect("serialises");
        let ts = snap::timestamp(now());
        let path = url::Url::parse(&url)
            .map(|u| u.path().to_string())
            .unwrap_or_else(|_| NOTIFY_PATH.to_string());
        let key = snap::private_key(&self.inner.config.dana_private_key).expect("sandbox key");
        let sig = snap::sign(&key, &snap::string_to_sign("POST", &path, &body, &ts));
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

    /// The customer pays or declines; the notifications go as `how` says.
    /// `reference_no` is DANA's, or the `<partnerReferenceNo>:<referenceNo>` walletpay keeps.
    pub async fn simulate(&self, reference_no: &str, how: &SimulateBody) -> Result<(), String> {
        let reference_no = reference_no.rsplit(':').next().unwrap_or(reference_no);
        let (status, desc) = match how.outcome {
            Outcome::Success => ("00", "Success"),
            Outcome::UserCancelled => ("05", "Cancelled by user"),
            Outcome::InsufficientBalance => ("06", "Failed: insufficient balance"),
            Outcome::Expired => ("06", "Failed: payment expired"),
            Outcome::RiskRejected => ("06", "Failed: risk rejected"),
            Outcome::LimitExceeded => ("06", "Failed: over the user's limit"),
            Outcome::InvalidAccount => ("06", "Failed: account frozen"),
            Outcome::Timeout => ("06", "Failed: timeout"),
        };
        let (o, before) = {
            let mut orders = self.lock();
            let o = orders
                .values_mut()
                .find(|o| o.reference_no == reference_no)
                .ok_or("no such order")?;
            if o.status != "01" {
                return Err(format!("order is {}", o.status));
            }
            let before = o.status.clone();
            o.status = status.into();
            o.desc = desc.into();
            (o.clone(), before)
        };
        if how.send_callback {
            self.notify(&o, status, desc).await;
            if how.duplicate {
                self.notify(&o, status, desc).await;
            }
            if how.stale_after {
                self.notify(&o, &before, "Initiated").await;
            }
        }
        Ok(())
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

    /// Payments made and refunds, of a day (the sandbox's own columns).
    pub fn settlement(&self, day: &str) -> String {
        let mut out = csv_line(
            &[
                "Date",
                "Type",
                "Partner Reference No",
                "Reference No",
                "Refund No",
                "Amount",
                "Currency",
            ]
            .map(String::from),
        );
        let orders = self.lock();
        let mut list: Vec<&Order> = orders.values().collect();
        list.sort_by_key(|o| (o.created, o.reference_no.clone()));
        for o in list {
            if matches!(o.status.as_str(), "00" | "04") && day_of(o.created) == day {
                out.push_str(&csv_line(&[
                    o.created.to_string(),
                    "PAYMENT".into(),
                    o.request.partner_reference_no.clone(),
                    o.reference_no.clone(),
                    String::new(),
                    o.request.amount.value.clone(),
                    "IDR".into(),
                ]));
            }
            for (no, _, m, at) in &o.refunds {
                if day_of(*at) == day {
                    out.push_str(&csv_line(&[
                        at.to_string(),
                        "REFUND".into(),
                        o.request.partner_reference_no.clone(),
                        o.reference_no.clone(),
                        no.clone(),
                        format!("-{}", m.decimal_string(2)),
                        "IDR".into(),
                    ]));
                }
            }
        }
        out
    }
}

async fn token(State(sb): State<DanaSandbox>, headers: HeaderMap) -> Response {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
    let key = snap::public_key(&sb.inner.config.merchant_public_key).expect("sandbox key");
    let data = format!("{}|{}", h("x-client-key"), h("x-timestamp"));
    if h("x-client-key") != sb.inner.config.partner_id
        || !snap::verify(&[key], &data, h("x-signature"))
    {
        return answer(
            StatusCode::UNAUTHORIZED,
            "4017300",
            "Unauthorized. Invalid Signature",
        );
    }
    let t = alnum(40);
    sb.inner
        .tokens
        .lock()
        .expect("sandbox lock")
        .insert(t.clone());
    (
        StatusCode::OK,
        Json(Answer {
            response_code: "2007300".into(),
            response_message: "Successful".into(),
            access_token: Some(t),
            token_type: Some("Bearer".into()),
            expires_in: Some("900".into()),
            ..Default::default()
        }),
    )
        .into_response()
}

async fn create(
    State(sb): State<DanaSandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = sb.check(
        "54",
        "/payment-gateway/v1.0/debit/payment-host-to-host.htm",
        &headers,
        &body,
    ) {
        return r;
    }
    let req: CreateOrder = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                "4005401",
                &format!("Invalid Field Format {e}"),
            )
        }
    };
    if req.merchant_id != sb.inner.config.merchant_id {
        return answer(StatusCode::NOT_FOUND, "4045408", "Invalid Merchant");
    }
    let Some(amount) = idr(&req.amount).filter(|m| m.minor > 0) else {
        return answer(
            StatusCode::BAD_REQUEST,
            "4005401",
            "Invalid Field Format amount",
        );
    };
    // IDR 20,000,000: DANA's per-transaction limit.
    if amount.minor > 2_000_000_000 {
        return answer(
            StatusCode::FORBIDDEN,
            "4035402",
            "Exceeds Transaction Amount Limit",
        );
    }
    let whole = amount.whole_major().ok();
    if whole == Some(magic::SERVER_ERROR) {
        return answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            "5005400",
            "General Error",
        );
    }
    let ok = |o: &Order| Answer {
        response_code: "2005400".into(),
        response_message: "Successful".into(),
        reference_no: Some(o.reference_no.clone()),
        partner_reference_no: Some(o.request.partner_reference_no.clone()),
        web_redirect_url: Some(format!(
            "{}/checkout/{}",
            sb.inner.config.public_url, o.reference_no
        )),
        ..Default::default()
    };
    let existing = sb.lock().get(&req.partner_reference_no).cloned();
    if let Some(o) = existing {
        // merchantId + partnerReferenceNo: the same data again is the same order.
        let same = serde_json::to_value(&o.request).ok() == serde_json::to_value(&req).ok();
        return if same {
            (StatusCode::OK, Json(ok(&o))).into_response()
        } else {
            answer(StatusCode::NOT_FOUND, "4045418", "Inconsistent Request")
        };
    }
    let url = |kind: &str| {
        req.url_params
            .iter()
            .find(|p| p.kind == kind)
            .map(|p| p.url.clone())
    };
    let o = Order {
        reference_no: format!("{}{}", now().millis(), alnum(8).to_ascii_uppercase()),
        status: "01".into(),
        desc: "Initiated".into(),
        created: now(),
        notify_url: url("NOTIFICATION"),
        return_url: url("PAY_RETURN"),
        refunds: Vec::new(),
        request: req,
    };
    sb.lock()
        .insert(o.request.partner_reference_no.clone(), o.clone());
    // An order nobody pays closes at its validUpTo, and DANA notifies that it expired.
    if let Some(until) = Timestamp::parse_rfc3339(&o.request.valid_up_to) {
        tokio::spawn({
            let sb = sb.clone();
            let reference = o.request.partner_reference_no.clone();
            async move {
                let wait = (until.millis() - now().millis()).max(0) as u64;
                tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                sb.close(
                    &reference,
                    "Cancelled, the order has been closed because it is expired",
                    true,
                )
                .await;
            }
        });
    }
    if whole == Some(magic::SLOW) {
        tokio::time::sleep(sb.inner.config.slow_response).await;
    }
    (StatusCode::OK, Json(ok(&o))).into_response()
}

/// Cancel Order (service 57): an order the customer has not paid is closed (`2005700`); one
/// paid or refunded is refused with `4045700` Invalid Transaction Status, one closed
/// already with `4035700` Transaction Expired.
async fn cancel(
    State(sb): State<DanaSandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    const PATH: &str = "/payment-gateway/v1.0/debit/cancel.htm";
    if let Err(r) = sb.check("57", PATH, &headers, &body) {
        return r;
    }
    let q: CancelOrder = match serde_json::from_slice(&body) {
        Ok(q) => q,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                "4005701",
                &format!("Invalid Field Format {e}"),
            )
        }
    };
    if q.merchant_id != sb.inner.config.merchant_id {
        return answer(StatusCode::NOT_FOUND, "4045708", "Invalid Merchant");
    }
    let Some(o) = sb.lock().get(&q.original_partner_reference_no).cloned() else {
        return answer(StatusCode::NOT_FOUND, "4045701", "Transaction Not Found");
    };
    let done = |o: &Order| {
        (
            StatusCode::OK,
            Json(Answer {
                response_code: "2005700".into(),
                response_message: "Success".into(),
                original_partner_reference_no: Some(o.request.partner_reference_no.clone()),
                original_reference_no: Some(o.reference_no.clone()),
                ..Default::default()
            }),
        )
            .into_response()
    };
    match o.status.as_str() {
        "01" => match sb
            .close(
                &q.original_partner_reference_no,
                "Cancelled by merchant",
                false,
            )
            .await
        {
            Some(closed) => done(&closed),
            None => answer(
                StatusCode::NOT_FOUND,
                "4045700",
                "Invalid Transaction Status",
            ),
        },
        "05" => answer(StatusCode::FORBIDDEN, "4035700", "Transaction Expired"),
        _ => answer(
            StatusCode::NOT_FOUND,
            "4045700",
            "Invalid Transaction Status",
        ),
    }
}

async fn status(
    State(sb): State<DanaSandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = sb.check(
        "55",
        "/payment-gateway/v1.0/debit/status.htm",
        &headers,
        &body,
    ) {
        return r;
    }
    let q: StatusQuery = match serde_json::from_slice(&body) {
        Ok(q) => q,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                "4005501",
                &format!("Invalid Field Format {e}"),
            )
        }
    };
    let Some(o) = sb.lock().get(&q.original_partner_reference_no).cloned() else {
        return answer(StatusCode::NOT_FOUND, "4045501", "Transaction Not Found");
    };
    if q.original_reference_no
        .as_deref()
        .is_some_and(|r| r != o.reference_no)
    {
        return answer(StatusCode::NOT_FOUND, "4045501", "Transaction Not Found");
    }
    (
        StatusCode::OK,
        Json(Answer {
            response_code: "2005500".into(),
            response_message: "Successful".into(),
            original_partner_reference_no: Some(o.request.partner_reference_no.clone()),
            original_reference_no: Some(o.reference_no.clone()),
            latest_transaction_status: Some(o.status.clone()),
            transaction_status_desc: Some(o.desc.clone()),
            amount: Some(o.request.amount.clone()),
            ..Default::default()
        }),
    )
        .into_response()
}

async fn refund(
    State(sb): State<DanaSandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = sb.check(
        "58",
        "/payment-gateway/v1.0/debit/refund.htm",
        &headers,
        &body,
    ) {
        return r;
    }
    let req: RefundOrder = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                "4005801",
                &format!("Invalid Field Format {e}"),
            )
        }
    };
    if let Some(done) = sb
        .inner
        .refunds
        .lock()
        .expect("sandbox lock")
        .get(&req.partner_refund_no)
    {
        return (StatusCode::OK, Json(done.clone())).into_response();
    }
    let Some(amount) = idr(&req.refund_amount).filter(|m| m.minor > 0) else {
        return answer(
            StatusCode::BAD_REQUEST,
            "4005801",
            "Invalid Field Format refundAmount",
        );
    };
    let whole = amount.whole_major().ok();
    let made = {
        let mut orders = sb.lock();
        let Some(o) = orders.get_mut(&req.original_partner_reference_no) else {
            return answer(StatusCode::NOT_FOUND, "4045801", "Transaction Not Found");
        };
        let paid = idr(&o.request.amount).map(|m| m.minor).unwrap_or(0);
        let refunded: i64 = o.refunds.iter().map(|(_, _, m, _)| m.minor).sum();
        if !matches!(o.status.as_str(), "00" | "04") || whole == Some(magic::REFUND_FAILS) {
            return answer(
                StatusCode::FORBIDDEN,
                "4035815",
                "Transaction Not Permitted",
            );
        }
        if amount.minor > paid - refunded {
            return answer(
                StatusCode::FORBIDDEN,
                "4035813",
                "Insufficient Funds for refund",
            );
        }
        let refund_no = format!("{}{}", now().millis(), alnum(6).to_ascii_uppercase());
        o.refunds.push((
            refund_no.clone(),
            req.partner_refund_no.clone(),
            amount,
            now(),
        ));
        if refunded + amount.minor == paid {
            o.status = "04".into();
        }
        Answer {
            response_code: "2005800".into(),
            response_message: "Successful".into(),
            original_partner_reference_no: Some(req.original_partner_reference_no.clone()),
            refund_no: Some(refund_no),
            partner_refund_no: Some(req.partner_refund_no.clone()),
            refund_amount: Some(req.refund_amount.clone()),
            ..Default::default()
        }
    };
    sb.inner
        .refunds
        .lock()
        .expect("sandbox lock")
        .insert(req.partner_refund_no.clone(), made.clone());
    if whole == Some(magic::REFUND_LOST) {
        return answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            "5005800",
            "General Error",
        );
    }
    (StatusCode::OK, Json(made)).into_response()
}

async fn page(State(sb): State<DanaSandbox>, Path(reference): Path<String>) -> Response {
    let Some(o) = sb
        .lock()
        .values()
        .find(|o| o.reference_no == reference)
        .cloned()
    else {
        return (StatusCode::NOT_FOUND, "No such order").into_response();
    };
    checkout_page(
        "DANA",
        "DANA",
        &format!("IDR {}", o.request.amount.value),
        &o.request.partner_reference_no,
        (o.status != "01").then_some(o.desc.as_str()),
    )
    .into_response()
}

async fn decide(
    State(sb): State<DanaSandbox>,
    Path(reference): Path<String>,
    Form(form): Form<DecideForm>,
) -> Response {
    let back = sb
        .lock()
        .values()
        .find(|o| o.reference_no == reference)
        .and_then(|o| o.return_url.clone());
    let _ = sb
        .simulate(&reference, &SimulateBody::plain(form.outcome))
        .await;
    match back {
        Some(url) => Redirect::to(&url).into_response(),
        None => (StatusCode::OK, "Done.").into_response(),
    }
}

async fn simulate_api(
    State(sb): State<DanaSandbox>,
    Path(reference): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let how: SimulateBody = match serde_json::from_slice(&body) {
        Ok(h) => h,
        Err(e) => return answer(StatusCode::BAD_REQUEST, "4000000", &e.to_string()),
    };
    match sb.simulate(&reference, &how).await {
        Ok(()) => answer(StatusCode::OK, "2000000", "Successful"),
        Err(why) if why.starts_with("no such") => answer(StatusCode::NOT_FOUND, "4040000", &why),
        Err(why) => answer(StatusCode::CONFLICT, "4090000", &why),
    }
}

#[derive(Deserialize)]
struct ReportQuery {
    date: String,
}

async fn report(State(sb): State<DanaSandbox>, Query(q): Query<ReportQuery>) -> Response {
    (
        StatusCode::OK,
        [("content-type", "text/csv")],
        sb.settlement(&q.date),
    )
        .into_response()
}
