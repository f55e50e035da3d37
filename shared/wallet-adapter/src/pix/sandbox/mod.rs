//! A sandbox bank (PSP) speaking the central bank's API Pix over mutual TLS: `POST
//! /oauth/token` (client credentials, Basic auth), `PUT|GET|PATCH /cob/{txid}`, `GET
//! /pix/{e2eid}`, `PUT|GET /pix/{e2eid}/devolucao/{id}`, RFC 7807 error bodies; the webhook
//! `POST <url>/pix` (no signature, as the standard has none); and, on a plain-HTTP control
//! router, a page standing in for the payer's banking app, `simulate`, and the bank
//! statement of a day. The API is served only to clients whose certificate the sandbox CA
//! signed ([`serve_mtls`](PixSandbox::serve_mtls)).
//!
//! Test credentials: client id [`SANDBOX_CLIENT_ID`], secret [`SANDBOX_CLIENT_SECRET`],
//! the client certificate and key in `certs/` ([`SANDBOX_CLIENT_CERT`],
//! [`SANDBOX_CLIENT_KEY`]), the bank's CA [`SANDBOX_CA`], Pix key [`SANDBOX_PIX_KEY`].
//!
//! A Pix is paid or not: `success` is the only outcome (an unpaid charge expires). Magic
//! amounts (whole reais): 1102 answers 500 and makes nothing, 1109 answers slowly. Returns
//! are made at once (`DEVOLVIDO`), except 1111 (`EM_PROCESSAMENTO` until `simulate-refund`),
//! 2222 (`NAO_REALIZADO`) and 3333 (made, answered 500; the same id then gets it).

mod api;
mod report;
mod simulate;

use crate::sandbox_kit as kit;

use super::wire::{Cob, Pix, Problem, Webhook};
use super::{
    SANDBOX_CA, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_PIX_KEY, SANDBOX_SERVER_CERT,
    SANDBOX_SERVER_KEY,
};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use walletpay_domain::{Currency, Money, Timestamp};

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub client_id: String,
    pub client_secret: String,
    pub pix_key: String,
    /// Where the `pix` webhook goes (the standard appends `/pix` to the registered URL; this
    /// is the full URL).
    pub webhook_url: String,
    /// The host charges' locations are under (`pix.sandbox.local/qr/v2/...`).
    pub location_host: String,
    pub slow_response: std::time::Duration,
}

impl SandboxConfig {
    pub fn new(webhook_url: impl Into<String>) -> Self {
        SandboxConfig {
            client_id: SANDBOX_CLIENT_ID.into(),
            client_secret: SANDBOX_CLIENT_SECRET.into(),
            pix_key: SANDBOX_PIX_KEY.into(),
            webhook_url: webhook_url.into(),
            location_host: "pix.sandbox.walletpay.local".into(),
            slow_response: std::time::Duration::from_secs(12),
        }
    }
}

#[derive(Clone)]
pub struct PixSandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    cobs: Mutex<HashMap<String, (Cob, Timestamp)>>,
    tokens: Mutex<HashSet<String>>,
    http: reqwest::Client,
    faults: kit::settlement::Faults,
}

fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    (
        status,
        [("content-type", "application/problem+json")],
        Json(Problem {
            kind: format!(
                "https://pix.bcb.gov.br/api/v2/error/{}",
                title.replace(' ', "")
            ),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
        }),
    )
        .into_response()
}

fn good_txid(t: &str) -> bool {
    (26..=35).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn brl(s: &str) -> Option<Money> {
    let ok = s.split_once('.').is_some_and(|(a, b)| {
        (1..=10).contains(&a.len())
            && b.len() == 2
            && (a.to_string() + b).bytes().all(|c| c.is_ascii_digit())
    });
    ok.then(|| Money::parse_decimal(s, Currency::BRL).ok())
        .flatten()
}

impl PixSandbox {
    pub fn new(config: SandboxConfig) -> Self {
        PixSandbox {
            inner: Arc::new(Inner {
                config,
                cobs: Mutex::new(HashMap::new()),
                tokens: Mutex::new(HashSet::new()),
                http: crate::sandbox_kit::webhook_client(),
                faults: kit::settlement::Faults::default(),
            }),
        }
    }

    /// API Pix: serve it with [`serve_mtls`](Self::serve_mtls).
    pub fn api_router(&self) -> Router {
        Router::new()
            .route("/oauth/token", post(api::token))
            .route(
                "/cob/{txid}",
                put(api::put_cob).get(api::get_cob).patch(api::patch_cob),
            )
            .route("/pix", get(report::list_pix))
            .route("/pix/{e2eid}", get(api::get_pix))
            .route(
                "/pix/{e2eid}/devolucao/{id}",
                put(api::put_devolucao).get(api::get_devolucao),
            )
            .with_state(self.clone())
    }

    /// The tester's side: the payer's app, `simulate`, `simulate-refund`, the statement.
    pub fn control_router(&self) -> Router {
        Router::new()
            .route(
                "/checkout/{txid}",
                get(kit::page::<Self>).post(kit::decide::<Self>),
            )
            .route("/simulate/{txid}", post(kit::simulate::<Self>))
            .route(
                "/simulate-refund/{e2eid}/{id}",
                post(simulate::simulate_refund),
            )
            .route(
                "/settlement/faults",
                post(kit::settlement::add_fault::<Self>),
            )
            .with_state(self.clone())
    }

    /// Serves API Pix on `listener` with TLS, to clients presenting a certificate the
    /// sandbox CA signed only.
    pub async fn serve_mtls(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let bad = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let provider = crate::tls::server_provider();
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(SANDBOX_SERVER_CERT.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| bad(e.to_string()))?;
        let key = PrivateKeyDer::from_pem_slice(SANDBOX_SERVER_KEY.as_bytes())
            .map_err(|e| bad(e.to_string()))?;
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(SANDBOX_CA.as_bytes()) {
            roots
                .add(ca.map_err(|e| bad(e.to_string()))?)
                .map_err(|e| bad(e.to_string()))?;
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| bad(e.to_string()))?;
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .map_err(|e| bad(e.to_string()))?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let app = self.api_router();
        loop {
            let (tcp, _) = listener.accept().await?;
            let acceptor = acceptor.clone();
            let app = app.clone();
            tokio::spawn(async move {
                // A client without a certificate from the sandbox CA fails the handshake.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    }

    pub fn cob(&self, txid: &str) -> Option<Cob> {
        self.lock().get(txid).map(|(c, _)| c.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Cob, Timestamp)>> {
        self.inner.cobs.lock().expect("sandbox lock")
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| {
                self.inner
                    .tokens
                    .lock()
                    .expect("sandbox lock")
                    .contains(t.trim())
            })
    }

    async fn notify(&self, pix: &Pix) -> Option<u16> {
        self.inner
            .http
            .post(&self.inner.config.webhook_url)
            .json(&Webhook {
                pix: vec![pix.clone()],
            })
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    }

    fn with_pix<T>(&self, e2e: &str, f: impl FnOnce(&mut Pix, &str) -> T) -> Option<T> {
        let mut cobs = self.lock();
        for (c, _) in cobs.values_mut() {
            let txid = c.txid.clone();
            if let Some(p) = c.pix.iter_mut().find(|p| p.end_to_end_id == e2e) {
                return Some(f(p, &txid));
            }
        }
        None
    }
}

fn unauthorized() -> Response {
    problem(
        StatusCode::UNAUTHORIZED,
        "Nao Autorizado",
        "Missing or invalid access token.",
    )
}
