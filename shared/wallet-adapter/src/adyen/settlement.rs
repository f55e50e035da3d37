//! Adyen's settlement data of a day: the Settlement details report of the payable batch that
//! closed at the end of the day, fetched from the URL Adyen's `REPORT_AVAILABLE` notification
//! gave (its `pspReference` the file name, its `reason` the download URL), downloaded with
//! the report user's API key (`X-API-Key`) from the configured report host only.
//!
//! The file is read by column name (Adyen adds and reorders columns): `Type` `Settled` is a
//! charge, `Refunded` a refund, `RefundedReversed` a refund undone, `Fee` a fee of the
//! account, `MerchantPayout` the payout, `Chargeback`, corrections and any other journal an
//! adjustment. `Merchant Reference` is our payment id; a refund's `Modification Merchant
//! Reference` is `<payment id>:<refund id>`; `Psp Reference` is the payment's, the one our
//! payment records. Amounts are major units with Adyen's decimals (rupiah and dong whole)
//! in unsigned debit and credit columns; the fee is `Commission`, `Markup`, `Scheme Fees`
//! and `Interchange` together. A batch is paid out when it closes: its rows are settled, on
//! the day the report was announced.

use super::client::Adyen;
use super::mapping::{adyen_exponent, from_adyen};
use crate::settlement::{
    local_time, read_csv, send, stream_csv, Columns, RowSink, SettlementDay, SettlementError,
    SourceRead,
};
use walletpay_domain::{Currency, PaymentId, RefundId};
use walletpay_reconcile::{Date, Kind, RowStatus, SettlementRow};

pub const REQUIRED: [&str; 12] = [
    "Merchant Reference",
    "Psp Reference",
    "Creation Date",
    "Type",
    "Modification Reference",
    "Gross Currency",
    "Gross Debit (GC)",
    "Gross Credit (GC)",
    "Net Currency",
    "Net Debit (NC)",
    "Net Credit (NC)",
    "Modification Merchant Reference",
];

const FEES: [&str; 4] = [
    "Commission (NC)",
    "Markup (NC)",
    "Scheme Fees (NC)",
    "Interchange (NC)",
];

/// The settlement details reports that cover a day: those announced on the next day (the
/// batch closes at midnight, in the account's time zone).
pub fn covers(notice_day: Date, day: Date) -> bool {
    notice_day == day.plus_days(1)
}

impl Adyen {
    pub(super) async fn read_settlement(
        &self,
        day: &SettlementDay<'_>,
        sink: RowSink<'_>,
    ) -> Result<SourceRead, SettlementError> {
        let mut files: Vec<_> = day
            .notices
            .iter()
            .filter(|n| {
                n.file.starts_with("settlement_detail_report") && covers(n.announced_on, day.day)
            })
            .collect();
        if files.is_empty() {
            return Err(SettlementError::NotYet(format!(
                "no settlement details report announced for {} yet",
                day.day
            )));
        }
        files.sort_by(|a, b| a.file.cmp(&b.file));
        files.dedup_by(|a, b| a.file == b.file);
        let (host, key) = self.report_access().await?;
        let mut rows = 0u64;
        let mut names = Vec::new();
        for n in files {
            if !n.url.starts_with(&host) {
                return Err(SettlementError::Config(format!(
                    "the report {} is at {}, not on the configured report host {host}",
                    n.file, n.url
                )));
            }
            let resp = send(
                "Adyen",
                self.http().get(&n.url).header(
                    "x-api-key",
                    crate::credentials::ExposeSecret::expose_secret(&key),
                ),
            )
            .await?;
            match resp.status().as_u16() {
                200 => {}
                401 | 403 => {
                    return Err(SettlementError::Config(format!(
                        "Adyen refused the report user's key for {}",
                        n.file
                    )))
                }
                404 => {
                    return Err(SettlementError::NotYet(format!(
                        "{} is not downloadable yet",
                        n.file
                    )))
                }
                s => {
                    return Err(SettlementError::Unavailable(format!(
                        "Adyen answered {s} for {}",
                        n.file
                    )))
                }
            }
            let offset = day.utc_offset_minutes;
            let paid_on = n.announced_on;
            let first = rows;
            let read = stream_csv(
                resp,
                move |input, out| {
                    read_csv(input, b',', &REQUIRED, out, |c, r, line| {
                        row(c, r, first + line, offset, paid_on)
                    })
                },
                sink,
            )
            .await?;
            rows += read;
            names.push(n.file.clone());
        }
        Ok(SourceRead {
            source: format!("Adyen settlement details report {}", names.join(", ")),
            rows,
        })
    }
}

/// An amount in Adyen's decimals for the currency, in ISO minor units.
fn amount(text: &str, currency: Currency, name: &str) -> Result<i64, String> {
    if text.is_empty() {
        return Ok(0);
    }
    // Adyen writes IDR and VND whole; read in its exponent, then shift to ISO 4217's.
    let exact = adyen_exponent(currency);
    let parsed = parse_in(text, exact)
        .ok_or_else(|| format!("`{name}` {text:?} is not an amount in {currency}"))?;
    Ok(from_adyen(parsed, currency).minor)
}

