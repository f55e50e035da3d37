//! The acquiring bank's settlement data of a day for PromptPay bill payments: the account
//! statement. Thai banks list bill payments per reference (SCB's bill-payment inquiry, a day
//! at a time) or push a reconcile file (Krungsri's "Bill Payment File Reconcile"), each in
//! its own layout; we read the day's statement from the configured statement URL
//! (`?date=YYYY-MM-DD`, the bank API's Bearer key) in the bank sandbox's columns, by name:
//! `Date` (RFC 3339), `Transaction ID`, `Type` (`CREDIT` a bill paid, `DEBIT` a refund,
//! `REFUND_REVERSAL` a refund returned by the payer's bank), `Biller ID`, `Ref1`, `Ref2`
//! (the bill's references, which name our payment), `Amount` (baht, two decimals, debits
//! negative), `Currency` and `Reference` (our refund id). PromptPay credits the biller's
//! account at once and gross: no fee, paid out on the day.

use super::client::PromptPay;
use super::mapping::payment_of;
use crate::credentials::ExposeSecret;
use crate::settlement::{
    read_statement, statement_url, Columns, RowSink, SettlementDay, SettlementError, SourceRead,
};
use walletpay_domain::{Currency, RefundId, Timestamp};
use walletpay_reconcile::{minor_units, Kind, RowStatus, SettlementRow};

pub const COLUMNS: [&str; 9] = [
    "Date",
    "Transaction ID",
    "Type",
    "Biller ID",
    "Ref1",
    "Ref2",
    "Amount",
    "Currency",
    "Reference",
];

impl PromptPay {
    pub(super) async fn read_settlement(
        &self,
        day: &SettlementDay<'_>,
        sink: RowSink<'_>,
    ) -> Result<SourceRead, SettlementError> {
        let url = statement_url("the PromptPay bank", self.statements_url())?;
        let creds = self.settlement_credentials().await?;
        let req = self
            .http()
            .get(&url)
            .bearer_auth(creds.api_key.expose_secret());
        let offset = day.utc_offset_minutes;
        read_statement(
            "the PromptPay bank",
            "PromptPay bank statement",
            req,
            day,
            b',',
            &COLUMNS,
            sink,
            move |c, r, line| row(c, r, line, offset),
        )
        .await
    }
}

fn row(
    c: &Columns,
    r: &csv::StringRecord,
    line: u64,
    offset: i32,
) -> Result<Option<SettlementRow>, String> {
    let currency: Currency = c.get(r, "Currency").parse().map_err(|_| {
        format!(
            "`Currency` {:?} is not a currency we take",
            c.get(r, "Currency")
        )
    })?;
    let signed = minor_units(c.get(r, "Amount"), currency).map_err(|e| format!("`Amount`: {e}"))?;
    let (kind, status) = match c.get(r, "Type") {
        "CREDIT" => (Kind::Charge, RowStatus::Succeeded),
        "DEBIT" => (Kind::Refund, RowStatus::Succeeded),
        "REFUND_REVERSAL" => (Kind::Refund, RowStatus::Reversed),
        "" => return Err("`Type` is empty".into()),
        _ => (Kind::Adjustment, RowStatus::Succeeded),
    };
    let expected_sign_ok = match c.get(r, "Type") {
        "CREDIT" | "REFUND_REVERSAL" => signed >= 0,
        "DEBIT" => signed <= 0,
        _ => true,
    };
    if !expected_sign_ok {
        return Err(format!(
            "`Amount` {signed} has the wrong sign for a {}",
            c.get(r, "Type")
        ));
    }
    let at = Timestamp::parse_rfc3339(c.get(r, "Date"))
        .ok_or_else(|| format!("`Date` {:?} is not a time", c.get(r, "Date")))?;
    let (ref1, ref2) = (c.get(r, "Ref1"), c.opt(r, "Ref2"));
    let day = walletpay_reconcile::Date::of(at, offset);
    Ok(Some(SettlementRow {
        line,
        payment_id: payment_of(ref1, ref2),
        refund_id: c.opt(r, "Reference").and_then(RefundId::parse),
        provider_reference: c.get(r, "Transaction ID").to_string(),
        charge_reference: Some(format!("{ref1}{}", ref2.unwrap_or(""))),
        kind,
        gross: signed.abs(),
        fee: 0,
        net: signed,
        currency,
        status,
        booked_on: day,
        booked_at: Some(at),
        value_on: Some(day),
        settled: true,
        method: Some("PROMPTPAY".into()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settlement::read_all;

    fn read(text: &str) -> Result<Vec<SettlementRow>, SettlementError> {
        read_all(text, b',', &COLUMNS, |c, r, line| row(c, r, line, 7 * 60))
    }

    #[test]
    fn credits_and_debits_read_with_their_sign() {
        let header = COLUMNS.join(",");
        let text = format!(
            "{header}\n\
             2026-12-01T03:00:00Z,T1,CREDIT,010753600031508,01M8AB8MAKQQG641,MD11702KGN,3000.00,THB,\n\
             2026-12-01T04:00:00Z,R1,DEBIT,010753600031508,01M8AB8MAKQQG641,MD11702KGN,-1000.00,THB,ref_01m8ab8makqqg641md11702kgn\n"
        );
        let rows = read(&text).unwrap();
        assert_eq!(
            (rows[0].kind, rows[0].gross, rows[0].net),
            (Kind::Charge, 300_000, 300_000)
        );
        assert_eq!(
            rows[0].payment_id.as_ref().unwrap().as_str(),
            "pay_01m8ab8makqqg641md11702kgn"
        );
        assert_eq!(
            (rows[1].kind, rows[1].gross, rows[1].net),
            (Kind::Refund, 100_000, -100_000)
        );
        for bad in ["-3000.00,THB,", "1,500.00,THB,", "30.001,THB,"] {
            let line = format!(
                "2026-12-01T03:00:00Z,T1,CREDIT,010753600031508,01M8AB8MAKQQG641,MD11702KGN,{bad}"
            );
            assert!(
                matches!(
                    read(&format!("{header}\n{line}\n")),
                    Err(SettlementError::Malformed { line: 1, .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn fuzzed_statements_are_read_or_refused() {
        let header = COLUMNS.join(",");
        let genuine = format!(
            "{header}\n\
             2026-12-01T03:00:00Z,T1,CREDIT,010753600031508,01M8AB8MAKQQG641,MD11702KGN,3000.00,THB,\n\
             2026-12-01T04:00:00Z,R1,DEBIT,010753600031508,01M8AB8MAKQQG641,MD11702KGN,-1000.00,THB,ref_01m8ab8makqqg641md11702kgn\n"
        );
        crate::settlement::fuzz_statements("promptpay", &genuine, b',', read);
    }
}
