//! The wallet-management back office at `/dashboard`. This file owns what every page
//! shares: the routes, the signed-in session as an extractor (`session`, `signin`), the
//! security headers (a strict CSP: no inline script or style, nothing from another origin),
//! and the compiled-in assets (styles, uPlot 1.6.32, the page script). Each page is a module
//! of `pages`, reading through the same functions as the API in the session's own scope (a
//! merchant sees only its own, an operator every merchant's); `format` shows figures,
//! `export` turns any table into CSV. Every form carries its session's CSRF token.

#[macro_use]
mod export;
mod format;
mod pages;
mod session;
mod signin;

use askama::Template;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use session::Signed;
use walletpay_app::App;

pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
base-uri 'none'";

pub fn routes() -> Router<App> {
    Router::new()
        .route("/dashboard", get(pages::overview::overview))
        .route(
            "/dashboard/login",
            get(signin::login_page).post(signin::login),
        )
        .route("/dashboard/logout", post(signin::logout))
        .route("/dashboard/wallets", get(pages::wallets::wallets))
        .route("/dashboard/providers", get(pages::providers::providers))
        .route("/dashboard/failures", get(pages::failures::failures))
        .route("/dashboard/payments", get(pages::payments::payments))
        .route("/dashboard/reviews", get(pages::reviews::reviews))
        .route("/dashboard/reviews/{id}", post(pages::reviews::decide))
        .route(
            "/dashboard/reconciliation",
            get(pages::reconciliation::reconciliation).post(pages::reconciliation::resolve),
        )
        .route("/dashboard/refunds", get(pages::refunds::refunds))
        .route("/dashboard/risk", get(pages::risk::risk))
        .route("/dashboard/assets/{file}", get(asset))
}

pub struct Nav {
    pub who: String,
    pub csrf: String,
}

pub(crate) fn nav(s: &Signed) -> Option<Nav> {
    Some(Nav {
        who: s.who(),
        csrf: s.session.csrf.clone(),
    })
}

pub(crate) fn secure(mut r: Response, content_type: &'static str) -> Response {
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

pub(crate) fn page(status: StatusCode, t: impl Template) -> Response {
    match t.render() {
        Ok(body) => secure((status, body).into_response(), "text/html; charset=utf-8"),
        Err(e) => failed(e),
    }
}

pub(crate) fn failed(e: impl std::fmt::Display) -> Response {
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
pub(crate) async fn signed(app: &App, headers: &HeaderMap) -> Result<Signed, Response> {
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

pub(crate) fn forbidden() -> Response {
    secure(
        (StatusCode::FORBIDDEN, "This form is not this session's.").into_response(),
        "text/plain; charset=utf-8",
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
