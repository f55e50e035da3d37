//! Refunds: counts and amounts by stage, and the shop's refunds pending at the provider,
//! oldest first.

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

/// How many of a shop's newest payments the pending refunds are looked for in.
const SCAN: usize = 1_000;

table_row! {
    pub struct StageRow {
        stage: String,
        count: String,
        amount: String,
    }
}

pub struct PendingRow {
    refund: String,
    payment: String,
    amount: String,
    waiting_for: String,
    waited_ms: i64,
}

impl Row for PendingRow {
    const COLUMNS: &'static [&'static str] = &[
        "refund",
        "payment",
        "amount",
        "waiting_for",
        "waited_seconds",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.refund.clone(),
            self.payment.clone(),
            self.amount.clone(),
            self.waiting_for.clone(),
            (self.waited_ms / 1000).to_string(),
        ]
    }
}

#[derive(Template)]
#[template(path = "refunds.html")]
struct RefundsT {
    nav: Option<Nav>,
    here: Here,
    unread: bool,
    period: String,
    stages: Vec<StageRow>,
    pending: Vec<PendingRow>,
}

pub(crate) async fn refunds(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let query = match analytics::parse(&app, &s.principal, &q, None) {
        Ok(q) => q,
        Err(e) => return failed(e.message),
    };
    let figures: Value = match analytics::refunds(&app, &query).await {
        Ok(r) => serde_json::from_str(&r.body).unwrap_or_default(),
        Err(e) => return failed(e.message),
    };
    let stages: Vec<StageRow> = ["requested", "succeeded", "failed", "reversed"]
        .iter()
        .map(|st| StageRow {
            stage: st.to_string(),
            count: text(&figures["refunds"][st]["count"]),
            amount: money(&figures["refunds"][st]["amount"]),
        })
        .collect();
    // A merchant's refunds waiting for the provider, among its newest payments: the listing
    // shows which have money reserved by a refund under way, and only those are read.
    let mut pending = Vec::new();
    let mut unread = false;
    if let Some(m) = s.merchant() {
        let filters = walletpay_app::payments::ListParams::default();
        let (listed, more) = match super::newest_payments(&app, m, &filters, SCAN).await {
            Ok(x) => x,
            Err(e) => return failed(e),
        };
        unread = more;
        let now = app.clock.now();
        // Only a paid payment has refunds; of those, the ones with money reserved by a
        // refund under way (what is neither refunded nor refundable).
        let reserving = listed.iter().filter(|p| {
            let paid = p["status"]
                .as_str()
                .and_then(walletpay_domain::PaymentStatus::parse)
                .is_some_and(|s| s.is_paid());
            let n = |k: &str| p[k].as_i64().unwrap_or(0);
            paid && n("amount") - n("amount_refunded") - n("amount_refundable") > 0
        });
        for p in reserving {
            let Some(id) = p["id"]
                .as_str()
                .and_then(walletpay_domain::PaymentId::parse)
            else {
                continue;
            };
            let payment = match app.store.get_payment(&id).await {
                Ok(Some(p)) => p,
                Ok(None) => continue,
                Err(e) => return failed(e),
            };
            for line in payment
                .refunds
                .iter()
                .filter(|l| l.state == walletpay_domain::RefundState::Pending)
            {
                let waited = now.millis() - line.created_at.millis();
                pending.push(PendingRow {
                    refund: line.refund_id.clone(),
                    payment: payment.id.to_string(),
                    amount: walletpay_domain::Money {
                        minor: line.amount_minor,
                        currency: payment.amount.currency,
                    }
                    .to_string(),
                    waiting_for: age(waited),
                    waited_ms: waited,
                });
            }
        }
        pending.sort_by_key(|p| std::cmp::Reverse(p.waited_ms));
    }
    if let Some(t) = wanted(&q) {
        return match t {
            "stages" => csv("refunds-by-stage", &stages),
            "pending" => csv("refunds-pending", &pending),
            other => no_such_table(other),
        };
    }
    let period = period_of(&figures["period"]);
    page(
        StatusCode::OK,
        RefundsT {
            nav: nav(&s),
            here: Here::new("/dashboard/refunds", &q),
            unread,
            period,
            stages,
            pending,
        },
    )
}
