//! Midtrans's settlement data of a day: the balance statement. Midtrans has no API that lists
//! transactions or settlements; its dashboard (MAP) exports the balance statement (`Date &
//! Time`, `Order ID`, `Transaction Type`, `Channel`, `Status`, `Amount`, `Fee`) as CSV, by
//! e-mail, and a merchant can arrange delivery to a file drop. We read the day's file from
//! the configured statement URL (`?date=YYYY-MM-DD`, Basic auth with the server key), with
//! two columns more than the dashboard's (`Settlement Time`, when the money is payable, and
//! `Refund Key`, our refund id), by name. Times are Jakarta time (UTC+7); amounts rupiah in
//! major units; `Transaction Type` `payment` a charge, `refund` a refund, `refund_reversal`
//! a refund undone; `Status` `settlement` or `refund` made, `pending` waiting, `deny`,
//! `cancel`, `expire` and `failure` failed.

use super::client::Midtrans;
use crate::credentials::ExposeSecret;
use crate::settlement::{
    local_time, read_statement, statement_url, Columns, RowSink, SettlementDay, SettlementError,
    SourceRead,
};
use walletpay_domain::{Currency, PaymentId, RefundId, Timestamp};
use walletpay_reconcile::{minor_units, Kind, RowStatus, SettlementRow};

pub const COLUMNS: [&str; 9] = [
    "Date & Time",
    "Order ID",
    "Transaction Type",
    "Channel",
    "Status",
    "Amount",
    "Fee",
    "Settlement Time",
    "Refund Key",
];

/// Jakarta, the statement's time zone.
pub const WIB_MINUTES: i32 = 7 * 60;

impl Midtrans {
    pub(super) async fn read_settlement(
        &self,
        day: &SettlementDay<'_>,
        sink: RowSink<'_>,
    ) -> Result<SourceRead, SettlementError> {
        let url = statement_url("Midtrans", self.statements_url())?;
        let creds = self.settlement_credentials().await?;
        let req = self
            .http()
            .get(&url)
            .basic_auth(creds.server_key.expose_secret(), Some(""));
        let (offset, now) = (day.utc_offset_minutes, day.now);
        read_statement(
            "Midtrans",
            "Midtrans balance statement",
            req,
            day,
            b',',
            &COLUMNS,
            sink,
            move |c, r, line| row(c, r, line, offset, now),
        )
        .await
    }
}

fn time(c: &Columns, r: &csv::StringRecord, name: &str) -> Result<Timestamp, String> {
    let v = c.get(r, name);
    local_time(v, WIB_MINUTES).ok_or_else(|| format!("`{name}` {v:?} is not a time"))
}

fn row(
    c: &Columns,
    r: &csv::StringRecord,
    line: u64,
    offset: i32,
    now: Timestamp,
) -> Result<Option<SettlementRow>, String> {
    let amount = |name: &str| {
        minor_units(c.get(r, name), Currency::IDR).map_err(|e| format!("`{name}`: {e}"))
    };
    let (gross, fee) = (amount("Amount")?.abs(), amount("Fee")?);
    let kind = match c.get(r, "Transaction Type") {
        "payment" => Kind::Charge,
        "refund" | "refund_reversal" => Kind::Refund,
        "disbursement" | "withdrawal" => Kind::Payout,
        "" => return Err("`Transaction Type` is empty".into()),
        _ => Kind::Adjustment,
    };
    let status = match (c.get(r, "Transaction Type"), c.get(r, "Status")) {
        ("refund_reversal", _) => RowStatus::Reversed,
        (_, "settlement" | "refund" | "partial_refund" | "capture") => RowStatus::Succeeded,
        (_, "pending" | "authorize") => RowStatus::Pending,
        (_, "deny" | "cancel" | "expire" | "failure") => RowStatus::Failed,
        (_, other) => return Err(format!("`Status` {other:?}")),
    };
    let at = time(c, r, "Date & Time")?;
    let value = match c.opt(r, "Settlement Time") {
        Some(_) => Some(time(c, r, "Settlement Time")?),
        None => None,
    };
    let order = c.get(r, "Order ID");
    let net = match (kind, status) {
        (Kind::Charge, RowStatus::Succeeded) => gross - fee,
        (Kind::Refund, RowStatus::Succeeded) => -gross,
        (Kind::Refund, RowStatus::Reversed) => gross,
        _ => 0,
    };
    Ok(Some(SettlementRow {
        line,
        payment_id: PaymentId::parse(order),
        refund_id: c.opt(r, "Refund Key").and_then(RefundId::parse),
        provider_reference: match c.opt(r, "Refund Key") {
            Some(k) => format!("{order}:{k}"),
            None => order.to_string(),
        },
        charge_reference: Some(order.to_string()).filter(|o| !o.is_empty()),
        kind,
        gross,
        fee,
        net,
        currency: Currency::IDR,
        status,
        booked_on: walletpay_reconcile::Date::of(at, offset),
        booked_at: Some(at),
        value_on: value.map(|v| walletpay_reconcile::Date::of(v, offset)),
        settled: value.is_some_and(|v| v <= now),
        method: c.opt(r, "Channel").map(str::to_string),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settlement::read_all;

    fn read(text: &str) -> Result<Vec<SettlementRow>, SettlementError> {
        let now = Timestamp::parse_rfc3339("2026-12-10T00:00:00Z").unwrap();
        read_all(text, b',', &COLUMNS, |c, r, line| {
            row(c, r, line, WIB_MINUTES, now)
        })
    }

    #[test]
    fn a_statement_reads_in_jakarta_time_and_refuses_anything_else() {
        let header = COLUMNS.join(",");
        let ok = "2026-12-01 10:00:00,pay_01m8ab8makqqg641md11702kgn,payment,gopay,settlement,300000.00,6000.00,2026-12-02 10:00:00,";
        let rows = read(&format!("{header}\n{ok}\n")).unwrap();
        assert_eq!(
            (rows[0].kind, rows[0].gross, rows[0].fee, rows[0].net),
            (Kind::Charge, 30_000_000, 600_000, 29_400_000)
        );
        assert_eq!(
            rows[0].booked_at.unwrap().to_string(),
            "2026-12-01T03:00:00.000Z"
        );
        for bad in [
            ok.replace("300000.00", "Rp300.000"),
            ok.replace("settlement", "settled"),
            ok.replace("2026-12-01 10:00:00", "01/12/2026 10:00"),
        ] {
            assert!(
                matches!(
                    read(&format!("{header}\n{bad}\n")),
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
            "{header}\n2026-12-01 10:00:00,pay_01m8ab8makqqg641md11702kgn,payment,gopay,settlement,300000.00,6000.00,2026-12-02 10:00:00,\n"
        );
        crate::settlement::fuzz_statements("midtrans", &genuine, b',', read);
    }
}
