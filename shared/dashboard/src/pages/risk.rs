//! Risk: the period's decisions, the rules in force for a market, the block and allow lists,
//! and the backtest's strictness/success-rate curve (drawn, and as a table).

use crate::export::*;
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

table_row! {
    pub struct RuleRow {
        id: String,
        kind: String,
        action: String,
        mode: String,
    }
}

table_row! {
    /// How many payments risk control let through, held or stopped in the period.
    pub struct DecisionRow {
        decision: &'static str,
        payments: String,
    }
}

table_row! {
    /// An entry of the block or allow list in the session's scope.
    pub struct EntryRow {
        list: &'static str,
        kind: String,
        value: String,
        added_at: String,
        added_by: String,
    }
}

table_row! {
    /// One threshold of the backtest: what it would still pay and what it would stop.
    pub struct PointRow {
        threshold: String,
        good_paid_pct: String,
        fraud_stopped_pct: String,
    }
}

/// How many entries of each list the page shows (the API pages through all).
const ENTRIES: &str = "100";

#[derive(Template)]
#[template(path = "risk.html")]
struct RiskT {
    nav: Option<Nav>,
    here: Here,
    country: String,
    notice: Option<String>,
    review_at: String,
    block_at: String,
    rules: Vec<RuleRow>,
    decisions: Vec<DecisionRow>,
    entries: Vec<EntryRow>,
    more_entries: bool,
    assessed: String,
    curve: String,
    points: Vec<PointRow>,
}

/// The period's risk decisions (the analytics summary's) in the session's scope.
async fn decision_rows(
    app: &App,
    s: &Signed,
    q: &HashMap<String, String>,
) -> Result<Vec<DecisionRow>, Response> {
    let sum = super::analytics_json(app, s, q, "summary").await?;
    let risk = &sum["current"]["risk"];
    Ok([
        ("allowed", "allow"),
        ("held for review", "review"),
        ("blocked", "block"),
        ("stopped (blocked or declined in review)", "stopped"),
    ]
    .into_iter()
    .map(|(decision, key)| DecisionRow {
        decision,
        payments: text(&risk[key]),
    })
    .collect())
}

/// The first entries of the block and allow lists in the session's scope; and whether
/// either has more.
async fn entry_rows(app: &App, s: &Signed) -> Result<(Vec<EntryRow>, bool), Response> {
    let mut rows = Vec::new();
    let mut more = false;
    for list in ["block", "allow"] {
        let reply = walletpay_app::risk::api::list_entries(
            app,
            &s.principal,
            None,
            list,
            None,
            Some(ENTRIES),
        )
        .await
        .map_err(|e| failed(e.message))?;
        let v: Value = serde_json::from_str(&reply.body).map_err(failed)?;
        more |= !v["next_cursor"].is_null();
        rows.extend(
            v["data"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| EntryRow {
                    list,
                    kind: text(&e["kind"]),
                    value: text(&e["value"]),
                    added_at: text(&e["added_at"]),
                    added_by: text(&e["added_by"]),
                }),
        );
    }
    Ok((rows, more))
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
    let rules: Vec<RuleRow> = effective["rules"]
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
    let (mut notice, mut assessed, mut curve, mut points) = (
        None,
        String::new(),
        json!({"x": [], "series": [], "time": false}),
        Vec::new(),
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
                let mut curve_points = b["curve"].as_array().cloned().unwrap_or_default();
                curve_points.sort_by_key(|p| p["threshold"].as_u64().unwrap_or(0));
                let pct = |v: &Value| json!((v.as_f64().unwrap_or(0.0) * 10_000.0).round() / 100.0);
                assessed = text(&b["assessed"]);
                curve = json!({
                    "time": false,
                    "x": curve_points.iter().map(|p| p["threshold"].clone()).collect::<Vec<_>>(),
                    "series": [
                        {"label": "good payments paid (%)", "values": curve_points.iter().map(|p| pct(&p["success_rate"])).collect::<Vec<_>>()},
                        {"label": "fraud stopped (%)", "values": curve_points.iter().map(|p| pct(&p["fraud_stopped"])).collect::<Vec<_>>()},
                    ],
                });
                points = curve_points
                    .iter()
                    .map(|p| PointRow {
                        threshold: text(&p["threshold"]),
                        good_paid_pct: text(&pct(&p["success_rate"])),
                        fraud_stopped_pct: text(&pct(&p["fraud_stopped"])),
                    })
                    .collect();
            }
            Err(e) => {
                if wanted(&q) == Some("curve_points") {
                    return failed(e.message);
                }
                notice = Some(e.message)
            }
        }
    } else {
        notice = Some(
            "The platform's policy; a shop's backtest is its own (sign in with its key).".into(),
        );
    }
    let decisions = match decision_rows(&app, &s, &q).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let (entries, more_entries) = match entry_rows(&app, &s).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    if let Some(t) = wanted(&q) {
        return match t {
            "rules" => csv(&format!("risk-rules-{}", safe_name(&country)), &rules),
            "decisions" => csv("risk-decisions", &decisions),
            "entries" => csv("risk-lists", &entries),
            "curve_points" => csv("risk-backtest", &points),
            other => no_such_table(other),
        };
    }
    page(
        StatusCode::OK,
        RiskT {
            nav: nav(&s),
            here: Here::new("/dashboard/risk", &q),
            decisions,
            entries,
            more_entries,
            points,
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
