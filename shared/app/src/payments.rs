//! `POST /v1/payments` and `GET /v1/payments/{id}`.
//!
//! Creating a payment, in order: validate everything (nothing is written for a bad request);
//! claim the `Idempotency-Key` with one conditional write that also fixes the payment id;
//! write the payment (`processing`) with its first history entry; call the provider once;
//! record what it said with one conditional write; store the response for replays.

use crate::app::App;
use crate::error::{ApiError, Reply};
pub use crate::idempotency::check_key as check_idempotency_key;
use crate::idempotency::{claim, finish, ms, request_hash, Claim};
use crate::transition::{transition, TransitionError};
use crate::view::payment_json;
use serde_json::{Map, Value};
use walletpay_domain::catalog::wallet_spec;
use walletpay_domain::{
    ActionKind, Country, Currency, Customer, Failure, FailureCode, Lang, MerchantId, Money,
    Payment, PaymentEvent, PaymentId, PaymentStatus, WalletId,
};
use walletpay_ports::{HistoryEntry, IdempotencyRecord, IdempotencyState};
use walletpay_wallet_adapter::{AdapterError, Cancel, ChargeRequest, ProviderStatus};

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A validated `POST /v1/payments` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    pub merchant_reference: String,
    pub amount: Money,
    pub country: Country,
    pub wallet: WalletId,
    pub customer: Customer,
    pub return_url: Option<String>,
    pub description: Option<String>,
}

fn bad(code: &'static str, field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(400, code, message).field(field)
}

fn unprocessable(code: &'static str, field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(422, code, message).field(field)
}

fn get_str<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
    path: &str,
    max: usize,
) -> Result<Option<&'a str>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Err(bad(
            "invalid_field",
            path,
            format!("`{path}` must not be empty."),
        )),
        Some(Value::String(s)) if s.chars().count() > max => Err(bad(
            "invalid_field",
            path,
            format!("`{path}` is longer than {max} characters."),
        )),
        Some(Value::String(s)) if s.chars().any(char::is_control) => Err(bad(
            "invalid_field",
            path,
            format!("`{path}` contains control characters."),
        )),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(
            "invalid_field",
            path,
            format!("`{path}` must be a string."),
        )),
    }
}

fn require<'a>(v: Option<&'a str>, path: &str) -> Result<&'a str, ApiError> {
    v.ok_or_else(|| bad("missing_field", path, format!("`{path}` is required.")))
}

fn valid_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    matches!(rest, Some(r) if !r.is_empty() && !r.starts_with('/') && !s.contains(char::is_whitespace))
}

