//! The review queue: a shop's payments held for review, approved or declined from the page.

use crate::export::*;
use crate::format::*;
use crate::session::{self, Signed};
use crate::{failed, forbidden, nav, page, Nav};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use walletpay_app::App;

/// How many held payments the queue shows (the newest).
const HELD: usize = 500;

table_row! {
    pub struct ReviewRow {
        id: String,
        amount: String,
        wallet: String,
        score: String,
        reasons: String,
    }
}

#[derive(Template)]
#[template(path = "reviews.html")]
struct ReviewsT {
    nav: Option<Nav>,
    here: Here,
    notice: Option<String>,
    csrf: String,
    rows: Vec<ReviewRow>,
}

pub(crate) async fn review_rows(app: &App, s: &Signed) -> Result<Vec<ReviewRow>, Response> {
    let Some(m) = s.merchant() else {
        return Ok(Vec::new());
    };
    let filters = walletpay_app::payments::ListParams {
        status: Some("requires_review"),
        ..Default::default()
    };
    // A held payment is decided or declined within the review window (a day at most), so
    // the newest pages of the listing hold every one still waiting.
    let (held, _) = super::newest_payments(app, m, &filters, HELD)
        .await
        .map_err(failed)?;
    Ok(held
        .iter()
        .map(|p| ReviewRow {
            id: p["id"].as_str().unwrap_or("").to_string(),
            amount: money(&json!({ text(&p["currency"]): p["amount"] })),
            wallet: p["wallet"].as_str().unwrap_or("").to_string(),
            score: p["risk"]["score"].to_string(),
            reasons: p["risk"]["reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["code"].as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect())
}

pub(crate) async fn reviews(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let notice = s
        .merchant()
        .is_none()
        .then(|| "Reviews are each shop's: sign in with its key to decide them.".to_string());
    match (review_rows(&app, &s).await, wanted(&q)) {
        (Ok(rows), Some("reviews")) => csv("reviews", &rows),
        (Ok(_), Some(other)) => no_such_table(other),
        (Ok(rows), None) => page(
            StatusCode::OK,
            ReviewsT {
                nav: nav(&s),
                here: Here::new("/dashboard/reviews", &q),
                notice,
                csrf: s.session.csrf.clone(),
                rows,
            },
        ),
        (Err(r), _) => r,
    }
}

#[derive(Deserialize)]
pub(crate) struct DecideForm {
    csrf: String,
    decision: String,
}

pub(crate) async fn decide(
    State(app): State<App>,
    s: Signed,
    Path(id): Path<String>,
    form: Result<Form<DecideForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return forbidden();
    };
    if !session::csrf_ok(&s, &f.csrf) {
        return forbidden();
    }
    let Some(m) = s.merchant().cloned() else {
        return forbidden();
    };
    let body = json!({"decision": f.decision}).to_string();
    let notice = match walletpay_app::payments::review_payment(
        &app,
        &m,
        &s.session.actor,
        &id,
        body.as_bytes(),
        None,
    )
    .await
    {
        Ok(_) => format!("{id}: {}d.", f.decision),
        Err(e) => format!("{id}: {}", e.message),
    };
    match review_rows(&app, &s).await {
        Ok(rows) => page(
            StatusCode::OK,
            ReviewsT {
                nav: nav(&s),
                here: Here::new("/dashboard/reviews", &HashMap::new()),
                notice: Some(notice),
                csrf: s.session.csrf.clone(),
                rows,
            },
        ),
        Err(r) => r,
    }
}
