//! First-purchase incentives: the shop's API (`POST`/`GET /v1/incentives`, `GET
//! /v1/incentives/{id}`, `POST /v1/incentives/{id}/disable`), what a session's page offers
//! beside each wallet, and the grant made when a buyer starts an attempt with that wallet.
//! A buyer without a customer id or a phone is offered nothing: "once per buyer" could not
//! hold.

use crate::app::App;
use crate::error::{ApiError, Reply};
use serde::Deserialize;
use serde_json::{json, Value};
use walletpay_domain::catalog::wallet_spec;
use walletpay_domain::checkout::CheckoutSession;
use walletpay_domain::incentive::{buyer_keys, Applied, Discount, Incentive, Standing};
use walletpay_domain::{Country, IncentiveId, MerchantId, Money, Timestamp, WalletId};
use walletpay_ports::{Grant, StoreError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IncentiveBody {
    country: String,
    wallet: String,
    discount: Discount,
    budget: i64,
    valid_from: Timestamp,
    valid_until: Timestamp,
}

fn view(s: &Standing) -> Value {
    let i = &s.incentive;
    json!({
        "id": i.id,
        "object": "incentive",
        "country": i.country,
        "wallet": i.wallet,
        "currency": i.country.currency().code(),
        "discount": i.discount,
        "budget": i.budget,
        "remaining_budget": s.remaining,
        "grants": s.grants,
        "valid_from": i.valid_from,
        "valid_until": i.valid_until,
        "active": i.active,
        "created_at": i.created_at,
    })
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(400, "invalid_field", message).field(field)
}

/// `POST /v1/incentives`.
pub async fn create(app: &App, merchant: &MerchantId, body: &[u8]) -> Result<Reply, ApiError> {
    let b: IncentiveBody = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "invalid_json",
            format!("The incentive cannot be read: {e}."),
        )
    })?;
    let country = Country::parse(&b.country).ok_or_else(|| {
        ApiError::new(
            422,
            "country_unsupported",
            "`country` is not a market served.",
        )
        .field("country")
    })?;
    let wallet = WalletId::parse(&b.wallet)
        .filter(|w| wallet_spec(country, *w).is_some())
        .ok_or_else(|| {
            ApiError::new(
                422,
                "wallet_not_offered",
                format!("{:?} is not a wallet of {country}.", b.wallet),
            )
            .field("wallet")
        })?;
    let now = app.clock.now();
    let incentive = Incentive {
        id: IncentiveId::new(now.millis(), rand::random()),
        merchant_id: merchant.clone(),
        country,
        wallet,
        discount: b.discount,
        budget: b.budget,
        valid_from: b.valid_from,
        valid_until: b.valid_until,
        active: true,
        created_at: now,
    };
    incentive
        .validate()
        .map_err(|e| invalid(e.field, format!("`{}` {}.", e.field, e.why)))?;
    app.store.insert_incentive(&incentive).await?;
    let standing = Standing {
        remaining: incentive.budget,
        grants: 0,
        incentive,
    };
    Ok(Reply::json(201, view(&standing).to_string()))
}

/// `GET /v1/incentives`.
pub async fn list(app: &App, merchant: &MerchantId) -> Result<Reply, ApiError> {
    let all = app.store.list_incentives(merchant).await?;
    let data: Vec<Value> = all.iter().map(view).collect();
    Ok(Reply::json(200, json!({ "data": data }).to_string()))
}

fn parse_id(id: &str) -> Result<IncentiveId, ApiError> {
    IncentiveId::parse(id).ok_or_else(|| ApiError::not_found("incentive"))
}

/// `GET /v1/incentives/{id}`.
pub async fn get(app: &App, merchant: &MerchantId, id: &str) -> Result<Reply, ApiError> {
    match app.store.get_incentive(merchant, &parse_id(id)?).await? {
        Some(s) => Ok(Reply::json(200, view(&s).to_string())),
        None => Err(ApiError::not_found("incentive")),
    }
}

