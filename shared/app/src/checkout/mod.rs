//! Hosted checkout sessions: `POST /v1/checkout/sessions` and `GET
//! /v1/checkout/sessions/{id}` for the shop (here), and the attempts a buyer makes on the
//! session's page (`attempt`). A session is one order; each attempt is a payment of its own
//! (created through `payments::create_payment`, so validation, risk control, idempotency,
//! history and notifications are the payments' own), linked to the session, and a new
//! attempt starts only once every earlier one is final.
//!
//! A session is validated as the payments it will make are: its fields go through the
//! payment body's own reader with each wallet it allows, and a session no allowed wallet can
//! take (the amount outside every wallet's limits) is refused.

mod attempt;
pub mod incentives;

pub use attempt::{refresh, start_attempt, start_attempt_offered, Started};

use crate::app::App;
use crate::error::{ApiError, Reply};
use crate::idempotency::{claim, finish, new_record, Claim};
use serde::Deserialize;
use serde_json::{json, Value};
use walletpay_domain::catalog::wallets_in;
use walletpay_domain::checkout::CheckoutSession;
use walletpay_domain::{Lang, MerchantId, PaymentId, SessionId, WalletId};

/// How long a session stays open unless the shop says otherwise, and the bounds.
pub const DEFAULT_MINUTES: u32 = 30;
pub const MAX_MINUTES: u32 = 24 * 60;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionBody {
    // Missing ones are told apart below (`missing_field`, naming them).
    #[serde(default)]
    amount: Value,
    #[serde(default)]
    currency: Value,
    #[serde(default)]
    country: Value,
    #[serde(default)]
    merchant_reference: Value,
    #[serde(default)]
    customer: Option<Value>,
    #[serde(default)]
    return_url: Value,
    #[serde(default)]
    cancel_url: Option<String>,
    #[serde(default)]
    card_fallback_url: Option<String>,
    #[serde(default)]
    wallets: Option<Vec<String>>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    expires_in_minutes: Option<u32>,
}

fn bad(code: &'static str, field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(400, code, message).field(field)
}

fn url_field(field: &str, v: &str) -> Result<String, ApiError> {
    walletpay_domain::fields::ReturnUrl::parse(v)
        .map(|u| u.as_str().to_string())
        .map_err(|why| bad("invalid_field", field, format!("`{field}` {why}.")))
}

/// The page of a session, under the deployment's public URL.
pub fn page_url(app: &App, id: &SessionId) -> String {
    format!(
        "{}/checkout/{id}",
        app.settings.public_base_url.trim_end_matches('/')
    )
}

/// A session as the shop reads it.
pub fn session_json(app: &App, s: &CheckoutSession) -> Value {
    let now = app.clock.now();
    json!({
        "id": s.id,
        "object": "checkout_session",
        "url": page_url(app, &s.id),
        "status": s.status_at(now),
        "amount": s.amount.minor,
        "currency": s.amount.currency.code(),
        "country": s.country,
        "merchant_reference": s.merchant_reference,
        "wallets": s.wallets,
        "language": s.lang,
        "return_url": s.return_url,
        "cancel_url": s.cancel_url,
        "card_fallback_url": s.card_fallback_url,
        "created_at": s.created_at,
        "expires_at": s.expires_at,
        "payments": s.attempts.iter().map(|a| json!({
            // None while its payment is being made.
            "id": a.payment_id,
            "wallet": a.wallet,
            "status": a.status.as_str(),
            "created_at": a.created_at,
            "incentive": a.incentive,
        })).collect::<Vec<_>>(),
        "paid_by": s.paid_by,
    })
}

