//! The merchant's own settings: `GET /v1/merchant`, `PATCH /v1/merchant` (webhook URL,
//! automatic refund of late successes) and `POST /v1/merchant/webhook-secret` (create or
//! rotate the secret events are signed with; the previous one keeps signing for 24 hours).

use crate::app::App;
use crate::error::{ApiError, Reply};
use rand::Rng;
use serde_json::{json, Value};
use walletpay_domain::{Country, MerchantId, Provider, WalletId};
use walletpay_ports::{Merchant, StoredSecret};

fn view(m: &Merchant) -> Value {
    json!({
        "id": m.id.as_str(),
        "object": "merchant",
        "name": m.name,
        "webhook_url": m.webhook_url,
        "webhook_secret_set": m.webhook_secret.is_some(),
        "refund_late_successes": m.refund_late_successes,
        "wallet_providers": m.wallet_providers,
        "created_at": m.created_at,
    })
}

async fn load(app: &App, id: &MerchantId) -> Result<Merchant, ApiError> {
    app.store
        .get_merchant(id)
        .await?
        .ok_or_else(|| ApiError::not_found("merchant"))
}

/// A merchant's settings for work done on its behalf (notifications, late successes): read
/// through the process's cache, so each event does not read the merchant again.
pub async fn cached(
    app: &App,
    id: &MerchantId,
) -> Result<Option<Merchant>, walletpay_ports::StoreError> {
    if let Some(m) = app.merchants.get(id) {
        return Ok(Some(m));
    }
    let m = app.store.get_merchant(id).await?;
    if let Some(m) = &m {
        app.merchants.put(m);
    }
    Ok(m)
}

pub async fn get_merchant(app: &App, id: &MerchantId) -> Result<Reply, ApiError> {
    Ok(Reply::json(200, view(&load(app, id).await?).to_string()))
}

async fn check_url(app: &App, url: &str) -> Result<(), ApiError> {
    crate::webhook_url::check(url, app.settings.allow_insecure_webhook_urls)
        .await
        .map_err(|why| ApiError::new(400, "invalid_field", why.0).field("webhook_url"))
}

/// One `wallet_providers` entry: `"<country>:<wallet>": "<provider>"` or a list of them in
/// order of priority (null removes it). Each must be one the catalog lists for that wallet.
fn set_wallet_provider(m: &mut Merchant, key: &str, provider: &Value) -> Result<(), ApiError> {
    let bad = |msg: String| {
        ApiError::new(400, "invalid_field", msg).field(format!("wallet_providers.{key}"))
    };
    let spec = key
        .split_once(':')
        .and_then(|(c, w)| Some((Country::parse(c)?, WalletId::parse(w)?)))
        .and_then(|(c, w)| walletpay_domain::catalog::wallet_spec(c, w))
        .ok_or_else(|| {
            bad(format!(
                "`{key}` is not a wallet of the catalog (`<country>:<wallet>`)."
            ))
        })?;
    let canonical = format!("{}:{}", spec.country, spec.wallet);
    match provider {
        Value::Null => {
            m.wallet_providers.remove(&canonical);
        }
        Value::String(_) | Value::Array(_) => {
            let names: Vec<&Value> = match provider {
                Value::Array(list) => list.iter().collect(),
                one => vec![one],
            };
            let served = || {
                bad(format!(
                    "{} in {} is served by: {}.",
                    spec.wallet,
                    spec.country,
                    spec.providers
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            };
            let mut chosen: Vec<Provider> = Vec::new();
            for name in names {
                let p = name
                    .as_str()
                    .and_then(Provider::parse)
                    .filter(|p| spec.providers.contains(p))
                    .ok_or_else(served)?;
                if !chosen.contains(&p) {
                    chosen.push(p);
                }
            }
            if chosen.is_empty() {
                return Err(served());
            }
            m.wallet_providers.insert(canonical, chosen);
        }
        _ => {
            return Err(bad(
                "a provider name, a list of them in order of priority, or null".into(),
            ))
        }
    }
    Ok(())
}

/// `PATCH /v1/merchant` with `{"webhook_url": "https://..." | null, "refund_late_successes":
/// bool, "wallet_providers": {"<country>:<wallet>": "<provider>" | null}}`.
pub async fn update_merchant(app: &App, id: &MerchantId, body: &[u8]) -> Result<Reply, ApiError> {
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
    // The URL is resolved once, before the write (its check needs the network).
    if let Some(Value::String(url)) = obj.get("webhook_url") {
        check_url(app, url).await?;
    }
    save(app, id, |m| apply_patch(m, obj)).await
}

/// Applies the fields of a `PATCH /v1/merchant` body to `m`.
fn apply_patch(m: &mut Merchant, obj: &serde_json::Map<String, Value>) -> Result<(), ApiError> {
    for (k, v) in obj {
        match (k.as_str(), v) {
            ("webhook_url", Value::Null) => m.webhook_url = None,
            ("webhook_url", Value::String(url)) => m.webhook_url = Some(url.clone()),
            ("refund_late_successes", Value::Bool(b)) => m.refund_late_successes = *b,
            ("wallet_providers", Value::Object(choices)) => {
                for (key, provider) in choices {
                    set_wallet_provider(m, key, provider)?;
                }
            }
            ("webhook_url" | "refund_late_successes" | "wallet_providers", _) => {
                return Err(ApiError::new(
                    400,
                    "invalid_field",
                    format!("`{k}` has the wrong type."),
                )
                .field(k.as_str()))
            }
            _ => {
                return Err(ApiError::new(
                    400,
                    "invalid_field",
                    format!("`{k}` cannot be changed here."),
                )
                .field(k.as_str()))
            }
        }
    }
    Ok(())
}

/// Reads the merchant, changes it with `change` and writes the next version on condition
/// that no one wrote in between; on a conflict, reads again and changes that (so a PATCH
/// racing a secret rotation keeps both).
async fn save(
    app: &App,
    id: &MerchantId,
    mut change: impl FnMut(&mut Merchant) -> Result<(), ApiError>,
) -> Result<Reply, ApiError> {
    for _ in 0..10 {
        let mut m = load(app, id).await?;
        change(&mut m)?;
        m.version += 1;
        match app.store.put_merchant(&m).await {
            Ok(()) => {
                app.merchants.put(&m);
                return Ok(Reply::json(200, view(&m).to_string()));
            }
            Err(walletpay_ports::StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        409,
        "merchant_conflict",
        "The settings kept changing under this request. Retry it.",
    ))
}

/// `POST /v1/merchant/webhook-secret`: a new signing secret, shown once.
pub async fn rotate_webhook_secret(app: &App, id: &MerchantId) -> Result<Reply, ApiError> {
    let secret = {
        let mut rng = rand::rng();
        let body: String = (0..40)
            .map(|_| rng.sample(rand::distr::Alphanumeric) as char)
            .collect();
        format!("whsec_{body}")
    };
    let now = app.clock.now();
    let mut until = None;
    save(app, id, |m| {
        m.previous_webhook_secret = m.webhook_secret.take();
        m.previous_secret_until = m
            .previous_webhook_secret
            .as_ref()
            .map(|_| now.plus_seconds(24 * 3600));
        m.webhook_secret = Some(StoredSecret::new(secret.clone()));
        until = m.previous_secret_until;
        Ok(())
    })
    .await?;
    Ok(Reply::json(
        201,
        json!({"secret": secret, "previous_secret_valid_until": until}).to_string(),
    ))
}