/// A non-negative decimal with at most `exponent` decimals, in units of 10^-exponent.
fn parse_in(text: &str, exponent: u32) -> Option<i64> {
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > exponent as usize
        || (text.contains('.') && frac.is_empty())
    {
        return None;
    }
    let unit = 10i64.checked_pow(exponent)?;
    let w: i64 = whole.parse().ok()?;
    let f: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<width$}", width = exponent as usize)
            .parse()
            .ok()?
    };
    w.checked_mul(unit)?.checked_add(f)
}

fn row(
    c: &Columns,
    r: &csv::StringRecord,
    line: u64,
    offset: i32,
    paid_on: Date,
) -> Result<Option<SettlementRow>, String> {
    let journal = c.get(r, "Type");
    let code = |name: &str| -> Result<Currency, String> {
        let v = c.get(r, name);
        v.parse()
            .map_err(|_| format!("`{name}` {v:?} is not a currency we take"))
    };
    let gross_currency = code("Gross Currency")?;
    let net_currency = code("Net Currency")?;
    if net_currency != gross_currency {
        return Err(format!(
            "settled in {net_currency} for {gross_currency}: converted settlements are not read"
        ));
    }
    let debit = amount(
        c.get(r, "Gross Debit (GC)"),
        gross_currency,
        "Gross Debit (GC)",
    )?;
    let credit = amount(
        c.get(r, "Gross Credit (GC)"),
        gross_currency,
        "Gross Credit (GC)",
    )?;
    let net = amount(c.get(r, "Net Credit (NC)"), net_currency, "Net Credit (NC)")?
        - amount(c.get(r, "Net Debit (NC)"), net_currency, "Net Debit (NC)")?;
    let mut fee = 0;
    for f in FEES {
        fee += match c.opt(r, f) {
            Some(v) => amount(v, net_currency, f)?,
            None => 0,
        };
    }
    let (kind, status) = match journal {
        "Settled" => (Kind::Charge, RowStatus::Succeeded),
        "Refunded" => (Kind::Refund, RowStatus::Succeeded),
        "RefundedReversed" => (Kind::Refund, RowStatus::Reversed),
        "Fee" => (Kind::Fee, RowStatus::Succeeded),
        "MerchantPayout" => (Kind::Payout, RowStatus::Succeeded),
        "" => return Err("`Type` is empty".into()),
        _ => (Kind::Adjustment, RowStatus::Succeeded),
    };
    // The sign is the column's, not the journal's: a charge is a credit, a refund a debit.
    let gross = (credit - debit).abs();
    match kind {
        Kind::Fee => {
            // A fee line carries its amount in the gross debit or the net debit.
            let charged = if debit != 0 { debit } else { -net };
            return Ok(Some(base(
                c,
                r,
                line,
                offset,
                paid_on,
                Kind::Fee,
                status,
                0,
                charged,
                net,
                net_currency,
            )?));
        }
        Kind::Payout => {
            return Ok(Some(base(
                c,
                r,
                line,
                offset,
                paid_on,
                kind,
                status,
                gross.max(-net),
                0,
                net,
                net_currency,
            )?));
        }
        _ => {}
    }
    Ok(Some(base(
        c,
        r,
        line,
        offset,
        paid_on,
        kind,
        status,
        gross,
        fee,
        net,
        gross_currency,
    )?))
}

