//! What every provider's `settlement.rs` shares: the day asked for, the errors a source can
//! end in, reading a CSV body as it arrives (never the whole file in memory), and reading
//! its columns by name, strictly.

use std::io::Read;
use walletpay_domain::Timestamp;
use walletpay_ports::reconcile::ReportNotice;
use walletpay_reconcile::{Date, SettlementRow};

/// The day whose settlement data is wanted, in the provider's report time zone.
#[derive(Debug, Clone, Copy)]
pub struct SettlementDay<'a> {
    pub day: Date,
    /// The report time zone, in minutes east of UTC.
    pub utc_offset_minutes: i32,
    /// The reports the provider announced for the day (Adyen's `REPORT_AVAILABLE`).
    pub notices: &'a [ReportNotice],
    /// Now: what has been paid out by now is settled.
    pub now: Timestamp,
}

impl SettlementDay<'_> {
    /// The first instant of the day.
    pub fn from(&self) -> Timestamp {
        self.day.start(self.utc_offset_minutes)
    }

    /// The first instant after the day.
    pub fn to(&self) -> Timestamp {
        self.day.end(self.utc_offset_minutes)
    }

    /// The day an instant falls on, in the report time zone.
    pub fn day_of(&self, at: Timestamp) -> Date {
        Date::of(at, self.utc_offset_minutes)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    /// The provider has not published the day's data yet: ask again later.
    #[error("not available yet: {0}")]
    NotYet(String),
    /// The provider could not be reached or failed (timeout, 5xx): ask again later.
    #[error("the provider could not be asked: {0}")]
    Unavailable(String),
    /// A row that does not read exactly: the run fails, naming it.
    #[error("row {line}: {reason}")]
    Malformed { line: u64, reason: String },
    /// Our credentials or configuration are missing or wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// This deployment has no settlement source for the provider.
    #[error("no settlement source: {0}")]
    NoSource(String),
}

impl From<crate::credentials::CredentialError> for SettlementError {
    fn from(e: crate::credentials::CredentialError) -> Self {
        SettlementError::Config(e.to_string())
    }
}

/// What a source read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceRead {
    /// The provider's source, in words (`GET /transactions`, a report's file name, ...).
    pub source: String,
    pub rows: u64,
}

/// Where a source hands its rows, as it reads them.
pub type RowSink<'a> = &'a mut (dyn FnMut(SettlementRow) + Send);

/// The answer to a settlement call: a 5xx or a dropped connection is the provider being
/// unavailable (ask again), anything else not 2xx is the caller's to word.
pub(crate) async fn send(
    provider: &str,
    req: reqwest::RequestBuilder,
) -> Result<reqwest::Response, SettlementError> {
    let resp = req
        .send()
        .await
        .map_err(|e| SettlementError::Unavailable(format!("{provider}: {e}")))?;
    if resp.status().is_server_error() {
        return Err(SettlementError::Unavailable(format!(
            "{provider} answered {}",
            resp.status()
        )));
    }
    Ok(resp)
}

/// A JSON answer, read whole (a page of a listing is bounded).
pub(crate) async fn json<T: serde::de::DeserializeOwned>(
    provider: &str,
    resp: reqwest::Response,
) -> Result<T, SettlementError> {
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| SettlementError::Unavailable(format!("{provider} answer cut short: {e}")))?;
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(SettlementError::Config(format!(
            "{provider} refused our credentials ({status})"
        )));
    }
    if !status.is_success() {
        return Err(SettlementError::Unavailable(format!(
            "{provider} answered {status}: {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(200)
                .collect::<String>()
        )));
    }
    serde_json::from_slice(&body).map_err(|e| SettlementError::Malformed {
        line: 0,
        reason: format!("unreadable {provider} answer: {e}"),
    })
}

