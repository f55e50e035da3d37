//! The overview: the period's volume, success rate, conversion, average order and refunds,
//! each against the period before, and attempts and successes over time (uPlot).

use super::analytics_json;
use crate::format::*;
use crate::session::Signed;
use crate::{nav, page, Nav};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::HashMap;
use walletpay_app::App;

pub struct Card {
    key: &'static str,
    label: &'static str,
    value: String,
    delta: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewT {
    nav: Option<Nav>,
    period: String,
    cards: Vec<Card>,
    series: String,
}

pub(crate) async fn overview(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let sum = match analytics_json(&app, &s, &q, "summary").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut q2 = q.clone();
    let mut series = Vec::new();
    let mut x = Vec::new();
    for metric in ["attempts", "successes"] {
        q2.insert("metric".into(), metric.into());
        let ts = match analytics_json(&app, &s, &q2, "timeseries").await {
            Ok(v) => v,
            Err(r) => return r,
        };
        let points = ts["series"]["all"].as_array().cloned().unwrap_or_default();
        if x.is_empty() {
            x = points
                .iter()
                .map(|p| {
                    serde_json::from_value::<walletpay_domain::Timestamp>(p["t"].clone())
                        .map(|t| t.millis() / 1000)
                        .unwrap_or(0)
                })
                .collect();
        }
        let values: Vec<Value> = points.iter().map(|p| p["value"].clone()).collect();
        series.push(json!({"label": metric, "values": values}));
    }
    let cur = &sum["current"];
    let ch = &sum["change_bp"];
    let cards = vec![
        Card {
            key: "attempts",
            label: "Attempts",
            value: cur["attempts"].to_string(),
            delta: delta(&ch["attempts"]),
        },
        Card {
            key: "successes",
            label: "Successes",
            value: cur["successes"].to_string(),
            delta: delta(&ch["successes"]),
        },
        Card {
            key: "success_rate",
            label: "Success rate",
            value: pct(&cur["success_rate_bp"]),
            delta: delta(&ch["success_rate_bp"]),
        },
        Card {
            key: "conversion",
            label: "Conversion",
            value: pct(&cur["conversion_bp"]),
            delta: delta(&ch["conversion_bp"]),
        },
        Card {
            key: "volume",
            label: "Volume",
            value: money(&cur["volume"]),
            delta: String::new(),
        },
        Card {
            key: "average_order",
            label: "Average order",
            value: money(&cur["average_order"]),
            delta: String::new(),
        },
        Card {
            key: "refunds",
            label: "Refunds requested",
            value: cur["refunds"]["requested"]["count"].to_string(),
            delta: money(&cur["refunds"]["requested"]["amount"]),
        },
    ];
    let period = period_of(&sum["period"]);
    page(
        StatusCode::OK,
        OverviewT {
            nav: nav(&s),
            period,
            cards,
            series: json!({"x": x, "series": series}).to_string(),
        },
    )
}
