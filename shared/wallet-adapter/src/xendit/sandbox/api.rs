//! Xendit's Payments API v3 and refunds as the sandbox answers them: create, read and cancel
//! payment requests, read payments, make and read refunds.

use super::*;
use crate::sandbox_kit::{magic, uuid_v4, Remembered};
use crate::xendit::mapping::parse_amount;
use crate::xendit::wire::{Action, CreatePaymentRequest, CreateRefund, RefundList};
use axum::extract::{Path, State};
use serde_json::value::RawValue;
use walletpay_domain::emv::{QrPh, Qris};
use walletpay_domain::{Country, Currency, Money, Timestamp};

fn created(body: String) -> Response {
    (
        StatusCode::CREATED,
        [("content-type", "application/json")],
        body,
    )
        .into_response()
}

fn ok_json<T: Serialize>(v: &T) -> (u16, String) {
    (200, serde_json::to_string(v).expect("serialises"))
}

/// What a channel shows the customer for request `id` of `amount`.
fn actions(
    sb: &XenditSandbox,
    channel: &str,
    country: &str,
    id: &str,
    amount: Money,
) -> Vec<Action> {
    let page = format!("{}/checkout/{id}", sb.inner.config.public_url);
    let act = |kind: &str, descriptor: &str, value: String| Action {
        kind: kind.into(),
        descriptor: descriptor.into(),
        value,
    };
    // Our reference inside a code: the request's id without its prefix and dashes.
    let reference: String = id[3..].chars().filter(|c| *c != '-').take(25).collect();
    let qris = |issuer: &str| {
        Qris {
            issuer: issuer.into(),
            merchant_pan: "936009180000000001".into(),
            merchant_id: "WALLETPAYSANDBOX".into(),
            criteria: "UMI".into(),
            nmid: "ID1020000000001".into(),
            mcc: "5999".into(),
            amount: Some(amount),
            merchant_name: "WALLETPAY SANDBOX".into(),
            merchant_city: "JAKARTA".into(),
            postal_code: "10110".into(),
            reference: Some(reference.clone()),
        }
        .payload()
        .expect("a valid sandbox QRIS")
    };
    match (channel, country) {
        // A push to the customer's app: nothing to show.
        ("OVO", _) => Vec::new(),
        ("QRIS", _) => vec![act(
            "PRESENT_TO_CUSTOMER",
            "QR_STRING",
            qris("ID.CO.XENDIT.WWW"),
        )],
        ("QRPH", _) => vec![act(
            "PRESENT_TO_CUSTOMER",
            "QR_STRING",
            QrPh {
                acquirer: "XNDTPHM2XXX".into(),
                merchant_id: "WALLETPAYSANDBOX".into(),
                flag: "010".into(),
                mcc: "5999".into(),
                amount: Some(amount),
                merchant_name: "WALLETPAY SANDBOX".into(),
                merchant_city: "MAKATI".into(),
                postal_code: None,
                reference: Some(reference.clone()),
            }
            .payload()
            .expect("a valid sandbox QR Ph code"),
        )],
        // ShopeePay Indonesia: the app link, the web page and, for a desktop, a QRIS code.
        ("SHOPEEPAY", "ID") => vec![
            act("REDIRECT_CUSTOMER", "DEEPLINK_URL", page.clone()),
            act("REDIRECT_CUSTOMER", "WEB_URL", page),
            act("PRESENT_TO_CUSTOMER", "QR_STRING", qris("ID.CO.SHOPEE.WWW")),
        ],
        ("SHOPEEPAY", _) => vec![
            act("REDIRECT_CUSTOMER", "DEEPLINK_URL", page.clone()),
            act("REDIRECT_CUSTOMER", "WEB_URL", page),
        ],
        _ => vec![act("REDIRECT_CUSTOMER", "WEB_URL", page)],
    }
}

/// A return URL as Xendit takes it: https, 11 to 255 characters.
fn return_url_ok(u: &str) -> bool {
    u.starts_with("https://") && (11..=255).contains(&u.len())
}

