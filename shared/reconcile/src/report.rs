//! A run's report: one CSV line per outcome (an entry and its row, or either alone), so a
//! finance team can read every row and entry of the day and the class it ended in.

use crate::engine::Outcome;

/// The report's columns.
pub const COLUMNS: [&str; 20] = [
    "class",
    "discrepancy",
    "kind",
    "payment_id",
    "refund_id",
    "merchant_id",
    "provider_reference",
    "currency",
    "our_amount",
    "our_status",
    "provider_amount",
    "provider_status",
    "provider_fee",
    "contracted_fee",
    "provider_net",
    "booked_on",
    "value_on",
    "due_on",
    "line",
    "detail",
];

fn field(out: &mut String, s: &str) {
    // A spreadsheet reads a cell that starts with `=`, `+`, `@` (or `-` before a non-digit)
    // as a formula: text from a provider is kept text.
    let formula = s.starts_with(['=', '+', '@', '\t'])
        || (s.starts_with('-') && !s[1..].starts_with(|c: char| c.is_ascii_digit()));
    let owned;
    let s = if formula {
        owned = format!("'{s}");
        owned.as_str()
    } else {
        s
    };
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// The header line, with its newline.
pub fn header() -> String {
    let mut s = COLUMNS.join(",");
    s.push('\n');
    s
}

/// One outcome's line, with its newline, appended to `out`.
pub fn line(o: &Outcome<'_>, out: &mut String) {
    let e = o.entry.as_ref();
    let r = o.row.as_ref();
    let opt = |v: Option<String>| v.unwrap_or_default();
    let kind = match (r, e) {
        (Some(r), _) => r.kind().as_str(),
        (None, Some(e)) if e.refund_id().is_some() => "refund",
        _ => "charge",
    };
    let payment = e
        .map(|e| e.payment_id().to_string())
        .or_else(|| r.and_then(|r| r.payment_id().map(|p| p.to_string())));
    let refund = e
        .and_then(|e| e.refund_id().map(|x| x.to_string()))
        .or_else(|| r.and_then(|r| r.refund_id().map(|x| x.to_string())));
    let reference = r
        .map(|r| r.provider_reference().to_string())
        .or_else(|| e.and_then(|e| e.provider_reference().map(str::to_string)));
    let currency = r.map(|r| r.currency()).or(e.map(|e| e.currency()));
    let cells: [String; 20] = [
        o.class.as_str().into(),
        if o.is_discrepancy() { "yes" } else { "no" }.into(),
        kind.into(),
        opt(payment),
        opt(refund),
        opt(e.map(|e| e.merchant_id().to_string())),
        opt(reference),
        opt(currency.map(|c| c.code().to_string())),
        opt(e.map(|e| e.amount().to_string())),
        opt(e.map(|e| e.status().as_str().to_string())),
        opt(r.map(|r| r.gross().to_string())),
        opt(r.map(|r| r.status().as_str().to_string())),
        opt(o.fee.map(|f| f.to_string())),
        opt(o.contracted_fee.map(|f| f.to_string())),
        opt(r.map(|r| r.net().to_string())),
        opt(r.map(|r| r.booked_on().to_string())),
        opt(r.and_then(|r| r.value_on()).map(|d| d.to_string())),
        opt(o.due.map(|d| d.to_string())),
        opt(r.map(|r| r.line().to_string())),
        match (o.reconciled_on, o.carried) {
            (Some(day), _) => format!("{} ({day})", o.detail),
            _ => o.detail.to_string(),
        },
    ];
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, c);
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn provider_text_never_becomes_a_formula() {
        let cell = |s: &str| {
            let mut out = String::new();
            field(&mut out, s);
            out
        };
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("@SUM"), "'@SUM");
        assert_eq!(cell("-cmd"), "'-cmd");
        assert_eq!(
            cell("-5000000"),
            "-5000000",
            "a negative amount stays a number"
        );
        assert_eq!(cell("pay_01"), "pay_01");
        assert_eq!(cell("a,b"), "\"a,b\"");
    }
}
