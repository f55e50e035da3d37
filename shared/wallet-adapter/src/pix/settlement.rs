//! Pix's settlement data of a day, from API Pix itself: `GET /pix?inicio=&fim=` lists the Pix
//! received in a period (`paginacao.paginaAtual` from 0 to `quantidadeDePaginas - 1`), each
//! with its returns (`devolucoes`). A Pix received in the day is a charge (`txid` names our
//! payment, `endToEndId` is the transfer, `valor` is reais with two decimals); a return
//! settled in the day (`horario.liquidacao`; asked for, `horario.solicitacao`, while in
//! process) is a refund of it (its `id` names our refund; `DEVOLVIDO` made,
//! `EM_PROCESSAMENTO` pending, `NAO_REALIZADO` failed). Returns come up to 90 days after the
//! Pix, so the listing reaches that far back for them. Pix settles gross and at once: no
//! fee, paid out on the day.

use super::client::Pix;
use super::mapping::payment_of;
use super::wire::PixConsultados;
use crate::settlement::{RowSink, SettlementDay, SettlementError, SourceRead};
use walletpay_domain::{Currency, RefundId, Timestamp};
use walletpay_reconcile::{minor_units, Kind, RowStatus, SettlementRow};

/// How far back the listing reaches for returns.
pub const RETURNS_LOOKBACK_DAYS: i32 = 90;
const PAGE: i64 = 1000;

impl Pix {
    pub(super) async fn read_settlement(
        &self,
        day: &SettlementDay<'_>,
        sink: RowSink<'_>,
    ) -> Result<SourceRead, SettlementError> {
        let (from, to) = (day.from(), day.to());
        let inicio = day
            .day
            .plus_days(-RETURNS_LOOKBACK_DAYS)
            .start(day.utc_offset_minutes);
        // `fim` is inclusive: the day's last millisecond.
        let fim = to.plus_millis(-1);
        let mut page = 0i64;
        let mut line = 0u64;
        let mut rows = 0u64;
        loop {
            let path = format!(
                "/pix?inicio={}&fim={}&paginacao.paginaAtual={page}&paginacao.itensPorPagina={PAGE}",
                inicio, fim
            );
            let got: PixConsultados = self.get_listing(&path).await?;
            for p in &got.pix {
                line += 1;
                let bad = |reason: String| SettlementError::Malformed { line, reason };
                let at = Timestamp::parse_rfc3339(&p.horario)
                    .ok_or_else(|| bad(format!("`horario` {:?} is not a time", p.horario)))?;
                let valor = reais(&p.valor).map_err(|r| bad(format!("`valor`: {r}")))?;
                let txid = p.txid.clone().unwrap_or_default();
                let payment_id = payment_of(&txid);
                if at >= from && at < to {
                    rows += 1;
                    sink(SettlementRow {
                        line,
                        payment_id: payment_id.clone(),
                        refund_id: None,
                        provider_reference: p.end_to_end_id.clone(),
                        charge_reference: p.txid.clone(),
                        kind: Kind::Charge,
                        gross: valor,
                        fee: 0,
                        net: valor,
                        currency: Currency::BRL,
                        status: RowStatus::Succeeded,
                        booked_on: day.day_of(at),
                        booked_at: Some(at),
                        value_on: Some(day.day_of(at)),
                        settled: true,
                        method: Some("PIX".into()),
                    });
                }
                for d in &p.devolucoes {
                    let h = d
                        .horario
                        .as_ref()
                        .ok_or_else(|| bad(format!("return {} has no `horario`", d.id)))?;
                    let when = h.liquidacao.as_deref().unwrap_or(&h.solicitacao);
                    let when = Timestamp::parse_rfc3339(when)
                        .ok_or_else(|| bad(format!("return {}: {when:?} is not a time", d.id)))?;
                    if when < from || when >= to {
                        continue;
                    }
                    let status = match d.status.as_str() {
                        "DEVOLVIDO" => RowStatus::Succeeded,
                        "EM_PROCESSAMENTO" => RowStatus::Pending,
                        "NAO_REALIZADO" => RowStatus::Failed,
                        other => return Err(bad(format!("return {}: status {other:?}", d.id))),
                    };
                    let amount = reais(&d.valor)
                        .map_err(|r| bad(format!("return {} `valor`: {r}", d.id)))?;
                    rows += 1;
                    sink(SettlementRow {
                        line,
                        payment_id: payment_id.clone(),
                        refund_id: RefundId::parse(&format!("{}{}", RefundId::PREFIX, d.id)),
                        provider_reference: d.rtr_id.clone().unwrap_or_else(|| d.id.clone()),
                        charge_reference: p.txid.clone(),
                        kind: Kind::Refund,
                        gross: amount,
                        fee: 0,
                        net: if status == RowStatus::Succeeded {
                            -amount
                        } else {
                            0
                        },
                        currency: Currency::BRL,
                        status,
                        booked_on: day.day_of(when),
                        booked_at: Some(when),
                        value_on: Some(day.day_of(when)),
                        settled: status == RowStatus::Succeeded,
                        method: Some("PIX".into()),
                    });
                }
            }
            page += 1;
            if page >= got.parametros.paginacao.quantidade_de_paginas {
                break;
            }
        }
        Ok(SourceRead {
            source: "API Pix GET /pix".into(),
            rows,
        })
    }
}

/// API Pix's `valor`: `\d{1,10}\.\d{2}`, exactly.
fn reais(v: &str) -> Result<i64, String> {
    let ok = v.split_once('.').is_some_and(|(w, f)| {
        (1..=10).contains(&w.len())
            && f.len() == 2
            && w.bytes().chain(f.bytes()).all(|b| b.is_ascii_digit())
    });
    if !ok {
        return Err(format!("{v:?} is not reais with two decimals"));
    }
    minor_units(v, Currency::BRL).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valor_is_reais_with_two_decimals_exactly() {
        assert_eq!(reais("100.00"), Ok(10_000));
        assert_eq!(reais("0.01"), Ok(1));
        for bad in [
            "100",
            "100.0",
            "100.000",
            "1,00",
            "-1.00",
            "",
            "12345678901.00",
        ] {
            assert!(reais(bad).is_err(), "{bad}");
        }
    }
}
