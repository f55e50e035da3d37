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
use serde_json::value::RawValue;
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
                (true, Some(last)) if after.as_deref() == Some(last.id.as_str()) => {
                    return Err(SettlementError::Malformed {
                        line: rows,
                        reason: format!("the listing repeats itself after {}", last.id),
                    })
                }
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
    // Everything Xendit takes out of the amount: its fee, the VAT on it and, where it
    // withholds them, the withholding taxes.
    let fee = match &t.fee {
        Some(f) => {
            let optional = |v: &Option<Box<RawValue>>, name: &str| match v {
                Some(v) => amount(v.get(), currency, name, line),
                None => Ok(0),
            };
            amount(f.xendit_fee.get(), currency, "fee.xendit_fee", line)?
                + amount(
                    f.value_added_tax.get(),
                    currency,
                    "fee.value_added_tax",
                    line,
                )?
                + optional(&f.xendit_withholding_tax, "fee.xendit_withholding_tax")?
                + optional(
                    &f.third_party_withholding_tax,
                    "fee.third_party_withholding_tax",
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

#[cfg(test)]
mod tests {
    use super::*;
    use walletpay_reconcile::Date;

    fn day() -> SettlementDay<'static> {
        SettlementDay {
            day: Date::parse("2025-06-01").unwrap(),
            utc_offset_minutes: 7 * 60,
            notices: &[],
            now: Timestamp::parse_rfc3339("2025-06-05T00:00:00Z").unwrap(),
        }
    }

    /// The transaction of Xendit's List Transactions reference (IDR in whole rupiah).
    const SAMPLE: &str = r#"{
        "id": "txn_13dd178d-41fa-40b7-8fd3-f83675d6f413",
        "product_id": "py-1402feb0-bb79-47ae-9d1e-e69394d3949c",
        "type": "PAYMENT",
        "status": "SUCCESS",
        "channel_category": "EWALLET",
        "channel_code": "DANA",
        "reference_id": "pay_01m8ab8makqqg641md11702kgn",
        "account_identifier": null,
        "currency": "IDR",
        "amount": 100000,
        "net_amount": 99000,
        "net_amount_currency": "IDR",
        "cashflow": "MONEY_IN",
        "settlement_status": "SETTLED",
        "estimated_settlement_time": "2025-06-03T09:59:00Z",
        "business_id": "5f27a14a9bf05c73dd040bc8",
        "created": "2025-06-01T09:59:00Z",
        "updated": "2025-06-01T09:59:00Z",
        "fee": {"xendit_fee": 1000, "value_added_tax": 0, "xendit_withholding_tax": 0, "third_party_withholding_tax": 0, "status": "COMPLETED"},
        "product_data": {"payment_request_id": "pr-1402feb0-bb79-47ae-9d1e-e69394d3949c", "capture_id": "cptr-1"}
    }"#;

    #[test]
    fn a_transaction_reads_in_minor_units() {
        let t: Transaction = serde_json::from_str(SAMPLE).unwrap();
        let r = row(&t, 1, &day()).unwrap().unwrap();
        assert_eq!(
            (r.kind, r.gross, r.fee, r.net),
            (Kind::Charge, 10_000_000, 100_000, 9_900_000)
        );
        assert_eq!(r.status, RowStatus::Succeeded);
        assert_eq!(
            r.payment_id.unwrap().as_str(),
            "pay_01m8ab8makqqg641md11702kgn"
        );
        assert_eq!(
            r.charge_reference.as_deref(),
            Some("pr-1402feb0-bb79-47ae-9d1e-e69394d3949c")
        );
        assert_eq!(r.booked_on, Date::parse("2025-06-01").unwrap());
        assert_eq!(r.value_on, Some(Date::parse("2025-06-03").unwrap()));
        assert!(r.settled);
        // MYR in the reference's other example: 2.22, net 2.20, fee 0.02.
        let myr = SAMPLE
            .replace("\"IDR\"", "\"MYR\"")
            .replace("100000", "2.22")
            .replace("99000", "2.2")
            .replace("\"xendit_fee\": 1000", "\"xendit_fee\": 0.02");
        let r = row(&serde_json::from_str(&myr).unwrap(), 1, &day())
            .unwrap()
            .unwrap();
        assert_eq!((r.gross, r.fee, r.net), (222, 2, 220));
        // An older example writes the amount as a string.
        let text = SAMPLE.replace("\"amount\": 100000", "\"amount\": \"100000\"");
        assert_eq!(
            row(&serde_json::from_str(&text).unwrap(), 1, &day())
                .unwrap()
                .unwrap()
                .gross,
            10_000_000
        );
    }

    #[test]
    fn a_transaction_that_does_not_read_names_its_line() {
        for (from, to) in [
            ("\"amount\": 100000", "\"amount\": 100000.505"),
            ("\"amount\": 100000", "\"amount\": -100000"),
            ("\"status\": \"SUCCESS\"", "\"status\": \"DONE\""),
            ("\"cashflow\": \"MONEY_IN\"", "\"cashflow\": \"IN\""),
            ("\"currency\": \"IDR\"", "\"currency\": \"XXX\""),
            (
                "\"created\": \"2025-06-01T09:59:00Z\"",
                "\"created\": \"yesterday\"",
            ),
        ] {
            let t: Transaction = serde_json::from_str(&SAMPLE.replace(from, to)).unwrap();
            match row(&t, 7, &day()) {
                Err(SettlementError::Malformed { line: 7, .. }) => {}
                other => panic!("{to}: {other:?}"),
            }
        }
        // A type we did not ask for is no row.
        let t: Transaction =
            serde_json::from_str(&SAMPLE.replace("\"PAYMENT\"", "\"TOPUP\"")).unwrap();
        assert!(row(&t, 1, &day()).unwrap().is_none());
        // A refund is money out, named by our refund id.
        let refund = SAMPLE
            .replace("\"PAYMENT\"", "\"REFUND\"")
            .replace("MONEY_IN", "MONEY_OUT")
            .replace(
                "pay_01m8ab8makqqg641md11702kgn",
                "ref_01m8ab8makqqg641md11702kgn",
            );
        let r = row(&serde_json::from_str(&refund).unwrap(), 1, &day())
            .unwrap()
            .unwrap();
        assert_eq!((r.kind, r.net), (Kind::Refund, -9_900_000));
        assert_eq!(
            r.refund_id.unwrap().as_str(),
            "ref_01m8ab8makqqg641md11702kgn"
        );
    }

    /// A page of the listing as the reader takes it: parsed, then each transaction a row.
    fn read_page(text: &str) -> Result<Vec<SettlementRow>, SettlementError> {
        let page: TransactionList =
            serde_json::from_str(text).map_err(|e| SettlementError::Malformed {
                line: 0,
                reason: e.to_string(),
            })?;
        let mut rows = Vec::new();
        for (i, t) in page.data.iter().enumerate() {
            rows.extend(row(t, i as u64 + 1, &day())?);
        }
        Ok(rows)
    }

    #[test]
    fn fuzzed_listings_are_read_or_refused() {
        let refund = SAMPLE
            .replace("\"PAYMENT\"", "\"REFUND\"")
            .replace("MONEY_IN", "MONEY_OUT")
            .replace("txn_13dd178d", "txn_23dd178d")
            .replace(
                "pay_01m8ab8makqqg641md11702kgn",
                "ref_01m8ab8makqqg641md11702kgn",
            );
        let genuine = format!(
            r#"{{"data": [{SAMPLE}, {refund}], "has_more": true, "links": [{{"href": "/transactions?after_id=txn_23dd178d", "rel": "next", "method": "GET"}}]}}"#
        );
        assert_eq!(read_page(&genuine).unwrap().len(), 2);
        crate::settlement::fuzz_json_pages("xendit", &genuine, read_page);
    }
}
