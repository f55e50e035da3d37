//! Payments made and refunds of a day, in the sandbox's own columns.

use super::*;
use crate::sandbox_kit::{csv_line, day_of};
use axum::extract::{Query, State};
use axum::response::Response;

impl DanaSandbox {
    /// Payments made and refunds, of a day (the sandbox's own columns).
    pub fn settlement(&self, day: &str) -> String {
        let mut out = csv_line(
            &[
                "Date",
                "Type",
                "Partner Reference No",
                "Reference No",
                "Refund No",
                "Amount",
                "Currency",
            ]
            .map(String::from),
        );
        let orders = self.lock();
        let mut list: Vec<&Order> = orders.values().collect();
        list.sort_by_key(|o| (o.created, o.reference_no.clone()));
        for o in list {
            if matches!(o.status.as_str(), "00" | "04") && day_of(o.created) == day {
                out.push_str(&csv_line(&[
                    o.created.to_string(),
                    "PAYMENT".into(),
                    o.request.partner_reference_no.clone(),
                    o.reference_no.clone(),
                    String::new(),
                    o.request.amount.value.clone(),
                    "IDR".into(),
                ]));
            }
            for (no, _, m, at) in &o.refunds {
                if day_of(*at) == day {
                    out.push_str(&csv_line(&[
                        at.to_string(),
                        "REFUND".into(),
                        o.request.partner_reference_no.clone(),
                        o.reference_no.clone(),
                        no.clone(),
                        format!("-{}", m.decimal_string(2)),
                        "IDR".into(),
                    ]));
                }
            }
        }
        out
    }
}

pub(super) async fn report(
    State(sb): State<DanaSandbox>,
    Query(q): Query<kit::ReportQuery>,
) -> Response {
    kit::csv(sb.settlement(&q.date))
}