/// `POST /v1/checkout/sessions`.
pub async fn create_session(
    app: &App,
    merchant: &MerchantId,
    idempotency_key: Option<&str>,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let key = crate::idempotency::check_key(idempotency_key)?;
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "invalid_json",
            format!("The body is not valid JSON: {e}."),
        )
    })?;
    let b: SessionBody = serde_json::from_value(value.clone()).map_err(|e| {
        ApiError::new(
            400,
            "invalid_json",
            format!("The session cannot be read: {e}."),
        )
    })?;
    // Read as the payments will be: with the first of the market's wallets that takes it.
    let probe = probe_any(&b).map_err(|e| {
        e.unwrap_or_else(|| {
            ApiError::new(
                422,
                "wallet_unavailable",
                "No wallet is offered in that country.",
            )
            .field("country")
        })
    })?;
    let return_url = match &b.return_url {
        Value::String(u) => url_field("return_url", u)?,
        Value::Null => {
            return Err(bad(
                "missing_field",
                "return_url",
                "`return_url` is required.",
            ))
        }
        _ => return Err(bad("invalid_field", "return_url", "`return_url` is a URL.")),
    };
    let wallets = match &b.wallets {
        None => None,
        Some(list) => {
            let mut out = Vec::new();
            for (i, w) in list.iter().enumerate() {
                let field = format!("wallets[{i}]");
                let wallet = WalletId::parse(w)
                    .filter(|w| wallets_in(probe.country).any(|s| s.wallet == *w))
                    .ok_or_else(|| {
                        ApiError::new(
                            422,
                            "wallet_not_offered",
                            format!("{w:?} is not a wallet of {}.", probe.country),
                        )
                        .field(field)
                    })?;
                if !out.contains(&wallet) {
                    out.push(wallet);
                }
            }
            if out.is_empty() {
                return Err(
                    ApiError::new(422, "no_wallets", "`wallets` names no wallet.").field("wallets"),
                );
            }
            Some(out)
        }
    };
    // Each wallet the shop names must take the order as a payment (OVO needs the
    // customer's phone, ...); its amount limits are checked as a whole below.
    for (i, w) in wallets.iter().flatten().enumerate() {
        if let Err(e) = as_payment(&b, *w) {
            if !matches!(e.code, "amount_below_minimum" | "amount_above_maximum") {
                let field = e.field.clone().unwrap_or_else(|| format!("wallets[{i}]"));
                return Err(
                    ApiError::new(e.status, e.code, format!("For {w}: {}", e.message)).field(field),
                );
            }
        }
    }
    // Some allowed wallet must take the amount.
    let payable = wallets_in(probe.country)
        .filter(|s| wallets.as_ref().is_none_or(|w| w.contains(&s.wallet)))
        .any(|s| (s.min_minor..=s.max_minor).contains(&probe.amount.minor));
    if !payable {
        return Err(ApiError::new(
            422,
            "amount_not_payable",
            "No wallet allowed for this session takes that amount.",
        )
        .field("amount"));
    }
    let lang = b
        .language
        .as_deref()
        .map(|l| {
            Lang::parse(l).ok_or_else(|| {
                bad(
                    "invalid_field",
                    "language",
                    "`language` is one of en, id, th, ms, vi, pt-BR, zh.",
                )
            })
        })
        .transpose()?;
    let minutes = b.expires_in_minutes.unwrap_or(DEFAULT_MINUTES);
    if !(5..=MAX_MINUTES).contains(&minutes) {
        return Err(bad(
            "invalid_field",
            "expires_in_minutes",
            format!("`expires_in_minutes` is 5-{MAX_MINUTES}."),
        ));
    }
    let cancel_url = match &b.cancel_url {
        Some(u) => url_field("cancel_url", u)?,
        None => {
            return Err(bad(
                "missing_field",
                "cancel_url",
                "`cancel_url` is required.",
            ))
        }
    };
    let card_fallback_url = b
        .card_fallback_url
        .as_deref()
        .map(|u| url_field("card_fallback_url", u))
        .transpose()?;

    let scoped_key = format!("checkout:{}", key.as_str());
    let now = app.clock.now();
    // The claim fixes the session's id: the same body as this id's.
    let record = new_record(
        app,
        merchant,
        &scoped_key,
        &value,
        PaymentId::new(now.millis(), rand::random()),
        None,
    );
    let owned = match claim(app, &record).await? {
        Claim::Replay(reply) => return Ok(reply),
        Claim::Owned(r) | Claim::TakenOver(r) => r,
    };
    let id = SessionId::parse(&format!("{}{}", SessionId::PREFIX, owned.payment_id.body()))
        .expect("a payment id's body is a session id's");
    if let Some(existing) = app.store.get_session(&id).await? {
        return finish(
            app,
            merchant,
            &scoped_key,
            201,
            session_json(app, &existing).to_string(),
        )
        .await;
    }
    let session = CheckoutSession {
        id,
        merchant_id: merchant.clone(),
        merchant_reference: probe.merchant_reference.to_string(),
        amount: probe.amount,
        country: probe.country,
        customer: probe.customer(),
        return_url,
        cancel_url,
        card_fallback_url,
        wallets,
        lang,
        created_at: now,
        expires_at: now.plus_millis(minutes as i64 * 60_000),
        attempts: Vec::new(),
        paid_by: None,
        grants_settled: false,
        settled_paid_by: None,
        version: 1,
    };
    match app.store.insert_session(&session).await {
        Ok(()) => {}
        // A write whose answer was lost may have landed: the key stays claimed, and a retry
        // after its lease finds the session (above) instead of making a second one.
        Err(e @ walletpay_ports::StoreError::Backend(_)) => return Err(e.into()),
        Err(e) => {
            let _ = app.store.release_idempotent(merchant, &scoped_key).await;
            return Err(e.into());
        }
    }
    finish(
        app,
        merchant,
        &scoped_key,
        201,
        session_json(app, &session).to_string(),
    )
    .await
}

