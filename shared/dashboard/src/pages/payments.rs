//! Payments: one opened by id with its timeline (from its history), and a shop's search by
//! status, wallet, period and merchant reference.

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
use walletpay_app::App;

table_row! {
    pub struct TimelineRow {
        seq: u64,
        at: String,
        event: String,
        from: String,
        to: String,
        source: String,
    }
}

pub struct PaymentV {
    id: String,
    status: String,
    amount: String,
    wallet: String,
    provider: String,
    reference: String,
    timeline: Vec<TimelineRow>,
}

#[derive(Template)]
#[template(path = "payments.html")]
struct PaymentsT {
    nav: Option<Nav>,
    here: Here,
    q: String,
    notice: Option<String>,
    payment: Option<PaymentV>,
    statuses: Vec<&'static str>,
    status: String,
    wallet: String,
    reference: String,
    created_after: String,
    created_before: String,
    found: Vec<FoundRow>,
}

table_row! {
    pub struct FoundRow {
        id: String,
        status: String,
        amount: String,
        wallet: String,
        reference: String,
        created: String,
    }
}

/// What a search found: at most [`SHOWN`] rows, whether there were more, and whether a
/// search by reference stopped reading before the oldest payment.
pub(crate) struct Found {
    rows: Vec<FoundRow>,
    more: bool,
    scan_stopped: bool,
}

/// How many of a shop's newest payments (those its status, wallet and period allow) a
/// search by merchant reference reads at most, and how many matches a search shows.
const SCAN: usize = 1_000;
const SHOWN: usize = 100;

/// A merchant's payments by status, wallet and period, newest first, and of those the ones
/// whose merchant reference contains `reference` (read page by page, the newest [`SCAN`] at
/// most).
pub(crate) async fn search(
    app: &App,
    s: &Signed,
    q: &HashMap<String, String>,
) -> Result<Found, String> {
    let Some(m) = s.merchant() else {
        return Err(
            "Searching is a shop's: sign in with its key (an operator opens a payment by id)."
                .into(),
        );
    };
    let get = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let filters = walletpay_app::payments::ListParams {
        status: get("status"),
        wallet: get("wallet"),
        created_after: get("created_after"),
        created_before: get("created_before"),
        ..Default::default()
    };
    let reference = get("reference");
    let scan = if reference.is_some() { SCAN } else { SHOWN };
    let (listed, mut more) = super::newest_payments(app, m, &filters, scan).await?;
    let truncated_scan = more && reference.is_some();
    let mut found: Vec<FoundRow> = listed
        .iter()
        .filter(|p| {
            reference.is_none_or(|r| {
                p["merchant_reference"]
                    .as_str()
                    .is_some_and(|m| m.contains(r))
            })
        })
        .map(|p| FoundRow {
            id: text(&p["id"]),
            status: text(&p["status"]),
            amount: money(&json!({ text(&p["currency"]): p["amount"] })),
            wallet: text(&p["wallet"]),
            reference: text(&p["merchant_reference"]),
            created: text(&p["created_at"]),
        })
        .collect();
    if found.len() > SHOWN {
        found.truncate(SHOWN);
        more = true;
    }
    Ok(Found {
        rows: found,
        more,
        scan_stopped: truncated_scan,
    })
}

pub(crate) async fn payments(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let query = q.get("q").map(|v| v.trim().to_string()).unwrap_or_default();
    let field = |k: &str| q.get(k).cloned().unwrap_or_default();
    let mut t = PaymentsT {
        nav: nav(&s),
        here: Here::new("/dashboard/payments", &q),
        q: query.clone(),
        notice: None,
        payment: None,
        statuses: walletpay_domain::PaymentStatus::ALL
            .iter()
            .map(|s| s.as_str())
            .collect(),
        status: field("status"),
        wallet: field("wallet"),
        reference: field("reference"),
        created_after: field("created_after"),
        created_before: field("created_before"),
        found: Vec::new(),
    };
    if q.contains_key("list") {
        match search(&app, &s, &q).await {
            Ok(f) if f.rows.is_empty() && !f.scan_stopped => {
                t.notice = Some("No payment matches.".into())
            }
            Ok(f) => {
                t.notice = match (f.scan_stopped, f.more) {
                    (true, _) => Some(format!(
                        "Matched among the newest {SCAN} payments only: narrow the period to \
                         search older ones."
                    )),
                    (false, true) => Some(format!(
                        "The newest {SHOWN} matches: narrow the search to see the others."
                    )),
                    (false, false) => None,
                };
                t.found = f.rows;
            }
            Err(why) => {
                if wanted(&q).is_some() {
                    return failed(why);
                }
                t.notice = Some(why);
            }
        }
        if wanted(&q).is_some() {
            return export(&q, &t);
        }
        return page(StatusCode::OK, t);
    }
    if query.is_empty() {
        if wanted(&q).is_some() {
            return export(&q, &t);
        }
        return page(StatusCode::OK, t);
    }
    // A merchant opens its own payments only; an operator any.
    let found = match walletpay_domain::PaymentId::parse(&query) {
        Some(id) => match app.store.get_payment(&id).await {
            Ok(p) => p.filter(|p| s.merchant().is_none_or(|m| *m == p.merchant_id)),
            Err(e) => return failed(e),
        },
        None => None,
    };
    let Some(p) = found else {
        t.notice = Some("No payment of yours has that id.".into());
        return page(StatusCode::NOT_FOUND, t);
    };
    let history = match app.store.payment_history(&p.id).await {
        Ok(h) => h,
        Err(e) => return failed(e),
    };
    t.payment = Some(PaymentV {
        id: p.id.to_string(),
        status: p.status.as_str().to_string(),
        amount: p.amount.to_string(),
        wallet: format!("{} {}", p.country, p.wallet),
        provider: p.provider.as_str().to_string(),
        reference: p.merchant_reference.clone(),
        timeline: history
            .iter()
            .map(|h| TimelineRow {
                seq: h.seq,
                at: serde_json::to_value(h.at)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                event: h.event.clone(),
                from: h.from.map(|f| f.as_str().to_string()).unwrap_or_default(),
                to: h.to.as_str().to_string(),
                source: h.source.clone(),
            })
            .collect(),
    });
    if wanted(&q).is_some() {
        return export(&q, &t);
    }
    page(StatusCode::OK, t)
}

/// The page's table `?export=` names: the search's results or the payment's timeline.
fn export(q: &HashMap<String, String>, t: &PaymentsT) -> Response {
    match (wanted(q).unwrap_or_default(), &t.payment) {
        ("found", _) => csv("payments", &t.found),
        ("timeline", Some(p)) => csv(&format!("timeline-{}", p.id), &p.timeline),
        (other, _) => no_such_table(other),
    }
}
