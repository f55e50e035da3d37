//! The page's routes: `GET /checkout/{id}` (the page), `GET /checkout/{id}/status` (its
//! panel, for htmx's polling; `HX-Redirect` once paid), `POST /checkout/{id}/pay` (a wallet
//! chosen: an attempt started, then back to the page) and `GET /checkout/assets/{file}`.
//! Every HTML answer carries the CSP and is never cached; none sets a cookie.

use crate::assets;
use crate::text::{self, fill};
use crate::view::{self, Input, Offer, PageT, Shown};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use std::collections::HashMap;
use walletpay_app::checkout::{refresh, start_attempt};
use walletpay_app::App;
use walletpay_domain::checkout::CheckoutSession;
use walletpay_domain::{Lang, SessionId, WalletId};

/// The page's Content-Security-Policy: scripts, styles and images from this origin only,
/// XHR to it only (htmx), forms posting to it only, never framed.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
base-uri 'none'";

pub fn routes() -> Router<App> {
    Router::new()
        .route("/checkout/assets/{*file}", get(asset))
        .route("/checkout/{id}", get(page))
        .route("/checkout/{id}/status", get(status))
        .route("/checkout/{id}/pay", post(pay))
}

type Params = Query<HashMap<String, String>>;

/// `?lang=` (a buyer's choice, kept on the page's links), else the shop's language for the
/// order, else the browser's, else the market's.
fn language(
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    s: Option<&CheckoutSession>,
) -> (Lang, String) {
    if let Some(l) = q.get("lang").and_then(|l| Lang::parse(l)) {
        return (l, format!("?lang={}", l.as_str()));
    }
    let lang = s
        .and_then(|s| s.lang)
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|h| h.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .or_else(|| s.map(|s| Lang::of_country(s.country)))
        .unwrap_or(Lang::En);
    (lang, String::new())
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
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
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// A page with only a message (no such session, a failure to read it).
fn message_page(status: StatusCode, lang: Lang, message: &str) -> Response {
    let t = text::text(lang);
    let panel = format!(
        "<section id=\"panel\"><div class=\"panel\"><p>{}</p></div></section>",
        escape(message)
    );
    let page = PageT {
        t,
        shop: "walletpay",
        pay_to: t.title.to_string(),
        total: None,
        poll: false,
        panel_html: panel,
        back_url: None,
    };
    match page.render() {
        Ok(body) => html(status, body),
        Err(_) => (status, message.to_string()).into_response(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn unavailable(lang: Lang, why: impl std::fmt::Display) -> Response {
    tracing::error!(error = %why, "a checkout page could not be built");
    let t = text::text(lang);
    message_page(StatusCode::SERVICE_UNAVAILABLE, lang, t.unavailable)
}

/// The session (refreshed from its payments), or the page that says it does not exist.
async fn load(app: &App, id: &str, lang: Lang) -> Result<CheckoutSession, Response> {
    let not_found = || message_page(StatusCode::NOT_FOUND, lang, text::text(lang).not_found);
    let Some(id) = SessionId::parse(id) else {
        return Err(not_found());
    };
    match app.store.get_session(&id).await {
        Ok(Some(s)) => refresh(app, s).await.map_err(|e| unavailable(lang, e)),
        Ok(None) => Err(not_found()),
        Err(e) => Err(unavailable(lang, e)),
    }
}

/// What the page shows now.
async fn shown(
    app: &App,
    s: &CheckoutSession,
    lang: Lang,
    lang_query: String,
    notice: Option<&'static str>,
) -> Result<Shown, Response> {
    let latest = match s.attempts.last().and_then(|a| a.payment_id.as_ref()) {
        Some(id) => app
            .store
            .get_payment(id)
            .await
            .map_err(|e| unavailable(lang, e))?,
        None => None,
    };
    let incentives = walletpay_app::checkout::incentives::offers(app, s)
        .await
        .map_err(|e| unavailable(lang, e))?;
    let t = text::text(lang);
    let offers =
        walletpay_app::wallets::offered(app, &s.merchant_id, s.country, Some(s.amount.minor))
            .await
            .map_err(|e| unavailable(lang, e.message))?
            .into_iter()
            .filter(|(spec, _)| s.allows(spec.wallet))
            .map(|(spec, _)| Offer {
                spec,
                incentive: incentives
                    .iter()
                    .find(|o| o.incentive.wallet == spec.wallet)
                    .map(|o| {
                        let off = walletpay_domain::Money {
                            minor: o.discount,
                            currency: s.amount.currency,
                        };
                        fill(
                            t.incentive,
                            &[("amount", &text::amount(off)), ("name", spec.name_in(lang))],
                        )
                    }),
            })
            .collect();
    Ok(view::build(Input {
        session: s,
        latest: latest.as_ref(),
        offers,
        lang,
        lang_query,
        now: app.clock.now(),
        notice,
    }))
}

async fn render_page(
    app: &App,
    s: &CheckoutSession,
    lang: Lang,
    lang_query: String,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let panel = match shown(app, s, lang, lang_query, notice).await {
        Ok(Shown::Paid { return_url }) => return Redirect::to(&return_url).into_response(),
        Ok(Shown::Panel(p)) => p,
        Err(r) => return r,
    };
    let t = text::text(lang);
    let shop = match walletpay_app::merchant::cached(app, &s.merchant_id).await {
        Ok(Some(m)) => m.name,
        Ok(None) => String::new(),
        Err(e) => return unavailable(lang, e),
    };
    let poll = panel.poll;
    let panel_html = match panel.render() {
        Ok(h) => h,
        Err(e) => return unavailable(lang, e),
    };
    let page = PageT {
        t,
        shop: &shop,
        pay_to: fill(t.pay_to, &[("shop", &shop)]),
        total: Some(text::amount(s.amount)),
        poll,
        panel_html,
        back_url: Some(&s.cancel_url),
    };
    match page.render() {
        Ok(body) => html(status, body),
        Err(e) => unavailable(lang, e),
    }
}

async fn page(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    let (lang, _) = language(&q, &headers, None);
    let s = match load(&app, &id, lang).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (lang, lang_query) = language(&q, &headers, Some(&s));
    render_page(&app, &s, lang, lang_query, None, StatusCode::OK).await
}

/// The panel alone, for htmx; once paid, `HX-Redirect` to the shop.
async fn status(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    let (lang, _) = language(&q, &headers, None);
    let s = match load(&app, &id, lang).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (lang, lang_query) = language(&q, &headers, Some(&s));
    match shown(&app, &s, lang, lang_query, None).await {
        Ok(Shown::Paid { return_url }) => {
            let t = text::text(lang);
            let body = format!(
                "<section id=\"panel\"><div class=\"panel\"><p>{}</p><p><a class=\"button\" href=\"{}\">{}</a></p></div></section>",
                escape(t.paid),
                escape(&return_url),
                escape(t.continue_label)
            );
            let mut r = html(StatusCode::OK, body);
            if let Ok(v) = HeaderValue::from_str(&return_url) {
                r.headers_mut().insert("hx-redirect", v);
            }
            r
        }
        Ok(Shown::Panel(p)) => match p.render() {
            Ok(body) => html(StatusCode::OK, body),
            Err(e) => unavailable(lang, e),
        },
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
struct PayForm {
    wallet: String,
}

/// A wallet chosen: starts an attempt, then shows the page again (303, so a reload never
/// posts twice). A start refused because an earlier attempt may still succeed, or because
/// the order is paid or expired, shows the page as it stands.
async fn pay(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    form: Result<Form<PayForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let (lang, _) = language(&q, &headers, None);
    // Only the page itself posts here: a browser says where a form came from.
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return message_page(StatusCode::FORBIDDEN, lang, text::text(lang).refused);
    }
    let s = match load(&app, &id, lang).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (lang, lang_query) = language(&q, &headers, Some(&s));
    let page_url = format!("/checkout/{}{lang_query}", s.id);
    let Some(wallet) = form.ok().and_then(|Form(f)| WalletId::parse(&f.wallet)) else {
        let t = text::text(lang);
        return render_page(
            &app,
            &s,
            lang,
            lang_query,
            Some(t.refused),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    match start_attempt(&app, &s.id, wallet, Some(lang)).await {
        Ok(_) => Redirect::to(&page_url).into_response(),
        Err(e)
            if matches!(
                e.code,
                "attempt_pending" | "session_complete" | "session_expired"
            ) =>
        {
            Redirect::to(&page_url).into_response()
        }
        Err(e) if e.status < 500 => {
            let t = text::text(lang);
            let notice = if e.code == "too_many_attempts" {
                t.too_many
            } else {
                t.refused
            };
            let s = match load(&app, &id, lang).await {
                Ok(s) => s,
                Err(r) => return r,
            };
            render_page(
                &app,
                &s,
                lang,
                lang_query,
                Some(notice),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        // The attempt may have been made: the page finds out (its place is linked or given
        // up by the next read).
        Err(e) => {
            tracing::warn!(session = %s.id, code = e.code, "a checkout attempt's start did not finish");
            Redirect::to(&page_url).into_response()
        }
    }
}

async fn asset(Path(file): Path<String>) -> Response {
    match assets::get(&file) {
        Some(a) => {
            let cache = if a.immutable {
                "public, max-age=31536000, immutable"
            } else {
                "public, max-age=3600"
            };
            let mut r = a.body.into_owned().into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(a.content_type),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            r
        }
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}
