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
    local_time, read_csv, statement, statement_url, stream_csv, Columns, RowSink, SettlementDay,
    SettlementError, SourceRead,
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
        let resp = statement("Midtrans", req, day.day).await?;
        let (offset, now) = (day.utc_offset_minutes, day.now);
        let rows = stream_csv(
            resp,
            move |input, out| {
                read_csv(input, b',', &COLUMNS, out, |c, r, line| {
                    row(c, r, line, offset, now)
                })
            },
            sink,
        )
        .await?;
        Ok(SourceRead {
            source: format!("Midtrans balance statement of {}", day.day),
            rows,
        })
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
