//! Risk: the rules in force for a market and the backtest's strictness/success-rate curve.

use crate::format::*;
use crate::session::Signed;
use crate::{failed, nav, page, Nav};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::HashMap;
use walletpay_app::App;

pub struct RuleRow {
    id: String,
    kind: String,
    action: String,
    mode: String,
}

#[derive(Template)]
#[template(path = "risk.html")]
struct RiskT {
    nav: Option<Nav>,
    country: String,
    notice: Option<String>,
    review_at: String,
    block_at: String,
    rules: Vec<RuleRow>,
    assessed: String,
    curve: String,
}

pub(crate) async fn risk(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let country = q.get("country").cloned().unwrap_or_else(|| "ID".into());
    let merchant = s.merchant().map(|m| m.to_string());
    let config: Value = match walletpay_app::risk::api::get_config(&app, &s.principal, None).await {
        Ok(r) => serde_json::from_str(&r.body).unwrap_or_default(),
        Err(e) => return failed(e.message),
    };
    let effective = &config["effective"][&country];
    let rules = effective["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| RuleRow {
            id: text(&r["id"]),
            kind: text(&r["kind"]),
            action: text(&r["action"]["type"]),
            mode: match &r["mode"] {
                Value::Null => "active".into(),
                v => text(v),
            },
        })
        .collect();
    // The backtest's curve over the last 30 days (a merchant's own payments).
    let (mut notice, mut assessed, mut curve) = (
        None,
        String::new(),
        json!({"x": [], "series": [], "time": false}),
    );
    if merchant.is_some() {
        let now = app.clock.now();
        let body = json!({
            "from": walletpay_domain::Timestamp(now.millis() - 30 * 86_400_000),
            "to": now,
        });
        match walletpay_app::risk::api::backtest(
            &app,
            &s.principal,
            None,
            body.to_string().as_bytes(),
        )
        .await
        {
            Ok(r) => {
                let b: Value = serde_json::from_str(&r.body).unwrap_or_default();
                // uPlot draws along an ascending x: thresholds from 0 up.
                let mut points = b["curve"].as_array().cloned().unwrap_or_default();
                points.sort_by_key(|p| p["threshold"].as_u64().unwrap_or(0));
                let pct = |v: &Value| json!((v.as_f64().unwrap_or(0.0) * 10_000.0).round() / 100.0);
                assessed = text(&b["assessed"]);
                curve = json!({
                    "time": false,
                    "x": points.iter().map(|p| p["threshold"].clone()).collect::<Vec<_>>(),
                    "series": [
                        {"label": "good payments paid (%)", "values": points.iter().map(|p| pct(&p["success_rate"])).collect::<Vec<_>>()},
                        {"label": "fraud stopped (%)", "values": points.iter().map(|p| pct(&p["fraud_stopped"])).collect::<Vec<_>>()},
                    ],
                });
            }
            Err(e) => notice = Some(e.message),
        }
    } else {
        notice = Some(
            "The platform's policy; a shop's backtest is its own (sign in with its key).".into(),
        );
    }
    page(
        StatusCode::OK,
        RiskT {
            nav: nav(&s),
            country,
            notice,
            review_at: text(&effective["strictness"]["review_at"]),
            block_at: text(&effective["strictness"]["block_at"]),
            rules,
            assessed,
            curve: curve.to_string(),
        },
    )
}
