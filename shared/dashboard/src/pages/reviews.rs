//! The review queue: a shop's payments held for review, approved or declined from the page.

use crate::session::{self, Signed};
use crate::{failed, forbidden, nav, page, Nav};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use serde_json::{json, Value};
use walletpay_app::App;

pub struct ReviewRow {
    id: String,
    amount: String,
    wallet: String,
    score: String,
    reasons: String,
}

#[derive(Template)]
#[template(path = "reviews.html")]
struct ReviewsT {
    nav: Option<Nav>,
    notice: Option<String>,
    csrf: String,
    rows: Vec<ReviewRow>,
}

pub(crate) async fn review_rows(app: &App, s: &Signed) -> Result<Vec<ReviewRow>, Response> {
    let Some(m) = s.merchant() else {
        return Ok(Vec::new());
    };
    let params = walletpay_app::payments::ListParams {
        status: Some("requires_review"),
        wallet: None,
        country: None,
        created_after: None,
        created_before: None,
        limit: Some("100"),
        cursor: None,
    };
    let reply = walletpay_app::payments::list_payments(app, m, &params, None)
        .await
        .map_err(|e| failed(e.message))?;
    let v: Value = serde_json::from_str(&reply.body).map_err(failed)?;
    Ok(v["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| ReviewRow {
            id: p["id"].as_str().unwrap_or("").to_string(),
            amount: format!("{} {}", p["currency"].as_str().unwrap_or(""), p["amount"]),
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

pub(crate) async fn reviews(State(app): State<App>, s: Signed) -> Response {
    let notice = s
        .merchant()
        .is_none()
        .then(|| "Reviews are each shop's: sign in with its key to decide them.".to_string());
    match review_rows(&app, &s).await {
        Ok(rows) => page(
            StatusCode::OK,
            ReviewsT {
                nav: nav(&s),
                notice,
                csrf: s.session.csrf.clone(),
                rows,
            },
        ),
        Err(r) => r,
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
                notice: Some(notice),
                csrf: s.session.csrf.clone(),
                rows,
            },
        ),
        Err(r) => r,
    }
}
