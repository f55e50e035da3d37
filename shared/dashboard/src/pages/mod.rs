//! The back office's pages, one module each. Every page reads through the same functions
//! as the API, in the signed-in session's own scope.

pub(crate) mod failures;
pub(crate) mod overview;
pub(crate) mod payments;
pub(crate) mod providers;
pub(crate) mod reconciliation;
pub(crate) mod refunds;
pub(crate) mod reviews;
pub(crate) mod risk;
pub(crate) mod wallets;

use crate::failed;
use crate::session::Signed;
use axum::response::Response;
use serde_json::Value;
use std::collections::HashMap;
use walletpay_app::analytics::api as analytics;
use walletpay_app::App;

/// The analytics API's summary or timeseries for this session (its own scope), as JSON.
pub(crate) async fn analytics_json(
    app: &App,
    s: &Signed,
    q: &HashMap<String, String>,
    what: &str,
) -> Result<Value, Response> {
    let interval = (what == "timeseries").then_some("hour");
    let query = analytics::parse(app, &s.principal, q, interval).map_err(|e| failed(e.message))?;
    let reply = match what {
        "summary" => analytics::summary(app, &query).await,
        _ => analytics::timeseries(app, &query, q.get("metric").map(String::as_str)).await,
    }
    .map_err(|e| failed(e.message))?;
    serde_json::from_str(&reply.body).map_err(failed)
}

/// How many pages of the API's listing one page of the back office reads at most (a
/// filtered listing may answer a page with few matches and a cursor).
pub(crate) const LISTING_CALLS: usize = 10;

/// A shop's newest payments that `filters` allow (its `limit` and `cursor` are ignored),
/// read from the API's listing a page of 100 at a time: `at_most` of them, in at most
/// [`LISTING_CALLS`] pages; and whether older ones were left unread.
pub(crate) async fn newest_payments(
    app: &App,
    merchant: &walletpay_domain::MerchantId,
    filters: &walletpay_app::payments::ListParams<'_>,
    at_most: usize,
) -> Result<(Vec<Value>, bool), String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    let mut calls = 0;
    loop {
        let params = walletpay_app::payments::ListParams {
            status: filters.status,
            wallet: filters.wallet,
            country: filters.country,
            created_after: filters.created_after,
            created_before: filters.created_before,
            limit: Some("100"),
            cursor: cursor.as_deref(),
        };
        let reply = walletpay_app::payments::list_payments(app, merchant, &params, None)
            .await
            .map_err(|e| e.message)?;
        let mut listed: Value = serde_json::from_str(&reply.body).map_err(|e| e.to_string())?;
        if let Value::Array(rows) = listed["data"].take() {
            out.extend(rows);
        }
        cursor = listed["next_cursor"].as_str().map(str::to_string);
        calls += 1;
        if out.len() >= at_most {
            let more = cursor.is_some() || out.len() > at_most;
            out.truncate(at_most);
            return Ok((out, more));
        }
        match cursor {
            None => return Ok((out, false)),
            Some(_) if calls == LISTING_CALLS => return Ok((out, true)),
            Some(_) => {}
        }
    }
}