/// An E.164 number: `+`, then 8 to 15 digits.
fn valid_phone(s: &str) -> bool {
    s.strip_prefix('+')
        .is_some_and(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Parses and checks a `POST /v1/payments` body against the wallet catalog.
pub fn parse_new_payment(body: &[u8]) -> Result<(NewPayment, Value), ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "invalid_json",
            format!("The body is not valid JSON: {e}."),
        )
    })?;
    let obj = value
        .as_object()
        .ok_or_else(|| ApiError::new(400, "invalid_json", "The body must be a JSON object."))?;

    let merchant_reference = require(
        get_str(obj, "merchant_reference", "merchant_reference", 128)?,
        "merchant_reference",
    )?;

    let amount_minor = match obj.get("amount") {
        None | Some(Value::Null) => return Err(bad("missing_field", "amount", "`amount` is required.")),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
            bad(
                "amount_invalid",
                "amount",
                "`amount` must be a whole number of the currency's minor unit (IDR 150,000 is 15000000).",
            )
        })?,
        Some(_) => {
            return Err(bad(
                "amount_invalid",
                "amount",
                "`amount` must be an integer in minor units, not a string.",
            ))
        }
    };
    if amount_minor <= 0 {
        return Err(bad(
            "amount_invalid",
            "amount",
            "`amount` must be greater than zero.",
        ));
    }

    let currency_s = require(get_str(obj, "currency", "currency", 3)?, "currency")?;
    let currency: Currency = currency_s.parse().map_err(|_| {
        unprocessable(
            "currency_unsupported",
            "currency",
            format!("Currency {currency_s:?} is not supported."),
        )
    })?;
    let country_s = require(get_str(obj, "country", "country", 2)?, "country")?;
    let country = Country::parse(country_s).ok_or_else(|| {
        unprocessable(
            "country_unsupported",
            "country",
            format!("Country {country_s:?} is not served."),
        )
    })?;
    if country.currency() != currency {
        return Err(unprocessable(
            "currency_mismatch",
            "currency",
            format!(
                "Payments in {country} are in {}, not {currency}.",
                country.currency()
            ),
        ));
    }
    let wallet_s = require(get_str(obj, "wallet", "wallet", 32)?, "wallet")?;
    let wallet = WalletId::parse(wallet_s).ok_or_else(|| {
        unprocessable(
            "wallet_unknown",
            "wallet",
            format!("There is no wallet {wallet_s:?}."),
        )
    })?;
    let spec = wallet_spec(country, wallet).ok_or_else(|| {
        unprocessable(
            "wallet_not_offered",
            "wallet",
            format!("{wallet} is not offered in {country}."),
        )
    })?;
    let amount = Money {
        minor: amount_minor,
        currency,
    };
    // No wallet in these markets takes fractions of a rupiah.
    if currency == Currency::IDR && amount.whole_major().is_err() {
        return Err(unprocessable(
            "amount_not_payable",
            "amount",
            "IDR amounts must be whole rupiah: the last two digits of `amount` must be 00.",
        ));
    }
    if amount_minor < spec.min_minor {
        return Err(unprocessable(
            "amount_below_minimum",
            "amount",
            format!(
                "{} takes at least {}.",
                spec.display_name,
                Money {
                    minor: spec.min_minor,
                    currency
                }
            ),
        ));
    }
    if amount_minor > spec.max_minor {
        return Err(unprocessable(
            "amount_above_maximum",
            "amount",
            format!(
                "{} takes at most {}.",
                spec.display_name,
                Money {
                    minor: spec.max_minor,
                    currency
                }
            ),
        ));
    }

    let customer = match obj.get("customer") {
        None | Some(Value::Null) => Customer::default(),
        Some(Value::Object(c)) => Customer {
            id: get_str(c, "id", "customer.id", 128)?.map(str::to_string),
            phone: get_str(c, "phone", "customer.phone", 20)?.map(str::to_string),
            email: get_str(c, "email", "customer.email", 254)?.map(str::to_string),
            ip: get_str(c, "ip", "customer.ip", 45)?.map(str::to_string),
            device_id: get_str(c, "device_id", "customer.device_id", 128)?.map(str::to_string),
        },
        Some(_) => {
            return Err(bad(
                "invalid_field",
                "customer",
                "`customer` must be an object.",
            ))
        }
    };
    if let Some(phone) = &customer.phone {
        if !valid_phone(phone) {
            return Err(bad(
                "invalid_field",
                "customer.phone",
                "`customer.phone` must be in E.164 form, like +6281234567890.",
            ));
        }
    }
    if spec.action == ActionKind::Push && customer.phone.is_none() {
        return Err(unprocessable(
            "missing_field",
            "customer.phone",
            format!(
                "{} sends the payment to the customer's app: `customer.phone` is required.",
                spec.display_name
            ),
        ));
    }
    if let Some(email) = &customer.email {
        if !email.contains('@') {
            return Err(bad(
                "invalid_field",
                "customer.email",
                "`customer.email` is not an e-mail address.",
            ));
        }
    }

    let return_url = get_str(obj, "return_url", "return_url", 2048)?;
    if let Some(u) = return_url {
        if !valid_url(u) {
            return Err(bad(
                "invalid_field",
                "return_url",
                "`return_url` must be an http(s) URL.",
            ));
        }
    }
    if matches!(spec.action, ActionKind::Redirect | ActionKind::Deeplink) && return_url.is_none() {
        return Err(unprocessable(
            "missing_field",
            "return_url",
            format!("{} sends the customer away to approve: `return_url` is required to bring them back.", spec.display_name),
        ));
    }
    let description = get_str(obj, "description", "description", 255)?;

    Ok((
        NewPayment {
            merchant_reference: merchant_reference.to_string(),
            amount,
            country,
            wallet,
            customer,
            return_url: return_url.map(str::to_string),
            description: description.map(str::to_string),
        },
        value,
    ))
}

