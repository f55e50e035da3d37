//! The merchant's own settings: `GET /v1/merchant`, `PATCH /v1/merchant` (webhook URL,
//! automatic refund of late successes) and `POST /v1/merchant/webhook-secret` (create or
//! rotate the secret events are signed with; the previous one keeps signing for 24 hours).
//! The PATCH body is read into [`MerchantPatch`]; its fields are checked all before the
//! one conditional write, so a refused patch changes nothing.

use crate::app::App;
use crate::error::{ApiError, Reply};
use crate::request::decode;
use rand::Rng;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
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

/// A `PATCH /v1/merchant` body: each field optional, and for `webhook_url` `null` (remove
/// it) told apart from absent (leave it).
#[derive(Debug, Deserialize)]
struct MerchantPatch {
    #[serde(default, deserialize_with = "present")]
    webhook_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    refund_late_successes: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    wallet_providers: Option<Option<Map<String, Value>>>,
    /// Whatever else was sent: refused by name.
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

/// A field that was sent, `null` included.
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `PATCH /v1/merchant` with `{"webhook_url": "https://..." | null, "refund_late_successes":
/// bool, "wallet_providers": {"<country>:<wallet>": "<provider>" | [...] | null}}`.
pub async fn update_merchant(app: &App, id: &MerchantId, body: &[u8]) -> Result<Reply, ApiError> {
    let (patch, _): (MerchantPatch, Value) = decode(body)?;
    if let Some(k) = patch.other.keys().next() {
        return Err(ApiError::new(
            400,
            "invalid_field",
            format!("`{k}` cannot be changed here."),
        )
        .field(k.as_str()));
    }
    // `null` is no value for these (absent leaves them as they are).
    let must = |k: &str, be: &str| {
        ApiError::new(400, "invalid_field", format!("`{k}` must be {be}.")).field(k)
    };
    if let Some(None) = patch.refund_late_successes {
        return Err(must("refund_late_successes", "true or false"));
    }
    if let Some(None) = patch.wallet_providers {
        return Err(must("wallet_providers", "an object"));
    }
    // The URL is resolved once, before the write (its check needs the network).
    if let Some(Some(url)) = &patch.webhook_url {
        check_url(app, url).await?;
    }
    save(app, id, |m| apply_patch(m, &patch)).await
}

/// Applies a `PATCH /v1/merchant` body to `m`.
fn apply_patch(m: &mut Merchant, patch: &MerchantPatch) -> Result<(), ApiError> {
    if let Some(url) = &patch.webhook_url {
        m.webhook_url = url.clone();
    }
    if let Some(Some(refund)) = patch.refund_late_successes {
        m.refund_late_successes = refund;
    }
    if let Some(Some(choices)) = &patch.wallet_providers {
        for (key, provider) in choices {
            set_wallet_provider(m, key, provider)?;
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
    for attempt in 0..crate::contention::ATTEMPTS {
        let mut m = load(app, id).await?;
        change(&mut m)?;
        m.version += 1;
        match app.store.put_merchant(&m).await {
            Ok(()) => {
                app.merchants.put(&m);
                return Ok(Reply::json(200, view(&m).to_string()));
            }
            Err(walletpay_ports::StoreError::Conflict) => crate::contention::pause(attempt).await,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{app_with, Script};

    async fn merchant(app: &App) -> MerchantId {
        let m = Merchant::new(
            MerchantId::new(app.clock.now().millis(), 7),
            "Toko Sari",
            app.clock.now(),
        );
        app.store.put_merchant(&m).await.unwrap();
        m.id
    }

    #[tokio::test]
    async fn a_patch_changes_what_it_names_and_refuses_the_rest_whole() {
        let (app, _) = app_with(Script::default());
        let id = merchant(&app).await;
        let ok = update_merchant(
            &app,
            &id,
            br#"{"refund_late_successes": true, "wallet_providers": {"ID:dana": ["dana", "xendit"]}}"#,
        )
        .await
        .unwrap();
        assert_eq!(ok.status, 200);
        let m = app.store.get_merchant(&id).await.unwrap().unwrap();
        assert!(m.refund_late_successes);
        assert_eq!(
            m.wallet_providers["ID:dana"],
            [Provider::Dana, Provider::Xendit]
        );

        let refused = [
            (
                r#"{"name": "Other"}"#,
                "name",
                "`name` cannot be changed here.",
            ),
            (
                r#"{"webhook_url": 5}"#,
                "webhook_url",
                "`webhook_url` must be a string.",
            ),
            (
                r#"{"refund_late_successes": "yes"}"#,
                "refund_late_successes",
                "`refund_late_successes` must be true or false.",
            ),
            (
                r#"{"refund_late_successes": null}"#,
                "refund_late_successes",
                "`refund_late_successes` must be true or false.",
            ),
            (
                r#"{"wallet_providers": null}"#,
                "wallet_providers",
                "`wallet_providers` must be an object.",
            ),
            (
                r#"{"wallet_providers": ["dana"]}"#,
                "wallet_providers",
                "`wallet_providers` must be an object.",
            ),
            (
                r#"{"wallet_providers": {"ID:dana": "stripe"}}"#,
                "wallet_providers.ID:dana",
                "dana in ID is served by: xendit, adyen, dana.",
            ),
            // One bad field refuses the whole patch: the good one is not applied either.
            (
                r#"{"refund_late_successes": false, "wallet_providers": {"XX:dana": null}}"#,
                "wallet_providers.XX:dana",
                "`XX:dana` is not a wallet of the catalog (`<country>:<wallet>`).",
            ),
        ];
        for (body, field, message) in refused {
            let e = update_merchant(&app, &id, body.as_bytes())
                .await
                .unwrap_err();
            assert_eq!(
                (e.status, e.code, e.field.as_deref()),
                (400, "invalid_field", Some(field)),
                "{body}"
            );
            assert_eq!(e.message, message, "{body}");
        }
        let after = app.store.get_merchant(&id).await.unwrap().unwrap();
        assert_eq!(after.version, m.version, "no refused patch was written");
        assert!(after.refund_late_successes);

        let cleared = update_merchant(&app, &id, br#"{"wallet_providers": {"ID:dana": null}}"#)
            .await
            .unwrap();
        assert_eq!(cleared.status, 200);
        let m = app.store.get_merchant(&id).await.unwrap().unwrap();
        assert!(m.wallet_providers.is_empty());
        assert_eq!(
            update_merchant(&app, &id, b"[]").await.unwrap_err().code,
            "invalid_json"
        );
    }
}
