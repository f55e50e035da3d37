//! The sandbox's transactions report of a day (its own CSV: Midtrans documents no
//! settlement-report columns).

use super::*;
use crate::sandbox_kit::{csv, csv_line, day_of, ReportQuery};
use axum::extract::{Query, State};
use axum::response::Response;

impl MidtransSandbox {
    /// The sandbox's transactions report of a day (Jakarta time is not used here: days are
    /// UTC): one row per settled order and per refund.
    pub fn transactions_report(&self, day: &str) -> String {
        let mut out = csv_line(
            &[
                "Order ID",
                "Transaction ID",
                "Payment Type",
                "Transaction Time",
                "Settlement Time",
                "Type",
                "Gross Amount",
                "Fee",
                "Net Amount",
                "Transaction Status",
                "Currency",
                "Refund Key",
            ]
            .map(String::from),
        );
        let orders = self.lock();
        let mut list: Vec<&Order> = orders.values().collect();
        list.sort_by_key(|o| (o.created, o.transaction.order_id.clone()));
        for o in list {
            let t = &o.transaction;
            let paid = matches!(
                t.transaction_status.as_deref(),
                Some("settlement" | "refund" | "partial_refund")
            );
            if paid && day_of(o.created) == day {
                let fee = o.gross_minor * 2 / 100;
                out.push_str(&csv_line(&[
                    t.order_id.clone().unwrap_or_default(),
                    t.transaction_id.clone().unwrap_or_default(),
                    t.payment_type.clone().unwrap_or_default(),
                    t.transaction_time.clone().unwrap_or_default(),
                    t.settlement_time.clone().unwrap_or_default(),
                    "payment".into(),
                    gross(o.gross_minor),
                    gross(fee),
                    gross(o.gross_minor - fee),
                    t.transaction_status.clone().unwrap_or_default(),
                    "IDR".into(),
                    String::new(),
                ]));
            }
            for (key, minor, at) in &o.refunds {
                if day_of(*at) != day {
                    continue;
                }
                out.push_str(&csv_line(&[
                    t.order_id.clone().unwrap_or_default(),
                    t.transaction_id.clone().unwrap_or_default(),
                    t.payment_type.clone().unwrap_or_default(),
                    wib(*at),
                    wib(*at),
                    "refund".into(),
                    format!("-{}", gross(*minor)),
                    gross(0),
                    format!("-{}", gross(*minor)),
                    "refund".into(),
                    "IDR".into(),
                    key.clone(),
                ]));
            }
        }
        out
    }
}

pub(super) async fn report(
    State(sb): State<MidtransSandbox>,
    Query(q): Query<ReportQuery>,
) -> Response {
    csv(sb.transactions_report(&q.date))
}
