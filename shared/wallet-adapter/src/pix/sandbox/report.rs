//! The account statement of a day: Pix received and returns made.

use super::*;
use crate::pix::wire::Cob;
use crate::sandbox_kit::{csv_line, day_of};
use axum::extract::{Query, State};
use axum::response::Response;
use walletpay_domain::Timestamp;

impl PixSandbox {
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

pub(super) async fn report(
    State(sb): State<PixSandbox>,
    Query(q): Query<kit::ReportQuery>,
) -> Response {
    kit::csv(sb.statement(&q.date))
}
