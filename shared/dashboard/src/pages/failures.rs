//! Failure reasons: counts and shares by category, with the message each gives the buyer.

use super::analytics_json;
use crate::export::*;
use crate::format::*;
use crate::session::Signed;
use crate::{nav, page, Nav};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;
use walletpay_app::App;

pub struct FailureRow {
    category: String,
    count: u64,
    share: String,
    message: String,
}

#[derive(Template)]
#[template(path = "failures.html")]
struct FailuresT {
    nav: Option<Nav>,
    period: String,
    rows: Vec<FailureRow>,
}

pub(crate) async fn failure_rows(
    app: &App,
    s: &Signed,
    q: &HashMap<String, String>,
) -> Result<(String, Vec<FailureRow>), Response> {
    let f = analytics_json(app, s, q, "failures").await?;
    let rows = f["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| FailureRow {
            category: r["category"].as_str().unwrap_or("").to_string(),
            count: r["count"].as_u64().unwrap_or(0),
            share: pct(&r["share_bp"]),
            message: r["customer_message"].as_str().unwrap_or("").to_string(),
        })
        .collect();
    let period = period_of(&f["period"]);
    Ok((period, rows))
}

pub(crate) async fn failures(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match failure_rows(&app, &s, &q).await {
        Ok((period, rows)) => page(
            StatusCode::OK,
            FailuresT {
                nav: nav(&s),
                period,
                rows,
            },
        ),
        Err(r) => r,
    }
}

pub(crate) async fn failures_csv(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match failure_rows(&app, &s, &q).await {
        Ok((_, rows)) => csv_response(
            "failure-reasons.csv",
            &["category", "count", "share", "customer_message"],
            rows.iter().map(|r| {
                vec![
                    r.category.clone(),
                    r.count.to_string(),
                    r.share.clone(),
                    r.message.clone(),
                ]
            }),
        ),
        Err(r) => r,
    }
}
