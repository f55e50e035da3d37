//! `cargo bench -p walletpay-tests --bench figures -- reconcile`
//!
//! The reconciliation engine on a generated day: `BENCH_ROWS` settlement rows (default
//! 1,000,000) against as many ledger entries, with every class present, written as CSV files
//! and read back, matched and classed on one core, in a child process whose peak RSS is read
//! from `/proc/self/status` (VmHWM). Beside it, the same classification with pandas `merge`
//! (`bench/reconcile_pandas.py`, with the Python of `$WALLETPAY_PYTHON`, the project's pinned
//! virtualenv) on the same files; both must count the same per class.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use walletpay_domain::{Currency, MerchantId, PaymentId};
use walletpay_reconcile::{
    Calendar, Class, Context, Contract, Date, DayBasis, EntryParts, FeeRule, Kind, Ledger, Matcher,
    Ours, Resolution, RowParts, RowSet, RowStatus, SettlementCycle,
};

const FEE_BPS: u32 = 150;
const DAYS: u32 = 2;
const CHILD: &str = "WALLETPAY_RECONCILE_BENCH_CHILD";

fn contract() -> Contract {
    Contract {
        fees: vec![FeeRule {
            wallet: None,
            currency: None,
            percent_bps: FEE_BPS,
            fixed_minor: 0,
            rounding_minor: None,
        }],
        settlement: SettlementCycle {
            days: DAYS,
            basis: DayBasis::Calendar,
        },
        calendar: Calendar {
            weekend: Vec::new(),
            holidays: Vec::new(),
        },
        grace_days: Some(0),
    }
}

fn day() -> Date {
    Date::parse("2026-12-01").unwrap()
}

/// Writes the day: per thousand payments, 940 listed as we show them (930 matched, 10 that
/// we show waiting: healed), 10 not listed (missing at the provider), 10 listed twice, 10 of
/// another amount, 5 in another currency, 5 failed at the provider, 5 with another fee, 5
/// paid out late, and 10 matched beside a movement nobody made (unknown to us).
fn generate(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut rows = std::io::BufWriter::new(std::fs::File::create(dir.join("rows.csv")).unwrap());
    let mut ledger =
        std::io::BufWriter::new(std::fs::File::create(dir.join("ledger.csv")).unwrap());
    writeln!(
        rows,
        "line,payment_id,provider_reference,charge_reference,kind,gross,fee,net,currency,status,booked_on,value_on"
    )
    .unwrap();
    writeln!(
        ledger,
        "payment_id,merchant_id,provider_reference,amount,currency,status,day"
    )
    .unwrap();
    let merchant = MerchantId::new(1_764_000_000_000, 7);
    let d = day();
    let due = d.plus_days(DAYS as i32);
    let mut line = 0u64;
    let mut row = |rows: &mut dyn Write,
                   p: &str,
                   reference: &str,
                   gross: i64,
                   fee: i64,
                   currency: &str,
                   status: &str,
                   value: Date| {
        line += 1;
        writeln!(
            rows,
            "{line},{p},txn_{line},{reference},charge,{gross},{fee},{},{currency},{status},{d},{value}",
            gross - fee
        )
        .unwrap();
    };
    let fee_of = |gross: i64| (gross * FEE_BPS as i64 + 5_000) / 10_000;
    let mut entries = 0usize;
    let mut i = 0u128;
    while entries < n {
        i += 1;
        let p = PaymentId::new(1_764_547_200_000 + (i as i64 % 86_400_000), i * 7_919).to_string();
        let reference = format!("pr-{i:012}");
        let gross = 10_000 + (i as i64 % 997) * 1_000;
        let fee = fee_of(gross);
        let slot = (i % 1000) as u32;
        let ours = if (930..940).contains(&slot) {
            "waiting"
        } else {
            "succeeded"
        };
        writeln!(ledger, "{p},{merchant},{reference},{gross},IDR,{ours},{d}").unwrap();
        entries += 1;
        match slot {
            // matched, and healed (we show those waiting)
            0..=939 => row(
                &mut rows,
                &p,
                &reference,
                gross,
                fee,
                "IDR",
                "succeeded",
                d.plus_days(1),
            ),
            940..=949 => {} // missing at the provider
            950..=959 => {
                row(
                    &mut rows,
                    &p,
                    &reference,
                    gross,
                    fee,
                    "IDR",
                    "succeeded",
                    d.plus_days(1),
                );
                row(
                    &mut rows,
                    &p,
                    &reference,
                    gross,
                    fee,
                    "IDR",
                    "succeeded",
                    d.plus_days(1),
                );
            }
            960..=969 => row(
                &mut rows,
                &p,
                &reference,
                gross - 100,
                fee,
                "IDR",
                "succeeded",
                d.plus_days(1),
            ),
            970..=974 => row(
                &mut rows,
                &p,
                &reference,
                gross,
                fee,
                "PHP",
                "succeeded",
                d.plus_days(1),
            ),
            975..=979 => row(
                &mut rows,
                &p,
                &reference,
                gross,
                0,
                "IDR",
                "failed",
                d.plus_days(1),
            ),
            980..=984 => row(
                &mut rows,
                &p,
                &reference,
                gross,
                fee + 1,
                "IDR",
                "succeeded",
                d.plus_days(1),
            ),
            985..=989 => row(
                &mut rows,
                &p,
                &reference,
                gross,
                fee,
                "IDR",
                "succeeded",
                due.plus_days(3),
            ),
            _ => {
                // Ours and matched, and beside it a movement nobody made.
                row(
                    &mut rows,
                    &p,
                    &reference,
                    gross,
                    fee,
                    "IDR",
                    "succeeded",
                    d.plus_days(1),
                );
                let stranger = PaymentId::new(1_764_547_200_000, u128::MAX / 3 - i).to_string();
                row(
                    &mut rows,
                    &stranger,
                    "pr-nobody",
                    gross,
                    fee,
                    "IDR",
                    "succeeded",
                    d.plus_days(1),
                );
            }
        }
    }
}

