//! Failure reasons: counts and shares by category (with the message each gives the buyer),
//! by wallet and by provider (with the categories behind each).

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
use walletpay_app::analytics::api as analytics;
use walletpay_app::App;

table_row! {
    /// One group of failures: a category, a wallet or a provider.
    pub struct FailureRow {
        group: String,
        count: u64,
        share: String,
        /// For a category, what the buyer is told; for a wallet or provider, its categories.
        detail: String,
    }
}

#[derive(Template)]
#[template(path = "failures.html")]
struct FailuresT {
    nav: Option<Nav>,
    here: Here,
    period: String,
    rows: Vec<FailureRow>,
    by_wallet: Vec<FailureRow>,
    by_provider: Vec<FailureRow>,
}

/// One grouping of the analytics API's failures as rows, and the period they cover.
fn grouped(f: &Value, group_by: &str) -> (String, Vec<FailureRow>) {
    let rows = f["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| FailureRow {
            group: text(&r[group_by]),
            count: r["count"].as_u64().unwrap_or(0),
            share: pct(&r["share_bp"]),
            detail: match group_by {
                "category" => text(&r["customer_message"]),
                _ => r["categories"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(c, n)| format!("{c} ({n})"))
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        })
        .collect();
    (period_of(&f["period"]), rows)
}

pub(crate) async fn failures(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let query = match analytics::parse(&app, &s.principal, &q, None) {
        Ok(query) => query,
        Err(e) => return failed(e.message),
    };
    // One read of the buckets, grouped three ways (one answer per grouping, in order).
    let answers =
        match analytics::failures_by(&app, &query, &["category", "wallet", "provider"], None).await
        {
            Ok(a) => a,
            Err(e) => return failed(e.message),
        };
    let (period, rows) = grouped(&answers[0], "category");
    let (_, by_wallet) = grouped(&answers[1], "wallet");
    let (_, by_provider) = grouped(&answers[2], "provider");
    if let Some(t) = wanted(&q) {
        return match t {
            "failures" => csv("failure-reasons", &rows),
            "by_wallet" => csv("failures-by-wallet", &by_wallet),
            "by_provider" => csv("failures-by-provider", &by_provider),
            other => no_such_table(other),
        };
    }
    page(
        StatusCode::OK,
        FailuresT {
            nav: nav(&s),
            here: Here::new("/dashboard/failures", &q),
            period,
            rows,
            by_wallet,
            by_provider,
        },
    )
}