/// `POST /v1/payments`.
pub async fn create_payment(
    app: &App,
    merchant: &MerchantId,
    idempotency_key: Option<&str>,
    body: &[u8],
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    let key = check_idempotency_key(idempotency_key)?;
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            413,
            "body_too_large",
            "The body is larger than 64 KiB.",
        ));
    }
    let (new, value) = parse_new_payment(body)?;
    let enabled = crate::merchant::cached(app, merchant).await?.and_then(|m| {
        m.wallet_providers
            .get(&format!("{}:{}", new.country, new.wallet))
            .cloned()
    });
    let plan = crate::routing::plan(app, enabled.as_deref(), new.country, new.wallet).await;
    let Some((adapter, first_reason)) = plan.first().cloned() else {
        return Err(unprocessable(
            "wallet_unavailable",
            "wallet",
            format!("{} is not available for this shop yet.", new.wallet),
        ));
    };

    let scoped_key = format!("payments:{key}");
    let now = app.clock.now();
    let record = IdempotencyRecord {
        merchant_id: merchant.clone(),
        key: scoped_key.clone(),
        request_hash: request_hash(&value),
        payment_id: PaymentId::new(now.millis(), rand::random()),
        refund_id: None,
        state: IdempotencyState::InProgress,
        lease_until: now.plus_millis(ms(app.settings.idempotency_lease)),
        expires_at: now.plus_millis(ms(app.settings.idempotency_ttl)),
    };

    let payment_id = match claim(app, &record).await? {
        Claim::Replay(reply) => return Ok(reply),
        Claim::Owned(owned) => owned.payment_id,
        Claim::TakenOver(owned) => {
            // The request that died may have written the payment already.
            if let Some(existing) = app.store.get_payment(&owned.payment_id).await? {
                return finish(
                    app,
                    merchant,
                    &scoped_key,
                    201,
                    payment_json(app, &existing, lang),
                )
                .await;
            }
            owned.payment_id
        }
    };

    let payment = Payment {
        id: payment_id.clone(),
        merchant_id: merchant.clone(),
        merchant_reference: new.merchant_reference,
        amount: new.amount,
        country: new.country,
        wallet: new.wallet,
        provider: adapter.provider(),
        provider_reference: None,
        status: PaymentStatus::Processing,
        next_action: None,
        failure: None,
        customer: new.customer,
        return_url: new.return_url,
        description: new.description,
        created_at: now,
        updated_at: now,
        expires_at: now.plus_millis(ms(app.settings.payment_ttl)),
        late_success: false,
        refunds: Vec::new(),
        route: vec![walletpay_domain::RouteStep {
            provider: adapter.provider(),
            reason: first_reason,
        }],
        version: 1,
    };
    let created = HistoryEntry {
        payment_id: payment_id.clone(),
        merchant_id: merchant.clone(),
        seq: 1,
        at: now,
        event: "created".into(),
        from: None,
        to: PaymentStatus::Processing,
        source: "api".into(),
        detail: None,
    };
    // The first status check goes out before the payment is written, so no payment can
    // exist without one: if the process dies anywhere below, the check still finds it.
    if let Err(e) = crate::status::schedule(app, &payment_id, 0).await {
        let _ = app.store.release_idempotent(merchant, &scoped_key).await;
        return Err(ApiError::unavailable(e));
    }
    if let Err(e) = crate::notifications::announce(app, &created, &payment).await {
        let _ = app.store.release_idempotent(merchant, &scoped_key).await;
        return Err(ApiError::unavailable(e));
    }
    if let Err(e) = app.store.insert_payment(&payment, &created).await {
        // Nothing was written: free the key so the client's retry starts afresh.
        let _ = app.store.release_idempotent(merchant, &scoped_key).await;
        return Err(e.into());
    }

    // Offer the payment to the planned providers in turn, as long as each refuses before
    // anything can have been charged (see `routing`).
    let mut payment = payment;
    let mut next = plan.iter().skip(1);
    let mut adapter = adapter;
    let outcome = loop {
        let outcome = adapter.create_charge(&charge_request(&payment)).await;
        crate::routing::record(
            app,
            adapter.provider(),
            payment.country,
            payment.wallet,
            crate::routing::provider_side(&outcome.as_ref().map(|_| ())),
        )
        .await;
        match (&outcome, next.next()) {
            (Err(e), Some((following, why))) if crate::routing::may_fail_over(e) => {
                tracing::warn!(payment = %payment_id, provider = %adapter.provider(), error = %e, next = %following.provider(), "failing over");
                let reason = format!("{why}; {} refused: {e}", adapter.provider());
                payment = crate::routing::reroute(app, payment, following.provider(), reason)
                    .await
                    .map_err(transition_error)?;
                adapter = following.clone();
            }
            _ => break outcome,
        }
    };
    let mut events: Vec<(PaymentEvent, Option<String>)> = Vec::new();
    match outcome {
        Ok(created) => {
            let reference = created.provider_reference.clone();
            events.push((
                PaymentEvent::Accepted {
                    provider_reference: created.provider_reference,
                    next_action: created.next_action,
                },
                Some(reference.clone()),
            ));
            if let Some(e) = created.status.to_event() {
                events.push((e, Some(reference)));
            }
        }
        Err(AdapterError::Declined(failure)) => {
            events.push((PaymentEvent::Failed { failure }, None));
        }
        // Maybe charged, maybe not: the payment stays `processing` until a status check or
        // the provider's webhook tells.
        Err(AdapterError::Unknown(why)) => {
            tracing::warn!(payment = %payment_id, %why, "provider outcome unknown; payment stays processing");
        }
        Err(AdapterError::NotFound) => {
            tracing::warn!(payment = %payment_id, "provider lost the charge it was creating; payment stays processing");
        }
        Err(AdapterError::Unsupported(why)) => {
            tracing::error!(payment = %payment_id, %why, "provider refused a request we validated");
            events.push((
                PaymentEvent::Failed {
                    failure: Failure::new(FailureCode::Unknown, Some("UNSUPPORTED_REQUEST".into())),
                },
                None,
            ));
        }
        Err(AdapterError::Config(why)) => {
            tracing::error!(payment = %payment_id, %why, "provider credentials missing or refused");
            events.push((
                PaymentEvent::Failed {
                    failure: Failure::new(FailureCode::MerchantAuthenticationFailed, None),
                },
                None,
            ));
        }
    }
    let mut current = payment;
    for (event, reference) in events {
        current = transition(
            app,
            &payment_id,
            Some(current),
            &event,
            "provider_response",
            reference.as_deref(),
        )
        .await
        .map_err(transition_error)?
        .0;
    }
    finish(
        app,
        merchant,
        &scoped_key,
        201,
        payment_json(app, &current, lang),
    )
    .await
}

