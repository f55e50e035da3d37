//! Providers: routing health and circuits, and the shop's onboarding with each provider.

use crate::export::*;
use crate::format::*;
use crate::session::Signed;
use crate::{failed, nav, page, Nav};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use std::collections::HashMap;
use walletpay_app::App;

table_row! {
    pub struct HealthRow {
        provider: String,
        country: String,
        wallet: String,
        attempts: String,
        errors: String,
        circuit: String,
    }
}

table_row! {
    pub struct OnboardingRow {
        provider: String,
        state: String,
        since: String,
        routable: &'static str,
        note: String,
    }
}

#[derive(Template)]
#[template(path = "providers.html")]
struct ProvidersT {
    nav: Option<Nav>,
    here: Here,
    health: Vec<HealthRow>,
    onboarding: Option<Vec<OnboardingRow>>,
}

pub(crate) async fn providers(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let any = walletpay_domain::MerchantId::new(0, 0);
    let health: Value =
        match walletpay_app::routing::health(&app, s.merchant().unwrap_or(&any)).await {
            Ok(r) => serde_json::from_str(&r.body).unwrap_or_default(),
            Err(e) => return failed(e.message),
        };
    let health: Vec<HealthRow> = health["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| HealthRow {
            provider: text(&h["provider"]),
            country: text(&h["country"]),
            wallet: text(&h["wallet"]),
            attempts: text(&h["attempts"]),
            errors: text(&h["provider_errors"]),
            circuit: text(&h["circuit"]),
        })
        .collect();
    // A merchant's own applications with the providers.
    let onboarding: Option<Vec<OnboardingRow>> = match s.merchant() {
        Some(m) => match walletpay_app::onboarding::get(&app, &s.principal, m.as_str()).await {
            Ok(r) => {
                let v: Value = serde_json::from_str(&r.body).unwrap_or_default();
                Some(
                    v["data"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|o| OnboardingRow {
                            provider: text(&o["provider"]),
                            state: match &o["state"] {
                                Value::Null => "no record (live)".into(),
                                v => text(v),
                            },
                            since: text(&o["since"]),
                            routable: if o["routable"] == true { "yes" } else { "no" },
                            note: text(&o["note"]),
                        })
                        .collect(),
                )
            }
            Err(e) => return failed(e.message),
        },
        None => None,
    };
    if let Some(t) = wanted(&q) {
        return match (t, &onboarding) {
            ("health", _) => csv("routing-health", &health),
            ("onboarding", Some(rows)) => csv("onboarding", rows),
            (other, _) => no_such_table(other),
        };
    }
    page(
        StatusCode::OK,
        ProvidersT {
            nav: nav(&s),
            here: Here::new("/dashboard/providers", &q),
            health,
            onboarding,
        },
    )
}