fn parse_country(v: &Value) -> Result<walletpay_domain::Country, ApiError> {
    v.as_str()
        .and_then(walletpay_domain::Country::parse)
        .ok_or_else(|| match v {
            Value::Null => bad("missing_field", "country", "`country` is required."),
            _ => ApiError::new(
                422,
                "country_unsupported",
                "`country` is not a market served.",
            )
            .field("country"),
        })
}

/// The session's fields read as a payment of `wallet` would be.
fn as_payment(b: &SessionBody, wallet: WalletId) -> Result<crate::payments::NewPayment, ApiError> {
    let body = json!({
        "merchant_reference": b.merchant_reference, "amount": b.amount,
        "currency": b.currency, "country": b.country, "wallet": wallet.as_str(),
        "customer": b.customer, "return_url": b.return_url,
    });
    crate::payments::parse_new_payment(body.to_string().as_bytes()).map(|(p, _)| p)
}

/// The session's fields read with the first wallet whose limits take the amount.
fn probe_any(b: &SessionBody) -> Result<crate::payments::NewPayment, Option<ApiError>> {
    let country = parse_country(&b.country).map_err(Some)?;
    let mut last = None;
    for s in wallets_in(country) {
        match as_payment(b, s.wallet) {
            Ok(p) => return Ok(p),
            Err(e) => last = Some(e),
        }
    }
    Err(last)
}

/// `GET /v1/checkout/sessions/{id}`: the session with its payments as they stand.
pub async fn get_session(app: &App, merchant: &MerchantId, id: &str) -> Result<Reply, ApiError> {
    let id = SessionId::parse(id).ok_or_else(|| ApiError::not_found("checkout session"))?;
    let Some(s) = app.store.get_session(&id).await? else {
        return Err(ApiError::not_found("checkout session"));
    };
    if &s.merchant_id != merchant {
        return Err(ApiError::not_found("checkout session"));
    }
    let s = refresh(app, s).await?;
    Ok(Reply::json(200, session_json(app, &s).to_string()))
}

/// The end of a session whose attempt `payment` is (its scheduled check): the session read
/// and so settled if it has ended; looked at again in 5 minutes while an attempt begun
/// before its expiry may still succeed.
pub async fn end_of_session(
    app: &App,
    payment: &walletpay_domain::Payment,
) -> Result<crate::status::Checked, crate::status::CheckError> {
    use crate::transition::TransitionError;
    let done = crate::status::Checked::Done(payment.status);
    let Some(id) = &payment.checkout_session else {
        return Ok(done);
    };
    let Some(s) = app
        .store
        .get_session(id)
        .await
        .map_err(TransitionError::from)?
    else {
        return Ok(done);
    };
    let s = refresh(app, s).await.map_err(TransitionError::from)?;
    let now = app.clock.now();
    let open = s.status_at(now) == walletpay_domain::checkout::SessionStatus::Open;
    if open || !s.grants_settled {
        // Past the status checks' horizon nothing more will be learned by waiting: a
        // late success settles it again (see `transition`).
        let horizon = payment
            .created_at
            .plus_millis(crate::idempotency::ms(app.settings.status_check_horizon));
        if now >= horizon {
            tracing::warn!(session = %s.id, "a session's end check gives up at the status checks' horizon");
            return Ok(crate::status::Checked::GaveUp(payment.status));
        }
        let again = now.plus_millis(5 * 60_000).max(s.expires_at);
        crate::status::schedule_session_end(app, &payment.id, again).await?;
        return Ok(crate::status::Checked::Deferred);
    }
    Ok(done)
}
