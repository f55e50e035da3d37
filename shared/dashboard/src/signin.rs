//! Signing in and out: the sign-in page, the key exchanged for a session cookie, and
//! signing out (a form with the session's CSRF token).

use crate::session::{self};
use crate::{failed, forbidden, page, signed, Nav};
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use walletpay_app::App;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginT {
    nav: Option<Nav>,
    notice: Option<String>,
}

pub(crate) async fn login_page() -> Response {
    page(
        StatusCode::OK,
        LoginT {
            nav: None,
            notice: None,
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    key: String,
}

pub(crate) async fn login(
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
pub(crate) struct CsrfForm {
    csrf: String,
}

pub(crate) async fn logout(
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