/// Reads a CSV body as it arrives: `parse` runs on a blocking thread over the body's
/// bytes, and each row it reads reaches `sink` at once (at most a thousand wait between
/// them). The body is never held whole.
pub(crate) async fn stream_csv<P>(
    resp: reqwest::Response,
    parse: P,
    sink: RowSink<'_>,
) -> Result<u64, SettlementError>
where
    P: FnOnce(&mut dyn Read, &mut dyn FnMut(SettlementRow) -> bool) -> Result<u64, SettlementError>
        + Send
        + 'static,
{
    use futures::TryStreamExt;
    let body = resp
        .bytes_stream()
        .map_err(|e| std::io::Error::other(e.to_string()));
    let reader = tokio_util::io::StreamReader::new(body);
    let mut bridge = tokio_util::io::SyncIoBridge::new(reader);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<SettlementRow>(1024);
    let worker = tokio::task::spawn_blocking(move || {
        parse(&mut bridge, &mut |row| tx.blocking_send(row).is_ok())
    });
    while let Some(row) = rx.recv().await {
        sink(row);
    }
    match worker.await {
        Ok(result) => result,
        Err(e) => Err(SettlementError::Unavailable(format!(
            "reading the report: {e}"
        ))),
    }
}

/// A CSV file's columns, found by name in its header (providers add and reorder columns).
pub(crate) struct Columns {
    index: Vec<(String, usize)>,
}

impl Columns {
    /// The header's columns; every one of `required` must be there.
    pub fn new(header: &csv::StringRecord, required: &[&str]) -> Result<Columns, SettlementError> {
        let index: Vec<(String, usize)> = header
            .iter()
            .enumerate()
            .map(|(i, name)| (name.trim_start_matches('\u{feff}').trim().to_string(), i))
            .collect();
        for r in required {
            if !index.iter().any(|(n, _)| n == r) {
                return Err(SettlementError::Malformed {
                    line: 0,
                    reason: format!("the header has no `{r}` column"),
                });
            }
        }
        Ok(Columns { index })
    }

    fn at(&self, name: &str) -> Option<usize> {
        self.index.iter().find(|(n, _)| n == name).map(|(_, i)| *i)
    }

    /// A required column's value.
    pub fn get<'r>(&self, record: &'r csv::StringRecord, name: &str) -> &'r str {
        self.at(name).and_then(|i| record.get(i)).unwrap_or("")
    }

    /// An optional column's value; none when the column is absent or the cell empty.
    pub fn opt<'r>(&self, record: &'r csv::StringRecord, name: &str) -> Option<&'r str> {
        self.at(name)
            .and_then(|i| record.get(i))
            .filter(|v| !v.is_empty())
    }
}

/// Every row of a whole CSV text (the parsers' tests).
#[cfg(test)]
pub(crate) fn read_all(
    text: &str,
    delimiter: u8,
    required: &[&str],
    row: impl FnMut(&Columns, &csv::StringRecord, u64) -> Result<Option<SettlementRow>, String>,
) -> Result<Vec<SettlementRow>, SettlementError> {
    let mut out = Vec::new();
    read_csv(
        &mut text.as_bytes(),
        delimiter,
        required,
        &mut |r| {
            out.push(r);
            true
        },
        row,
    )?;
    Ok(out)
}

/// Reads a CSV file row by row: `row` turns each record into settlement rows (none for one
/// that is not a movement), the first error ends the read naming the line.
pub(crate) fn read_csv(
    input: &mut dyn Read,
    delimiter: u8,
    required: &[&str],
    out: &mut dyn FnMut(SettlementRow) -> bool,
    mut row: impl FnMut(&Columns, &csv::StringRecord, u64) -> Result<Option<SettlementRow>, String>,
) -> Result<u64, SettlementError> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let header = rdr
        .headers()
        .map_err(|e| SettlementError::Malformed {
            line: 0,
            reason: format!("unreadable header: {e}"),
        })?
        .clone();
    let cols = Columns::new(&header, required)?;
    let mut record = csv::StringRecord::new();
    let mut line = 0u64;
    let mut rows = 0u64;
    loop {
        match rdr.read_record(&mut record) {
            Ok(false) => return Ok(rows),
            Ok(true) => {}
            Err(e) => {
                return Err(SettlementError::Malformed {
                    line: line + 1,
                    reason: e.to_string(),
                })
            }
        }
        line += 1;
        match row(&cols, &record, line) {
            Ok(Some(r)) => {
                rows += 1;
                if !out(r) {
                    return Err(SettlementError::Unavailable("the reader stopped".into()));
                }
            }
            Ok(None) => {}
            Err(reason) => return Err(SettlementError::Malformed { line, reason }),
        }
    }
}

