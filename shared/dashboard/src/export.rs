//! CSV exports of every table. A page's row type says its columns and cells ([`Row`]); the
//! page answers `?export=<table id>` with that table as CSV instead of HTML, built from the
//! same rows and the same query, so the download is what the page shows. One writer quotes
//! what needs quoting and keeps a spreadsheet from reading a cell as a formula; the
//! download carries the pages' security headers.

use crate::secure;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

/// A table's row as CSV: the table's column names, and this row's cells in their order.
pub(crate) trait Row {
    const COLUMNS: &'static [&'static str];
    fn cells(&self) -> Vec<String>;
}

/// A page's row type whose CSV columns are its fields, named as they are, each cell the
/// field's `Display`.
macro_rules! table_row {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        pub struct $name {
            $($(#[$fm])* $field: $ty),*
        }

        impl crate::export::Row for $name {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];
            fn cells(&self) -> Vec<String> {
                vec![$(self.$field.to_string()),*]
            }
        }
    };
}

/// The table a page's `?export=` asks for, if it asks.
pub(crate) fn wanted(q: &HashMap<String, String>) -> Option<&str> {
    q.get("export").map(String::as_str)
}

/// `rows` as the download `<name>.csv` (the name reduced to letters, digits, `-` and `_`).
pub(crate) fn csv<R: Row>(name: &str, rows: &[R]) -> Response {
    csv_response(&safe_name(name), R::COLUMNS, rows.iter().map(Row::cells))
}

/// `name` with everything but ASCII letters, digits, `-` and `_` dropped: safe inside a
/// quoted `filename`.
pub(crate) fn safe_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect()
}

/// The answer to an `?export=` naming no table of the page.
pub(crate) fn no_such_table(name: &str) -> Response {
    secure(
        (
            StatusCode::NOT_FOUND,
            format!("This page has no table `{name}` to export."),
        )
            .into_response(),
        "text/plain; charset=utf-8",
    )
}

/// Where a page's tables download from: the page itself, with its own query (period,
/// filters) and `export=<table>`.
pub struct Here {
    path: &'static str,
    query: Vec<(String, String)>,
}

impl Here {
    pub(crate) fn new(path: &'static str, q: &HashMap<String, String>) -> Here {
        let mut query: Vec<(String, String)> = q
            .iter()
            .filter(|(k, _)| k.as_str() != "export")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        query.sort();
        Here { path, query }
    }

    /// The link that downloads `table` (askama escapes it into the attribute).
    pub fn csv(&self, table: &str) -> String {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.query {
            url.append_pair(k, v);
        }
        url.append_pair("export", table);
        format!("{}?{}", self.path, url.finish())
    }
}

/// One CSV field, quoted when it needs to be, and never read as a formula by a spreadsheet.
pub(crate) fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// A table as a CSV download.
fn csv_response(
    name: &str,
    header_row: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> Response {
    let mut out = header_row.join(",");
    out.push('\n');
    for row in rows {
        out.push_str(
            &row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    let mut resp = secure(out.into_response(), "text/csv; charset=utf-8");
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.csv\"")) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(super::csv_field("plain"), "plain");
        assert_eq!(super::csv_field("a,b"), "\"a,b\"");
        assert_eq!(super::csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(super::csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(super::csv_field("-5"), "'-5");
        assert_eq!(super::csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(super::csv_field("a\rb"), "\"a\rb\"");
        assert_eq!(super::csv_field("\t=1"), "'\t=1");
        assert_eq!(
            super::safe_name("risk-rules-ID\";x=.exe"),
            "risk-rules-IDxexe"
        );
    }

    #[test]
    fn export_links_keep_the_page_query() {
        let q = [
            ("from", "2026-11-01T00:00:00Z"),
            ("export", "old"),
            ("wallet", "a&b"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let here = super::Here::new("/dashboard/wallets", &q);
        assert_eq!(
            here.csv("wallets"),
            "/dashboard/wallets?from=2026-11-01T00%3A00%3A00Z&wallet=a%26b&export=wallets"
        );
    }
}
