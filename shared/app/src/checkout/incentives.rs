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
    pub wallet: WalletId,
    pub incentive: IncentiveId,
    pub discount: i64,
    /// Granted to this order already (an earlier attempt): it applies again as granted.
    pub held: bool,
}

fn keys_of(s: &CheckoutSession) -> Vec<String> {
    buyer_keys(s.customer.id.as_deref(), s.customer.phone.as_deref())
}

/// The offers of a session's page, one per wallet at most: the grant this order holds with
/// the wallet, else the oldest incentive on offer now with budget left for its discount,
/// while this buyer's first payment with the wallet is still to come.
pub async fn offers(app: &App, s: &CheckoutSession) -> Result<Vec<Offer>, StoreError> {
    let keys = keys_of(s);
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let now = app.clock.now();
    let all = app.store.list_incentives(&s.merchant_id).await?;
    let on_offer = |i: &Incentive| i.offered(s.country, i.wallet, now);
    let mut wallets: Vec<WalletId> = Vec::new();
    for st in &all {
        if st.incentive.country == s.country && !wallets.contains(&st.incentive.wallet) {
            wallets.push(st.incentive.wallet);
        }
    }
    let mut out: Vec<Offer> = Vec::new();
    for wallet in wallets {
        let Some(spec) = wallet_spec(s.country, wallet) else {
            continue;
        };
        let in_scope: Vec<&Standing> = all
            .iter()
            .filter(|st| st.incentive.country == s.country && st.incentive.wallet == wallet)
            .collect();
        // One first payment per shop, market and wallet, whichever incentive it came with.
        let scope = in_scope[0].incentive.first_purchase_scope();
        match app.store.grant_holder(&scope, &keys).await? {
            Some(h) if h.session == s.id => out.push(Offer {
                wallet,
                incentive: h.incentive,
                discount: h.discount,
                held: true,
            }),
            Some(_) => {}
            None => {
                // The oldest incentive on offer with budget for its discount.
                let best = in_scope.iter().find_map(|c| {
                    if !on_offer(&c.incentive) {
                        return None;
                    }
                    let d = c.incentive.discount_on(s.amount, spec.min_minor)?;
                    (c.remaining >= d).then(|| (c.incentive.id.clone(), d))
                });
                if let Some((incentive, discount)) = best {
                    out.push(Offer {
                        wallet,
                        incentive,
                        discount,
                        held: false,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// What a grant at an attempt's start gave: the incentive the payment carries, and whether
/// it was granted just now (so undone if the attempt does not start after all).
pub struct Granted {
    pub applied: Applied,
    pub new: bool,
    pub incentive: Incentive,
}

/// Grants this session's buyer the incentive on offer with `wallet`, if there is one (or
/// finds it already granted to this order: it applies as granted).
pub async fn grant(
    app: &App,
    s: &CheckoutSession,
    wallet: WalletId,
) -> Result<Option<Granted>, StoreError> {
    let Some(offer) = offers(app, s)
        .await?
        .into_iter()
        .find(|o| o.wallet == wallet)
    else {
        return Ok(None);
    };
    let Some(st) = app
        .store
        .get_incentive(&s.merchant_id, &offer.incentive)
        .await?
    else {
        return Ok(None);
    };
    let as_applied = |id: IncentiveId, discount: i64| Applied {
        id,
        original_amount: s.amount.minor,
        discount,
    };
    if offer.held {
        return Ok(Some(Granted {
            applied: as_applied(offer.incentive, offer.discount),
            new: false,
            incentive: st.incentive,
        }));
    }
    match app
        .store
        .grant(&st.incentive, &keys_of(s), offer.discount, &s.id, s.version)
        .await?
    {
        Grant::Granted => Ok(Some(Granted {
            applied: as_applied(offer.incentive, offer.discount),
            new: true,
            incentive: st.incentive,
        })),
        Grant::Held(h) => {
            let incentive = match app
                .store
                .get_incentive(&s.merchant_id, &h.incentive)
                .await?
            {
                Some(held) => held.incentive,
                None => return Ok(None),
            };
            Ok(Some(Granted {
                applied: as_applied(h.incentive, h.discount),
                new: false,
                incentive,
            }))
        }
        Grant::AlreadyUsed | Grant::Exhausted => Ok(None),
    }
}

/// Undoes a grant made for an attempt that did not start after all.
pub async fn undo(app: &App, s: &CheckoutSession, g: &Granted) -> Result<(), StoreError> {
    app.store
        .release_grant(
            &g.incentive,
            &keys_of(s),
            g.applied.discount,
            &s.id,
            s.version,
        )
        .await
}

/// Brings an ended order's grants in line with how it ended: the grant its paying attempt
/// carried stands (taken again if an earlier settlement had released it: a payment made
/// with the discount succeeded late), and every other is released (the discount back in
/// the budget, the buyer's first payment with that wallet still to come). Idempotent;
/// `nonce` tells one settlement's writes from another's.
pub async fn settle(app: &App, s: &CheckoutSession, nonce: u64) -> Result<(), StoreError> {
    let paying = s.paid_by.as_ref().and_then(|paid| {
        s.attempts
            .iter()
            .find(|a| a.payment_id.as_ref() == Some(paid))
    });
    let keys = keys_of(s);
    let mut done: Vec<WalletId> = Vec::new();
    // One grant per wallet: every attempt with it carries the same one.
    for a in s.attempts.iter().filter(|a| a.incentive.is_some()) {
        if done.contains(&a.wallet) {
            continue;
        }
        done.push(a.wallet);
        let applied = paying
            .filter(|p| p.wallet == a.wallet && p.incentive.is_some())
            .and_then(|p| p.incentive.as_ref())
            .unwrap_or_else(|| a.incentive.as_ref().expect("filtered"));
        let Some(st) = app.store.get_incentive(&s.merchant_id, &applied.id).await? else {
            continue;
        };
        if paying.is_some_and(|p| p.wallet == a.wallet && p.incentive.is_some()) {
            app.store
                .restore_grant(&st.incentive, &keys, applied.discount, &s.id, nonce)
                .await?;
        } else {
            app.store
                .release_grant(&st.incentive, &keys, applied.discount, &s.id, nonce)
                .await?;
        }
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
