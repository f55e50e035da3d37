//! DANA's settlement data of a day: the Payment Services Settlement File
//! (`MERCHANT_SETTLEMENT_<MID>_..._<YYYYMMDD>.csv`, semicolon-separated, cut at midnight
//! Jakarta time, made at T+X), which DANA delivers to the merchant; we read the day's file
//! from the configured statement URL (`?date=YYYY-MM-DD`, `X-PARTNER-ID`). Its documented
//! columns `SETTLEMENT_TXN_ID`, `TXN_ID`, `TXN_TYPE` (`ACQUIRING_ORDER` a charge, `REFUND` a
//! refund, `CANCEL`, `VOUCHER_DEDUCTION` and `CAPTURE` adjustments), `ACQUIREMENT_ID`,
//! `MID`, `SETTLE_DATE` (`YYYY-MM-DDTHH:mm:ss+07:00`), `MERCHANT_NAME`, `TXN_AMOUNT` (in
//! cents: integer minor units) and `TXN_CURRENCY`; and the columns DANA's page lists past
//! what we could confirm, as the sandbox writes them: `MDR_AMOUNT`, `NET_AMOUNT` (cents),
//! `PARTNER_REFERENCE_NO` (our payment id), `PARTNER_REFUND_NO` (our refund id) and
//! `TXN_DATE`. A refund undone is `TXN_TYPE` `REFUND_REVERSAL` (the sandbox's own).

use super::client::Dana;
use crate::settlement::{
    read_statement, statement_url, Columns, RowSink, SettlementDay, SettlementError, SourceRead,
};
use walletpay_domain::{Currency, PaymentId, RefundId, Timestamp};
use walletpay_reconcile::{Kind, RowStatus, SettlementRow};

pub const COLUMNS: [&str; 14] = [
    "SETTLEMENT_TXN_ID",
    "TXN_ID",
    "TXN_TYPE",
    "ACQUIREMENT_ID",
    "MID",
    "SETTLE_DATE",
    "MERCHANT_NAME",
    "TXN_AMOUNT",
    "TXN_CURRENCY",
    "MDR_AMOUNT",
    "NET_AMOUNT",
    "PARTNER_REFERENCE_NO",
    "PARTNER_REFUND_NO",
    "TXN_DATE",
];

impl Dana {
    pub(super) async fn read_settlement(
        &self,
        day: &SettlementDay<'_>,
        sink: RowSink<'_>,
    ) -> Result<SourceRead, SettlementError> {
        let url = statement_url("DANA", self.statements_url())?;
        let creds = self.settlement_credentials().await?;
        let req = self
            .http()
            .get(&url)
            .header("X-PARTNER-ID", &creds.partner_id);
        let (offset, now) = (day.utc_offset_minutes, day.now);
        read_statement(
            "DANA",
            "DANA settlement file",
            req,
            day,
            b';',
            &COLUMNS,
            sink,
            move |c, r, line| row(c, r, line, offset, now),
        )
        .await
    }
}

