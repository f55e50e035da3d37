//! Signing in: an API key (a merchant's or an operator's) exchanged for a session. The
//! browser holds the session's id in a cookie (`HttpOnly; Secure; SameSite=Strict`, path
//! `/dashboard`); the store holds its SHA-256, who signed in, a CSRF token every form
//! carries back, and an expiry checked on every request.

use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};
use walletpay_app::auth::{self, Principal};
use walletpay_app::App;
use walletpay_domain::MerchantId;
use walletpay_ports::{DashSession, StoreError};

pub const COOKIE: &str = "wp_dash";
const LIFETIME_MS: i64 = 8 * 3_600_000;

/// Who is signed in, and their session.
#[derive(Debug, Clone)]
pub struct Signed {
    pub principal: Principal,
    pub session: DashSession,
}

impl Signed {
    pub fn who(&self) -> String {
        match &self.principal {
            Principal::Merchant(m) => format!("merchant {m}"),
            Principal::Operator(name) => format!("operator {name}"),
        }
    }

    pub fn merchant(&self) -> Option<&MerchantId> {
        match &self.principal {
            Principal::Merchant(m) => Some(m),
            Principal::Operator(_) => None,
        }
    }
}

fn hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn principal_key(p: &Principal) -> String {
    match p {
        Principal::Merchant(m) => format!("merchant:{m}"),
        Principal::Operator(name) => format!("operator:{name}"),
    }
}

fn principal_of(key: &str) -> Option<Principal> {
    match key.split_once(':')? {
        ("merchant", m) => MerchantId::parse(m).map(Principal::Merchant),
        ("operator", name) => Some(Principal::Operator(name.to_string())),
        _ => None,
    }
}

/// Signs in with `key`: the session's cookie value and the session, or why not.
pub async fn sign_in(app: &App, key: &str) -> Result<(String, Signed), walletpay_app::ApiError> {
    let header = format!("Bearer {}", key.trim());
    let principal = auth::authenticate_principal(app.store.as_ref(), Some(&header)).await?;
    let id = random_token();
    let session = DashSession {
        id_hash: hash(&id),
        principal: principal_key(&principal),
        actor: auth::actor(&principal, Some(&header)),
        csrf: random_token(),
        expires_at: app.clock.now().plus_millis(LIFETIME_MS),
    };
    app.store.put_dash_session(&session).await?;
    Ok((id, Signed { principal, session }))
}

/// The `Set-Cookie` of a new session, and of a signed-out one.
pub fn cookie(id: &str) -> String {
    format!(
        "{COOKIE}={id}; HttpOnly; Secure; SameSite=Strict; Path=/dashboard; Max-Age={}",
        LIFETIME_MS / 1000
    )
}

pub fn cleared() -> String {
    format!("{COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/dashboard; Max-Age=0")
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == COOKIE && !v.is_empty()).then(|| v.to_string())
        })
}

/// The session a request's cookie names, if it is one and has not expired.
pub async fn current(app: &App, headers: &HeaderMap) -> Result<Option<Signed>, StoreError> {
    let Some(id) = cookie_value(headers) else {
        return Ok(None);
    };
    let Some(session) = app.store.get_dash_session(&hash(&id)).await? else {
        return Ok(None);
    };
    if session.expires_at <= app.clock.now() {
        return Ok(None);
    }
    Ok(principal_of(&session.principal).map(|principal| Signed { principal, session }))
}

/// Ends the request's session.
pub async fn sign_out(app: &App, headers: &HeaderMap) -> Result<(), StoreError> {
    match cookie_value(headers) {
        Some(id) => app.store.delete_dash_session(&hash(&id)).await,
        None => Ok(()),
    }
}

/// Whether a form's token is its session's (compared in constant time).
pub fn csrf_ok(s: &Signed, token: &str) -> bool {
    use subtle::ConstantTimeEq;
    s.session.csrf.as_bytes().ct_eq(token.as_bytes()).into()
}
