//! How the pages show figures: JSON cells, periods, basis points as percentages, amounts
//! per currency (minor units in, the currency's own decimals out), ages.

use serde_json::{json, Value};

/// A JSON value as a table cell: a string as itself, nothing as nothing.
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// An analytics answer's `period` as the pages show it.
pub(crate) fn period_of(period: &Value) -> String {
    format!("{} to {}", text(&period["from"]), text(&period["to"]))
}

pub(crate) fn pct(bp: &Value) -> String {
    match bp.as_i64() {
        Some(v) => format!(
            "{}{}.{:02}%",
            if v < 0 { "-" } else { "" },
            v.unsigned_abs() / 100,
            v.unsigned_abs() % 100
        ),
        None => "—".into(),
    }
}

pub(crate) fn delta(bp: &Value) -> String {
    match bp.as_i64() {
        Some(v) => format!(
            "{}{} vs the period before",
            if v >= 0 { "+" } else { "" },
            pct(&json!(v))
        ),
        None => "no period before to compare".into(),
    }
}

/// Amounts per currency (minor units in the API) as `IDR 300000.00 · THB 1500.00`.
pub(crate) fn money(v: &Value) -> String {
    let parts: Vec<String> = v
        .as_object()
        .into_iter()
        .flatten()
        .map(
            |(cur, n)| match (cur.parse::<walletpay_domain::Currency>(), n.as_i64()) {
                (Ok(c), Some(minor)) => walletpay_domain::Money { minor, currency: c }.to_string(),
                _ => format!("{cur} {n}"),
            },
        )
        .collect();
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join(" · ")
    }
}

pub(crate) fn age(ms: i64) -> String {
    let m = ms / 60_000;
    match m {
        0 => "under a minute".into(),
        m if m < 120 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m / 60),
        m => format!("{} days", m / (24 * 60)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn percentages_keep_their_sign() {
        assert_eq!(super::pct(&json!(-50)), "-0.50%");
        assert_eq!(super::pct(&json!(-1_234)), "-12.34%");
        assert_eq!(super::pct(&json!(6_666)), "66.66%");
        assert_eq!(super::delta(&json!(-50)), "-0.50% vs the period before");
        assert_eq!(super::delta(&json!(50)), "+0.50% vs the period before");
    }
}
