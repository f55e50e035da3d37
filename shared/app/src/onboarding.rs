//! Provider onboarding per merchant: `GET /v1/onboarding/{merchant}` (an operator, or the
//! merchant itself) and `PUT /v1/onboarding/{merchant}/{provider}` (an operator only), each
//! change recorded with who made it. The records live in the merchant's own settings, so a
//! change is one conditional write of them and routing reads it with the merchant
//! (`routing::live_for`; other processes within the merchant cache's 30 s).

use crate::app::App;
use crate::auth::Principal;
use crate::error::{ApiError, Reply};
use serde::Deserialize;
use serde_json::{json, Value};
use walletpay_domain::catalog::CATALOG;
use walletpay_domain::onboarding::{OnboardingState, ProviderOnboarding, Refused, Terms};
use walletpay_domain::{MerchantId, Provider};
use walletpay_ports::{Merchant, StoreError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    state: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    terms: Option<Terms>,
}

fn merchant_id(id: &str) -> Result<MerchantId, ApiError> {
    MerchantId::parse(id).ok_or_else(|| ApiError::not_found("merchant"))
}

/// Every provider the catalog routes to, with the merchant's record or its absence (live).
fn view(m: &Merchant) -> Value {
    let mut providers: Vec<Provider> = CATALOG
        .iter()
        .flat_map(|s| s.providers.iter().copied())
        .collect();
    providers.sort();
    providers.dedup();
    let data: Vec<Value> = providers
        .into_iter()
        .map(|p| match m.onboarding.get(&p) {
            Some(o) => json!({
                "provider": p, "state": o.state, "since": o.since, "note": o.note,
                "terms": o.terms, "history": o.history, "routable": o.is_live(),
            }),
            None => json!({"provider": p, "state": null, "routable": true}),
        })
        .collect();
    json!({"object": "onboarding", "merchant": m.id, "data": data})
}

async fn load(app: &App, id: &MerchantId) -> Result<Merchant, ApiError> {
    app.store
        .get_merchant(id)
        .await?
        .ok_or_else(|| ApiError::not_found("merchant"))
}

/// `GET /v1/onboarding/{merchant}`.
pub async fn get(app: &App, principal: &Principal, merchant: &str) -> Result<Reply, ApiError> {
    let id = merchant_id(merchant)?;
    if let Principal::Merchant(own) = principal {
        if own != &id {
            return Err(ApiError::not_found("merchant"));
        }
    }
    Ok(Reply::json(200, view(&load(app, &id).await?).to_string()))
}

/// `PUT /v1/onboarding/{merchant}/{provider}`: an operator records where an application
/// stands.
pub async fn put(
    app: &App,
    principal: &Principal,
    actor: &str,
    merchant: &str,
    provider: &str,
    body: &[u8],
) -> Result<Reply, ApiError> {
    if !matches!(principal, Principal::Operator(_)) {
        return Err(ApiError::new(
            403,
            "forbidden",
            "Only an operator records a merchant's onboarding.",
        ));
    }
    let id = merchant_id(merchant)?;
    let provider = Provider::parse(provider)
        .filter(|p| CATALOG.iter().any(|s| s.providers.contains(p)))
        .ok_or_else(|| ApiError::not_found("provider"))?;
    let b: ChangeBody = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "invalid_json",
            format!("The change cannot be read: {e}."),
        )
    })?;
    let state = OnboardingState::parse(&b.state).ok_or_else(|| {
        ApiError::new(
            400,
            "invalid_field",
            "`state` is not_started, submitted, under_review, live or rejected.",
        )
        .field("state")
    })?;
    if b.note.as_ref().is_some_and(|n| n.len() > 2_000) {
        return Err(
            ApiError::new(400, "invalid_field", "`note` is at most 2000 bytes.").field("note"),
        );
    }
    for attempt in 0..crate::contention::ATTEMPTS {
        let mut m = load(app, &id).await?;
        let next = ProviderOnboarding::change(
            m.onboarding.get(&provider),
            state,
            b.note.clone(),
            b.terms.clone(),
            actor,
            app.clock.now(),
        )
        .map_err(|e| match e {
            Refused::Transition { from, to } => ApiError::new(
                409,
                "onboarding_transition",
                format!(
                    "An application {} does not become {}.",
                    from.as_str(),
                    to.as_str()
                ),
            )
            .field("state"),
            Refused::Terms(field) => ApiError::new(
                400,
                "invalid_field",
                match field {
                    "currency" => "`terms.currency` is required with `terms.fee_fixed`.".into(),
                    _ => format!("`terms.{field}` is out of range."),
                },
            )
            .field(format!("terms.{field}")),
        })?;
        m.onboarding.insert(provider, next);
        m.version += 1;
        match app.store.put_merchant(&m).await {
            Ok(()) => {
                app.merchants.put(&m);
                return Ok(Reply::json(200, view(&m).to_string()));
            }
            Err(StoreError::Conflict) => crate::contention::pause(attempt).await,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        409,
        "merchant_conflict",
        "The merchant kept changing under this request. Retry it.",
    ))
}
