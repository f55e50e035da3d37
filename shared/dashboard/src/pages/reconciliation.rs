//! Reconciliation: the open discrepancies per provider, resolved one or many with a note;
//! for an operator also the last 30 days' runs and the weekly roll-ups of the last four ISO
//! weeks (days reconciled, discrepancies opened and resolved, our money against the
//! provider's).

use crate::export::*;
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

table_row! {
    pub struct DiscrepancyRow {
        id: String,
        day: String,
        class: String,
        ours: String,
        theirs: String,
        detail: String,
    }
}

table_row! {
    /// One day's run.
    pub struct RunRow {
        day: String,
        state: String,
        attempt: String,
        rows: String,
        entries: String,
        matched: String,
        discrepancies: String,
        carried: String,
        finished: String,
        reason: String,
    }
}

table_row! {
    /// One ISO week's roll-up.
    pub struct WeekRow {
        week: String,
        days_reconciled: String,
        days_not_reconciled: String,
        opened: String,
        resolved: String,
        still_open: String,
        open_from_before: String,
        our_charges: String,
        provider_charges: String,
        expected_payout: String,
        provider_payouts: String,
    }
}

/// How many weeks the roll-ups go back, this one included.
const WEEKS: i32 = 4;

/// How many pages of 200 open discrepancies an export reads at most.
const DISCREPANCY_PAGES: usize = 50;

#[derive(Template)]
#[template(path = "reconciliation.html")]
struct ReconciliationT {
    nav: Option<Nav>,
    here: Here,
    provider: String,
    providers: Vec<&'static str>,
    notice: Option<String>,
    csrf: String,
    operator: bool,
    rows: Vec<DiscrepancyRow>,
    more: bool,
    runs: Vec<RunRow>,
    weeks: Vec<WeekRow>,
}

/// The last 30 days' runs of `provider`, newest first.
async fn run_rows(app: &App, s: &Signed, provider: &str) -> Result<Vec<RunRow>, String> {
    let reply =
        walletpay_app::reconcile::api::list_runs(app, &s.principal, Some(provider), None, None)
            .await
            .map_err(|e| e.message)?;
    let v: Value = serde_json::from_str(&reply.body).map_err(|e| e.to_string())?;
    let mut rows: Vec<RunRow> = v["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let sum = &r["summary"];
            RunRow {
                day: text(&r["day"]),
                state: text(&r["state"]),
                attempt: text(&r["attempt"]),
                rows: text(&sum["rows"]),
                entries: text(&sum["entries"]),
                matched: text(&sum["counts"]["matched"]),
                discrepancies: text(&sum["discrepancies"]),
                carried: text(&sum["carried"]),
                finished: text(&r["finished_at"]),
                reason: text(&r["reason"]),
            }
        })
        .collect();
    rows.sort_by(|a, b| b.day.cmp(&a.day));
    Ok(rows)
}

/// `field` of a week's totals, per currency.
fn week_money(totals: &Value, field: &str) -> String {
    let per: serde_json::Map<String, Value> = totals
        .as_object()
        .into_iter()
        .flatten()
        .map(|(cur, t)| (cur.clone(), t[field].clone()))
        .collect();
    money(&Value::Object(per))
}