/// A CSV time `YYYY-MM-DD HH:MM:SS` at `offset_minutes` east of UTC (providers' reports
/// write local times without an offset).
pub(crate) fn local_time(s: &str, offset_minutes: i32) -> Option<Timestamp> {
    let (date, time) = s.split_once(' ')?;
    let d = Date::parse(date)?;
    let parts: Vec<&str> = time.split(':').collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let (h, m, sec): (i64, i64, i64) = (
        parts[0].parse().ok()?,
        parts[1].parse().ok()?,
        parts[2].parse().ok()?,
    );
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    Some(
        d.start(offset_minutes)
            .plus_seconds(h * 3600 + m * 60 + sec),
    )
}

/// A day's statement file, asked for at `{url}?date=YYYY-MM-DD`: 404 is a statement not
/// there yet, 401 or 403 our credentials refused.
pub(crate) async fn statement(
    provider: &str,
    req: reqwest::RequestBuilder,
    day: Date,
) -> Result<reqwest::Response, SettlementError> {
    let resp = send(provider, req.query(&[("date", day.to_string())])).await?;
    match resp.status().as_u16() {
        200 => Ok(resp),
        404 => Err(SettlementError::NotYet(format!(
            "{provider} has no statement for {day} yet"
        ))),
        401 | 403 => Err(SettlementError::Config(format!(
            "{provider} refused our credentials for its statement ({})",
            resp.status()
        ))),
        _ => Err(SettlementError::Unavailable(format!(
            "{provider} answered {} for its statement",
            resp.status()
        ))),
    }
}

/// A day's statement file, read as it arrives: asked for as [`statement`] does, its CSV
/// (`delimiter`, the `columns` it must have) turned into rows by `row`, each handed to
/// `sink`. The source reads "`what` of <day>".
#[allow(clippy::too_many_arguments)]
pub(crate) async fn read_statement<F>(
    provider: &str,
    what: &str,
    req: reqwest::RequestBuilder,
    day: &SettlementDay<'_>,
    delimiter: u8,
    columns: &'static [&'static str],
    sink: RowSink<'_>,
    row: F,
) -> Result<SourceRead, SettlementError>
where
    F: FnMut(&Columns, &csv::StringRecord, u64) -> Result<Option<SettlementRow>, String>
        + Send
        + 'static,
{
    let resp = statement(provider, req, day.day).await?;
    let rows = stream_csv(
        resp,
        move |input, out| read_csv(input, delimiter, columns, out, row),
        sink,
    )
    .await?;
    Ok(SourceRead {
        source: format!("{what} of {}", day.day),
        rows,
    })
}

/// The configured statement URL, or no source.
pub(crate) fn statement_url(
    provider: &str,
    url: &Option<String>,
) -> Result<String, SettlementError> {
    url.clone().ok_or_else(|| {
        SettlementError::NoSource(format!("no statement URL configured for {provider}"))
    })
}

/// The kept corpus of a provider's settlement source, `tests/fuzz/settlement/<provider>/`.
#[cfg(test)]
fn settlement_corpus(provider: &str) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fuzz/settlement")
        .join(provider);
    let inputs: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    assert!(!inputs.is_empty(), "corpus {} is empty", dir.display());
    inputs
}

