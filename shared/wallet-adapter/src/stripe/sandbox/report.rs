//! The sandbox's Reporting API: `balance_change_from_activity.itemized.3` of what it booked
//! (a charge per succeeded intent, a refund per succeeded refund, and a `refund_failure`
//! after a refund undone), run on request and downloaded from `/v1/files/{id}/contents`,
//! with the faults a test asked for. A 3.4% fee on charges, available two days later. Its
//! data is live (Stripe's is refreshed twice a day); `late_report` for a day holds it back
//! until published.

use super::*;
use crate::sandbox_kit::settlement::{fee, MoveKind, Movement, Settles};
use crate::sandbox_kit::{alnum, csv_line};
use crate::stripe::settlement::REPORT_TYPE;
use crate::stripe::wire::{ReportFile, ReportRun, ReportType};
use axum::extract::{Path, State};
use walletpay_domain::{Money, Timestamp};
use walletpay_reconcile::Date;

pub const FEE_BPS: i64 = 340;
const TWO_DAYS: i64 = 2 * 86_400;

impl Settles for StripeSandbox {
    fn faults(&self) -> &crate::sandbox_kit::settlement::Faults {
        &self.inner.faults
    }
}

/// A run and the interval it covers.
#[derive(Debug, Clone)]
pub(super) struct Run {
    run: ReportRun,
    from: i64,
    to: i64,
    columns: Vec<String>,
}

impl StripeSandbox {
    /// Every money movement booked so far.
    pub fn movements(&self) -> Vec<Movement> {
        let mut out = Vec::new();
        let intents = self.lock_intents();
        for k in intents.values().filter(|k| k.intent.status == "succeeded") {
            let pi = &k.intent;
            let Some(currency) = crate::stripe::mapping::parse_currency(&pi.currency) else {
                continue;
            };
            let Some(amount) =
                crate::stripe::mapping::parse_currency(&pi.currency).map(|c| Money {
                    minor: pi.amount,
                    currency: c,
                })
            else {
                continue;
            };
            let at = Timestamp(k.settled_at.unwrap_or(pi.created) * 1000);
            out.push(Movement {
                kind: MoveKind::Charge,
                reversed: false,
                payment: pi.metadata.get("payment_id").cloned(),
                refund: None,
                reference: format!("ch_{}", &pi.id[3..]),
                charge_reference: pi.id.clone(),
                amount_minor: amount.minor,
                currency,
                fee_minor: fee(amount.minor, FEE_BPS),
                at,
                value_at: at.plus_seconds(TWO_DAYS),
                garbled: false,
                method: pi.payment_method_types.first().cloned().unwrap_or_default(),
            });
        }
        for r in self.inner.refunds.lock().expect("sandbox lock").values() {
            if r.status != "succeeded" {
                continue;
            }
            let (Some(currency), Some(amount)) = (
                crate::stripe::mapping::parse_currency(&r.currency),
                crate::stripe::mapping::parse_currency(&r.currency).map(|c| Money {
                    minor: r.amount,
                    currency: c,
                }),
            ) else {
                continue;
            };
            let pi = r.payment_intent.clone().unwrap_or_default();
            let intent = intents.get(&pi).map(|k| &k.intent);
            let at = Timestamp(r.created * 1000);
            out.push(Movement {
                kind: MoveKind::Refund,
                reversed: false,
                payment: intent.and_then(|i| i.metadata.get("payment_id").cloned()),
                refund: r.metadata.get("refund_id").cloned(),
                reference: r.id.clone(),
                charge_reference: pi,
                amount_minor: amount.minor,
                currency,
                fee_minor: 0,
                at,
                value_at: at.plus_seconds(TWO_DAYS),
                garbled: false,
                method: intent
                    .and_then(|i| i.payment_method_types.first().cloned())
                    .unwrap_or_default(),
            });
        }
        out
    }

