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

use super::wire::{
    Calendario, Cob, CobRequest, Devolucao, DevolucaoRequest, Loc, Pix, Problem, Token, Valor,
    Webhook,
};
use super::{
    SANDBOX_CA, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_PIX_KEY, SANDBOX_SERVER_CERT,
    SANDBOX_SERVER_KEY,
};
use crate::sandbox_kit::{
    alnum, checkout_page, csv_line, day_of, magic, now, uuid_v4, DecideForm, Outcome, SimulateBody,
};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Form, Json, Router};
use base64::Engine;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use walletpay_domain::emv::BrCode;
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
            }),
        }
    }

    /// API Pix: serve it with [`serve_mtls`](Self::serve_mtls).
    pub fn api_router(&self) -> Router {
        Router::new()
            .route("/oauth/token", post(token))
            .route("/cob/{txid}", put(put_cob).get(get_cob).patch(patch_cob))
            .route("/pix/{e2eid}", get(get_pix))
            .route(
                "/pix/{e2eid}/devolucao/{id}",
                put(put_devolucao).get(get_devolucao),
            )
            .with_state(self.clone())
    }

    /// The tester's side: the payer's app, `simulate`, `simulate-refund`, the statement.
    pub fn control_router(&self) -> Router {
        Router::new()
            .route("/checkout/{txid}", get(page).post(decide))
            .route("/simulate/{txid}", post(simulate_api))
            .route("/simulate-refund/{e2eid}/{id}", post(simulate_refund))
            .route("/reports/statement", get(report))
            .with_state(self.clone())
    }

    /// Serves API Pix on `listener` with TLS, to clients presenting a certificate the
    /// sandbox CA signed only.
    pub async fn serve_mtls(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let bad = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
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

    /// The payer pays the charge; the webhook goes as `how` says.
    pub async fn simulate(&self, txid: &str, how: &SimulateBody) -> Result<Pix, String> {
        if how.outcome != Outcome::Success {
            return Err(
                "a Pix is paid or not: only `success` can be simulated (an unpaid charge expires)"
                    .into(),
            );
        }
        let pix = {
            let mut cobs = self.lock();
            let (c, _) = cobs.get_mut(txid).ok_or("no such charge")?;
            if c.status != "ATIVA" {
                return Err(format!("charge is {}", c.status));
            }
            // Past `calendario.expiracao` seconds from `criacao`, no bank pays the code.
            let lapsed = c
                .calendario
                .criacao
                .as_deref()
                .and_then(walletpay_domain::Timestamp::parse_rfc3339)
                .is_some_and(|at| now() >= at.plus_seconds(c.calendario.expiracao));
            if lapsed {
                return Err("the charge's expiracao has passed: it can no longer be paid".into());
            }
            let stamp = now().to_string();
            let e2e = format!(
                "E99999999{}{}",
                stamp[..16].replace(['-', 'T', ':'], ""),
                alnum(11)
            );
            let p = Pix {
                end_to_end_id: e2e,
                txid: Some(txid.to_string()),
                valor: c.valor.original.clone(),
                horario: stamp,
                devolucoes: Vec::new(),
            };
            c.status = "CONCLUIDA".into();
            c.pix.push(p.clone());
            p
        };
        if how.send_callback {
            self.notify(&pix).await;
            if how.duplicate {
                self.notify(&pix).await;
            }
            if how.stale_after {
                let mut older = pix.clone();
                older.horario = Timestamp(now().millis() - 60_000).to_string();
                self.notify(&older).await;
            }
        }
        Ok(pix)
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

    /// Credits (received Pix) and debits (returns made) of a day.
    pub fn statement(&self, day: &str) -> String {
        let mut out = csv_line(
            &["Date", "Type", "EndToEndId", "TxId", "Return Id", "Amount"].map(String::from),
        );
        let cobs = self.lock();
        let mut rows: Vec<&(Cob, Timestamp)> = cobs.values().collect();
        rows.sort_by_key(|(c, at)| (*at, c.txid.clone()));
        for (c, _) in rows {
            for p in &c.pix {
                if Timestamp::parse_rfc3339(&p.horario).is_some_and(|t| day_of(t) == day) {
                    out.push_str(&csv_line(&[
                        p.horario.clone(),
                        "CREDIT".into(),
                        p.end_to_end_id.clone(),
                        c.txid.clone(),
                        String::new(),
                        p.valor.clone(),
                    ]));
                }
                for d in p.devolucoes.iter().filter(|d| d.status == "DEVOLVIDO") {
                    out.push_str(&csv_line(&[
                        p.horario.clone(),
                        "DEBIT".into(),
                        p.end_to_end_id.clone(),
                        c.txid.clone(),
                        d.id.clone(),
                        format!("-{}", d.valor),
                    ]));
                }
            }
        }
        out
    }
}

async fn token(State(sb): State<PixSandbox>, headers: HeaderMap) -> Response {
    let expected = format!(
        "{}:{}",
        sb.inner.config.client_id, sb.inner.config.client_secret
    );
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        });
    if !presented.is_some_and(|p| crate::xendit::callback_token_matches(&p, &[expected.as_str()])) {
        return problem(
            StatusCode::UNAUTHORIZED,
            "Nao Autorizado",
            "Invalid client credentials.",
        );
    }
    let t = alnum(40);
    sb.inner
        .tokens
        .lock()
        .expect("sandbox lock")
        .insert(t.clone());
    Json(Token {
        access_token: t,
        token_type: "Bearer".into(),
        expires_in: 3600,
        scope: "cob.write cob.read pix.read pix.write".into(),
    })
    .into_response()
}