/// Cents, exactly: digits, with a leading `-` for money out.
fn cents(c: &Columns, r: &csv::StringRecord, name: &str) -> Result<i64, String> {
    let v = c.get(r, name);
    let digits = v.strip_prefix('-').unwrap_or(v);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{name}` {v:?} is not an amount in cents"));
    }
    let n: i64 = digits.parse().map_err(|_| format!("`{name}` {v:?}"))?;
    Ok(if v.starts_with('-') { -n } else { n })
}

fn time(c: &Columns, r: &csv::StringRecord, name: &str) -> Result<Timestamp, String> {
    let v = c.get(r, name);
    Timestamp::parse_rfc3339(v).ok_or_else(|| format!("`{name}` {v:?} is not a time"))
}

fn row(
    c: &Columns,
    r: &csv::StringRecord,
    line: u64,
    offset: i32,
    now: Timestamp,
) -> Result<Option<SettlementRow>, String> {
    let currency: Currency = c.get(r, "TXN_CURRENCY").parse().map_err(|_| {
        format!(
            "`TXN_CURRENCY` {:?} is not a currency we take",
            c.get(r, "TXN_CURRENCY")
        )
    })?;
    let (gross, fee, net) = (
        cents(c, r, "TXN_AMOUNT")?.abs(),
        cents(c, r, "MDR_AMOUNT")?,
        cents(c, r, "NET_AMOUNT")?,
    );
    let (kind, status) = match c.get(r, "TXN_TYPE") {
        "ACQUIRING_ORDER" => (Kind::Charge, RowStatus::Succeeded),
        "REFUND" => (Kind::Refund, RowStatus::Succeeded),
        "REFUND_REVERSAL" => (Kind::Refund, RowStatus::Reversed),
        "" => return Err("`TXN_TYPE` is empty".into()),
        _ => (Kind::Adjustment, RowStatus::Succeeded),
    };
    let booked = time(c, r, "TXN_DATE")?;
    let settle = time(c, r, "SETTLE_DATE")?;
    let partner = c.get(r, "PARTNER_REFERENCE_NO");
    Ok(Some(SettlementRow {
        line,
        payment_id: PaymentId::parse(partner),
        refund_id: c.opt(r, "PARTNER_REFUND_NO").and_then(RefundId::parse),
        provider_reference: c.get(r, "TXN_ID").to_string(),
        // Our payment records DANA's charge as `<partnerReferenceNo>:<referenceNo>`.
        charge_reference: c.opt(r, "ACQUIREMENT_ID").map(|a| format!("{partner}:{a}")),
        kind,
        gross,
        fee,
        net,
        currency,
        status,
        booked_on: walletpay_reconcile::Date::of(booked, offset),
        booked_at: Some(booked),
        value_on: Some(walletpay_reconcile::Date::of(settle, offset)),
        settled: settle <= now,
        method: Some("DANA".into()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settlement::read_all;

    fn read(text: &str) -> Result<Vec<SettlementRow>, SettlementError> {
        let now = Timestamp::parse_rfc3339("2026-12-10T00:00:00Z").unwrap();
        read_all(text, b';', &COLUMNS, |c, r, line| {
            row(c, r, line, 7 * 60, now)
        })
    }

    #[test]
    fn a_settlement_file_reads_in_cents_and_refuses_anything_else() {
        let header = COLUMNS.join(";");
        let line = "ST20261202;20261201111212800110166000000000001;ACQUIRING_ORDER;20261201111212800110166000000000001;216620000000000000000;2026-12-02T00:00:00+07:00;Shop;15000000;IDR;225000;14775000;pay_01m8ab8makqqg641md11702kgn;;2026-12-01T10:00:00+07:00";
        let rows = read(&format!("{header}\n{line}\n")).unwrap();
        let r = &rows[0];
        assert_eq!(
            (r.kind, r.gross, r.fee, r.net),
            (Kind::Charge, 15_000_000, 225_000, 14_775_000)
        );
        assert_eq!(
            r.charge_reference.as_deref(),
            Some("pay_01m8ab8makqqg641md11702kgn:20261201111212800110166000000000001")
        );
        assert_eq!(
            r.value_on,
            Some(walletpay_reconcile::Date::parse("2026-12-02").unwrap())
        );
        for bad in [
            line.replace(";15000000;", ";15000000.00;"),
            line.replace(";15000000;", ";150.000;"),
            line.replace(";IDR;", ";XXX;"),
            line.replace("2026-12-02T00:00:00+07:00", "02/12/2026"),
        ] {
            match read(&format!("{header}\n{bad}\n")) {
                Err(SettlementError::Malformed { line: 1, .. }) => {}
                other => panic!("{bad}: {other:?}"),
            }
        }
        // A comma-separated file is not DANA's: its header has none of the columns.
        assert!(matches!(
            read(&format!("{}\n", COLUMNS.join(","))),
            Err(SettlementError::Malformed { line: 0, .. })
        ));
    }

    #[test]
    fn fuzzed_statements_are_read_or_refused() {
        let header = COLUMNS.join(";");
        let line = "ST20261202;20261201111212800110166000000000001;ACQUIRING_ORDER;20261201111212800110166000000000001;216620000000000000000;2026-12-02T00:00:00+07:00;Shop;15000000;IDR;225000;14775000;pay_01m8ab8makqqg641md11702kgn;;2026-12-01T10:00:00+07:00";
        crate::settlement::fuzz_statements("dana", &format!("{header}\n{line}\n"), b';', read);
    }
}
