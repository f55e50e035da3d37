//! The itemized payout reconciliation report of a day, in Stripe's columns.

use super::*;
use crate::sandbox_kit::{alnum, csv_line, day_of};
use axum::extract::{Query, State};
use axum::response::Response;
use walletpay_domain::Money;

impl StripeSandbox {
    /// The itemized payout reconciliation report (`payout_reconciliation.itemized.5`'s
    /// columns) of one day: a `charge` row per succeeded intent and a `refund` row per
    /// succeeded refund created that day, amounts in major units, a 3.4% fee on charges.
    pub fn payout_reconciliation(&self, day: &str) -> String {
        const COLUMNS: [&str; 19] = [
            "automatic_payout_id",
            "automatic_payout_effective_at",
            "balance_transaction_id",
            "created_utc",
            "created",
            "available_on_utc",
            "available_on",
            "currency",
            "gross",
            "fee",
            "net",
            "reporting_category",
            "source_id",
            "description",
            "customer_facing_amount",
            "customer_facing_currency",
            "charge_id",
            "payment_intent_id",
            "payment_method_type",
        ];
        let mut out = csv_line(&COLUMNS.map(String::from));
        let payout = format!("po_{}", alnum(24));
        let at = |secs: i64| {
            walletpay_domain::Timestamp(secs * 1000).to_string()[..19].replace('T', " ")
        };
        let major =
            |minor: i64, currency: &str| match crate::stripe::mapping::parse_currency(currency) {
                Some(c) => Money { minor, currency: c }.decimal_string(c.exponent()),
                None => minor.to_string(),
            };
        let intents = self.lock_intents();
        let mut charges: Vec<&Kept> = intents
            .values()
            .filter(|k| k.intent.status == "succeeded")
            .filter(|k| day_of(walletpay_domain::Timestamp(k.intent.created * 1000)) == day)
            .collect();
        charges.sort_by_key(|k| (k.intent.created, k.intent.id.clone()));
        for k in charges {
            let pi = &k.intent;
            let fee = pi.amount * 34 / 1000;
            let method = pi.payment_method_types.first().cloned().unwrap_or_default();
            out.push_str(&csv_line(&[
                payout.clone(),
                at(pi.created + 2 * 86_400),
                format!("txn_{}", &pi.id[3..]),
                at(pi.created),
                at(pi.created),
                at(pi.created + 2 * 86_400),
                at(pi.created + 2 * 86_400),
                pi.currency.clone(),
                major(pi.amount, &pi.currency),
                major(fee, &pi.currency),
                major(pi.amount - fee, &pi.currency),
                "charge".into(),
                format!("py_{}", &pi.id[3..]),
                pi.metadata.get("payment_id").cloned().unwrap_or_default(),
                major(pi.amount, &pi.currency),
                pi.currency.clone(),
                format!("py_{}", &pi.id[3..]),
                pi.id.clone(),
                method,
            ]));
        }
        let refunds = self.inner.refunds.lock().expect("sandbox lock");
        for r in refunds.values().filter(|r| {
            r.status == "succeeded" && day_of(walletpay_domain::Timestamp(r.created * 1000)) == day
        }) {
            let pi = r.payment_intent.clone().unwrap_or_default();
            let method = intents
                .get(&pi)
                .and_then(|k| k.intent.payment_method_types.first().cloned())
                .unwrap_or_default();
            out.push_str(&csv_line(&[
                payout.clone(),
                at(r.created + 2 * 86_400),
                format!("txn_{}", &r.id[3..]),
                at(r.created),
                at(r.created),
                at(r.created + 2 * 86_400),
                at(r.created + 2 * 86_400),
                r.currency.clone(),
                format!("-{}", major(r.amount, &r.currency)),
                major(0, &r.currency),
                format!("-{}", major(r.amount, &r.currency)),
                "refund".into(),
                r.id.clone(),
                r.metadata.get("refund_id").cloned().unwrap_or_default(),
                format!("-{}", major(r.amount, &r.currency)),
                r.currency.clone(),
                format!("py_{}", pi.get(3..).unwrap_or_default()),
                pi,
                method,
            ]));
        }
        out
    }
}

pub(super) async fn report(
    State(sb): State<StripeSandbox>,
    Query(q): Query<kit::ReportQuery>,
) -> Response {
    kit::csv(sb.payout_reconciliation(&q.date))
}