pub(super) async fn create_request(
    State(sb): State<XenditSandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    if let Some(r) = version_refused(&headers) {
        return r;
    }
    let req: CreatePaymentRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return validation(&format!("invalid request body: {e}")),
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // The same key and body answer the first answer again; another body is a duplicate.
    let print = serde_json::from_slice::<serde_json::Value>(&body)
        .map(|v| v.to_string())
        .unwrap_or_default();
    if let Some(k) = &key {
        match sb.inner.creates.check(k, &print) {
            Remembered::Replay(status, answer) => return kit::remembered_answer(status, answer),
            Remembered::Mismatch => {
                return error(
                    StatusCode::CONFLICT,
                    "DUPLICATE_ERROR",
                    "A payment request with this idempotency key already exists. If you meant to execute a different request, please use another idempotency key.",
                )
            }
            Remembered::New => {}
        }
    }
    if req.reference_id.is_empty() || req.reference_id.len() > 255 {
        return validation("reference_id must be between 1 and 255 characters");
    }
    if req.kind != "PAY" {
        return validation("type must be PAY for a one-off payment");
    }
    if req
        .capture_method
        .as_deref()
        .is_some_and(|m| m != "AUTOMATIC" && m != "MANUAL")
    {
        return validation("capture_method must be AUTOMATIC or MANUAL");
    }
    let Some(ch) = channel(&req.channel_code, &req.country) else {
        return validation("channel_code is not available for this country");
    };
    let Some(country) = Country::parse(&req.country) else {
        return validation("country is not supported");
    };
    let currency = country.currency();
    if req.currency != currency.code() {
        return validation("currency does not match the channel's country");
    }
    if req.request_amount.get().trim_start().starts_with('"') {
        return validation("request_amount must be a number");
    }
    let amount = match parse_amount(req.request_amount.get(), currency) {
        Ok(a) if a.minor > 0 => a,
        _ => return validation("request_amount must be a positive number"),
    };
    if matches!(currency, Currency::IDR | Currency::VND) && amount.whole_major().is_err() {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_VALUE_ERROR",
            "request_amount must be a whole number for this currency",
        );
    }
    let unit = 10i64.pow(currency.exponent());
    if amount.minor < ch.min * unit || amount.minor > ch.max * unit {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_VALUE_ERROR",
            &format!(
                "request_amount must be between {} and {} for {}",
                ch.min, ch.max, ch.code
            ),
        );
    }
    let props = &req.channel_properties;
    if ch.code == "OVO" {
        match props.mobile_number.as_deref() {
            Some(n)
                if n.starts_with("+62")
                    && (10..=16).contains(&n.len())
                    && n[1..].bytes().all(|b| b.is_ascii_digit()) => {}
            _ => {
                return validation(
                    "channel_properties.mobile_number must be an E.164 Indonesian number for OVO",
                )
            }
        }
    } else if !matches!(ch.code, "QRIS" | "QRPH") {
        match props.success_return_url.as_deref() {
            Some(u) if return_url_ok(u) => {}
            _ => {
                return validation(
                    "channel_properties.success_return_url is required: an https URL of 11 to 255 characters",
                )
            }
        }
    }
    if [&props.failure_return_url, &props.cancel_return_url]
        .iter()
        .any(|u| u.as_deref().is_some_and(|u| !return_url_ok(u)))
    {
        return validation("return URLs must be https URLs of 11 to 255 characters");
    }
    match kit::whole(amount) {
        Some(10100) => {
            return error(
                StatusCode::FORBIDDEN,
                "INVALID_MERCHANT_SETTINGS",
                "The channel is not activated for this business",
            )
        }
        Some(10101) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "CHANNEL_UNAVAILABLE",
                "The payment channel is unavailable",
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

    let id = format!("pr-{}", uuid_v4());
    let at = now().to_string();
    let request = PaymentRequest {
        payment_request_id: id.clone(),
        business_id: sb.inner.config.business_id.clone(),
        reference_id: req.reference_id,
        kind: req.kind,
        country: req.country,
        currency: req.currency,
        request_amount: req.request_amount,
        capture_method: Some(req.capture_method.unwrap_or_else(|| "AUTOMATIC".into())),
        actions: actions(&sb, ch.code, ch.country, &id, amount),
        channel_code: req.channel_code,
        channel_properties: Some(req.channel_properties),
        status: "REQUIRES_ACTION".into(),
        failure_code: None,
        latest_payment_id: None,
        description: req.description,
        metadata: req.metadata,
        created: at.clone(),
        updated: at,
    };
    let answer = serde_json::to_string(&request).expect("serialises");
    sb.lock().insert(
        id.clone(),
        Kept {
            request,
            payment: None,
        },
    );
    if let Some(k) = &key {
        sb.inner.creates.remember(k, &print, 201, &answer);
    }
    if ch.code == "OVO" {
        // The push reaches the customer's phone: the request waits on the wallet.
        let (sb, id) = (sb.clone(), id.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if let Some(k) = sb.lock().get_mut(&id) {
                if k.request.status == "REQUIRES_ACTION" {
                    k.request.status = "PENDING".into();
                    k.request.updated = now().to_string();
                }
            }
        });
    }
    let lifetime = sb.inner.config.pending_lifetime.unwrap_or(ch.expiry);
    tokio::spawn({
        let sb = sb.clone();
        async move {
            tokio::time::sleep(lifetime).await;
            sb.expire(&id).await;
        }
    });
    if kit::whole(amount) == Some(10999) {
        tokio::time::sleep(sb.inner.config.slow_response).await;
    }
    created(answer)
}

