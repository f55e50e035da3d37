//! API Pix as the bank's sandbox answers it: the OAuth token, immediate charges (`cob`),
//! received Pix and their returns (`devolucao`).

use super::*;
use crate::pix::wire::{
    Calendario, Cob, CobRequest, Devolucao, DevolucaoRequest, Loc, Token, Valor,
};
use crate::sandbox_kit::{alnum, magic, now, uuid_v4};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::Deserialize;
use walletpay_domain::emv::BrCode;

pub(super) async fn token(State(sb): State<PixSandbox>, headers: HeaderMap) -> Response {
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
    if !presented.is_some_and(|p| crate::credentials::equals_any(&p, &[expected.as_str()])) {
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

pub(super) async fn put_cob(
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

pub(super) async fn get_cob(
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
pub(super) struct Patch {
    status: String,
}

pub(super) async fn patch_cob(
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

pub(super) async fn get_pix(
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

pub(super) async fn put_devolucao(
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
            horario: Some(crate::pix::wire::DevolucaoHorario {
                solicitacao: now().to_string(),
                liquidacao: (status == "DEVOLVIDO").then(|| now().to_string()),
            }),
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

pub(super) async fn get_devolucao(
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
