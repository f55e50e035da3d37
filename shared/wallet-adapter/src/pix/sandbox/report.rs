//! The sandbox's `GET /pix?inicio=&fim=`: the Pix it received in a period, each with its
//! returns, paginated as API Pix pages (`paginacao.paginaAtual`, `itensPorPagina` up to
//! 1000), with the faults a test asked for applied to the listing (another `valor`, a Pix
//! left out or listed twice, a return shown `NAO_REALIZADO`, a Pix nobody made).

use super::*;
use crate::pix::wire::{Paginacao, Parametros, Pix, PixConsultados};
use crate::sandbox_kit::settlement::{Fault, Settles};
use axum::extract::{RawQuery, State};
use walletpay_domain::{Money, PaymentId, Timestamp};

impl Settles for PixSandbox {
    fn faults(&self) -> &crate::sandbox_kit::settlement::Faults {
        &self.inner.faults
    }
}

impl PixSandbox {
    /// The Pix received in `[inicio, fim]`, oldest first, as the listing shows them.
    pub fn received(&self, inicio: Timestamp, fim: Timestamp) -> Vec<Pix> {
        let mut out = Vec::new();
        let cobs = self.lock();
        let mut all: Vec<(&Cob, &Pix)> = cobs
            .values()
            .flat_map(|(c, _)| c.pix.iter().map(move |p| (c, p)))
            .collect();
        all.sort_by(|a, b| {
            (&a.1.horario, &a.1.end_to_end_id).cmp(&(&b.1.horario, &b.1.end_to_end_id))
        });
        for (c, p) in all {
            let Some(at) = Timestamp::parse_rfc3339(&p.horario) else {
                continue;
            };
            if at < inicio || at > fim {
                continue;
            }
            let payment = format!("{}{}", PaymentId::PREFIX, c.txid);
            let faults = self
                .faults()
                .matching(&[&p.end_to_end_id, &c.txid, &payment]);
            let mut p = p.clone();
            let mut copies = 1;
            for f in &faults {
                match f {
                    Fault::OtherAmount { amount_minor, .. } => {
                        p.valor = Money {
                            minor: *amount_minor,
                            currency: walletpay_domain::Currency::BRL,
                        }
                        .decimal_string(2)
                    }
                    Fault::Drop { .. } => copies = 0,
                    Fault::Garble { .. } => p.valor = "150".into(),
                    Fault::Duplicate { .. } => copies = 2,
                    _ => {}
                }
            }
            for d in p.devolucoes.iter_mut() {
                let refund = format!("{}{}", walletpay_domain::RefundId::PREFIX, d.id);
                for f in self.faults().matching(&[&d.id, &refund]) {
                    if matches!(f, Fault::ReverseRefund { .. }) {
                        d.status = "NAO_REALIZADO".into();
                        d.motivo = Some("Devolucao nao realizada pelo PSP do pagador".into());
                    }
                }
            }
            for n in 0..copies {
                let mut listed = p.clone();
                if n > 0 {
                    // The same payment under a second transfer id.
                    listed.end_to_end_id = format!(
                        "{}D",
                        &p.end_to_end_id[..p.end_to_end_id.len().saturating_sub(1)]
                    );
                    listed.devolucoes.clear();
                }
                out.push(listed);
            }
        }
        for (_, m) in self.faults().phantoms() {
            if m.at >= inicio && m.at <= fim {
                out.push(Pix {
                    end_to_end_id: format!("E{:0>31}", m.reference.replace('-', ""))
                        .chars()
                        .take(32)
                        .collect(),
                    txid: m
                        .payment
                        .as_deref()
                        .and_then(|p| p.strip_prefix(PaymentId::PREFIX))
                        .map(str::to_string),
                    valor: Money {
                        minor: m.amount_minor,
                        currency: walletpay_domain::Currency::BRL,
                    }
                    .decimal_string(2),
                    horario: m.at.to_string(),
                    devolucoes: Vec::new(),
                });
            }
        }
        out
    }
}

/// `GET /pix?inicio=&fim=&paginacao.paginaAtual=&paginacao.itensPorPagina=`.
pub(super) async fn list_pix(
    State(sb): State<PixSandbox>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let form = kit::Form::parse(query.unwrap_or_default().as_bytes());
    let one = |k: &str| form.one(k);
    let invalid = |detail: &str| problem(StatusCode::BAD_REQUEST, "Consulta Invalida", detail);
    let (Some(inicio), Some(fim)) = (
        one("inicio").and_then(|v| Timestamp::parse_rfc3339(&v)),
        one("fim").and_then(|v| Timestamp::parse_rfc3339(&v)),
    ) else {
        return invalid("inicio e fim sao obrigatorios (RFC 3339)");
    };
    let page = match one("paginacao.paginaAtual").map(|v| v.parse::<i64>()) {
        None => 0,
        Some(Ok(p)) if p >= 0 => p,
        Some(_) => return invalid("paginacao.paginaAtual invalida"),
    };
    let per_page = match one("paginacao.itensPorPagina").map(|v| v.parse::<i64>()) {
        None => 100,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => return invalid("paginacao.itensPorPagina deve estar entre 1 e 1000"),
    };
    let all = sb.received(inicio, fim);
    let total = all.len() as i64;
    let pages = if total == 0 {
        1
    } else {
        (total + per_page - 1) / per_page
    };
    let pix: Vec<Pix> = all
        .into_iter()
        .skip((page * per_page) as usize)
        .take(per_page as usize)
        .collect();
    Json(PixConsultados {
        parametros: Parametros {
            inicio: inicio.to_string(),
            fim: fim.to_string(),
            paginacao: Paginacao {
                pagina_atual: page,
                itens_por_pagina: per_page,
                quantidade_de_paginas: pages,
                quantidade_total_de_itens: total,
            },
        },
        pix,
    })
    .into_response()
}
