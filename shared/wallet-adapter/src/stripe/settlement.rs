//! Stripe's settlement data of a day: the Reporting API's itemized balance change from
//! activity (`balance_change_from_activity.itemized.3`), one row per balance transaction
//! created in the day.
//!
//! The report type's `data_available_end` says through when Stripe has the data (before the
//! day's end: not yet); a run of the day asked for before, still pending or made in the last
//! six hours, is followed (a report run takes Stripe minutes), else `POST /v1/reporting/report_runs` with the day as `interval_start` and
//! `interval_end` (Unix seconds, the end exclusive) and the columns we read; the run is read
//! until `succeeded` and its file downloaded with the secret key, from Stripe's file host
//! only. Amounts are major units (`"150000.00"`; refunds negative), times `created_utc` and
//! `available_on_utc` (`YYYY-MM-DD HH:MM:SS`, UTC). `reporting_category` `charge` is a charge,
//! `refund` a refund, `refund_failure` a refund undone, `fee` a fee, `payout` a payout, any
//! other an adjustment. Our payment id is `payment_metadata[payment_id]`, our refund id
//! `refund_metadata[refund_id]`, the charge our payment records `payment_intent_id`.

use super::client::Stripe;
use super::mapping::parse_currency;
use super::wire::{ReportRun, ReportType};
use crate::credentials::ExposeSecret;
use crate::settlement::{
    json, local_time, read_csv, send, stream_csv, Columns, RowSink, SettlementDay, SettlementError,
    SourceRead,
};
use std::time::Duration;
use walletpay_domain::{PaymentId, RefundId, Timestamp};
use walletpay_reconcile::{minor_units, Kind, RowStatus, SettlementRow};

pub const REPORT_TYPE: &str = "balance_change_from_activity.itemized.3";

/// The columns asked for, and read by name.
pub const COLUMNS: [&str; 14] = [
    "balance_transaction_id",
    "created_utc",
    "available_on_utc",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "source_id",
    "charge_id",
    "payment_intent_id",
    "payment_method_type",
    "payment_metadata[payment_id]",
    "refund_metadata[refund_id]",
];

/// How long a succeeded report run of the day is reused by the next attempts.
const REUSE_SECONDS: i64 = 6 * 3600;

/// How long a run is waited for before the day is asked again later.
const RUN_WAIT: Duration = Duration::from_secs(20);