    /// Through when the report data is out: the sandbox's data is live (through the end of
    /// tomorrow, UTC, so every report time zone's today is in it), up to the start of the
    /// first day held back.
    fn available_end(&self) -> i64 {
        let today = Date::of(now(), 0);
        let mut end = today.plus_days(2).start(0);
        let mut d = today.plus_days(-60);
        while d <= today.plus_days(1) {
            if !self.faults().published(d) {
                end = d.start(0);
                break;
            }
            d = d.plus_days(1);
        }
        end.millis() / 1000
    }

    /// The report's CSV of a run: a line per balance transaction created in its interval.
    fn report_csv(&self, run: &Run) -> String {
        let mut out = csv_line(&run.columns);
        let (from, to) = (Timestamp(run.from * 1000), Timestamp(run.to * 1000));
        let moves = self.movements();
        let mut d = Date::of(from, 0);
        while d.start(0) < to {
            let listed =
                self.faults()
                    .apply(d, from.max(d.start(0)), to.min(d.end(0)), moves.clone());
            for m in &listed {
                // Balance transaction ids stay the same from one run to the next.
                let txn = |category: &str| {
                    format!("txn_{}_{category}", m.reference.replace(['-', '_'], ""))
                };
                let lines: Vec<(&str, i64, i64, String)> = match m.kind {
                    MoveKind::Charge => vec![("charge", m.amount_minor, m.fee_minor, txn("ch"))],
                    MoveKind::Refund if m.reversed => vec![
                        ("refund", -m.amount_minor, 0, txn("re")),
                        ("refund_failure", m.amount_minor, 0, txn("rf")),
                    ],
                    MoveKind::Refund => vec![("refund", -m.amount_minor, 0, txn("re"))],
                };
                for (category, gross, fee, txn) in lines {
                    let cells: Vec<String> = run
                        .columns
                        .iter()
                        .map(|c| cell(c, m, category, gross, fee, &txn))
                        .collect();
                    out.push_str(&csv_line(&cells));
                }
            }
            d = d.plus_days(1);
        }
        out
    }
}

fn utc(t: Timestamp) -> String {
    t.to_string()[..19].replace('T', " ")
}

fn major(minor: i64, m: &Movement) -> String {
    let text = Money {
        minor: minor.abs(),
        currency: m.currency,
    }
    .decimal_string(m.currency.exponent());
    if minor < 0 {
        format!("-{text}")
    } else {
        text
    }
}