#[allow(clippy::too_many_arguments)]
fn base(
    c: &Columns,
    r: &csv::StringRecord,
    line: u64,
    offset: i32,
    paid_on: Date,
    kind: Kind,
    status: RowStatus,
    gross: i64,
    fee: i64,
    net: i64,
    currency: Currency,
) -> Result<SettlementRow, String> {
    let created = c.get(r, "Creation Date");
    let booked_at = local_time(created, offset)
        .ok_or_else(|| format!("`Creation Date` {created:?} is not a time"))?;
    let mod_ref = c.get(r, "Modification Merchant Reference");
    let (payment_id, refund_id) = match kind {
        Kind::Refund => match mod_ref.split_once(':') {
            Some((p, rf)) => (PaymentId::parse(p), RefundId::parse(rf)),
            None => (PaymentId::parse(c.get(r, "Merchant Reference")), None),
        },
        Kind::Charge | Kind::Fee | Kind::Adjustment => {
            (PaymentId::parse(c.get(r, "Merchant Reference")), None)
        }
        Kind::Payout => (None, None),
    };
    Ok(SettlementRow {
        line,
        payment_id,
        refund_id,
        provider_reference: c.get(r, "Modification Reference").to_string(),
        charge_reference: c.opt(r, "Psp Reference").map(str::to_string),
        kind,
        gross,
        fee,
        net,
        currency,
        status,
        booked_on: Date::of(booked_at, offset),
        booked_at: Some(booked_at),
        value_on: Some(paid_on),
        settled: true,
        method: c.opt(r, "Payment Method").map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_in_adyens_decimals() {
        assert_eq!(amount("150000", Currency::IDR, "x"), Ok(15_000_000));
        assert!(
            amount("150000.5", Currency::IDR, "x").is_err(),
            "rupiah are whole at Adyen"
        );
        assert_eq!(amount("5.00", Currency::THB, "x"), Ok(500));
        assert_eq!(amount("5.1", Currency::THB, "x"), Ok(510));
        for bad in ["-5.00", "5.", ".5", "5,00", "1e3", " 5"] {
            assert!(amount(bad, Currency::THB, "x").is_err(), "{bad}");
        }
        assert_eq!(amount("", Currency::THB, "x"), Ok(0));
    }

    /// Adyen's own sample line of the report's documentation, read.
    #[test]
    fn adyens_sample_line_reads() {
        let header = "Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,Creation Date,TimeZone,Type,Modification Reference,Gross Currency,Gross Debit (GC),Gross Credit (GC),Exchange Rate,Net Currency,Net Debit (NC),Net Credit (NC),Commission (NC),Markup (NC),Scheme Fees (NC),Interchange (NC),Payment Method Variant,Modification Merchant Reference,Batch Number,Reserved4,Reserved5,Reserved6,Reserved7,Reserved8,Reserved9,Reserved10";
        let sample = "TestCompany,TestMerchant,1813702551707653,3vpzf7,visa,2013-06-03 11:26:49,CET,Settled,1713702551795048,GBP,,5.00,1,GBP,,4.88,,0.04,0.01,0.07,visaclassic,,,,,,,,,";
        let text = format!("{header}\n{sample}\n");
        let mut got = Vec::new();
        let _ = read_csv(
            &mut text.as_bytes(),
            b',',
            &REQUIRED,
            &mut |r| {
                got.push(r);
                true
            },
            |c, r, line| row(c, r, line, 60, Date::parse("2013-06-04").unwrap()),
        );
        // GBP is not a currency we take: the row is refused, naming the column.
        assert!(got.is_empty());
        let thb = text.replace("GBP", "THB");
        let mut got = Vec::new();
        read_csv(
            &mut thb.as_bytes(),
            b',',
            &REQUIRED,
            &mut |r| {
                got.push(r);
                true
            },
            |c, r, line| row(c, r, line, 60, Date::parse("2013-06-04").unwrap()),
        )
        .unwrap();
        let r = &got[0];
        assert_eq!(
            (r.kind, r.gross, r.fee, r.net),
            (Kind::Charge, 500, 12, 488)
        );
        assert_eq!(r.charge_reference.as_deref(), Some("1813702551707653"));
        assert_eq!(r.provider_reference, "1713702551795048");
        assert_eq!(r.booked_on, Date::parse("2013-06-03").unwrap());
        assert!(r.payment_id.is_none(), "3vpzf7 is not one of our ids");
    }

    #[test]
    fn fuzzed_reports_are_read_or_refused() {
        let header = "Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,Creation Date,TimeZone,Type,Modification Reference,Gross Currency,Gross Debit (GC),Gross Credit (GC),Exchange Rate,Net Currency,Net Debit (NC),Net Credit (NC),Commission (NC),Markup (NC),Scheme Fees (NC),Interchange (NC),Payment Method Variant,Modification Merchant Reference,Batch Number,Reserved4,Reserved5,Reserved6,Reserved7,Reserved8,Reserved9,Reserved10";
        let genuine = format!(
            "{header}\n\
             Walletpay,WalletpayTH,1813702551707653,pay_01m8ab8makqqg641md11702kgn,truemoney,2026-12-01 11:26:49,ICT,Settled,1713702551795048,THB,,300.00,1,THB,,292.50,7.50,,,,truemoney,,41,,,,,,,\n\
             Walletpay,WalletpayTH,1813702551707653,pay_01m8ab8makqqg641md11702kgn,truemoney,2026-12-01 12:00:00,ICT,Refunded,1713702551795999,THB,100.00,,1,THB,100.00,,,,,,truemoney,pay_01m8ab8makqqg641md11702kgn:ref_01m8ab8makqqg641md11702kgn,41,,,,,,,\n\
             Walletpay,WalletpayTH,,,,2026-12-01 23:59:00,ICT,MerchantPayout,1713702551796000,THB,192.50,,1,THB,192.50,,,,,,,,41,,,,,,,\n"
        );
        let paid_on = Date::parse("2026-12-02").unwrap();
        let read = |text: &str| {
            crate::settlement::read_all(text, b',', &REQUIRED, |c, r, line| {
                row(c, r, line, 7 * 60, paid_on)
            })
        };
        let rows = read(&genuine).unwrap();
        assert_eq!(
            rows.iter().map(|r| (r.kind, r.net)).collect::<Vec<_>>(),
            [
                (Kind::Charge, 29_250),
                (Kind::Refund, -10_000),
                (Kind::Payout, -19_250)
            ]
        );
        crate::settlement::fuzz_statements("adyen", &genuine, b',', read);
    }
}
