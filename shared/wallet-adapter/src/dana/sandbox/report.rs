//! The sandbox's Payment Services Settlement File of a day (`GET /statements?date=`,
//! `X-PARTNER-ID`), semicolon-separated, amounts in cents, times `+07:00`, in the columns
//! the adapter reads (see `dana::settlement`): orders paid and refunds, a 1.5% MDR, settled
//! at T+1; with the faults a test asked for.

use super::*;
use crate::dana::settlement::COLUMNS;
use crate::sandbox_kit::settlement::{self as st, fee, MoveKind, Movement, Settles};
use crate::sandbox_kit::ReportQuery;
use axum::extract::{Query, State};
use axum::response::Response;
use walletpay_domain::Currency;

pub const MDR_BPS: i64 = 150;
const WIB: i32 = 7 * 60;

impl Settles for DanaSandbox {
    fn faults(&self) -> &st::Faults {
        &self.inner.faults
    }
}

impl DanaSandbox {
    /// Every money movement booked so far.
    pub fn movements(&self) -> Vec<Movement> {
        let mut out = Vec::new();
        for o in self.lock().values() {
            let Ok(amount) =
                walletpay_domain::Money::parse_decimal(&o.request.amount.value, Currency::IDR)
            else {
                continue;
            };
            let partner = o.request.partner_reference_no.clone();
            if matches!(o.status.as_str(), "00" | "04") {
                out.push(Movement {
                    kind: MoveKind::Charge,
                    reversed: false,
                    payment: Some(partner.clone()),
                    refund: None,
                    reference: o.reference_no.clone(),
                    charge_reference: o.reference_no.clone(),
                    amount_minor: amount.minor,
                    currency: Currency::IDR,
                    fee_minor: fee(amount.minor, MDR_BPS),
                    at: o.created,
                    value_at: o.created.plus_seconds(86_400),
                    garbled: false,
                    method: "DANA".into(),
                });
            }
            for (no, partner_refund, m, at) in &o.refunds {
                out.push(Movement {
                    kind: MoveKind::Refund,
                    reversed: false,
                    payment: Some(partner.clone()),
                    refund: Some(partner_refund.clone()),
                    reference: no.clone(),
                    charge_reference: o.reference_no.clone(),
                    amount_minor: m.minor,
                    currency: Currency::IDR,
                    fee_minor: 0,
                    at: *at,
                    value_at: at.plus_seconds(86_400),
                    garbled: false,
                    method: "DANA".into(),
                });
            }
        }
        out
    }
}

fn render(mid: &str, listed: &[Movement]) -> String {
    let line = |cells: Vec<String>| format!("{}\n", cells.join(";"));
    let mut out = line(COLUMNS.map(String::from).to_vec());
    for m in listed {
        let lines: Vec<(&str, i64, i64)> = match m.kind {
            MoveKind::Charge => vec![("ACQUIRING_ORDER", m.amount_minor, m.fee_minor)],
            MoveKind::Refund if m.reversed => vec![
                ("REFUND", -m.amount_minor, 0),
                ("REFUND_REVERSAL", m.amount_minor, 0),
            ],
            MoveKind::Refund => vec![("REFUND", -m.amount_minor, 0)],
        };
        for (kind, amount, fee) in lines {
            out.push_str(&line(vec![
                format!("ST{}", st::local(m.value_at, WIB)[..10].replace('-', "")),
                m.reference.clone(),
                kind.into(),
                m.charge_reference.clone(),
                mid.into(),
                st::local_rfc3339(m.value_at, WIB),
                "Walletpay Sandbox Shop".into(),
                if m.garbled {
                    format!("{amount}.00")
                } else {
                    amount.to_string()
                },
                m.currency.code().into(),
                fee.to_string(),
                (amount - fee).to_string(),
                m.payment.clone().unwrap_or_default(),
                m.refund.clone().unwrap_or_default(),
                st::local_rfc3339(m.at, WIB),
            ]));
        }
    }
    out
}

/// `GET /statements?date=YYYY-MM-DD` with `X-PARTNER-ID`.
pub(super) async fn statement(
    State(sb): State<DanaSandbox>,
    headers: HeaderMap,
    Query(q): Query<ReportQuery>,
) -> Response {
    let partner = headers
        .get("x-partner-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if partner != sb.inner.config.partner_id {
        return answer(
            StatusCode::UNAUTHORIZED,
            "4010000",
            "Unauthorized. Unknown partner",
        );
    }
    let mid = sb.inner.config.merchant_id.clone();
    st::statement(sb.faults(), &q.date, WIB, sb.movements(), |l| {
        render(&mid, l)
    })
}
