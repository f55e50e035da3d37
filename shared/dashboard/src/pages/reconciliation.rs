//! Reconciliation: the open discrepancies per provider, resolved one or many with a note.

use crate::format::*;
use crate::session::{self, Signed};
use crate::{failed, forbidden, nav, page, Nav};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::HashMap;
use walletpay_app::App;

pub struct DiscrepancyRow {
    id: String,
    day: String,
    class: String,
    ours: String,
    theirs: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "reconciliation.html")]
struct ReconciliationT {
    nav: Option<Nav>,
    provider: String,
    providers: Vec<&'static str>,
    notice: Option<String>,
    csrf: String,
    can_resolve: bool,
    rows: Vec<DiscrepancyRow>,
}

pub(crate) async fn reconciliation_page(
    app: &App,
    s: &Signed,
    provider: &str,
    notice: Option<String>,
) -> Response {
    let params = walletpay_app::reconcile::api::ListParams {
        status: Some("open"),
        provider: Some(provider),
        class: None,
        merchant: None,
        limit: Some("200"),
        cursor: None,
    };
    let listed =
        match walletpay_app::reconcile::api::list_discrepancies(app, &s.principal, &params).await {
            Ok(r) => serde_json::from_str::<Value>(&r.body).unwrap_or_default(),
            Err(e) => return failed(e.message),
        };
    let amount = |d: &Value, field: &str| match (d["currency"].as_str(), d[field].as_i64()) {
        (Some(c), Some(n)) => money(&json!({ c: n })),
        _ => String::new(),
    };
    let rows = listed["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| DiscrepancyRow {
            id: text(&d["id"]),
            day: text(&d["day"]),
            class: text(&d["class"]),
            ours: amount(d, "our_amount"),
            theirs: amount(d, "provider_amount"),
            detail: text(&d["detail"]),
        })
        .collect();
    let mut providers: Vec<&'static str> = walletpay_domain::catalog::CATALOG
        .iter()
        .flat_map(|w| w.providers.iter().map(|p| p.as_str()))
        .collect();
    providers.sort();
    providers.dedup();
    page(
        StatusCode::OK,
        ReconciliationT {
            nav: nav(s),
            provider: provider.to_string(),
            providers,
            notice,
            csrf: s.session.csrf.clone(),
            can_resolve: s.merchant().is_none(),
            rows,
        },
    )
}

pub(crate) async fn reconciliation(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let provider = q
        .get("provider")
        .cloned()
        .unwrap_or_else(|| "xendit".into());
    reconciliation_page(&app, &s, &provider, None).await
}

/// Resolves the picked discrepancies with one resolution and note (an operator's).
pub(crate) async fn resolve(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let one = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if !session::csrf_ok(&s, &one("csrf")) {
        return forbidden();
    }
    let ids: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "ids")
        .map(|(_, v)| v.clone())
        .collect();
    let provider = q
        .get("provider")
        .cloned()
        .unwrap_or_else(|| "xendit".into());
    let notice = if ids.is_empty() {
        "Pick at least one discrepancy.".to_string()
    } else {
        let req = json!({"ids": ids, "resolution": one("resolution"), "note": one("note")});
        match walletpay_app::reconcile::api::resolve_bulk(
            &app,
            &s.principal,
            req.to_string().as_bytes(),
        )
        .await
        {
            Ok(_) => format!("Resolved {} as {}.", ids.len(), one("resolution")),
            Err(e) => e.message,
        }
    };
    reconciliation_page(&app, &s, &provider, Some(notice)).await
}
