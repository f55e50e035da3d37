//! The payer paying a charge, and a return settling, as a tester or the payer's page says,
//! with the bank's webhook.

use super::*;
use crate::pix::wire::Pix;
use crate::sandbox_kit::{alnum, now, Outcome, SimulateBody};
use crate::sandbox_kit::{SandboxError, Shown, Simulator};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use walletpay_domain::Timestamp;

pub(super) async fn simulate_refund(
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
        if let Some(h) = d.horario.as_mut() {
            h.liquidacao = (status == "DEVOLVIDO").then(|| crate::sandbox_kit::now().to_string());
        }
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

impl Simulator for PixSandbox {
    const NAME: &'static str = "Sandbox bank";
    const OUTCOMES: &'static [Outcome] = &[Outcome::Success];
    const CHARGE: &'static str = "charge";
    type Settled = Pix;

    fn shown(&self, txid: &str) -> Option<Shown> {
        let c = self.cob(txid)?;
        Some(Shown {
            method: "Pix".into(),
            amount: format!("BRL {}", c.valor.original),
            reference: txid.to_string(),
            settled: (c.status != "ATIVA").then_some(c.status),
        })
    }

    /// The payer pays the charge; the webhook goes as `how` says.
    async fn simulate(&self, txid: &str, how: &SimulateBody) -> Result<Pix, SandboxError> {
        if how.outcome != Outcome::Success {
            return Err(SandboxError::Conflict(
                "a Pix is paid or not: only `success` can be simulated (an unpaid charge expires)"
                    .into(),
            ));
        }
        let pix = {
            let mut cobs = self.lock();
            let (c, _) = cobs
                .get_mut(txid)
                .ok_or_else(|| SandboxError::not_found(Self::CHARGE, txid))?;
            if c.status != "ATIVA" {
                return Err(SandboxError::Conflict(format!("charge is {}", c.status)));
            }
            // Past `calendario.expiracao` seconds from `criacao`, no bank pays the code.
            let lapsed = c
                .calendario
                .criacao
                .as_deref()
                .and_then(walletpay_domain::Timestamp::parse_rfc3339)
                .is_some_and(|at| now() >= at.plus_seconds(c.calendario.expiracao));
            if lapsed {
                return Err(SandboxError::Conflict(
                    "the charge's expiracao has passed: it can no longer be paid".into(),
                ));
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

    /// A Pix is paid in the payer's banking app: there is no shop to go back to.
    fn return_to(&self, _txid: &str) -> Option<String> {
        None
    }

    fn refusal(&self, e: &SandboxError) -> Response {
        let title = match e {
            SandboxError::NotFound { .. } => "Cobranca Nao Encontrada",
            SandboxError::Conflict(_) => "Conflito",
            SandboxError::BadRequest(_) => "Requisicao Invalida",
        };
        problem(e.status(), title, &e.to_string())
    }
}