/// What the provider is asked to charge for a payment.
pub(crate) fn charge_request(payment: &Payment) -> ChargeRequest<'_> {
    ChargeRequest {
        payment_id: &payment.id,
        amount: payment.amount,
        country: payment.country,
        wallet: payment.wallet,
        customer: &payment.customer,
        return_url: payment.return_url.as_deref(),
        description: payment.description.as_deref(),
        expires_at: payment.expires_at,
    }
}

/// The merchant's own payment, or 404 (also for another merchant's payment, so ids reveal
/// nothing).
pub async fn load_own(app: &App, merchant: &MerchantId, id: &str) -> Result<Payment, ApiError> {
    let id = PaymentId::parse(id).ok_or_else(|| ApiError::not_found("payment"))?;
    match app.store.get_payment(&id).await? {
        Some(p) if &p.merchant_id == merchant => Ok(p),
        _ => Err(ApiError::not_found("payment")),
    }
}

fn transition_error(e: TransitionError) -> ApiError {
    match e {
        TransitionError::Store(e) => e.into(),
        e => ApiError::internal(e),
    }
}

/// `GET /v1/payments/{id}`; with `refresh`, asks the provider first.
pub async fn get_payment(
    app: &App,
    merchant: &MerchantId,
    id: &str,
    refresh: bool,
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    let mut p = load_own(app, merchant, id).await?;
    if refresh && !matches!(p.status, PaymentStatus::Succeeded | PaymentStatus::Failed) {
        p = crate::status::refresh(app, p, "refresh")
            .await
            .map_err(transition_error)?;
    }
    Ok(Reply::json(200, payment_json(app, &p, lang)))
}