/// splitmix64 seeded by the provider: the same inputs every run.
#[cfg(test)]
fn seeded(provider: &str) -> impl FnMut() -> u64 {
    let mut state = 0x5eed_u64 ^ provider.len() as u64;
    move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Every input read twice: no panic (the test would fail), and the same answer both times.
#[cfg(test)]
fn read_each_twice(
    provider: &str,
    inputs: &[String],
    read: impl Fn(&str) -> Result<Vec<SettlementRow>, SettlementError>,
) -> usize {
    let mut read_ok = 0;
    for text in inputs {
        let first = format!("{:?}", read(text));
        let again = format!("{:?}", read(text));
        assert_eq!(first, again, "{provider}: {text:?}");
        read_ok += usize::from(first.starts_with("Ok("));
    }
    read_ok
}

/// Fuzzing of the statement readers (each provider's `settlement.rs` tests call it): the
/// kept corpus `tests/fuzz/settlement/<provider>/` replayed whole, then seeded mutations of
/// a genuine statement (a cell replaced by a strange value, dropped or doubled, a line
/// dropped or doubled, the text cut short, a stray quote or line break) and arbitrary text.
/// A reader may refuse, naming the line; it may not panic, and it reads the same text the
/// same way twice.
#[cfg(test)]
pub(crate) fn fuzz_statements(
    provider: &str,
    genuine: &str,
    delimiter: u8,
    read: impl Fn(&str) -> Result<Vec<SettlementRow>, SettlementError>,
) {
    let mut inputs = settlement_corpus(provider);
    assert!(read(genuine).is_ok(), "the genuine statement reads");
    let mut next = seeded(provider);
    const STRANGE: [&str; 16] = [
        "",
        "-1",
        "-0",
        "1e400",
        "99999999999999999999999",
        "NaN",
        "0.001",
        "1.2.3",
        "１２３",
        "\"",
        "2026-02-30 10:00:00",
        "2026-12-01T25:00:00Z",
        "\u{0}",
        "Rp300.000",
        "💸",
        "-9223372036854775808",
    ];
    let d = delimiter as char;
    for _ in 0..600 {
        let mut lines: Vec<String> = genuine.lines().map(str::to_string).collect();
        let i = (next() % lines.len() as u64) as usize;
        let text = match next() % 7 {
            0 | 1 => {
                let mut cells: Vec<String> = lines[i].split(d).map(str::to_string).collect();
                let j = (next() % cells.len() as u64) as usize;
                cells[j] = STRANGE[(next() % STRANGE.len() as u64) as usize].to_string();
                lines[i] = cells.join(&d.to_string());
                lines.join("\n")
            }
            2 => {
                let mut cells: Vec<&str> = lines[i].split(d).collect();
                let j = (next() % cells.len() as u64) as usize;
                if next().is_multiple_of(2) {
                    cells.remove(j);
                } else {
                    cells.insert(j, cells[j]);
                }
                lines[i] = cells.join(&d.to_string());
                lines.join("\n")
            }
            3 => {
                let line = lines[i].clone();
                if next().is_multiple_of(2) {
                    lines.remove(i);
                } else {
                    lines.insert(i, line);
                }
                lines.join("\n")
            }
            4 => {
                let t = lines.join("\n");
                let mut cut = (next() % (t.len() as u64 + 1)) as usize;
                while !t.is_char_boundary(cut) {
                    cut -= 1;
                }
                t[..cut].to_string()
            }
            5 => {
                let mut t = lines.join("\n");
                let mut at = (next() % (t.len() as u64 + 1)) as usize;
                while !t.is_char_boundary(at) {
                    at -= 1;
                }
                t.insert(at, if next().is_multiple_of(2) { '"' } else { '\r' });
                t
            }
            _ => {
                let n = next() % 300;
                let bytes: Vec<u8> = (0..n).map(|_| next() as u8).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
        };
        inputs.push(text);
    }
    read_each_twice(provider, &inputs, read);
}

/// Values a JSON field is replaced by: other types, extremes, strange text.
#[cfg(test)]
fn strange_json(n: u64) -> serde_json::Value {
    use serde_json::json;
    let all = [
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(1e300),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(0.001),
        json!(""),
        json!("-0"),
        json!("1e400"),
        json!("NaN"),
        json!("2026-02-30T10:00:00Z"),
        json!("\u{0}💸"),
        json!([]),
        json!([1, "a"]),
        json!({}),
        json!({"a": {"b": []}}),
    ];
    all[(n % all.len() as u64) as usize].clone()
}

/// Every path in a JSON value (object keys and array indexes), the root included.
#[cfg(test)]
fn json_paths(v: &serde_json::Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(at.clone());
    let children: Vec<(String, &serde_json::Value)> = match v {
        serde_json::Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => vec![],
    };
    for (k, child) in children {
        at.push(k);
        json_paths(child, at, out);
        at.pop();
    }
}

#[cfg(test)]
fn json_at<'a>(v: &'a mut serde_json::Value, path: &[String]) -> &'a mut serde_json::Value {
    path.iter().fold(v, |v, k| match v {
        serde_json::Value::Object(m) => m.get_mut(k).unwrap(),
        serde_json::Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
        _ => unreachable!("a path only goes through objects and arrays"),
    })
}

