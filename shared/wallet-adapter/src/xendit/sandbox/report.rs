//! The sandbox's Transaction Service: `GET /transactions` lists the payments captured and the
//! refunds made, as Xendit's transactions, with the faults a test asked for. A 1.5% fee on
//! e-wallet payments and 0.7% on QR codes (no VAT), paid out two calendar days later.

use super::*;
use crate::sandbox_kit::settlement::{fee, MoveKind, Movement, Settles};
use crate::xendit::mapping::{amount_literal, parse_amount};
use crate::xendit::wire::{ProductData, Transaction, TransactionFee, TransactionList};
use axum::extract::{RawQuery, State};
use serde_json::value::RawValue;
use walletpay_domain::{Currency, Money, Timestamp};
use walletpay_reconcile::Date;

/// The fee on a channel, in basis points.
pub fn fee_bps(channel: &str) -> i64 {
    match channel {
        "QRIS" | "QRPH" => 70,
        _ => 150,
    }
}

fn category(channel: &str) -> &'static str {
    match channel {
        "QRIS" | "QRPH" => "QR_CODE",
        _ => "EWALLET",
    }
}

const TWO_DAYS: i64 = 2 * 86_400;

impl Settles for XenditSandbox {
    fn faults(&self) -> &crate::sandbox_kit::settlement::Faults {
        &self.inner.faults
    }
}

impl XenditSandbox {
    /// Every money movement booked so far: payments captured and refunds made.
    pub fn movements(&self) -> Vec<Movement> {
        let mut out = Vec::new();
        let requests = self.lock();
        for k in requests.values() {
            let Some(p) = k.payment.as_ref().filter(|p| p.status == "SUCCEEDED") else {
                continue;
            };
            let (Ok(currency), Some(at)) = (
                p.currency.parse::<Currency>(),
                Timestamp::parse_rfc3339(&p.updated)
                    .or_else(|| Timestamp::parse_rfc3339(&p.created)),
            ) else {
                continue;
            };
            let Some(amount) = crate::xendit::mapping::payment_amount(p) else {
                continue;
            };
            out.push(Movement {
                kind: MoveKind::Charge,
                reversed: false,
                payment: Some(p.reference_id.clone()),
                refund: None,
                reference: p.payment_id.clone(),
                charge_reference: p.payment_request_id.clone(),
                amount_minor: amount.minor,
                currency,
                fee_minor: fee(amount.minor, fee_bps(&p.channel_code)),
                at,
                value_at: at.plus_seconds(TWO_DAYS),
                garbled: false,
                method: p.channel_code.clone(),
            });
        }
        for r in self.refunds_lock().by_id.values() {
            if r.status != "SUCCEEDED" {
                continue;
            }
            let (Ok(currency), Some(at)) = (
                r.currency.parse::<Currency>(),
                Timestamp::parse_rfc3339(&r.updated)
                    .or_else(|| Timestamp::parse_rfc3339(&r.created)),
            ) else {
                continue;
            };
            let Ok(amount) = parse_amount(r.amount.get(), currency) else {
                continue;
            };
            let request = r.payment_request_id.clone().unwrap_or_default();
            let payment = requests
                .get(&request)
                .map(|k| k.request.reference_id.clone());
            out.push(Movement {
                kind: MoveKind::Refund,
                reversed: false,
                payment,
                refund: r.reference_id.clone(),
                reference: r.id.clone(),
                charge_reference: request,
                amount_minor: amount.minor,
                currency,
                fee_minor: 0,
                at,
                value_at: at,
                garbled: false,
                method: r.channel_code.clone(),
            });
        }
        out
    }

    /// The transactions created in `[from, to]`, oldest first, as `GET /transactions` lists
    /// them.
    pub fn transactions(&self, from: Timestamp, to: Timestamp) -> Vec<Transaction> {
        let now = now();
        let mut days: Vec<Date> = Vec::new();
        let mut d = Date::of(from, 0);
        while d.start(0) <= to {
            days.push(d);
            d = d.plus_days(1);
        }
        let moves = self.movements();
        let mut out = Vec::new();
        for day in days {
            let listed = self.faults().apply(
                day,
                from.max(day.start(0)),
                to.plus_millis(1).min(day.end(0)),
                moves.clone(),
            );
            for (i, m) in listed.iter().enumerate() {
                out.push(transaction(
                    m,
                    i,
                    &listed,
                    now,
                    &self.inner.config.business_id,
                ));
            }
        }
        out
    }
}

fn literal(minor: i64, currency: Currency) -> Box<RawValue> {
    let text = amount_literal(Money { minor, currency })
        .unwrap_or_else(|_| Money { minor, currency }.decimal_string(currency.exponent()));
    RawValue::from_string(text).expect("a number literal")
}

