//! Refunds: counts and amounts by stage, and the shop's refunds pending at the provider,
//! oldest first.

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

pub struct StageRow {
    stage: String,
    count: String,
    amount: String,
}

pub struct PendingRow {
    refund: String,
    payment: String,
    amount: String,
    age: String,
    waited_ms: i64,
}

#[derive(Template)]
#[template(path = "refunds.html")]
struct RefundsT {
    nav: Option<Nav>,
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
    let stages = ["requested", "succeeded", "failed", "reversed"]
        .iter()
        .map(|st| StageRow {
            stage: st.to_string(),
            count: text(&figures["refunds"][st]["count"]),
            amount: money(&figures["refunds"][st]["amount"]),
        })
        .collect();
    // A merchant's refunds waiting for the provider, among its latest payments.
    let mut pending = Vec::new();
    if let Some(m) = s.merchant() {
        let params = walletpay_app::payments::ListParams {
            status: None,
            wallet: None,
            country: None,
            created_after: None,
            created_before: None,
            limit: Some("100"),
            cursor: None,
        };
        let listed: Value =
            match walletpay_app::payments::list_payments(&app, m, &params, None).await {
                Ok(r) => serde_json::from_str(&r.body).unwrap_or_default(),
                Err(e) => return failed(e.message),
            };
        let now = app.clock.now();
        for p in listed["data"].as_array().into_iter().flatten() {
            let Some(id) = p["id"]
                .as_str()
                .and_then(walletpay_domain::PaymentId::parse)
            else {
                continue;
            };
            let Ok(Some(payment)) = app.store.get_payment(&id).await else {
                continue;
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
                    age: age(waited),
                    waited_ms: waited,
                });
            }
        }
        pending.sort_by_key(|p| std::cmp::Reverse(p.waited_ms));
    }
    let period = period_of(&figures["period"]);
    page(
        StatusCode::OK,
        RefundsT {
            nav: nav(&s),
            period,
            stages,
            pending,
        },
    )
}