/// The roll-ups of the last [`WEEKS`] ISO weeks of `provider`, this one first.
async fn week_rows(app: &App, s: &Signed, provider: &str) -> Result<Vec<WeekRow>, String> {
    let Some(p) = walletpay_domain::Provider::parse(provider) else {
        return Ok(Vec::new());
    };
    let today = walletpay_reconcile::Date::of(app.clock.now(), app.settings.reconcile.offset(p));
    let mut rows = Vec::new();
    for back in 0..WEEKS {
        let week = today.plus_days(-7 * back).iso_week().to_string();
        let reply = walletpay_app::reconcile::api::week(app, &s.principal, provider, &week)
            .await
            .map_err(|e| e.message)?;
        let w: Value = serde_json::from_str(&reply.body).map_err(|e| e.to_string())?;
        // Of the days so far (today's included, whose run may come early).
        let days = w["days"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| {
                d["date"]
                    .as_str()
                    .and_then(walletpay_reconcile::Date::parse)
                    .is_some_and(|d| d <= today)
            })
            .count();
        let done = w["days"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["run"]["state"] == "done")
            .count();
        let d = &w["discrepancies"];
        rows.push(WeekRow {
            week,
            days_reconciled: format!("{done} of {days}"),
            days_not_reconciled: w["days_not_reconciled"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect::<Vec<_>>()
                .join(" "),
            opened: text(&d["opened"]),
            resolved: text(&d["resolved"]),
            still_open: text(&d["still_open"]),
            open_from_before: text(&d["carried_over"]),
            our_charges: week_money(&w["totals"], "our_charges"),
            provider_charges: week_money(&w["totals"], "provider_charges"),
            expected_payout: week_money(&w["totals"], "expected_payout"),
            provider_payouts: week_money(&w["totals"], "provider_payouts"),
        });
    }
    Ok(rows)
}

pub(crate) async fn reconciliation_page(
    app: &App,
    s: &Signed,
    provider: &str,
    notice: Option<String>,
    q: &HashMap<String, String>,
) -> Response {
    // The page shows the first 200 open; an export reads them all (up to DISCREPANCY_PAGES
    // pages of 200).
    let pages = if wanted(q) == Some("discrepancies") {
        DISCREPANCY_PAGES
    } else {
        1
    };
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    let mut more = false;
    for _ in 0..pages {
        let params = walletpay_app::reconcile::api::ListParams {
            status: Some("open"),
            provider: Some(provider),
            class: None,
            merchant: None,
            limit: Some("200"),
            cursor: cursor.as_deref(),
        };
        let page: Value =
            match walletpay_app::reconcile::api::list_discrepancies(app, &s.principal, &params)
                .await
            {
                Ok(r) => match serde_json::from_str(&r.body) {
                    Ok(v) => v,
                    Err(e) => return failed(e),
                },
                Err(e) => return failed(e.message),
            };
        if let Some(rows) = page["data"].as_array() {
            listed.extend(rows.iter().cloned());
        }
        cursor = page["next_cursor"].as_str().map(str::to_string);
        more = cursor.is_some();
        if !more {
            break;
        }
    }
    let amount = |d: &Value, field: &str| match (d["currency"].as_str(), d[field].as_i64()) {
        (Some(c), Some(n)) => money(&json!({ c: n })),
        _ => String::new(),
    };
    let rows: Vec<DiscrepancyRow> = listed
        .iter()
        .map(|d| DiscrepancyRow {
            id: text(&d["id"]),
            day: text(&d["day"]),
            class: text(&d["class"]),
            ours: amount(d, "our_amount"),
            theirs: amount(d, "provider_amount"),
            detail: text(&d["detail"]),
        })
        .collect();
    // Runs and the weekly roll-ups are the platform's (an operator's view).
    let operator = s.merchant().is_none();
    let (runs, weeks) = if operator {
        match (
            run_rows(app, s, provider).await,
            week_rows(app, s, provider).await,
        ) {
            (Ok(r), Ok(w)) => (r, w),
            (Err(e), _) | (_, Err(e)) => return failed(e),
        }
    } else {
        (Vec::new(), Vec::new())
    };
    if let Some(t) = wanted(q) {
        return match t {
            "discrepancies" => csv(&format!("discrepancies-{provider}"), &rows),
            "runs" if operator => csv(&format!("runs-{provider}"), &runs),
            "weeks" if operator => csv(&format!("weeks-{provider}"), &weeks),
            other => no_such_table(other),
        };
    }
    let mut providers: Vec<&'static str> = walletpay_domain::catalog::CATALOG
        .iter()
        .flat_map(|w| w.providers.iter())
        .filter(|p| app.adapters.get(**p).is_some())
        .map(|p| p.as_str())
        .collect();
    providers.sort();
    providers.dedup();
    page(
        StatusCode::OK,
        ReconciliationT {
            nav: nav(s),
            here: Here::new("/dashboard/reconciliation", q),
            provider: provider.to_string(),
            providers,
            notice,
            csrf: s.session.csrf.clone(),
            operator,
            rows,
            more,
            runs,
            weeks,
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
    reconciliation_page(&app, &s, &provider, None, &q).await
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
            Ok(r) => {
                let v: Value = serde_json::from_str(&r.body).unwrap_or_default();
                let n = |k: &str| v[k].as_array().map_or(0, Vec::len);
                let mut said = format!("Resolved {} as {}.", n("resolved"), one("resolution"));
                if n("already_resolved") > 0 {
                    said.push_str(&format!(
                        " {} were resolved already.",
                        n("already_resolved")
                    ));
                }
                if n("not_found") > 0 {
                    said.push_str(&format!(" {} were not found.", n("not_found")));
                }
                said
            }
            Err(e) => e.message,
        }
    };
    let back: HashMap<String, String> = [("provider".to_string(), provider.clone())].into();
    reconciliation_page(&app, &s, &provider, Some(notice), &back).await
}