/// `POST /v1/incentives/{id}/disable`: no further grants (those made stay).
pub async fn disable(app: &App, merchant: &MerchantId, id: &str) -> Result<Reply, ApiError> {
    let id = parse_id(id)?;
    if !app.store.set_incentive_active(merchant, &id, false).await? {
        return Err(ApiError::not_found("incentive"));
    }
    get(app, merchant, id.as_str()).await
}

/// An incentive on offer with `wallet` for this session's buyer, and its discount.
pub struct Offer {
    pub incentive: Incentive,
    pub discount: i64,
}

fn keys_of(s: &CheckoutSession) -> Vec<String> {
    buyer_keys(s.customer.id.as_deref(), s.customer.phone.as_deref())
}

/// The offers of a session's page, one per wallet at most (the oldest incentive wins): on
/// offer now, and either held by this order already or with budget left for the discount
/// and this buyer's first payment with the wallet still to come.
pub async fn offers(app: &App, s: &CheckoutSession) -> Result<Vec<Offer>, StoreError> {
    let keys = keys_of(s);
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let now = app.clock.now();
    let mut out: Vec<Offer> = Vec::new();
    for st in app.store.list_incentives(&s.merchant_id).await? {
        let i = st.incentive;
        if !i.offered(s.country, i.wallet, now)
            || out.iter().any(|o| o.incentive.wallet == i.wallet)
        {
            continue;
        }
        let Some(spec) = wallet_spec(s.country, i.wallet) else {
            continue;
        };
        let Some(discount) = i.discount_on(s.amount, spec.min_minor) else {
            continue;
        };
        match app
            .store
            .grant_holder(&i.first_purchase_scope(), &keys)
            .await?
        {
            // Granted to this order already (an earlier attempt): it stays this order's.
            Some(holder) if holder == s.id => {}
            // This buyer's first payment with the wallet was another order's.
            Some(_) => continue,
            None if st.remaining < discount => continue,
            None => {}
        }
        out.push(Offer {
            incentive: i,
            discount,
        });
    }
    Ok(out)
}

/// Grants this session's buyer the incentive on offer with `wallet`, if there is one (or
/// finds it already granted to this session): what the attempt's payment carries.
pub async fn grant(
    app: &App,
    s: &CheckoutSession,
    wallet: WalletId,
) -> Result<Option<Applied>, StoreError> {
    let Some(offer) = offers(app, s)
        .await?
        .into_iter()
        .find(|o| o.incentive.wallet == wallet)
    else {
        return Ok(None);
    };
    let applied = Applied {
        id: offer.incentive.id.clone(),
        original_amount: s.amount.minor,
        discount: offer.discount,
    };
    match app
        .store
        .grant(&offer.incentive, &keys_of(s), offer.discount, &s.id)
        .await?
    {
        Grant::Granted | Grant::Held => Ok(Some(applied)),
        Grant::AlreadyUsed | Grant::Exhausted => Ok(None),
    }
}

/// Once an order has ended, what it was granted and did not use goes back: a grant whose
/// order was paid with it stands; one whose order was paid otherwise, or never, is
/// released (its discount back in the budget, the buyer's first payment with that wallet
/// still to come). Idempotent.
pub async fn settle(app: &App, s: &CheckoutSession) -> Result<(), StoreError> {
    let used = s.paid_by.as_ref().and_then(|paid| {
        s.attempts
            .iter()
            .find(|a| a.payment_id.as_ref() == Some(paid))
            .and_then(|a| a.incentive.as_ref())
            .map(|a| a.id.clone())
    });
    let mut done: Vec<&IncentiveId> = Vec::new();
    for a in s.attempts.iter().filter_map(|a| a.incentive.as_ref()) {
        if Some(&a.id) == used.as_ref() || done.contains(&&a.id) {
            continue;
        }
        done.push(&a.id);
        let Some(st) = app.store.get_incentive(&s.merchant_id, &a.id).await? else {
            continue;
        };
        app.store
            .release_grant(&st.incentive, &keys_of(s), a.discount, &s.id)
            .await?;
    }
    Ok(())
}

/// The amount an attempt pays with `applied` taken off.
pub fn discounted(amount: Money, applied: Option<&Applied>) -> Money {
    match applied {
        Some(a) => Money {
            minor: amount.minor - a.discount,
            currency: amount.currency,
        },
        None => amount,
    }
}
