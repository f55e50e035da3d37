//! The wallet-management back office at `/dashboard`: sign-in with an API key
//! (`session`), and server-rendered pages over the analytics API and the payments — the
//! overview (the period's figures against the period before, and a chart), failure reasons
//! (with a CSV export), a payment's timeline, and the review queue with approve and decline.
//! A merchant sees only its own; an operator every merchant's figures. Every page carries a
//! strict CSP (no inline script or style, nothing from another origin), every form its
//! session's CSRF token; the assets (styles, uPlot 1.6.32, the page script) are compiled
//! in.

mod session;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use session::Signed;
use std::collections::HashMap;
use walletpay_app::analytics::api as analytics;
use walletpay_app::App;

pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
base-uri 'none'";

pub fn routes() -> Router<App> {
    Router::new()
        .route("/dashboard", get(overview))
        .route("/dashboard/login", get(login_page).post(login))
        .route("/dashboard/logout", post(logout))
        .route("/dashboard/wallets", get(wallets))
        .route("/dashboard/wallets.csv", get(wallets_csv))
        .route("/dashboard/providers", get(providers))
        .route("/dashboard/failures", get(failures))
        .route("/dashboard/failures.csv", get(failures_csv))
        .route("/dashboard/payments", get(payments))
        .route("/dashboard/reviews", get(reviews))
        .route("/dashboard/reviews/{id}", post(decide))
        .route(
            "/dashboard/reconciliation",
            get(reconciliation).post(resolve),
        )
        .route("/dashboard/refunds", get(refunds))
        .route("/dashboard/risk", get(risk))
        .route("/dashboard/assets/{file}", get(asset))
}

pub struct Nav {
    pub who: String,
    pub csrf: String,
}

fn nav(s: &Signed) -> Option<Nav> {
    Some(Nav {
        who: s.who(),
        csrf: s.session.csrf.clone(),
    })
}

fn secure(mut r: Response, content_type: &'static str) -> Response {
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

fn page(status: StatusCode, t: impl Template) -> Response {
    match t.render() {
        Ok(body) => secure((status, body).into_response(), "text/html; charset=utf-8"),
        Err(e) => failed(e),
    }
}

fn failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "a back-office page could not be built");
    secure(
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "The back office cannot show this now. Reload in a moment.",
        )
            .into_response(),
        "text/plain; charset=utf-8",
    )
}

/// The signed-in session, or the sign-in page (also as every page's extractor).
async fn signed(app: &App, headers: &HeaderMap) -> Result<Signed, Response> {
    match session::current(app, headers).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(Redirect::to("/dashboard/login").into_response()),
        Err(e) => Err(failed(e)),
    }
}