pub(super) async fn get_request(
    State(sb): State<XenditSandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    if let Some(r) = version_refused(&headers) {
        return r;
    }
    match sb.payment_request(&id) {
        Some(r) => (StatusCode::OK, Json(r)).into_response(),
        None => not_found("Payment request"),
    }
}

pub(super) async fn cancel_request(
    State(sb): State<XenditSandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    if let Some(r) = version_refused(&headers) {
        return r;
    }
    let mut requests = sb.lock();
    let Some(k) = requests.get_mut(&id) else {
        return not_found("Payment request");
    };
    match k.request.status.as_str() {
        "REQUIRES_ACTION" | "ACCEPTING_PAYMENTS" => {}
        // The wallet is answering: no longer the merchant's to cancel.
        "PENDING" => {
            return error(
                StatusCode::BAD_REQUEST,
                "INELIGIBLE_TRANSACTION_STATUS",
                "Feature is not allowed for the payment request because of its current status.",
            )
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "INACTIVE_PAYMENT_REQUEST",
                "Payment request is already inactive.",
            )
        }
    }
    k.request.status = "CANCELED".into();
    k.request.actions.clear();
    k.request.updated = now().to_string();
    (StatusCode::OK, Json(k.request.clone())).into_response()
}

pub(super) async fn get_payment(
    State(sb): State<XenditSandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    if let Some(r) = version_refused(&headers) {
        return r;
    }
    let request = sb
        .inner
        .payments
        .lock()
        .expect("sandbox lock")
        .get(&id)
        .cloned();
    match request.and_then(|r| sb.payment_of(&r)) {
        Some(p) => (StatusCode::OK, Json(p)).into_response(),
        None => not_found("Payment"),
    }
}