/// `POST /v1/payments/{id}/cancel`: the customer will not pay. Cancels the charge at the
/// provider where it can. Where it cannot (a pending Xendit charge), the provider is first
/// asked where the charge stands, so a charge already paid is never called canceled; a
/// waiting one is marked `canceled` here and the status checks keep watching it, so a
/// payment the customer completes anyway is still recorded (`late_success`). A cancel call
/// or a status call that does not go through answers 503 and changes nothing.
pub async fn cancel_payment(
    app: &App,
    merchant: &MerchantId,
    id: &str,
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    let mut p = load_own(app, merchant, id).await?;
    let closed = |app: &App, p: &Payment| match p.status {
        PaymentStatus::Canceled => Some(Ok(Reply::json(200, payment_json(app, p, lang)))),
        PaymentStatus::Processing | PaymentStatus::RequiresAction => None,
        _ => Some(Ok(not_cancelable(app, p, lang))),
    };
    if let Some(answer) = closed(app, &p) {
        return answer;
    }
    let Some(adapter) = app.adapters.get(p.provider).cloned() else {
        return mark_canceled(app, p, lang).await;
    };
    // A create whose answer was lost: find its charge first.
    if p.provider_reference.is_none() {
        p = crate::status::refresh(app, p, "api")
            .await
            .map_err(transition_error)?;
        if let Some(answer) = closed(app, &p) {
            return answer;
        }
    }
    let Some(reference) = p.provider_reference.clone() else {
        return mark_canceled(app, p, lang).await;
    };
    let unavailable = |what: &str, e: AdapterError| {
        ApiError::unavailable(format!("cancel of {}: {what}: {e}", p.id))
    };
    match adapter.cancel_charge(&reference).await {
        Ok(Cancel::Canceled) => tracing::info!(payment = %p.id, "canceled at the provider"),
        Ok(Cancel::Refused) => {
            let status = adapter
                .charge_status(&reference)
                .await
                .map_err(|e| unavailable("refused, status unknown", e))?;
            return as_the_provider_says(app, p, status, lang).await;
        }
        Ok(Cancel::NotCancelable) if adapter.answers_status_queries() => {
            match adapter.charge_status(&reference).await {
                Ok(ProviderStatus::Pending) => {
                    tracing::info!(payment = %p.id, "the provider cannot cancel this charge; marking canceled and watching")
                }
                Ok(status) => return as_the_provider_says(app, p, status, lang).await,
                Err(e) => return Err(unavailable("status unknown", e)),
            }
        }
        // A provider that cannot be asked (Adyen) tells by webhook: a success it reports
        // after this is recorded as a late success.
        Ok(Cancel::NotCancelable) => {
            tracing::info!(payment = %p.id, "the provider can neither cancel nor be asked; marking canceled and watching")
        }
        Err(e) => return Err(unavailable("the provider's cancel did not go through", e)),
    }
    mark_canceled(app, p, lang).await
}

async fn mark_canceled(app: &App, p: Payment, lang: Option<Lang>) -> Result<Reply, ApiError> {
    let id = p.id.clone();
    let (after, _) = transition(app, &id, Some(p), &PaymentEvent::Canceled, "api", None)
        .await
        .map_err(transition_error)?;
    Ok(Reply::json(200, payment_json(app, &after, lang)))
}

/// The provider's word on a charge that could not be canceled: recorded, and answered
/// `409`; never `canceled`.
async fn as_the_provider_says(
    app: &App,
    p: Payment,
    status: ProviderStatus,
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    let after = match status.to_event() {
        Some(event) => {
            let id = p.id.clone();
            let reference = p.provider_reference.clone();
            transition(app, &id, Some(p), &event, "api", reference.as_deref())
                .await
                .map_err(transition_error)?
                .0
        }
        None => p,
    };
    Ok(not_cancelable(app, &after, lang))
}