fn text(r: &csv::StringRecord, i: usize) -> &str {
    &r[i]
}

fn int(r: &csv::StringRecord, i: usize) -> i64 {
    r[i].parse().expect("an integer")
}

fn reader(path: PathBuf) -> csv::Reader<std::fs::File> {
    csv::ReaderBuilder::new()
        .buffer_capacity(1 << 20)
        .from_path(path)
        .unwrap()
}

/// A day's rows carry a handful of distinct dates and currencies: each read once.
#[derive(Default)]
struct Seen {
    dates: Vec<(String, Date)>,
    currencies: Vec<(String, Currency)>,
}

impl Seen {
    fn date(&mut self, s: &str) -> Date {
        if let Some((_, d)) = self.dates.iter().find(|(k, _)| k == s) {
            return *d;
        }
        let d = Date::parse(s).expect("a day");
        self.dates.push((s.to_string(), d));
        d
    }

    fn currency(&mut self, s: &str) -> Currency {
        if let Some((_, c)) = self.currencies.iter().find(|(k, _)| k == s) {
            return *c;
        }
        let c: Currency = s.parse().expect("a currency");
        self.currencies.push((s.to_string(), c));
        c
    }
}

/// The engine's side, in this process: read both files (each field borrowed from the
/// record, nothing allocated per line), match, class.
fn engine(dir: &Path, n: usize) -> (f64, BTreeMap<String, u64>) {
    let t = Instant::now();
    let mut seen = Seen::default();
    let mut ledger = Ledger::with_capacity(n);
    let mut rdr = reader(dir.join("ledger.csv"));
    let mut record = csv::StringRecord::new();
    while rdr.read_record(&mut record).unwrap() {
        let rec = &record;
        let status = match text(rec, 5) {
            "succeeded" => Ours::Succeeded,
            "waiting" => Ours::Waiting,
            s => panic!("status {s:?}"),
        };
        let pushed = ledger.push_parts(&EntryParts {
            payment: PaymentId::bits_of(text(rec, 0)).expect("one of ours"),
            refund: 0,
            merchant: text(rec, 1),
            provider_reference: Some(text(rec, 2)),
            amount: int(rec, 3),
            currency: seen.currency(text(rec, 4)),
            status,
            wallet: None,
            day: seen.date(text(rec, 6)),
            healed: false,
        });
        assert!(pushed);
    }
    let mut rows = RowSet::with_capacity(n + n / 50);
    let mut rdr = reader(dir.join("rows.csv"));
    while rdr.read_record(&mut record).unwrap() {
        let rec = &record;
        let currency = seen.currency(text(rec, 8));
        rows.push_parts(&RowParts {
            line: int(rec, 0) as u64,
            payment: PaymentId::bits_of(text(rec, 1)).unwrap_or(0),
            refund: 0,
            provider_reference: text(rec, 2),
            charge_reference: Some(text(rec, 3)),
            kind: Kind::Charge,
            gross: int(rec, 5),
            fee: int(rec, 6),
            net: int(rec, 7),
            currency,
            status: match text(rec, 9) {
                "succeeded" => RowStatus::Succeeded,
                "failed" => RowStatus::Failed,
                s => panic!("status {s:?}"),
            },
            booked_on: seen.date(text(rec, 10)),
            value_on: Some(seen.date(text(rec, 11))),
            settled: true,
        });
    }
    let c = contract();
    let mut m = Matcher::new(
        ledger,
        rows,
        Context {
            merchant_terms: None,
            day: day(),
            as_of: day(),
            contract: Some(&c),
            grace_days: 0,
        },
    );
    for (at, _) in m.unresolved() {
        m.resolve(at, Resolution::NotOurs);
    }
    let summary = m.finish(|_| {});
    let seconds = t.elapsed().as_secs_f64();
    let counts = summary
        .counts
        .iter()
        .map(|(k, v)| (Class::as_str(*k).to_string(), *v))
        .collect();
    (seconds, counts)
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// In the child: the engine, and one JSON line for the parent.
pub fn child() -> bool {
    let Ok(dir) = std::env::var(CHILD) else {
        return false;
    };
    let n = std::env::var("BENCH_ROWS_CHILD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (seconds, counts) = engine(Path::new(&dir), n);
    println!(
        "{}",
        serde_json::json!({"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "counts": counts})
    );
    true
}

fn result_of(out: std::process::Output, who: &str) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{who}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{who}: {e}: {text}"))
}

pub fn run() {
    let benching = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 1_000_000 } else { 5_000 });
    let dir: PathBuf = std::env::temp_dir().join(format!("walletpay-reconcile-bench-{n}"));
    let t = Instant::now();
    generate(&dir, n);
    let generated = t.elapsed().as_secs_f64();
    let ours = result_of(
        std::process::Command::new(std::env::current_exe().unwrap())
            .env(CHILD, &dir)
            .env("BENCH_ROWS_CHILD", n.to_string())
            .output()
            .unwrap(),
        "engine",
    );
    let rows = std::fs::read_to_string(dir.join("rows.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    println!(
        "reconcile {rows} rows against {n} ledger entries (generated in {generated:.1} s): engine {:.2} s, peak RSS {:.0} MB",
        ours["seconds"].as_f64().unwrap(),
        ours["peak_rss_mb"].as_f64().unwrap()
    );
    // Every class is there.
    for class in Class::ALL {
        assert!(
            ours["counts"][class.as_str()].as_u64().unwrap_or(0) > 0,
            "no {} in the generated day: {}",
            class.as_str(),
            ours["counts"]
        );
    }
    match std::env::var("WALLETPAY_PYTHON") {
        Ok(python) => {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/reconcile_pandas.py");
            let theirs = result_of(
                std::process::Command::new(python)
                    .arg(script)
                    .arg(dir.join("rows.csv"))
                    .arg(dir.join("ledger.csv"))
                    .arg(FEE_BPS.to_string())
                    .arg(DAYS.to_string())
                    .output()
                    .unwrap(),
                "pandas",
            );
            assert_eq!(
                ours["counts"], theirs["counts"],
                "the engine and the pandas script class the day the same"
            );
            let (a, b) = (
                ours["seconds"].as_f64().unwrap(),
                theirs["seconds"].as_f64().unwrap(),
            );
            println!(
                "  pandas merge: {b:.2} s, peak RSS {:.0} MB; the engine is {:.1}x faster",
                theirs["peak_rss_mb"].as_f64().unwrap(),
                b / a
            );
            println!("  classes: {}", ours["counts"]);
        }
        Err(_) => println!("  (pandas comparison skipped: WALLETPAY_PYTHON is not set)"),
    }
    if std::env::var_os("BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
