//! The bank statement of a day: credits for bills paid, debits for refunds.

use super::*;
use crate::sandbox_kit::{csv_line, day_of};
use axum::extract::{Query, State};
use axum::response::Response;
use walletpay_domain::Timestamp;

impl BankSandbox {
    /// The bank statement of a day: one credit per settled bill payment, one debit per
    /// refund.
    pub fn statement(&self, day: &str) -> String {
        let mut out = csv_line(
            &[
                "Date",
                "Transaction ID",
                "Type",
                "Biller ID",
                "Ref1",
                "Ref2",
                "Amount",
                "Currency",
                "Reference",
            ]
            .map(String::from),
        );
        let bills = self.lock();
        let mut rows: Vec<&Kept> = bills.values().collect();
        rows.sort_by_key(|k| (k.created, k.bill.ref1.clone()));
        for k in rows {
            if let Some(p) = &k.payment {
                if Timestamp::parse_rfc3339(&p.paid_at).is_some_and(|t| day_of(t) == day) {
                    out.push_str(&csv_line(&[
                        p.paid_at.clone(),
                        p.transaction_id.clone(),
                        "CREDIT".into(),
                        p.biller_id.clone(),
                        p.ref1.clone(),
                        p.ref2.clone().unwrap_or_default(),
                        p.amount.clone(),
                        "THB".into(),
                        String::new(),
                    ]));
                }
            }
            for (r, at) in &k.refunds {
                // A reversed refund was paid out, then came back: both movements are listed.
                let moves: &[(&str, &str)] = match r.status.as_str() {
                    "succeeded" => &[("DEBIT", "-")],
                    "reversed" => &[("DEBIT", "-"), ("REFUND_REVERSAL", "")],
                    _ => &[],
                };
                if day_of(*at) != day {
                    continue;
                }
                for (kind, sign) in moves {
                    out.push_str(&csv_line(&[
                        at.to_string(),
                        r.refund_id.clone(),
                        kind.to_string(),
                        k.bill.biller_id.clone(),
                        k.bill.ref1.clone(),
                        k.bill.ref2.clone().unwrap_or_default(),
                        format!("{sign}{}", r.amount),
                        "THB".into(),
                        r.reference.clone(),
                    ]));
                }
            }
        }
        out
    }
}

pub(super) async fn report(
    State(sb): State<BankSandbox>,
    Query(q): Query<kit::ReportQuery>,
) -> Response {
    kit::csv(sb.statement(&q.date))
}
