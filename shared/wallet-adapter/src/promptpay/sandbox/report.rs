//! The bank sandbox's account statement of a day (`GET /statements?date=`, Bearer key), in
//! the columns the adapter reads (see `promptpay::settlement`): a credit per bill paid, a
//! debit per refund made, a `REFUND_REVERSAL` after a refund returned; Bangkok time days;
//! with the faults a test asked for.

use super::*;
use crate::promptpay::settlement::COLUMNS;
use crate::sandbox_kit::settlement::{self as st, MoveKind, Movement, Settles};
use crate::sandbox_kit::{csv_line, ReportQuery};
use axum::extract::{Query, State};
use axum::response::Response;
use walletpay_domain::{Currency, Money, Timestamp};

const ICT: i32 = 7 * 60;

impl Settles for BankSandbox {
    fn faults(&self) -> &st::Faults {
        &self.inner.faults
    }
}

impl BankSandbox {
    /// Every money movement booked so far.
    pub fn movements(&self) -> Vec<Movement> {
        let mut out = Vec::new();
        for k in self.lock().values() {
            let payment =
                crate::promptpay::mapping::payment_of(&k.bill.ref1, k.bill.ref2.as_deref())
                    .map(|p| p.to_string());
            let charge_reference =
                format!("{}{}", k.bill.ref1, k.bill.ref2.clone().unwrap_or_default());
            if let Some(p) = &k.payment {
                let (Some(at), Ok(amount)) = (
                    Timestamp::parse_rfc3339(&p.paid_at),
                    Money::parse_decimal(&p.amount, Currency::THB),
                ) else {
                    continue;
                };
                out.push(Movement {
                    kind: MoveKind::Charge,
                    reversed: false,
                    payment: payment.clone(),
                    refund: None,
                    reference: p.transaction_id.clone(),
                    charge_reference: charge_reference.clone(),
                    amount_minor: amount.minor,
                    currency: Currency::THB,
                    fee_minor: 0,
                    at,
                    value_at: at,
                    garbled: false,
                    method: "PROMPTPAY".into(),
                });
            }
            for (r, at) in &k.refunds {
                if !matches!(r.status.as_str(), "succeeded" | "reversed") {
                    continue;
                }
                let Ok(amount) = Money::parse_decimal(&r.amount, Currency::THB) else {
                    continue;
                };
                out.push(Movement {
                    kind: MoveKind::Refund,
                    reversed: r.status == "reversed",
                    payment: payment.clone(),
                    refund: Some(r.reference.clone()),
                    reference: r.refund_id.clone(),
                    charge_reference: charge_reference.clone(),
                    amount_minor: amount.minor,
                    currency: Currency::THB,
                    fee_minor: 0,
                    at: *at,
                    value_at: *at,
                    garbled: false,
                    method: "PROMPTPAY".into(),
                });
            }
        }
        out
    }

    fn render(&self, listed: &[Movement]) -> String {
        let bills = self.lock();
        let mut out = csv_line(&COLUMNS.map(String::from));
        for m in listed {
            let (ref1, ref2) = bills
                .values()
                .find(|k| {
                    format!("{}{}", k.bill.ref1, k.bill.ref2.clone().unwrap_or_default())
                        == m.charge_reference
                })
                .map(|k| (k.bill.ref1.clone(), k.bill.ref2.clone().unwrap_or_default()))
                .unwrap_or_else(|| (m.charge_reference.clone(), String::new()));
            let lines: Vec<(&str, i64)> = match m.kind {
                MoveKind::Charge => vec![("CREDIT", m.amount_minor)],
                MoveKind::Refund if m.reversed => vec![
                    ("DEBIT", -m.amount_minor),
                    ("REFUND_REVERSAL", m.amount_minor),
                ],
                MoveKind::Refund => vec![("DEBIT", -m.amount_minor)],
            };
            for (kind, amount) in lines {
                out.push_str(&csv_line(&[
                    m.at.to_string(),
                    m.reference.clone(),
                    kind.into(),
                    self.inner.config.biller_id.clone(),
                    ref1.clone(),
                    ref2.clone(),
                    if m.garbled {
                        "1,500.00".into()
                    } else {
                        st::major(amount, m.currency)
                    },
                    m.currency.code().into(),
                    m.refund.clone().unwrap_or_default(),
                ]));
            }
        }
        out
    }
}

/// `GET /statements?date=YYYY-MM-DD` with the bank API's Bearer key.
pub(super) async fn statement(
    State(sb): State<BankSandbox>,
    headers: HeaderMap,
    Query(q): Query<ReportQuery>,
) -> Response {
    if !sb.authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, "unauthorized", "invalid API key");
    }
    let moves = sb.movements();
    let listed_sb = sb.clone();
    st::statement(sb.faults(), &q.date, ICT, moves, move |l| {
        listed_sb.render(l)
    })
}