impl axum::extract::FromRequestParts<App> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        app: &App,
    ) -> Result<Self, Response> {
        signed(app, &parts.headers).await
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginT {
    nav: Option<Nav>,
    notice: Option<String>,
}

async fn login_page() -> Response {
    page(
        StatusCode::OK,
        LoginT {
            nav: None,
            notice: None,
        },
    )
}

#[derive(Deserialize)]
struct LoginForm {
    key: String,
}

async fn login(
    State(app): State<App>,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return page(
            StatusCode::BAD_REQUEST,
            LoginT {
                nav: None,
                notice: Some("Enter an API key.".into()),
            },
        );
    };
    match session::sign_in(&app, &f.key).await {
        Ok((id, _)) => {
            let mut r = Redirect::to("/dashboard").into_response();
            if let Ok(v) = HeaderValue::from_str(&session::cookie(&id)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) if e.status == 401 => page(
            StatusCode::UNAUTHORIZED,
            LoginT {
                nav: None,
                notice: Some("That key does not sign in.".into()),
            },
        ),
        Err(e) => failed(e.message),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(app): State<App>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let s = match signed(&app, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !form.is_ok_and(|Form(f)| session::csrf_ok(&s, &f.csrf)) {
        return forbidden();
    }
    if let Err(e) = session::sign_out(&app, &headers).await {
        return failed(e);
    }
    let mut r = Redirect::to("/dashboard/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&session::cleared()) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn forbidden() -> Response {
    secure(
        (StatusCode::FORBIDDEN, "This form is not this session's.").into_response(),
        "text/plain; charset=utf-8",
    )
}

/// The analytics API's answer for this session (its own scope), as JSON.
async fn analytics_json(
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

/// A JSON value as a table cell: a string as itself, nothing as nothing.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// An analytics answer's `period` as the pages show it.
fn period_of(period: &Value) -> String {
    format!("{} to {}", text(&period["from"]), text(&period["to"]))
}

fn pct(bp: &Value) -> String {
    match bp.as_i64() {
        Some(v) => format!("{}.{:02}%", v / 100, (v % 100).abs()),
        None => "—".into(),
    }
}

fn delta(bp: &Value) -> String {
    match bp.as_i64() {
        Some(v) => format!(
            "{}{} vs the period before",
            if v >= 0 { "+" } else { "" },
            pct(&json!(v))
        ),
        None => "no period before to compare".into(),
    }
}

/// Amounts per currency (minor units in the API) as `IDR 300000.00 · THB 1500.00`.
fn money(v: &Value) -> String {
    let parts: Vec<String> = v
        .as_object()
        .into_iter()
        .flatten()
        .map(
            |(cur, n)| match (cur.parse::<walletpay_domain::Currency>(), n.as_i64()) {
                (Ok(c), Some(minor)) => walletpay_domain::Money { minor, currency: c }.to_string(),
                _ => format!("{cur} {n}"),
            },
        )
        .collect();
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join(" · ")
    }
}

async fn overview(
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

pub struct FailureRow {
    category: String,
    count: u64,
    share: String,
    message: String,
}

#[derive(Template)]
#[template(path = "failures.html")]
struct FailuresT {
    nav: Option<Nav>,
    period: String,
    rows: Vec<FailureRow>,
}

async fn failure_rows(
    app: &App,
    s: &Signed,
    q: &HashMap<String, String>,
) -> Result<(String, Vec<FailureRow>), Response> {
    let f = analytics_json(app, s, q, "failures").await?;
    let rows = f["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| FailureRow {
            category: r["category"].as_str().unwrap_or("").to_string(),
            count: r["count"].as_u64().unwrap_or(0),
            share: pct(&r["share_bp"]),
            message: r["customer_message"].as_str().unwrap_or("").to_string(),
        })
        .collect();
    let period = period_of(&f["period"]);
    Ok((period, rows))
}

async fn failures(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match failure_rows(&app, &s, &q).await {
        Ok((period, rows)) => page(
            StatusCode::OK,
            FailuresT {
                nav: nav(&s),
                period,
                rows,
            },
        ),
        Err(r) => r,
    }
}

/// One CSV field, quoted when it needs to be, and never read as a formula by a spreadsheet.
fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

async fn failures_csv(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match failure_rows(&app, &s, &q).await {
        Ok((_, rows)) => csv_response(
            "failure-reasons.csv",
            &["category", "count", "share", "customer_message"],
            rows.iter().map(|r| {
                vec![
                    r.category.clone(),
                    r.count.to_string(),
                    r.share.clone(),
                    r.message.clone(),
                ]
            }),
        ),
        Err(r) => r,
    }
}

pub struct TimelineRow {
    seq: u64,
    at: String,
    event: String,
    from: String,
    to: String,
    source: String,
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

pub struct FoundRow {
    id: String,
    status: String,
    amount: String,
    wallet: String,
    reference: String,
    created: String,
}

/// A merchant's payments by status, wallet and period, newest first (100 at most), and of
/// those the ones whose merchant reference contains `reference`.
async fn search(
    app: &App,
    s: &Signed,
    q: &HashMap<String, String>,
) -> Result<Vec<FoundRow>, String> {
    let Some(m) = s.merchant() else {
        return Err(
            "Searching is a shop's: sign in with its key (an operator opens a payment by id)."
                .into(),
        );
    };
    let get = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let params = walletpay_app::payments::ListParams {
        status: get("status"),
        wallet: get("wallet"),
        country: None,
        created_after: get("created_after"),
        created_before: get("created_before"),
        limit: Some("100"),
        cursor: None,
    };
    let reply = walletpay_app::payments::list_payments(app, m, &params, None)
        .await
        .map_err(|e| e.message)?;
    let listed: Value = serde_json::from_str(&reply.body).map_err(|e| e.to_string())?;
    let reference = get("reference").unwrap_or("");
    Ok(listed["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            p["merchant_reference"]
                .as_str()
                .is_some_and(|r| r.contains(reference))
        })
        .map(|p| FoundRow {
            id: text(&p["id"]),
            status: text(&p["status"]),
            amount: money(&json!({ text(&p["currency"]): p["amount"] })),
            wallet: text(&p["wallet"]),
            reference: text(&p["merchant_reference"]),
            created: text(&p["created_at"]),
        })
        .collect())
}

async fn payments(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let query = q.get("q").map(|v| v.trim().to_string()).unwrap_or_default();
    let field = |k: &str| q.get(k).cloned().unwrap_or_default();
    let mut t = PaymentsT {
        nav: nav(&s),
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
            Ok(found) if found.is_empty() => t.notice = Some("No payment matches.".into()),
            Ok(found) => t.found = found,
            Err(why) => t.notice = Some(why),
        }
        return page(StatusCode::OK, t);
    }
    if query.is_empty() {
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
    page(StatusCode::OK, t)
}

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

async fn review_rows(app: &App, s: &Signed) -> Result<Vec<ReviewRow>, Response> {
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

async fn reviews(State(app): State<App>, s: Signed) -> Response {
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
struct DecideForm {
    csrf: String,
    decision: String,
}

async fn decide(
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

pub struct WalletRow {
    country: String,
    wallet: String,
    provider: String,
    attempts: u64,
    successes: u64,
    rate: String,
    volume: String,
    top: String,
}

#[derive(Template)]
#[template(path = "wallets.html")]
struct WalletsT {
    nav: Option<Nav>,
    period: String,
    rows: Vec<WalletRow>,
}

/// The wallets page's rows for this session, and the period they cover.
async fn wallet_rows(
    app: &App,
    s: &Signed,
    q: &HashMap<String, String>,
) -> Result<(String, Vec<WalletRow>), Response> {
    let query = analytics::parse(app, &s.principal, q, None).map_err(|e| failed(e.message))?;
    let rows = analytics::wallets(app, &query)
        .await
        .map_err(|e| failed(e.message))?;
    let period = period_of(&query.period());
    let rows = rows
        .iter()
        .map(|r| WalletRow {
            country: text(&r["country"]),
            wallet: text(&r["wallet"]),
            provider: text(&r["provider"]),
            attempts: r["attempts"].as_u64().unwrap_or(0),
            successes: r["successes"].as_u64().unwrap_or(0),
            rate: pct(&r["success_rate_bp"]),
            volume: money(&json!({ text(&r["currency"]): r["volume"] })),
            top: r["top_failures"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| format!("{} ({})", text(&f["category"]), f["count"]))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    Ok((period, rows))
}

async fn wallets_csv(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match wallet_rows(&app, &s, &q).await {
        Ok((_, rows)) => csv_response(
            "wallets.csv",
            &[
                "country",
                "wallet",
                "provider",
                "attempts",
                "successes",
                "success_rate",
                "volume",
                "top_failures",
            ],
            rows.iter().map(|r| {
                vec![
                    r.country.clone(),
                    r.wallet.clone(),
                    r.provider.clone(),
                    r.attempts.to_string(),
                    r.successes.to_string(),
                    r.rate.clone(),
                    r.volume.clone(),
                    r.top.clone(),
                ]
            }),
        ),
        Err(r) => r,
    }
}

/// A table as a CSV download.
fn csv_response(
    name: &'static str,
    header_row: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> Response {
    let mut out = header_row.join(",");
    out.push('\n');
    for row in rows {
        out.push_str(
            &row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    let mut resp = secure(out.into_response(), "text/csv; charset=utf-8");
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

async fn wallets(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (period, rows) = match wallet_rows(&app, &s, &q).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    page(
        StatusCode::OK,
        WalletsT {
            nav: nav(&s),
            period,
            rows,
        },
    )
}

pub struct HealthRow {
    provider: String,
    country: String,
    wallet: String,
    attempts: String,
    errors: String,
    circuit: String,
}

pub struct OnboardingRow {
    provider: String,
    state: String,
    since: String,
    routable: &'static str,
    note: String,
}

#[derive(Template)]
#[template(path = "providers.html")]
struct ProvidersT {
    nav: Option<Nav>,
    health: Vec<HealthRow>,
    onboarding: Option<Vec<OnboardingRow>>,
}

async fn providers(State(app): State<App>, s: Signed) -> Response {
    let any = walletpay_domain::MerchantId::new(0, 0);
    let health: Value =
        match walletpay_app::routing::health(&app, s.merchant().unwrap_or(&any)).await {
            Ok(r) => serde_json::from_str(&r.body).unwrap_or_default(),
            Err(e) => return failed(e.message),
        };
    let health = health["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| HealthRow {
            provider: text(&h["provider"]),
            country: text(&h["country"]),
            wallet: text(&h["wallet"]),
            attempts: text(&h["attempts"]),
            errors: text(&h["provider_errors"]),
            circuit: text(&h["circuit"]),
        })
        .collect();
    // A merchant's own applications with the providers.
    let onboarding = match s.merchant() {
        Some(m) => match walletpay_app::onboarding::get(&app, &s.principal, m.as_str()).await {
            Ok(r) => {
                let v: Value = serde_json::from_str(&r.body).unwrap_or_default();
                Some(
                    v["data"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|o| OnboardingRow {
                            provider: text(&o["provider"]),
                            state: match &o["state"] {
                                Value::Null => "no record (live)".into(),
                                v => text(v),
                            },
                            since: text(&o["since"]),
                            routable: if o["routable"] == true { "yes" } else { "no" },
                            note: text(&o["note"]),
                        })
                        .collect(),
                )
            }
            Err(e) => return failed(e.message),
        },
        None => None,
    };
    page(
        StatusCode::OK,
        ProvidersT {
            nav: nav(&s),
            health,
            onboarding,
        },
    )
}

pub struct DiscrepancyRow {
    id: String,
    day: String,
    class: String,
    ours: String,
    theirs: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "reconciliation.html")]
struct ReconciliationT {
    nav: Option<Nav>,
    provider: String,
    providers: Vec<&'static str>,
    notice: Option<String>,
    csrf: String,
    can_resolve: bool,
    rows: Vec<DiscrepancyRow>,
}

async fn reconciliation_page(
    app: &App,
    s: &Signed,
    provider: &str,
    notice: Option<String>,
) -> Response {
    let params = walletpay_app::reconcile::api::ListParams {
        status: Some("open"),
        provider: Some(provider),
        class: None,
        merchant: None,
        limit: Some("200"),
        cursor: None,
    };
    let listed =
        match walletpay_app::reconcile::api::list_discrepancies(app, &s.principal, &params).await {
            Ok(r) => serde_json::from_str::<Value>(&r.body).unwrap_or_default(),
            Err(e) => return failed(e.message),
        };
    let amount = |d: &Value, field: &str| match (d["currency"].as_str(), d[field].as_i64()) {
        (Some(c), Some(n)) => money(&json!({ c: n })),
        _ => String::new(),
    };
    let rows = listed["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| DiscrepancyRow {
            id: text(&d["id"]),
            day: text(&d["day"]),
            class: text(&d["class"]),
            ours: amount(d, "our_amount"),
            theirs: amount(d, "provider_amount"),
            detail: text(&d["detail"]),
        })
        .collect();
    let mut providers: Vec<&'static str> = walletpay_domain::catalog::CATALOG
        .iter()
        .flat_map(|w| w.providers.iter().map(|p| p.as_str()))
        .collect();
    providers.sort();
    providers.dedup();
    page(
        StatusCode::OK,
        ReconciliationT {
            nav: nav(s),
            provider: provider.to_string(),
            providers,
            notice,
            csrf: s.session.csrf.clone(),
            can_resolve: s.merchant().is_none(),
            rows,
        },
    )
}

async fn reconciliation(
    State(app): State<App>,
    s: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let provider = q
        .get("provider")
        .cloned()
        .unwrap_or_else(|| "xendit".into());
    reconciliation_page(&app, &s, &provider, None).await
}

/// Resolves the picked discrepancies with one resolution and note (an operator's).
async fn resolve(
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
            Ok(_) => format!("Resolved {} as {}.", ids.len(), one("resolution")),
            Err(e) => e.message,
        }
    };
    reconciliation_page(&app, &s, &provider, Some(notice)).await
}

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

fn age(ms: i64) -> String {
    let m = ms / 60_000;
    match m {
        0 => "under a minute".into(),
        m if m < 120 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m / 60),
        m => format!("{} days", m / (24 * 60)),
    }
}

async fn refunds(
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

async fn risk(
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

async fn asset(Path(file): Path<String>) -> Response {
    let (body, content_type, immutable): (&'static str, &'static str, bool) = match file.as_str() {
        "dashboard.css" => (
            include_str!("../assets/dashboard.css"),
            "text/css; charset=utf-8",
            false,
        ),
        "dashboard.js" => (
            include_str!("../assets/dashboard.js"),
            "text/javascript; charset=utf-8",
            false,
        ),
        "uPlot-1.6.32.iife.min.js" => (
            include_str!("../assets/uPlot-1.6.32.iife.min.js"),
            "text/javascript; charset=utf-8",
            true,
        ),
        "uPlot-1.6.32.min.css" => (
            include_str!("../assets/uPlot-1.6.32.min.css"),
            "text/css; charset=utf-8",
            true,
        ),
        "icon.svg" => (include_str!("../assets/icon.svg"), "image/svg+xml", false),
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=3600"
        }),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(super::csv_field("plain"), "plain");
        assert_eq!(super::csv_field("a,b"), "\"a,b\"");
        assert_eq!(super::csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(super::csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
