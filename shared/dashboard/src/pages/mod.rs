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

/// The analytics API's answer for this session (its own scope), as JSON.
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
        "timeseries" => {
            analytics::timeseries(app, &query, q.get("metric").map(String::as_str)).await
        }
        _ => analytics::failures(app, &query, Some("category"), None).await,
    }
    .map_err(|e| failed(e.message))?;
    serde_json::from_str(&reply.body).map_err(failed)
}
