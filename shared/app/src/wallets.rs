//! `GET /v1/wallets?country=ID&amount=15000000&currency=IDR`: the wallets a shop can offer for
//! one order, best first (the catalog's order of market share), with what a checkout needs
//! to show them: name in the shopper's language, logo key, the customer action, limits, and
//! the provider that would take the payment.

use crate::app::App;
use crate::error::{ApiError, Reply};
use serde_json::{json, Value};
use walletpay_domain::catalog::WalletSpec;
use walletpay_domain::{catalog, Country, Lang, MerchantId, Provider};

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::new(400, "invalid_parameter", message.to_string()).field(field)
}

pub async fn list_wallets(
    app: &App,
    merchant: &MerchantId,
    country: Option<&str>,
    amount: Option<&str>,
    currency: Option<&str>,
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    let country = country
        .ok_or_else(|| {
            invalid(
                "country",
                "`country` is required (ID, TH, MY, PH, VN, BR, SG).",
            )
        })
        .and_then(|c| {
            Country::parse(c).ok_or_else(|| invalid("country", "Not a served country."))
        })?;
    let amount = match amount {
        None => None,
        Some(a) => match a.parse::<i64>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                return Err(invalid(
                    "amount",
                    "`amount` is a positive integer in minor units.",
                ))
            }
        },
    };
    if let Some(c) = currency {
        if c != country.currency().code() {
            return Err(ApiError::new(
                422,
                "currency_mismatch",
                format!("{country} pays in {}.", country.currency().code()),
            )
            .field("currency"));
        }
    }
    let lang = lang.unwrap_or_else(|| Lang::of_country(country));
    let data: Vec<Value> = offered(app, merchant, country, amount)
        .await?
        .into_iter()
        .map(|(s, provider)| {
            json!({
                "object": "wallet",
                "wallet": s.wallet.as_str(),
                "country": s.country.as_str(),
                "currency": s.country.currency().code(),
                "name": s.name_in(lang),
                "logo": s.logo,
                "action": s.action.as_str(),
                "min_amount": s.min_minor,
                "max_amount": s.max_minor,
                "provider": provider.as_str(),
            })
        })
        .collect();
    Ok(Reply::json(
        200,
        json!({"data": data, "next_cursor": null}).to_string(),
    ))
}

/// The wallets `merchant` can offer in `country` (for `amount`, when given), best first,
/// each with the provider that would take the payment: the catalog's order, without the
/// wallets whose limits exclude the amount or that no provider of the merchant serves.
pub async fn offered(
    app: &App,
    merchant: &MerchantId,
    country: Country,
    amount: Option<i64>,
) -> Result<Vec<(&'static WalletSpec, Provider)>, ApiError> {
    let m = crate::merchant::cached(app, merchant).await?;
    Ok(catalog::wallets_in(country)
        .filter(|s| amount.is_none_or(|a| (s.min_minor..=s.max_minor).contains(&a)))
        .filter_map(|s| {
            let enabled = m.as_ref().and_then(|m| {
                m.wallet_providers
                    .get(&format!("{}:{}", s.country, s.wallet))
            });
            // The first provider that serves it and is live for the merchant.
            let adapter = app
                .adapters
                .candidates(s.country, s.wallet, enabled.map(Vec::as_slice))
                .into_iter()
                .find(|a| {
                    m.as_ref()
                        .is_none_or(|m| crate::routing::live_for(m, a.provider()))
                })?;
            Some((s, adapter.provider()))
        })
        .collect())
}