fn unauthorized() -> Response {
    problem(
        StatusCode::UNAUTHORIZED,
        "Nao Autorizado",
        "Missing or invalid access token.",
    )
}

async fn put_cob(
    State(sb): State<PixSandbox>,
    headers: HeaderMap,
    Path(txid): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    if !good_txid(&txid) {
        return problem(
            StatusCode::BAD_REQUEST,
            "Cobranca Invalida",
            "txid must match [a-zA-Z0-9]{26,35}.",
        );
    }
    let req: CobRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return problem(StatusCode::BAD_REQUEST, "Cobranca Invalida", &e.to_string()),
    };
    let Some(amount) = brl(&req.valor.original).filter(|m| m.minor > 0) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Cobranca Invalida",
            "valor.original must match \\d{1,10}\\.\\d{2}.",
        );
    };
    if req.chave != sb.inner.config.pix_key {
        return problem(
            StatusCode::BAD_REQUEST,
            "Cobranca Invalida",
            "The key is not this account's.",
        );
    }
    if let Some(existing) = sb.cob(&txid) {
        // The same charge again: the charge as it is.
        return (StatusCode::OK, Json(existing)).into_response();
    }
    let whole = amount.whole_major().ok();
    if whole == Some(magic::SERVER_ERROR) {
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Erro Interno",
            "Try again later.",
        );
    }
    let location = format!(
        "{}/qr/v2/{}",
        sb.inner.config.location_host,
        uuid_v4().replace('-', "")
    );
    let code = BrCode {
        key: None,
        url: Some(location.clone()),
        merchant_name: "WALLETPAY SANDBOX".into(),
        merchant_city: "SAO PAULO".into(),
        amount: Some(amount),
        txid: "***".into(),
    }
    .payload()
    .expect("a valid BR Code");
    let cob = Cob {
        txid: txid.clone(),
        calendario: Calendario {
            expiracao: req.calendario.expiracao,
            criacao: Some(now().to_string()),
        },
        revisao: 0,
        loc: Some(Loc {
            id: now().millis() % 1_000_000,
            location: location.clone(),
            tipo_cob: "cob".into(),
        }),
        location: Some(location),
        status: "ATIVA".into(),
        valor: Valor {
            original: req.valor.original,
        },
        chave: req.chave,
        pix_copia_e_cola: Some(code),
        pix: Vec::new(),
    };
    sb.lock().insert(txid, (cob.clone(), now()));
    if whole == Some(magic::SLOW) {
        tokio::time::sleep(sb.inner.config.slow_response).await;
    }
    (StatusCode::CREATED, Json(cob)).into_response()
}

async fn get_cob(
    State(sb): State<PixSandbox>,
    headers: HeaderMap,
    Path(txid): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    match sb.cob(&txid) {
        Some(c) => Json(c).into_response(),
        None => problem(
            StatusCode::NOT_FOUND,
            "Cobranca Nao Encontrada",
            "No charge with this txid.",
        ),
    }
}

#[derive(Deserialize)]
struct Patch {
    status: String,
}

async fn patch_cob(
    State(sb): State<PixSandbox>,
    headers: HeaderMap,
    Path(txid): Path<String>,
    Json(p): Json<Patch>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let mut cobs = sb.lock();
    let Some((c, _)) = cobs.get_mut(&txid) else {
        return problem(
            StatusCode::NOT_FOUND,
            "Cobranca Nao Encontrada",
            "No charge with this txid.",
        );
    };
    if p.status != "REMOVIDA_PELO_USUARIO_RECEBEDOR" || c.status != "ATIVA" {
        return problem(
            StatusCode::BAD_REQUEST,
            "Cobranca Invalida",
            "Only an ATIVA charge can be removed.",
        );
    }
    c.status = p.status;
    c.revisao += 1;
    Json(c.clone()).into_response()
}

async fn get_pix(
    State(sb): State<PixSandbox>,
    headers: HeaderMap,
    Path(e2e): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    match sb.with_pix(&e2e, |p, _| p.clone()) {
        Some(p) => Json(p).into_response(),
        None => problem(
            StatusCode::NOT_FOUND,
            "Pix Nao Encontrado",
            "No Pix with this endToEndId.",
        ),
    }
}