/// Fuzzing of a JSON settlement source (a listing page of a provider's API): the kept corpus
/// replayed whole, then seeded structure-aware mutations of a genuine page (a field, at any
/// depth, replaced by another type or an extreme; a key dropped; an element of a list
/// doubled or dropped; the text cut short) and arbitrary bytes. A page may be refused, with
/// a typed error; it may not panic, and it reads the same way twice. Some mutations must
/// still read, or the mutations never reached the reader's fields.
#[cfg(test)]
pub(crate) fn fuzz_json_pages(
    provider: &str,
    genuine: &str,
    read: impl Fn(&str) -> Result<Vec<SettlementRow>, SettlementError>,
) {
    let mut inputs = settlement_corpus(provider);
    assert!(read(genuine).is_ok(), "the genuine page reads");
    let base: serde_json::Value = serde_json::from_str(genuine).unwrap();
    let mut paths = Vec::new();
    json_paths(&base, &mut Vec::new(), &mut paths);
    let mut next = seeded(provider);
    let mutations = 600;
    for _ in 0..mutations {
        let mut v = base.clone();
        let path = &paths[(next() % paths.len() as u64) as usize];
        let text = match next() % 5 {
            0 | 1 => {
                *json_at(&mut v, path) = strange_json(next());
                v.to_string()
            }
            2 if !path.is_empty() => {
                let (last, parent) = path.split_last().unwrap();
                match json_at(&mut v, parent) {
                    serde_json::Value::Object(m) => {
                        m.remove(last);
                    }
                    serde_json::Value::Array(a) => {
                        let i: usize = last.parse().unwrap();
                        if next().is_multiple_of(2) {
                            a.remove(i);
                        } else {
                            let copy = a[i].clone();
                            a.insert(i, copy);
                        }
                    }
                    _ => unreachable!(),
                }
                v.to_string()
            }
            3 => {
                let t = v.to_string();
                let mut cut = (next() % (t.len() as u64 + 1)) as usize;
                while !t.is_char_boundary(cut) {
                    cut -= 1;
                }
                t[..cut].to_string()
            }
            _ => {
                let n = next() % 300;
                let bytes: Vec<u8> = (0..n).map(|_| next() as u8).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
        };
        inputs.push(text);
    }
    let read_ok = read_each_twice(provider, &inputs, read);
    assert!(
        read_ok > 1 && read_ok < inputs.len(),
        "{provider}: {read_ok} of {} inputs read",
        inputs.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_read_exactly() {
        let t = local_time("2026-12-01 07:30:00", 7 * 60).unwrap();
        assert_eq!(t.to_string(), "2026-12-01T00:30:00.000Z");
        for bad in [
            "2026-12-01T07:30:00",
            "2026-12-01 7:30:00",
            "2026-12-01 24:00:00",
            "2026-12-01",
            "",
        ] {
            assert!(local_time(bad, 0).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_csv_is_read_by_column_name_and_a_bad_row_is_named() {
        let text = "\u{feff}B,A\n2,1\nx,3\n";
        let mut seen = Vec::new();
        let got = read_csv(
            &mut text.as_bytes(),
            b',',
            &["A", "B"],
            &mut |_| true,
            |c, r, line| {
                seen.push((line, c.get(r, "A").to_string()));
                if c.get(r, "B") == "x" {
                    return Err("B is not a number".into());
                }
                Ok(None)
            },
        );
        assert_eq!(seen, [(1, "1".to_string()), (2, "3".to_string())]);
        match got {
            Err(SettlementError::Malformed { line, reason }) => {
                assert_eq!(line, 2);
                assert!(reason.contains("B is not"));
            }
            other => panic!("{other:?}"),
        }
        let missing = read_csv(
            &mut "A\n1\n".as_bytes(),
            b',',
            &["A", "B"],
            &mut |_| true,
            |_, _, _| Ok(None),
        );
        assert!(matches!(
            missing,
            Err(SettlementError::Malformed { line: 0, .. })
        ));
        let ragged = read_csv(
            &mut "A,B\n1\n".as_bytes(),
            b',',
            &["A"],
            &mut |_| true,
            |_, _, _| Ok(None),
        );
        assert!(
            matches!(ragged, Err(SettlementError::Malformed { line: 1, .. })),
            "{ragged:?}"
        );
    }
}
