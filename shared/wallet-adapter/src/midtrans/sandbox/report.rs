//! The sandbox's balance statement of a day (`GET /statements?date=`), in the columns the
//! adapter reads (Midtrans's dashboard export and two more; see `midtrans::settlement`):
//! settled orders and refunds, Jakarta time, a 2% fee on e-wallet orders and 0.7% on QRIS,
//! payable the next day; with the faults a test asked for.

use super::*;
use crate::midtrans::settlement::{COLUMNS, WIB_MINUTES};
use crate::sandbox_kit::settlement::{self as st, fee, MoveKind, Movement, Settles};
use crate::sandbox_kit::{csv_line, ReportQuery};
use axum::extract::{Query, State};
use axum::response::Response;
use walletpay_domain::Currency;

impl Settles for MidtransSandbox {
    fn faults(&self) -> &st::Faults {
        &self.inner.faults
    }
}

pub fn fee_bps(payment_type: &str) -> i64 {
    if payment_type == "qris" {
        70
    } else {
        200
    }
}

impl MidtransSandbox {
    /// Every money movement booked so far.
    pub fn movements(&self) -> Vec<Movement> {
        let mut out = Vec::new();
        for o in self.lock().values() {
            let t = &o.transaction;
            let paid = matches!(
                t.transaction_status.as_deref(),
                Some("settlement" | "refund" | "partial_refund")
            );
            let order = t.order_id.clone().unwrap_or_default();
            let method = t.payment_type.clone().unwrap_or_default();
            if paid {
                out.push(Movement {
                    kind: MoveKind::Charge,
                    reversed: false,
                    payment: Some(order.clone()),
                    refund: None,
                    reference: t.transaction_id.clone().unwrap_or_default(),
                    charge_reference: order.clone(),
                    amount_minor: o.gross_minor,
                    currency: Currency::IDR,
                    fee_minor: fee(o.gross_minor, fee_bps(&method)),
                    at: o.created,
                    value_at: o.created.plus_seconds(86_400),
                    garbled: false,
                    method: method.clone(),
                });
            }
            for (key, minor, at) in &o.refunds {
                out.push(Movement {
                    kind: MoveKind::Refund,
                    reversed: false,
                    payment: Some(order.clone()),
                    refund: Some(key.clone()),
                    reference: key.clone(),
                    charge_reference: order.clone(),
                    amount_minor: *minor,
                    currency: Currency::IDR,
                    fee_minor: 0,
                    at: *at,
                    value_at: *at,
                    garbled: false,
                    method: method.clone(),
                });
            }
        }
        out
    }
}

fn render(listed: &[Movement]) -> String {
    let mut out = csv_line(&COLUMNS.map(String::from));
    for m in listed {
        let lines: Vec<(&str, &str, i64, i64)> = match m.kind {
            MoveKind::Charge => vec![("payment", "settlement", m.amount_minor, m.fee_minor)],
            MoveKind::Refund if m.reversed => vec![
                ("refund", "refund", -m.amount_minor, 0),
                ("refund_reversal", "refund", m.amount_minor, 0),
            ],
            MoveKind::Refund => vec![("refund", "refund", -m.amount_minor, 0)],
        };
        for (kind, status, amount, fee) in lines {
            out.push_str(&csv_line(&[
                st::local(m.at, WIB_MINUTES),
                m.charge_reference.clone(),
                kind.into(),
                m.method.clone(),
                status.into(),
                if m.garbled {
                    "Rp150.000".into()
                } else {
                    st::major(amount, m.currency)
                },
                st::major(fee, m.currency),
                st::local(m.value_at, WIB_MINUTES),
                m.refund.clone().unwrap_or_default(),
            ]));
        }
    }
    out
}

/// `GET /statements?date=YYYY-MM-DD` (Basic auth with the server key).
pub(super) async fn statement(
    State(sb): State<MidtransSandbox>,
    headers: HeaderMap,
    Query(q): Query<ReportQuery>,
) -> Response {
    if !sb.authorized(&headers) {
        return status(StatusCode::UNAUTHORIZED, "401", "Unauthorized transaction");
    }
    st::statement(sb.faults(), &q.date, WIB_MINUTES, sb.movements(), render)
}