async fn put_devolucao(
    State(sb): State<PixSandbox>,
    headers: HeaderMap,
    Path((e2e, id)): Path<(String, String)>,
    Json(req): Json<DevolucaoRequest>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let Some(amount) = brl(&req.valor).filter(|m| m.minor > 0) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Devolucao Invalida",
            "valor must match \\d{1,10}\\.\\d{2}.",
        );
    };
    let whole = amount.whole_major().ok();
    let made = sb.with_pix(&e2e, |p, _| {
        if let Some(d) = p.devolucoes.iter().find(|d| d.id == id) {
            return Ok(d.clone());
        }
        let paid = brl(&p.valor).map(|m| m.minor).unwrap_or(0);
        let returned: i64 = p
            .devolucoes
            .iter()
            .filter(|d| d.status != "NAO_REALIZADO")
            .filter_map(|d| brl(&d.valor))
            .map(|m| m.minor)
            .sum();
        if amount.minor > paid - returned {
            return Err("The return is more than what is left of the Pix.");
        }
        let (status, motivo) = match whole {
            Some(magic::REFUND_PENDING) => ("EM_PROCESSAMENTO", None),
            Some(magic::REFUND_FAILS) => (
                "NAO_REALIZADO",
                Some("Conta do pagador encerrada".to_string()),
            ),
            _ => ("DEVOLVIDO", None),
        };
        let d = Devolucao {
            id: id.clone(),
            rtr_id: Some(format!("D99999999{}", alnum(23))),
            valor: req.valor.clone(),
            status: status.into(),
            motivo,
        };
        p.devolucoes.push(d.clone());
        Ok(d)
    });
    match made {
        None => problem(
            StatusCode::NOT_FOUND,
            "Pix Nao Encontrado",
            "No Pix with this endToEndId.",
        ),
        Some(Err(why)) => problem(StatusCode::BAD_REQUEST, "Devolucao Invalida", why),
        Some(Ok(_)) if whole == Some(magic::REFUND_LOST) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Erro Interno",
            "Try again later.",
        ),
        Some(Ok(d)) => (StatusCode::CREATED, Json(d)).into_response(),
    }
}

async fn get_devolucao(
    State(sb): State<PixSandbox>,
    headers: HeaderMap,
    Path((e2e, id)): Path<(String, String)>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    match sb.with_pix(&e2e, |p, _| {
        p.devolucoes.iter().find(|d| d.id == id).cloned()
    }) {
        Some(Some(d)) => Json(d).into_response(),
        _ => problem(
            StatusCode::NOT_FOUND,
            "Devolucao Nao Encontrada",
            "No return with this id.",
        ),
    }
}

async fn page(State(sb): State<PixSandbox>, Path(txid): Path<String>) -> Response {
    let Some(c) = sb.cob(&txid) else {
        return (StatusCode::NOT_FOUND, "No such charge").into_response();
    };
    checkout_page(
        "Sandbox bank",
        "Pix",
        &format!("BRL {}", c.valor.original),
        &txid,
        (c.status != "ATIVA").then_some(c.status.as_str()),
    )
    .into_response()
}

async fn decide(
    State(sb): State<PixSandbox>,
    Path(txid): Path<String>,
    Form(form): Form<DecideForm>,
) -> Response {
    match sb.simulate(&txid, &SimulateBody::plain(form.outcome)).await {
        Ok(_) => (StatusCode::OK, "Paid.").into_response(),
        Err(why) => (StatusCode::OK, why).into_response(),
    }
}

async fn simulate_api(
    State(sb): State<PixSandbox>,
    Path(txid): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let how: SimulateBody = match serde_json::from_slice(&body) {
        Ok(h) => h,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "Requisicao Invalida",
                &e.to_string(),
            )
        }
    };
    match sb.simulate(&txid, &how).await {
        Ok(p) => Json(p).into_response(),
        Err(why) if why.starts_with("no such") => {
            problem(StatusCode::NOT_FOUND, "Cobranca Nao Encontrada", &why)
        }
        Err(why) => problem(StatusCode::CONFLICT, "Conflito", &why),
    }
}

async fn simulate_refund(
    State(sb): State<PixSandbox>,
    Path((e2e, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let status = match crate::sandbox_kit::refund_outcome(&body) {
        Some(true) => "DEVOLVIDO",
        Some(false) => "NAO_REALIZADO",
        None => {
            return problem(
                StatusCode::BAD_REQUEST,
                "Requisicao Invalida",
                crate::sandbox_kit::REFUND_OUTCOME_EXPECTED,
            )
        }
    };
    let done = sb.with_pix(&e2e, |p, _| {
        let d = p
            .devolucoes
            .iter_mut()
            .find(|d| d.id == id && d.status == "EM_PROCESSAMENTO")?;
        d.status = status.into();
        Some(d.clone())
    });
    match done.flatten() {
        Some(d) => Json(d).into_response(),
        None => problem(
            StatusCode::NOT_FOUND,
            "Devolucao Nao Encontrada",
            "No return in process with this id.",
        ),
    }
}

#[derive(Deserialize)]
struct ReportQuery {
    date: String,
}

async fn report(State(sb): State<PixSandbox>, Query(q): Query<ReportQuery>) -> Response {
    (
        StatusCode::OK,
        [("content-type", "text/csv")],
        sb.statement(&q.date),
    )
        .into_response()
}
