//! The settlement details report of a day, in Adyen's columns.

use super::*;
use crate::adyen::mapping::adyen_exponent;
use crate::adyen::wire::Amount;
use crate::sandbox_kit::{csv_line, day_of};
use axum::extract::{Query, State};
use axum::response::Response;
use walletpay_domain::Timestamp;

impl AdyenSandbox {
    /// The settlement details report of a day: a `Settled` row per authorised payment and a
    /// `Refunded` row per refund made, created that day; 2.9% commission on payments.
    pub fn settlement_details(&self, day: &str) -> String {
        const COLUMNS: [&str; 23] = [
            "Company Account",
            "Merchant Account",
            "Psp Reference",
            "Merchant Reference",
            "Payment Method",
            "Creation Date",
            "TimeZone",
            "Type",
            "Modification Reference",
            "Gross Currency",
            "Gross Debit (GC)",
            "Gross Credit (GC)",
            "Exchange Rate",
            "Net Currency",
            "Net Debit (NC)",
            "Net Credit (NC)",
            "Commission (NC)",
            "Markup (NC)",
            "Scheme Fees (NC)",
            "Interchange (NC)",
            "Payment Method Variant",
            "Modification Merchant Reference",
            "Batch Number",
        ];
        // Amounts in major units with Adyen's own decimals (IDR: none).
        let money = |value: i64, a: &Amount| match adyen_exponent(a.currency) {
            0 => value.to_string(),
            e => {
                let unit = 10i64.pow(e);
                let sign = if value < 0 { "-" } else { "" };
                let v = value.abs();
                format!(
                    "{sign}{}.{:0width$}",
                    v / unit,
                    v % unit,
                    width = e as usize
                )
            }
        };
        let when = |t: Timestamp| t.to_string()[..19].replace('T', " ");
        let mut out = csv_line(&COLUMNS.map(String::from));
        let payments = self.lock();
        let mut settled: Vec<&SandboxPayment> = payments
            .values()
            .filter(|p| p.state == "authorised" && day_of(p.created) == day)
            .collect();
        settled.sort_by_key(|p| (p.created, p.psp_reference.clone()));
        for p in settled {
            let fee = p.amount.value * 29 / 1000;
            out.push_str(&csv_line(&[
                "WalletpayCompany".into(),
                self.inner.config.merchant_account.clone(),
                p.psp_reference.clone(),
                p.merchant_reference.clone(),
                p.method.clone(),
                when(p.created),
                "UTC".into(),
                "Settled".into(),
                p.psp_reference.clone(),
                p.amount.currency.code().into(),
                String::new(),
                money(p.amount.value, &p.amount),
                "1".into(),
                p.amount.currency.code().into(),
                String::new(),
                money(p.amount.value - fee, &p.amount),
                money(fee, &p.amount),
                money(0, &p.amount),
                money(0, &p.amount),
                money(0, &p.amount),
                p.method.clone(),
                String::new(),
                "1".into(),
            ]));
        }
        let refunds = self.inner.refunds.lock().expect("sandbox lock");
        for r in refunds
            .values()
            .filter(|r| r.state == "refunded" && day_of(r.created) == day)
        {
            let (reference, method) = payments
                .get(&r.payment_psp_reference)
                .map(|p| (p.merchant_reference.clone(), p.method.clone()))
                .unwrap_or_default();
            out.push_str(&csv_line(&[
                "WalletpayCompany".into(),
                self.inner.config.merchant_account.clone(),
                r.payment_psp_reference.clone(),
                reference,
                method.clone(),
                when(r.created),
                "UTC".into(),
                "Refunded".into(),
                r.psp_reference.clone(),
                r.amount.currency.code().into(),
                money(r.amount.value, &r.amount),
                String::new(),
                "1".into(),
                r.amount.currency.code().into(),
                money(r.amount.value, &r.amount),
                String::new(),
                money(0, &r.amount),
                money(0, &r.amount),
                money(0, &r.amount),
                money(0, &r.amount),
                method,
                r.reference.clone(),
                "1".into(),
            ]));
        }
        out
    }
}

pub(super) async fn report(
    State(sb): State<AdyenSandbox>,
    Query(q): Query<kit::ReportQuery>,
) -> Response {
    kit::csv(sb.settlement_details(&q.date))
}