fn transaction(
    m: &Movement,
    i: usize,
    listed: &[Movement],
    now: Timestamp,
    business: &str,
) -> Transaction {
    // A movement listed twice is two transactions of one product.
    let copy = listed[..i]
        .iter()
        .filter(|o| o.reference == m.reference && o.kind == m.kind)
        .count();
    let id = if copy == 0 {
        format!("txn_{}", m.reference.replace('-', "_"))
    } else {
        format!("txn_{}_{copy}", m.reference.replace('-', "_"))
    };
    let charge = m.kind == MoveKind::Charge;
    let status = if m.reversed { "REVERSED" } else { "SUCCESS" };
    Transaction {
        id,
        product_id: m.reference.clone(),
        kind: if charge { "PAYMENT" } else { "REFUND" }.into(),
        status: status.into(),
        channel_category: Some(category(&m.method).into()),
        channel_code: Some(m.method.clone()),
        reference_id: if charge {
            m.payment.clone()
        } else {
            m.refund.clone()
        },
        currency: m.currency.code().into(),
        // A garbled amount: a string with thousands separators, which no reader takes.
        amount: if m.garbled {
            RawValue::from_string("\"150.000,00\"".into()).expect("a string literal")
        } else {
            literal(m.amount_minor, m.currency)
        },
        net_amount: literal(m.amount_minor - m.fee_minor, m.currency),
        net_amount_currency: Some(m.currency.code().into()),
        cashflow: if charge { "MONEY_IN" } else { "MONEY_OUT" }.into(),
        settlement_status: charge
            .then(|| if m.settled(now) { "SETTLED" } else { "PENDING" }.to_string()),
        estimated_settlement_time: charge.then(|| m.value_at.to_string()),
        business_id: business.into(),
        created: m.at.to_string(),
        updated: m.at.to_string(),
        fee: Some(TransactionFee {
            xendit_fee: literal(m.fee_minor, m.currency),
            value_added_tax: literal(0, m.currency),
            xendit_withholding_tax: None,
            third_party_withholding_tax: None,
            status: if charge {
                "COMPLETED"
            } else {
                "NOT_APPLICABLE"
            }
            .into(),
        }),
        product_data: Some(ProductData {
            payment_request_id: Some(m.charge_reference.clone()),
            capture_id: None,
        }),
    }
}

/// `GET /transactions?types=&channel_categories=&created[gte]=&created[lte]=&limit=&after_id=`.
pub(super) async fn list_transactions(
    State(sb): State<XenditSandbox>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let form = kit::Form::parse(query.unwrap_or_default().as_bytes());
    let all = |k: &str| form.all(k);
    let one = |k: &str| form.one(k);
    let time = |k: &str| match one(k) {
        None => Ok(None),
        Some(v) => Timestamp::parse_rfc3339(&v)
            .map(Some)
            .ok_or_else(|| format!("{k} must be an ISO 8601 date-time")),
    };
    let (from, to) = match (time("created[gte]"), time("created[lte]")) {
        (Ok(f), Ok(t)) => (f.unwrap_or(Timestamp(0)), t.unwrap_or_else(now)),
        (Err(e), _) | (_, Err(e)) => return validation(&e),
    };
    let limit = match one("limit").map(|l| l.parse::<usize>()) {
        None => 10,
        Some(Ok(l)) if (1..=500).contains(&l) => l,
        Some(_) => return validation("limit must be between 1 and 500"),
    };
    // A day held back: the Transaction Service is down for it.
    let mut d = Date::of(from, 0);
    while d.start(0) <= to {
        if !sb.faults().published(d) {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVER_ERROR",
                "The service is temporarily unavailable",
            );
        }
        d = d.plus_days(1);
    }
    let types = all("types");
    let categories = all("channel_categories");
    let mut listed: Vec<Transaction> = sb
        .transactions(from, to)
        .into_iter()
        .filter(|t| types.is_empty() || types.contains(&t.kind.as_str()))
        .filter(|t| {
            categories.is_empty()
                || t.channel_category
                    .as_deref()
                    .is_some_and(|c| categories.contains(&c))
        })
        .collect();
    if let Some(after) = one("after_id") {
        match listed.iter().position(|t| t.id == after) {
            Some(i) => {
                listed.drain(..=i);
            }
            None => return validation("after_id is not a transaction of this listing"),
        }
    }
    let has_more = listed.len() > limit;
    listed.truncate(limit);
    Json(TransactionList {
        links: match (has_more, listed.last()) {
            (true, Some(last)) => vec![serde_json::json!({
                "href": format!("/transactions?after_id={}", last.id),
                "rel": "next",
                "method": "GET",
            })],
            _ => Vec::new(),
        },
        data: listed,
        has_more,
    })
    .into_response()
}
