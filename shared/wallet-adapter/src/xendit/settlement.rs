//! Xendit's settlement data of a day: the Transaction Service's `GET /transactions`, payments
//! and refunds of the e-wallet and QR channels created in the day, page by page (`limit`,
//! `after_id`, `has_more`).
//!
//! Each transaction is one row: `type` `PAYMENT` a charge, `REFUND` a refund; our payment or
//! refund id is its `reference_id`; the charge it belongs to is
//! `product_data.payment_request_id` (the payment request our payment records); `amount` and
//! `net_amount` are major units (whole rupiah and dong), the fee is `fee.xendit_fee` plus
//! `fee.value_added_tax`; `status` `SUCCESS`, `PENDING`, `FAILED`, `VOIDED` (a failure before
//! settlement) or `REVERSED`; the value date is `estimated_settlement_time`, and
//! `settlement_status` `SETTLED` or `EARLY_SETTLED` says it was paid out.

use super::client::Xendit;
use super::wire::{Transaction, TransactionList};
use crate::credentials::ExposeSecret;
use crate::settlement::{json, send, RowSink, SettlementDay, SettlementError, SourceRead};
use walletpay_domain::{Currency, PaymentId, RefundId, Timestamp};
use walletpay_reconcile::{minor_units, Kind, RowStatus, SettlementRow};

/// Transactions asked for per page.
const PAGE: usize = 200;

impl Xendit {
    pub(super) async fn read_settlement(
        &self,
        day: &SettlementDay<'_>,
        sink: RowSink<'_>,
    ) -> Result<SourceRead, SettlementError> {
        let creds = self.settlement_credentials().await?;
        let url = self.endpoint("/transactions");
        // `created[lte]` is inclusive: the last millisecond of the day.
        let (from, to) = (day.from(), day.to().plus_millis(-1));
        let mut after: Option<String> = None;
        let mut rows = 0u64;
        loop {
            let mut query: Vec<(&str, String)> = vec![
                ("types", "PAYMENT".into()),
                ("types", "REFUND".into()),
                ("channel_categories", "EWALLET".into()),
                ("channel_categories", "QR_CODE".into()),
                ("created[gte]", from.to_string()),
                ("created[lte]", to.to_string()),
                ("limit", PAGE.to_string()),
            ];
            if let Some(a) = &after {
                query.push(("after_id", a.clone()));
            }
            let req = self
                .http()
                .get(&url)
                .query(&query)
                .basic_auth(creds.expose_secret(), Some(""));
            let page: TransactionList = json("Xendit", send("Xendit", req).await?).await?;
            for t in &page.data {
                rows += 1;
                if let Some(row) = row(t, rows, day)? {
                    sink(row);
                }
            }
            match (page.has_more, page.data.last()) {
                (true, Some(last)) => after = Some(last.id.clone()),
                (true, None) => {
                    return Err(SettlementError::Malformed {
                        line: rows,
                        reason: "`has_more` on an empty page".into(),
                    })
                }
                (false, _) => break,
            }
        }
        Ok(SourceRead {
            source: "Xendit GET /transactions".into(),
            rows,
        })
    }
}

fn amount(
    literal: &str,
    currency: Currency,
    field: &str,
    line: u64,
) -> Result<i64, SettlementError> {
    minor_units(literal.trim().trim_matches('"'), currency).map_err(|e| {
        SettlementError::Malformed {
            line,
            reason: format!("`{field}`: {e}"),
        }
    })
}

/// One transaction as a settlement row; none for a type we did not ask for.
pub(crate) fn row(
    t: &Transaction,
    line: u64,
    day: &SettlementDay<'_>,
) -> Result<Option<SettlementRow>, SettlementError> {
    let bad = |reason: String| SettlementError::Malformed { line, reason };
    let kind = match t.kind.as_str() {
        "PAYMENT" => Kind::Charge,
        "REFUND" => Kind::Refund,
        _ => return Ok(None),
    };
    let currency: Currency = t.currency.parse().map_err(|_| {
        bad(format!(
            "`currency` {:?} is not a currency we take",
            t.currency
        ))
    })?;
    let gross = amount(t.amount.get(), currency, "amount", line)?;
    let net_abs = amount(t.net_amount.get(), currency, "net_amount", line)?;
    if gross < 0 || net_abs < 0 {
        return Err(bad("a negative amount (the direction is `cashflow`)".into()));
    }
    let fee = match &t.fee {
        Some(f) => {
            amount(f.xendit_fee.get(), currency, "fee.xendit_fee", line)?
                + amount(
                    f.value_added_tax.get(),
                    currency,
                    "fee.value_added_tax",
                    line,
                )?
        }
        None => 0,
    };
    let net = match t.cashflow.as_str() {
        "MONEY_IN" => net_abs,
        "MONEY_OUT" => -net_abs,
        other => return Err(bad(format!("`cashflow` {other:?}"))),
    };
    let status = match t.status.as_str() {
        "SUCCESS" => RowStatus::Succeeded,
        "PENDING" => RowStatus::Pending,
        "FAILED" | "VOIDED" => RowStatus::Failed,
        "REVERSED" => RowStatus::Reversed,
        other => return Err(bad(format!("`status` {other:?}"))),
    };
    let created = Timestamp::parse_rfc3339(&t.created)
        .ok_or_else(|| bad(format!("`created` {:?} is not a time", t.created)))?;
    let value_at = match t.estimated_settlement_time.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            Timestamp::parse_rfc3339(s)
                .ok_or_else(|| bad(format!("`estimated_settlement_time` {s:?} is not a time")))?,
        ),
    };
    let reference = t.reference_id.as_deref().unwrap_or("");
    let (payment_id, refund_id) = match kind {
        Kind::Charge => (PaymentId::parse(reference), None),
        _ => (None, RefundId::parse(reference)),
    };
    Ok(Some(SettlementRow {
        line,
        payment_id,
        refund_id,
        provider_reference: t.id.clone(),
        charge_reference: t
            .product_data
            .as_ref()
            .and_then(|p| p.payment_request_id.clone()),
        kind,
        gross,
        fee,
        net,
        currency,
        status,
        booked_on: day.day_of(created),
        booked_at: Some(created),
        value_on: value_at.map(|v| day.day_of(v)),
        settled: matches!(
            t.settlement_status.as_deref(),
            Some("SETTLED" | "EARLY_SETTLED")
        ),
        method: t.channel_code.clone(),
    }))
}
