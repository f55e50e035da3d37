//! CSV exports: one writer for every table (quoted where needed, never read as a formula
//! by a spreadsheet), served as a download with the pages' security headers.

use crate::secure;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// One CSV field, quoted when it needs to be, and never read as a formula by a spreadsheet.
pub(crate) fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// A table as a CSV download.
pub(crate) fn csv_response(
    name: &'static str,
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
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
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
    }
}
