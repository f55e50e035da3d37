//! Wallets: a row per country, wallet and provider with attempts, success rate, volume and the
//! top failure reasons.

use crate::export::*;
use crate::format::*;
use crate::session::Signed;
use crate::{failed, nav, page, Nav};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use std::collections::HashMap;
use walletpay_app::analytics::api as analytics;
use walletpay_app::App;

table_row! {
    pub struct WalletRow {
        country: String,
        wallet: String,
        provider: String,
        attempts: u64,
        successes: u64,
        success_rate: String,
        volume: String,
        top_failures: String,
    }
}

#[derive(Template)]
#[template(path = "wallets.html")]
struct WalletsT {
    nav: Option<Nav>,
    here: Here,
    period: String,
    rows: Vec<WalletRow>,
}

/// The wallets page's rows for this session, and the period they cover.
pub(crate) async fn wallet_rows(
    app: &App,
    s: &Signed,
    q: &HashMap<String, String>,
) -> Result<(String, Vec<WalletRow>), Response> {
    let query = analytics::parse(app, &s.principal, q, None).map_err(|e| failed(e.message))?;
    let rows = analytics::wallets(app, &query)
        .await
        .map_err(|e| failed(e.message))?;
    let period = period_of(&query.period());
    let rows = rows
        .iter()
        .map(|r| WalletRow {
            country: text(&r["country"]),
            wallet: text(&r["wallet"]),
            provider: text(&r["provider"]),
            attempts: r["attempts"].as_u64().unwrap_or(0),
            successes: r["successes"].as_u64().unwrap_or(0),
            success_rate: pct(&r["success_rate_bp"]),
            volume: money(&json!({ text(&r["currency"]): r["volume"] })),
            top_failures: r["top_failures"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| format!("{} ({})", text(&f["category"]), f["count"]))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    Ok((period, rows))
}

pub(crate) async fn wallets(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (period, rows) = match wallet_rows(&app, &s, &q).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Some(t) = wanted(&q) {
        return match t {
            "wallets" => csv("wallets", &rows),
            other => no_such_table(other),
        };
    }
    page(
        StatusCode::OK,
        WalletsT {
            nav: nav(&s),
            here: Here::new("/dashboard/wallets", &q),
            period,
            rows,
        },
    )
}