pub(super) async fn create_refund(
    State(sb): State<XenditSandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let req: CreateRefund = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return validation(&format!("invalid request body: {e}")),
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let print = serde_json::from_slice::<serde_json::Value>(&body)
        .map(|v| v.to_string())
        .unwrap_or_default();
    if let Some(k) = &key {
        match sb.inner.refund_keys.check(k, &print) {
            Remembered::Replay(status, answer) => return kit::remembered_answer(status, answer),
            Remembered::Mismatch => {
                return error(
                    StatusCode::CONFLICT,
                    "DUPLICATE_ERROR",
                    "A refund with this idempotency key already exists.",
                )
            }
            Remembered::New => {}
        }
    }
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
    let Some(kept) = sb.lock().get(&req.payment_request_id).cloned() else {
        return not_found("Payment request");
    };
    let request = kept.request;
    if request.status != "SUCCEEDED" {
        return error(
            StatusCode::BAD_REQUEST,
            "INELIGIBLE_TRANSACTION_STATUS",
            "Feature is not allowed for the payment request because of its current status.",
        );
    }
    let Ok(currency) = request.currency.parse::<Currency>() else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SERVER_ERROR",
            "no currency",
        );
    };
    if req
        .currency
        .as_deref()
        .is_some_and(|c| c != request.currency)
    {
        return validation("currency must be the payment's");
    }
    let paid = parse_amount(request.request_amount.get(), currency)
        .map(|m| m.minor)
        .unwrap_or(0);
    let (taken, in_progress) = {
        let refunds = sb.refunds_lock();
        let mine = refunds.by_id.values().filter(|r| {
            r.payment_request_id.as_deref() == Some(request.payment_request_id.as_str())
        });
        let mut taken = 0;
        let mut pending = false;
        for r in mine {
            if r.status == "PENDING" {
                pending = true;
            }
            if matches!(r.status.as_str(), "PENDING" | "SUCCEEDED") {
                taken += parse_amount(r.amount.get(), currency)
                    .map(|m| m.minor)
                    .unwrap_or(0);
            }
        }
        (taken, pending)
    };
    let amount = match &req.amount {
        Some(a) => match parse_amount(a.get(), currency) {
            Ok(m) if m.minor > 0 => m,
            _ => return validation("amount must be a positive number"),
        },
        None => Money {
            minor: paid - taken,
            currency,
        },
    };
    let partial = amount.minor < paid;
    let not_supported = |why: &str| error(StatusCode::FORBIDDEN, "REFUND_NOT_SUPPORTED", why);
    match request.channel_code.as_str() {
        "OVO" => return not_supported("Refund is only for merchant initiated OVO transactions."),
        "QRPH" | "TRUEMONEY" | "LINEPAY" => {
            return not_supported("Refund feature is not available for this payment channel.")
        }
        "LINKAJA" if partial => {
            return error(
                StatusCode::FORBIDDEN,
                "PARTIAL_REFUND_NOT_SUPPORTED",
                "Partial refund is not available for this payment channel.",
            )
        }
        "QRIS" => {
            let payment = kept.payment.as_ref();
            let issuer = payment
                .and_then(|p| p.payment_details.as_ref())
                .and_then(|d| d.issuer_name.clone())
                .unwrap_or_default();
            let paid_at = payment
                .and_then(|p| p.captures.first())
                .and_then(|c| c.capture_timestamp.as_deref())
                .and_then(Timestamp::parse_rfc3339);
            // Xendit's QRIS page: refunds within 7 days, for these issuers only; CIMB not
            // in full within 24 hours.
            let listed = QRIS_REFUND_ISSUERS
                .iter()
                .any(|i| i.eq_ignore_ascii_case(issuer.trim()));
            let age = paid_at.map(|t| now().millis() - t.millis());
            if !listed || age.is_none_or(|a| a > 7 * 24 * 3600 * 1000) {
                return not_supported("Refund is not available for this QRIS issuer.");
            }
            if issuer.eq_ignore_ascii_case("CIMB")
                && !partial
                && age.is_some_and(|a| a < 24 * 3600 * 1000)
            {
                return not_supported(
                    "Full refund is available 24 hours after the payment for this issuer.",
                );
            }
        }
        _ => {}
    }
    if in_progress {
        return error(
            StatusCode::BAD_REQUEST,
            "REFUND_IN_PROGRESS",
            "Please wait for the pending refund request to be completed before initiating a new one.",
        );
    }
    if amount.minor > paid - taken {
        return error(
            StatusCode::BAD_REQUEST,
            "REFUND_AMOUNT_EXCEEDED",
            "Refund amount must be less than or equal to unrefunded capture amount.",
        );
    }
    let at = now().to_string();
    let literal =
        crate::xendit::mapping::amount_literal(amount).unwrap_or_else(|_| amount.decimal_string(2));
    let refund = Refund {
        id: format!("rfd-{}", uuid_v4()),
        payment_request_id: Some(request.payment_request_id.clone()),
        payment_id: request.latest_payment_id.clone(),
        reference_id: req.reference_id,
        channel_code: request.channel_code.clone(),
        currency: request.currency.clone(),
        amount: RawValue::from_string(literal).expect("a decimal literal is valid JSON"),
        status: "PENDING".into(),
        reason: req.reason,
        failure_code: None,
        created: at.clone(),
        updated: at,
    };
    sb.refunds_lock()
        .by_id
        .insert(refund.id.clone(), refund.clone());
    let (status, answer) = ok_json(&refund);
    if let Some(k) = &key {
        sb.inner.refund_keys.remember(k, &print, status, &answer);
    }
    let whole = kit::whole(amount);
    if whole != Some(magic::REFUND_PENDING) {
        let made = whole != Some(magic::REFUND_FAILS);
        let after = sb.inner.config.refund_settle_after;
        let (sb, id) = (sb.clone(), refund.id.clone());
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            sb.settle_refund(&id, made).await;
        });
    }
    if whole == Some(magic::REFUND_LOST) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SERVER_ERROR",
            "An unexpected error occurred",
        );
    }
    kit::remembered_answer(status, answer)
}