impl Stripe {
    pub(super) async fn read_settlement(
        &self,
        day: &SettlementDay<'_>,
        sink: RowSink<'_>,
    ) -> Result<SourceRead, SettlementError> {
        let key = self.settlement_key().await?;
        let (from, to) = (day.from().millis() / 1000, day.to().millis() / 1000);
        let kind: ReportType = json(
            "Stripe",
            send(
                "Stripe",
                self.http()
                    .get(self.endpoint(&format!("/v1/reporting/report_types/{REPORT_TYPE}")))
                    .bearer_auth(key.expose_secret()),
            )
            .await?,
        )
        .await?;
        if kind.data_available_end < to {
            return Err(SettlementError::NotYet(format!(
                "Stripe has {REPORT_TYPE} data through {} only",
                Timestamp(kind.data_available_end * 1000)
            )));
        }
        // A run asked for before (an earlier attempt of the day) is followed, not asked for
        // again: a report run takes Stripe minutes.
        let earlier: super::wire::List<ReportRun> = json(
            "Stripe",
            send(
                "Stripe",
                self.http()
                    .get(self.endpoint("/v1/reporting/report_runs"))
                    .query(&[
                        ("limit", "100"),
                        (
                            "created[gte]",
                            &(day.now.millis() / 1000 - 7 * 86_400).to_string(),
                        ),
                    ])
                    .bearer_auth(key.expose_secret()),
            )
            .await?,
        )
        .await?;
        // The same report of the same account: still running, or made in the last hours (a
        // rerun later than that wants the data as it stands then).
        let recent = day.now.millis() / 1000 - REUSE_SECONDS;
        let same = |r: &ReportRun| {
            r.report_type == REPORT_TYPE
                && r.parameters.interval_start == Some(from)
                && r.parameters.interval_end == Some(to)
                && r.parameters.timezone.as_deref() == Some("Etc/UTC")
                && r.parameters.connected_account.is_none()
                && r.parameters
                    .columns
                    .as_ref()
                    .is_some_and(|c| c.iter().map(String::as_str).eq(COLUMNS))
                && (r.status == "pending" || (r.status == "succeeded" && r.created >= recent))
        };
        let reused = earlier.data.into_iter().find(same);
        let mut run: ReportRun = match reused {
            Some(r) => r,
            None => {
                let mut form: Vec<(String, String)> = vec![
                    ("report_type".into(), REPORT_TYPE.into()),
                    ("parameters[interval_start]".into(), from.to_string()),
                    ("parameters[interval_end]".into(), to.to_string()),
                    ("parameters[timezone]".into(), "Etc/UTC".into()),
                ];
                form.extend(
                    COLUMNS
                        .iter()
                        .map(|c| ("parameters[columns][]".to_string(), c.to_string())),
                );
                json(
                    "Stripe",
                    send(
                        "Stripe",
                        self.http()
                            .post(self.endpoint("/v1/reporting/report_runs"))
                            .bearer_auth(key.expose_secret())
                            .form(&form),
                    )
                    .await?,
                )
                .await?
            }
        };
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(100);
        while run.status == "pending" {
            if started.elapsed() > RUN_WAIT {
                return Err(SettlementError::NotYet(format!(
                    "report run {} still pending",
                    run.id
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
            run = json(
                "Stripe",
                send(
                    "Stripe",
                    self.http()
                        .get(self.endpoint(&format!("/v1/reporting/report_runs/{}", run.id)))
                        .bearer_auth(key.expose_secret()),
                )
                .await?,
            )
            .await?;
        }
        let file = match (run.status.as_str(), run.result) {
            ("succeeded", Some(file)) => file,
            (status, _) => {
                return Err(SettlementError::Unavailable(format!(
                    "report run {} {status}: {}",
                    run.id,
                    run.error.unwrap_or_default()
                )))
            }
        };
        if !file.url.starts_with(&format!("{}/", self.files_url())) {
            return Err(SettlementError::Config(format!(
                "the report file is at {}, not on Stripe's file host {}",
                file.url,
                self.files_url()
            )));
        }
        let resp = send(
            "Stripe",
            self.http().get(&file.url).bearer_auth(key.expose_secret()),
        )
        .await?;
        if !resp.status().is_success() {
            return Err(SettlementError::Unavailable(format!(
                "Stripe answered {} for the report file",
                resp.status()
            )));
        }
        let offset = day.utc_offset_minutes;
        let now = day.now;
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
            source: format!(
                "Stripe {REPORT_TYPE} ({})",
                file.filename.unwrap_or(file.id)
            ),
            rows,
        })
    }
}

fn time(c: &Columns, r: &csv::StringRecord, name: &str) -> Result<Timestamp, String> {
    let v = c.get(r, name);
    local_time(v, 0).ok_or_else(|| format!("`{name}` {v:?} is not a time"))
}

fn row(
    c: &Columns,
    r: &csv::StringRecord,
    line: u64,
    offset: i32,
    now: Timestamp,
) -> Result<Option<SettlementRow>, String> {
    let currency = parse_currency(c.get(r, "currency")).ok_or_else(|| {
        format!(
            "`currency` {:?} is not a currency we take",
            c.get(r, "currency")
        )
    })?;
    let amount =
        |name: &str| minor_units(c.get(r, name), currency).map_err(|e| format!("`{name}`: {e}"));
    let (gross, fee, net) = (amount("gross")?, amount("fee")?, amount("net")?);
    let (kind, status) = match c.get(r, "reporting_category") {
        "charge" => (Kind::Charge, RowStatus::Succeeded),
        "refund" => (Kind::Refund, RowStatus::Succeeded),
        "refund_failure" => (Kind::Refund, RowStatus::Reversed),
        "fee" => (Kind::Fee, RowStatus::Succeeded),
        "payout" => (Kind::Payout, RowStatus::Succeeded),
        "" => return Err("`reporting_category` is empty".into()),
        _ => (Kind::Adjustment, RowStatus::Succeeded),
    };
    if gross - fee != net {
        return Err(format!("gross {gross} less fee {fee} is not net {net}"));
    }
    // A fee line carries what it charges as a negative gross: it is that fee.
    let (gross, fee) = match kind {
        Kind::Fee => (0, fee - gross),
        _ => (gross, fee),
    };
    let created = time(c, r, "created_utc")?;
    let available = time(c, r, "available_on_utc")?;
    Ok(Some(SettlementRow {
        line,
        payment_id: c
            .opt(r, "payment_metadata[payment_id]")
            .and_then(PaymentId::parse),
        refund_id: c
            .opt(r, "refund_metadata[refund_id]")
            .and_then(RefundId::parse),
        provider_reference: c.get(r, "balance_transaction_id").to_string(),
        charge_reference: c.opt(r, "payment_intent_id").map(str::to_string),
        kind,
        gross: gross.abs(),
        fee,
        net,
        currency,
        status,
        booked_on: walletpay_reconcile::Date::of(created, offset),
        booked_at: Some(created),
        value_on: Some(walletpay_reconcile::Date::of(available, offset)),
        settled: available <= now,
        method: c.opt(r, "payment_method_type").map(str::to_string),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settlement::read_all;

    fn read(text: &str) -> Result<Vec<SettlementRow>, SettlementError> {
        let now = Timestamp::parse_rfc3339("2026-12-10T00:00:00Z").unwrap();
        read_all(text, b',', &COLUMNS, |c, r, line| {
            row(c, r, line, 7 * 60, now)
        })
    }

    const HEADER: &str = "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,charge_id,payment_intent_id,payment_method_type,payment_metadata[payment_id],refund_metadata[refund_id]";

    #[test]
    fn charges_refunds_and_reversals_read_in_minor_units() {
        let text = format!(
            "{HEADER}\n\
             txn_1,2026-12-01 03:00:00,2026-12-03 00:00:00,thb,3000.00,102.00,2898.00,charge,ch_1,ch_1,pi_1,promptpay,pay_01m8ab8makqqg641md11702kgn,\n\
             txn_2,2026-12-01 04:00:00,2026-12-03 00:00:00,thb,-1000.00,0.00,-1000.00,refund,re_1,ch_1,pi_1,promptpay,pay_01m8ab8makqqg641md11702kgn,ref_01m8ab8makqqg641md11702kgn\n\
             txn_3,2026-12-01 05:00:00,2026-12-03 00:00:00,thb,1000.00,0.00,1000.00,refund_failure,re_1,ch_1,pi_1,promptpay,pay_01m8ab8makqqg641md11702kgn,ref_01m8ab8makqqg641md11702kgn\n\
             txn_4,2026-12-01 06:00:00,2026-12-01 06:00:00,thb,-25.00,0.00,-25.00,fee,,,,,,\n"
        );
        let rows = read(&text).unwrap();
        assert_eq!(
            (rows[0].kind, rows[0].gross, rows[0].fee, rows[0].net),
            (Kind::Charge, 300_000, 10_200, 289_800)
        );
        assert_eq!(rows[0].charge_reference.as_deref(), Some("pi_1"));
        assert!(rows[0].settled, "available by now");
        assert_eq!(
            (rows[1].kind, rows[1].gross, rows[1].status),
            (Kind::Refund, 100_000, RowStatus::Succeeded)
        );
        assert_eq!(
            rows[1].refund_id.as_ref().unwrap().as_str(),
            "ref_01m8ab8makqqg641md11702kgn"
        );
        assert_eq!(
            (rows[2].kind, rows[2].status),
            (Kind::Refund, RowStatus::Reversed)
        );
        // A fee line is the fee it charges.
        assert_eq!(
            (rows[3].kind, rows[3].gross, rows[3].fee, rows[3].net),
            (Kind::Fee, 0, 2_500, -2_500)
        );
    }

    #[test]
    fn a_row_that_does_not_read_fails_naming_it() {
        for bad in [
            "txn_1,2026-12-01 03:00:00,2026-12-03 00:00:00,thb,3000.001,102.00,2898.00,charge,,,,,,",
            "txn_1,2026-12-01 03:00:00,2026-12-03 00:00:00,thb,3000.00,102.00,2890.00,charge,,,,,,",
            "txn_1,2026-12-01T03:00:00Z,2026-12-03 00:00:00,thb,3000.00,102.00,2898.00,charge,,,,,,",
            "txn_1,2026-12-01 03:00:00,2026-12-03 00:00:00,xyz,3000.00,102.00,2898.00,charge,,,,,,",
            "txn_1,2026-12-01 03:00:00,2026-12-03 00:00:00,thb,\"3,000.00\",102.00,2898.00,charge,,,,,,",
        ] {
            let ok = format!("{HEADER}\ntxn_0,2026-12-01 03:00:00,2026-12-03 00:00:00,thb,1.00,0.00,1.00,charge,,,,,,\n{bad}\n");
            match read(&ok) {
                Err(SettlementError::Malformed { line: 2, .. }) => {}
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn fuzzed_statements_are_read_or_refused() {
        let genuine = format!(
            "{HEADER}\n\
             txn_1,2026-12-01 03:00:00,2026-12-03 00:00:00,thb,3000.00,102.00,2898.00,charge,ch_1,ch_1,pi_1,promptpay,pay_01m8ab8makqqg641md11702kgn,\n\
             txn_2,2026-12-01 04:00:00,2026-12-03 00:00:00,thb,-1000.00,0.00,-1000.00,refund,re_1,ch_1,pi_1,promptpay,pay_01m8ab8makqqg641md11702kgn,ref_01m8ab8makqqg641md11702kgn\n"
        );
        crate::settlement::fuzz_statements("stripe", &genuine, b',', read);
    }
}
