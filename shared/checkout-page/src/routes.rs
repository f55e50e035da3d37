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
use walletpay_app::checkout::{refresh, start_attempt_offered};
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
        HeaderValue::from_static("same-origin"),
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
        onward: None,
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

/// What the page shows now, and what the buyer pays (the latest attempt's amount, once
/// an incentive took something off it).
async fn shown(
    app: &App,
    s: &CheckoutSession,
    lang: Lang,
    lang_query: String,
    notice: Option<&'static str>,
) -> Result<(Shown, walletpay_domain::Money), Response> {
    let latest = match s.attempts.last().and_then(|a| a.payment_id.as_ref()) {
        Some(id) => app
            .store
            .get_payment(id)
            .await
            .map_err(|e| unavailable(lang, e))?,
        None => None,
    };
    let now = app.clock.now();
    let mut offers = Vec::new();
    if view::lists_wallets(s, now) {
        // An incentive that cannot be read now is not shown; choosing the wallet still
        // grants it if it can be then (the buyer pays less than shown, never more).
        let incentives = match walletpay_app::checkout::incentives::offers(app, s).await {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(session = %s.id, error = %e, "incentives not shown: they cannot be read");
                Vec::new()
            }
        };
        let t = text::text(lang);
        offers =
            walletpay_app::wallets::offered(app, &s.merchant_id, s.country, Some(s.amount.minor))
                .await
                .map_err(|e| unavailable(lang, e.message))?
                .into_iter()
                .filter(|(spec, _)| s.allows(spec.wallet))
                .map(|(spec, _)| Offer {
                    spec,
                    incentive: incentives
                        .iter()
                        .find(|o| o.wallet == spec.wallet)
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
    }
    let paying = latest
        .as_ref()
        .filter(|p| !p.status.is_terminal() && p.incentive.is_some())
        .map(|p| p.amount)
        .unwrap_or(s.amount);
    Ok((
        view::build(Input {
            session: s,
            latest: latest.as_ref(),
            offers,
            lang,
            lang_query,
            now,
            notice,
        }),
        paying,
    ))
}

/// The page a paid order shows: it sends the buyer on to the shop by itself (a refresh,
/// not a redirect: a redirect answering the wallet form would be held to the CSP's
/// `form-action`), with a link for a browser that does not follow it.
fn paid_page(lang: Lang, shop: &str, return_url: &str) -> Response {
    let t = text::text(lang);
    let panel = format!(
        "<section id=\"panel\"><div class=\"panel\"><p>{}</p><p><a class=\"button\" id=\"continue\" href=\"{}\">{}</a></p></div></section>",
        escape(t.paid),
        escape(return_url),
        escape(t.continue_label)
    );
    let page = PageT {
        t,
        shop,
        pay_to: fill(t.pay_to, &[("shop", shop)]),
        total: None,
        poll: false,
        panel_html: panel,
        back_url: None,
        onward: Some(return_url.to_string()),
    };
    match page.render() {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) => unavailable(lang, e),
    }
}

async fn render_page(
    app: &App,
    s: &CheckoutSession,
    lang: Lang,
    lang_query: String,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let (shown, paying) = match shown(app, s, lang, lang_query, notice).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let t = text::text(lang);
    let shop = match walletpay_app::merchant::cached(app, &s.merchant_id).await {
        Ok(Some(m)) => m.name,
        Ok(None) => String::new(),
        Err(e) => return unavailable(lang, e),
    };
    let panel = match shown {
        Shown::Paid { return_url } => return paid_page(lang, &shop, &return_url),
        Shown::Panel(p) => p,
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
        total: Some(text::amount(paying)),
        poll,
        panel_html,
        back_url: Some(&s.cancel_url),
        onward: None,
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
    match shown(&app, &s, lang, lang_query, None)
        .await
        .map(|(shown, _)| shown)
    {
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
    /// The wallets the page showed an incentive with, comma-separated.
    #[serde(default)]
    offered: String,
}

/// Whether a form post comes from the page itself: a browser names the site a request
/// comes from (`Sec-Fetch-Site`), or at least its origin, which must be the deployment's
/// public one (or, without one set, this host). A request that says neither (no browser) is
/// let through: nothing here relies on the buyer's cookies.
fn from_the_page(headers: &HeaderMap, public_base_url: &str) -> bool {
    match headers.get("sec-fetch-site").map(|v| v.as_bytes()) {
        Some(b"same-origin") | Some(b"none") => return true,
        Some(_) => return false,
        None => {}
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let Ok(origin) = url::Url::parse(origin) else {
        // `null` among others: a page of no origin we know.
        return false;
    };
    match url::Url::parse(public_base_url) {
        Ok(public) => origin.origin() == public.origin(),
        Err(_) => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
            let authority = match origin.port() {
                Some(p) => format!("{}:{p}", origin.host_str().unwrap_or_default()),
                None => origin.host_str().unwrap_or_default().to_string(),
            };
            host.is_some_and(|h| authority.eq_ignore_ascii_case(h))
        }
    }
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
    // Only the page itself posts here.
    if !from_the_page(&headers, &app.settings.public_base_url) {
        return message_page(StatusCode::FORBIDDEN, lang, text::text(lang).refused);
    }
    let s = match load(&app, &id, lang).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (lang, lang_query) = language(&q, &headers, Some(&s));
    let page_url = format!("/checkout/{}{lang_query}", s.id);
    let form = form.ok().map(|Form(f)| f);
    let offered = form
        .as_ref()
        .is_some_and(|f| f.offered.split(',').any(|w| w == f.wallet));
    let Some(wallet) = form.as_ref().and_then(|f| WalletId::parse(&f.wallet)) else {
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
    match start_attempt_offered(&app, &s.id, wallet, Some(lang), offered).await {
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
            let notice = match e.code {
                "too_many_attempts" => t.too_many,
                "incentive_unavailable" => t.incentive_gone,
                _ => t.refused,
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