/// `409` for a payment past waiting, with the payment beside the error: `payment_already_
/// succeeded` for one the customer paid (refund it instead), else `payment_not_cancelable`.
fn not_cancelable(app: &App, p: &Payment, lang: Option<Lang>) -> Reply {
    let (code, message) = if p.status.is_paid() {
        (
            "payment_already_succeeded",
            "The customer has already paid: refund the payment instead.".to_string(),
        )
    } else {
        (
            "payment_not_cancelable",
            format!("A {} payment cannot be canceled.", p.status.as_str()),
        )
    };
    let body = serde_json::json!({
        "error": {"code": code, "message": message, "field": null},
        "payment": serde_json::from_str::<serde_json::Value>(&payment_json(app, p, lang))
            .unwrap_or_default(),
    });
    Reply::json(409, body.to_string())
}

/// The query of `GET /v1/payments`, as the API received it.
#[derive(Debug, Default)]
pub struct ListParams<'a> {
    pub status: Option<&'a str>,
    pub wallet: Option<&'a str>,
    pub country: Option<&'a str>,
    pub created_after: Option<&'a str>,
    pub created_before: Option<&'a str>,
    pub limit: Option<&'a str>,
    pub cursor: Option<&'a str>,
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::new(400, "invalid_parameter", message.to_string()).field(field)
}

/// An opaque cursor: the hex of the last listed payment's listing key.
fn encode_cursor(key: &str) -> String {
    hex::encode(key.as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<String> {
    let bytes = hex::decode(cursor).ok()?;
    let key = String::from_utf8(bytes).ok()?;
    let (at, id) = key.split_once('#')?;
    (walletpay_domain::Timestamp::parse_rfc3339(at).is_some() && PaymentId::parse(id).is_some())
        .then_some(key)
}

/// `GET /v1/payments`: the merchant's payments, newest first, from the merchant index.
pub async fn list_payments(
    app: &App,
    merchant: &MerchantId,
    params: &ListParams<'_>,
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    let time =
        |v: Option<&str>, field: &str| -> Result<Option<walletpay_domain::Timestamp>, ApiError> {
            v.map(|s| {
                walletpay_domain::Timestamp::parse_rfc3339(s)
                    .ok_or_else(|| invalid(field, "Times are RFC 3339, like 2026-11-25T00:00:00Z."))
            })
            .transpose()
        };
    let query = walletpay_ports::PaymentQuery {
        status: params
            .status
            .map(|s| {
                PaymentStatus::parse(s).ok_or_else(|| invalid("status", "Not a payment status."))
            })
            .transpose()?,
        wallet: params
            .wallet
            .map(|s| WalletId::parse(s).ok_or_else(|| invalid("wallet", "Not a wallet id.")))
            .transpose()?,
        country: params
            .country
            .map(|s| {
                walletpay_domain::Country::parse(s)
                    .ok_or_else(|| invalid("country", "Not a served country."))
            })
            .transpose()?,
        created_after: time(params.created_after, "created_after")?,
        created_before: time(params.created_before, "created_before")?,
        limit: match params.limit {
            None => 20,
            Some(l) => match l.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => return Err(invalid("limit", "`limit` is 1 to 100.")),
            },
        },
        after_key: params
            .cursor
            .map(|c| {
                decode_cursor(c).ok_or_else(|| invalid("cursor", "Not a cursor this API gave out."))
            })
            .transpose()?,
    };
    let (payments, next) = app.store.list_payments(merchant, &query).await?;
    let next_cursor = next.as_deref().map(encode_cursor);
    let data: Vec<crate::view::PaymentView<'_>> = payments
        .iter()
        .map(|p| crate::view::PaymentView::render(app, p, lang))
        .collect();
    let body = serde_json::json!({ "data": data, "next_cursor": next_cursor });
    Ok(Reply::json(200, body.to_string()))
}

/// `GET /v1/payments/{id}/events`: the payment's history, oldest first.
pub async fn payment_events(app: &App, merchant: &MerchantId, id: &str) -> Result<Reply, ApiError> {
    let p = load_own(app, merchant, id).await?;
    let history = app.store.payment_history(&p.id).await?;
    let data: Vec<serde_json::Value> = history
        .iter()
        .map(|h| {
            serde_json::json!({
                "seq": h.seq,
                "event": h.event,
                "from": h.from.map(PaymentStatus::as_str),
                "to": h.to.as_str(),
                "source": h.source,
                "detail": h.detail,
                "at": h.at,
            })
        })
        .collect();
    Ok(Reply::json(
        200,
        serde_json::json!({ "data": data, "next_cursor": null }).to_string(),
    ))
}
