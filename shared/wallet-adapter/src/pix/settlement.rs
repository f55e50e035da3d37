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
        let to = day.to();
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
            rows += read_page(&got, page, &mut line, day, sink)?;
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

/// One page of `GET /pix` as settlement rows: the day's Pix as charges, the returns settled
/// in the day as refunds. A page other than the one asked for, or an empty page before the
/// last, is refused: a listing that does not move on would be read forever.
fn read_page(
    got: &PixConsultados,
    page: i64,
    line: &mut u64,
    day: &SettlementDay<'_>,
    sink: RowSink<'_>,
) -> Result<u64, SettlementError> {
    let paging = &got.parametros.paginacao;
    if paging.pagina_atual != page {
        return Err(SettlementError::Malformed {
            line: *line,
            reason: format!(
                "asked for page {page}, API Pix answered page {}",
                paging.pagina_atual
            ),
        });
    }
    if got.pix.is_empty() && page + 1 < paging.quantidade_de_paginas {
        return Err(SettlementError::Malformed {
            line: *line,
            reason: format!(
                "page {page} is empty, of {} pages",
                paging.quantidade_de_paginas
            ),
        });
    }
    let (from, to) = (day.from(), day.to());
    let mut rows = 0u64;
    for p in &got.pix {
        *line += 1;
        let line = *line;
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
            let amount =
                reais(&d.valor).map_err(|r| bad(format!("return {} `valor`: {r}", d.id)))?;
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
    Ok(rows)
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

    fn day() -> SettlementDay<'static> {
        SettlementDay {
            day: walletpay_reconcile::Date::parse("2026-12-01").unwrap(),
            utc_offset_minutes: -3 * 60,
            notices: &[],
            now: Timestamp::parse_rfc3339("2026-12-05T00:00:00Z").unwrap(),
        }
    }

    /// A page of `GET /pix` as API Pix's specification shows one: a Pix of the day with a
    /// return settled in it.
    const PAGE_ZERO: &str = r#"{
        "parametros": {"inicio": "2026-09-02T03:00:00.000Z", "fim": "2026-12-02T02:59:59.999Z",
            "paginacao": {"paginaAtual": 0, "itensPorPagina": 1000, "quantidadeDePaginas": 1, "quantidadeDeItens": 1, "quantidadeTotalDeItens": 1}},
        "pix": [{
            "endToEndId": "E12345678202612011200abcdefghijk",
            "txid": "01m8ab8makqqg641md11702kgn",
            "valor": "110.00",
            "horario": "2026-12-01T12:00:00.000Z",
            "infoPagador": "pedido 42",
            "devolucoes": [{
                "id": "01m8ab8makqqg641md11702kgn",
                "rtrId": "D12345678202612011500abcdefghijk",
                "valor": "10.00",
                "horario": {"solicitacao": "2026-12-01T15:00:00.000Z", "liquidacao": "2026-12-01T15:00:05.000Z"},
                "status": "DEVOLVIDO"
            }]
        }]
    }"#;

    fn read_text(text: &str, page: i64) -> Result<Vec<SettlementRow>, SettlementError> {
        let got: PixConsultados =
            serde_json::from_str(text).map_err(|e| SettlementError::Malformed {
                line: 0,
                reason: e.to_string(),
            })?;
        let mut rows = Vec::new();
        let mut line = 0;
        read_page(&got, page, &mut line, &day(), &mut |r| rows.push(r))?;
        Ok(rows)
    }

    #[test]
    fn a_page_reads_its_pix_and_returns() {
        let rows = read_text(PAGE_ZERO, 0).unwrap();
        assert_eq!(
            rows.iter()
                .map(|r| (r.kind, r.gross, r.net))
                .collect::<Vec<_>>(),
            [
                (Kind::Charge, 11_000, 11_000),
                (Kind::Refund, 1_000, -1_000)
            ]
        );
        assert_eq!(
            rows[1].refund_id.as_ref().unwrap().as_str(),
            "ref_01m8ab8makqqg641md11702kgn"
        );
    }

    #[test]
    fn a_listing_that_does_not_move_on_is_refused() {
        // Page 1 asked, page 0 answered: reading on would never end.
        assert!(matches!(
            read_text(PAGE_ZERO, 1),
            Err(SettlementError::Malformed { .. })
        ));
        // An empty page that says more follow.
        let empty = PAGE_ZERO
            .replace(
                "\"quantidadeDePaginas\": 1",
                "\"quantidadeDePaginas\": 1000000000",
            )
            .split("\"pix\": [")
            .next()
            .unwrap()
            .to_string()
            + "\"pix\": []}";
        match read_text(&empty, 0) {
            Err(SettlementError::Malformed { reason, .. }) => {
                assert!(reason.contains("empty"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        // The last page may be empty: a day with nothing received.
        let none = empty.replace("1000000000", "1");
        assert_eq!(read_text(&none, 0).unwrap().len(), 0);
    }

    #[test]
    fn fuzzed_listings_are_read_or_refused() {
        crate::settlement::fuzz_json_pages("pix", PAGE_ZERO, |t| read_text(t, 0));
    }
}