/// The issuers of Xendit's QRIS refund table, as its channel page names them.
const QRIS_REFUND_ISSUERS: &[&str] = &[
    "DANA",
    "ShopeePay",
    "OVO",
    "Gopay",
    "CIMB",
    "Permata",
    "Jenius / SMBC",
    "BSI",
];

/// `GET /refunds?payment_request_id=&limit=&after_id=`: a request's refunds, oldest first.
pub(super) async fn list_refunds(
    State(sb): State<XenditSandbox>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(10)
        .clamp(1, 100);
    let mut mine: Vec<Refund> = sb
        .refunds_lock()
        .by_id
        .values()
        .filter(|r| {
            q.get("payment_request_id")
                .is_none_or(|id| r.payment_request_id.as_deref() == Some(id.as_str()))
        })
        .cloned()
        .collect();
    mine.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
    if let Some(after) = q.get("after_id") {
        match mine.iter().position(|r| &r.id == after) {
            Some(i) => {
                mine.drain(..=i);
            }
            None => mine.clear(),
        }
    }
    let has_more = mine.len() > limit;
    mine.truncate(limit);
    (
        StatusCode::OK,
        Json(RefundList {
            data: mine,
            has_more,
        }),
    )
        .into_response()
}

pub(super) async fn get_refund(
    State(sb): State<XenditSandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    match sb.refunds_lock().by_id.get(&id) {
        Some(r) => (StatusCode::OK, Json(r.clone())).into_response(),
        None => not_found("Refund"),
    }
}

impl XenditSandbox {
    /// A request nobody paid, at its expiry: EXPIRED, with its webhook.
    async fn expire(&self, id: &str) {
        let request = {
            let mut requests = self.lock();
            let Some(k) = requests.get_mut(id) else {
                return;
            };
            if !matches!(k.request.status.as_str(), "REQUIRES_ACTION" | "PENDING") {
                return;
            }
            k.request.status = "EXPIRED".into();
            k.request.actions.clear();
            k.request.updated = now().to_string();
            k.request.clone()
        };
        self.send_webhook(
            "payment_request.expiry",
            serde_json::to_value(&request).expect("serialises"),
        )
        .await;
    }
}