fn cell(column: &str, m: &Movement, category: &str, gross: i64, fee: i64, txn: &str) -> String {
    let charge = m.kind == MoveKind::Charge;
    match column {
        "balance_transaction_id" => txn.into(),
        "created_utc" | "created" => utc(m.at),
        "available_on_utc" | "available_on" => utc(m.value_at),
        "currency" => m.currency.code().to_ascii_lowercase(),
        "gross" if m.garbled => "1.500,00".into(),
        "gross" => major(gross, m),
        "fee" => major(fee, m),
        "net" => major(gross - fee, m),
        "reporting_category" => category.into(),
        "source_id" => m.reference.clone(),
        "charge_id" => format!("ch_{}", m.charge_reference.get(3..).unwrap_or_default()),
        "payment_intent_id" => m.charge_reference.clone(),
        "payment_method_type" => m.method.clone(),
        "payment_metadata[payment_id]" => m.payment.clone().unwrap_or_default(),
        "refund_metadata[refund_id]" if !charge => m.refund.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// `GET /v1/reporting/report_types/{id}`.
pub(super) async fn report_type(
    State(sb): State<StripeSandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    if id != REPORT_TYPE {
        return invalid("report_type", &format!("No such report type: {id}"));
    }
    Json(ReportType {
        id,
        object: "reporting.report_type".into(),
        data_available_start: 0,
        data_available_end: sb.available_end(),
        version: 3,
    })
    .into_response()
}

/// `POST /v1/reporting/report_runs`: `report_type`, `parameters[interval_start]`,
/// `parameters[interval_end]`, `parameters[columns][]`.
pub(super) async fn create_run(
    State(sb): State<StripeSandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let form = kit::Form::parse(&body);
    let one = |k: &str| form.one(k);
    if one("report_type").as_deref() != Some(REPORT_TYPE) {
        return invalid("report_type", "report_type must be a known report type");
    }
    let (Some(Ok(from)), Some(Ok(to))) = (
        one("parameters[interval_start]").map(|v| v.parse::<i64>()),
        one("parameters[interval_end]").map(|v| v.parse::<i64>()),
    ) else {
        return invalid("parameters", "interval_start and interval_end are required");
    };
    if from >= to || to > sb.available_end() {
        return invalid(
            "parameters[interval_end]",
            &format!(
                "Data for the report type {REPORT_TYPE} is only available through {}",
                sb.available_end()
            ),
        );
    }
    let mut columns: Vec<String> = form
        .all("parameters[columns][]")
        .into_iter()
        .map(str::to_string)
        .collect();
    if columns.is_empty() {
        columns = crate::stripe::settlement::COLUMNS
            .map(String::from)
            .to_vec();
    }
    let run = ReportRun {
        id: format!("frr_{}", alnum(24)),
        object: "reporting.report_run".into(),
        report_type: REPORT_TYPE.into(),
        status: "pending".into(),
        error: None,
        result: None,
        parameters: crate::stripe::wire::ReportParameters {
            interval_start: Some(from),
            interval_end: Some(to),
            columns: Some(columns.clone()),
            timezone: Some(one("parameters[timezone]").unwrap_or_else(|| "Etc/UTC".into())),
            connected_account: one("parameters[connected_account]"),
        },
        created: now().millis() / 1000,
        succeeded_at: None,
    };
    sb.inner.runs.lock().expect("sandbox lock").insert(
        run.id.clone(),
        Run {
            run: run.clone(),
            from,
            to,
            columns,
        },
    );
    Json(run).into_response()
}

/// `GET /v1/reporting/report_runs?limit=&created[gte]=`: the account's runs, newest first.
pub(super) async fn list_runs(
    State(sb): State<StripeSandbox>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let since: i64 = q
        .get("created[gte]")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let limit: usize = q
        .get("limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
        .clamp(1, 100);
    let mut runs: Vec<ReportRun> = sb
        .inner
        .runs
        .lock()
        .expect("sandbox lock")
        .values()
        .map(|r| r.run.clone())
        .filter(|r| r.created >= since)
        .collect();
    runs.sort_by(|a, b| (b.created, &b.id).cmp(&(a.created, &a.id)));
    let has_more = runs.len() > limit;
    runs.truncate(limit);
    Json(crate::stripe::wire::List {
        object: "list".into(),
        data: runs,
        has_more,
        url: "/v1/reporting/report_runs".into(),
    })
    .into_response()
}

/// `GET /v1/reporting/report_runs/{id}`: succeeded from its first read on.
pub(super) async fn get_run(
    State(sb): State<StripeSandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let mut runs = sb.inner.runs.lock().expect("sandbox lock");
    let Some(r) = runs.get_mut(&id) else {
        return no_such("reporting.report_run", &id);
    };
    if r.run.status == "pending" {
        r.run.status = "succeeded".into();
        r.run.succeeded_at = Some(now().millis() / 1000);
        let file = format!("file_{}", &r.run.id[4..]);
        r.run.result = Some(ReportFile {
            url: format!("{}/v1/files/{file}/contents", sb.inner.config.public_url),
            filename: Some(format!("{file}.csv")),
            id: file,
            object: "file".into(),
            size: None,
        });
    }
    Json(r.run.clone()).into_response()
}

/// `GET /v1/files/{id}/contents`: a run's report.
pub(super) async fn file_contents(
    State(sb): State<StripeSandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let run = sb
        .inner
        .runs
        .lock()
        .expect("sandbox lock")
        .values()
        .find(|r| r.run.result.as_ref().is_some_and(|f| f.id == id))
        .cloned();
    match run {
        Some(run) => kit::csv(sb.report_csv(&run)),
        None => no_such("file", &id),
    }
}
