//! List entries as the API takes them: JSON (`{"entries": [{"kind", "value"}]}`) or CSV
//! (`kind,value` lines, an optional header), each value normalized to the form the create
//! path looks it up by. A body with any bad row is refused whole, naming the rows.

use super::Range;
use crate::error::ApiError;
use walletpay_domain::fields::Phone;
use walletpay_domain::risk::ListKind;

/// At most this many entries in one request.
pub const MAX_ENTRIES: usize = 100_000;
/// At most this many CIDR ranges per list (every address is matched against all of them).
pub const MAX_RANGES: usize = 1_000;

/// A CIDR range `<address>/<length>`.
pub fn parse_range(s: &str) -> Option<Range> {
    let (addr, len) = s.split_once('/')?;
    let network: std::net::IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if network.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some(Range { network, len })
}

fn plain(v: &str, max: usize) -> Result<String, String> {
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(format!("is 1-{max} characters, no control characters"));
    }
    Ok(v.to_string())
}

/// The value in the form lookups use, or why it cannot be one.
pub fn normalize(kind: ListKind, value: &str) -> Result<String, String> {
    let v = value.trim();
    match kind {
        ListKind::Phone => Phone::parse(v)
            .map(|p| p.as_str().to_string())
            .map_err(|_| "is not a phone number in E.164 form (+6281234567890)".into()),
        ListKind::Email => {
            let e = v.to_ascii_lowercase();
            match e.rsplit_once('@') {
                Some((local, domain)) if !local.is_empty() && domain.contains('.') => {
                    plain(&e, 254)
                }
                _ => Err("is not an e-mail address".into()),
            }
        }
        ListKind::EmailDomain => {
            let d = v.trim_start_matches('@').to_ascii_lowercase();
            let ok = d.contains('.')
                && d.len() <= 253
                && d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            if ok {
                Ok(d)
            } else {
                Err("is not a domain (example.com)".into())
            }
        }
        ListKind::Device | ListKind::Customer => plain(v, 128),
        ListKind::Ip => v
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.to_canonical().to_string())
            .map_err(|_| "is not an IPv4 or IPv6 address".into()),
        ListKind::Cidr => {
            let r = parse_range(v).ok_or("is not a CIDR range (203.0.113.0/24)")?;
            // Kept as its network: 203.0.113.7/24 is 203.0.113.0/24.
            let network = match r.network {
                std::net::IpAddr::V4(a) => {
                    let mask = u32::MAX.checked_shl(32 - r.len as u32).unwrap_or(0);
                    std::net::IpAddr::V4((u32::from(a) & mask).into())
                }
                std::net::IpAddr::V6(a) => {
                    let mask = u128::MAX.checked_shl(128 - r.len as u32).unwrap_or(0);
                    std::net::IpAddr::V6((u128::from(a) & mask).into())
                }
            };
            Ok(format!("{network}/{}", r.len))
        }
    }
}

fn refused(errors: Vec<String>, total: usize) -> ApiError {
    let mut message = format!(
        "{total} entr{} cannot be listed; nothing was written: {}",
        if total == 1 { "y" } else { "ies" },
        errors.join("; ")
    );
    if total > errors.len() {
        message.push_str(&format!(" (and {} more)", total - errors.len()));
    }
    ApiError::new(422, "invalid_entries", message).field("entries")
}

/// Reads entries from a JSON or CSV body.
pub fn parse_entries(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Vec<(ListKind, String)>, ApiError> {
    let csv = content_type.is_some_and(|t| t.trim().starts_with("text/csv"));
    let rows: Vec<(usize, String, String)> = if csv {
        let text = std::str::from_utf8(body).map_err(|_| {
            ApiError::new(400, "invalid_csv", "The CSV is not UTF-8.").field("body")
        })?;
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r').trim();
            if line.is_empty() || (i == 0 && line.eq_ignore_ascii_case("kind,value")) {
                continue;
            }
            let unquote = |s: &str| s.trim().trim_matches('"').to_string();
            match line.split_once(',') {
                Some((k, v)) => rows.push((i + 1, unquote(k), unquote(v))),
                None => rows.push((i + 1, line.to_string(), String::new())),
            }
        }
        rows
    } else {
        #[derive(serde::Deserialize)]
        struct Body {
            entries: Vec<Row>,
        }
        #[derive(serde::Deserialize)]
        struct Row {
            kind: String,
            value: String,
        }
        let b: Body = serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                400,
                "invalid_json",
                format!("The body is `{{\"entries\": [{{\"kind\": ..., \"value\": ...}}]}}` or text/csv: {e}"),
            )
        })?;
        b.entries
            .into_iter()
            .enumerate()
            .map(|(i, r)| (i, r.kind, r.value))
            .collect()
    };
    if rows.is_empty() {
        return Err(ApiError::new(422, "no_entries", "There are no entries.").field("entries"));
    }
    if rows.len() > MAX_ENTRIES {
        return Err(ApiError::new(
            413,
            "too_many_entries",
            format!("At most {MAX_ENTRIES} entries per request."),
        )
        .field("entries"));
    }
    let what = |n: usize| {
        if csv {
            format!("line {n}")
        } else {
            format!("entries[{n}]")
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    let mut total = 0;
    for (n, kind, value) in rows {
        let result = match ListKind::parse(&kind) {
            None => Err(format!(
                "kind {kind:?} is not one of phone, email, email_domain, device, ip, cidr, customer"
            )),
            Some(k) => normalize(k, &value).map(|v| (k, v)),
        };
        match result {
            Ok(e) => out.push(e),
            Err(why) => {
                total += 1;
                if errors.len() < 20 {
                    errors.push(format!("{}: {why}", what(n)));
                }
            }
        }
    }
    if total > 0 {
        return Err(refused(errors, total));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_normalized_and_bad_rows_named() {
        assert_eq!(
            normalize(ListKind::Email, " Sari@Example.COM").unwrap(),
            "sari@example.com"
        );
        assert_eq!(
            normalize(ListKind::EmailDomain, "@Mailinator.com").unwrap(),
            "mailinator.com"
        );
        assert_eq!(
            normalize(ListKind::Cidr, "203.0.113.77/24").unwrap(),
            "203.0.113.0/24"
        );
        assert_eq!(
            normalize(ListKind::Ip, "2001:DB8::1").unwrap(),
            "2001:db8::1"
        );
        assert_eq!(
            normalize(ListKind::Ip, "::ffff:198.51.100.9").unwrap(),
            "198.51.100.9"
        );
        assert!(normalize(ListKind::Phone, "0812345").is_err());
        assert!(normalize(ListKind::Cidr, "10.0.0.0/33").is_err());
        let csv = b"kind,value\r\nphone,+6281234567890\nemail,a@b.co\n\nphone,123\nfruit,apple\n";
        let e = parse_entries(Some("text/csv"), csv).unwrap_err();
        assert_eq!((e.status, e.code), (422, "invalid_entries"));
        assert!(
            e.message.contains("line 5") && e.message.contains("line 6"),
            "{}",
            e.message
        );
        let ok = parse_entries(
            Some("text/csv; charset=utf-8"),
            b"phone,+6281234567890\n\"email\",\"A@B.co\"\nphone,+6281234567890\n",
        )
        .unwrap();
        assert_eq!(ok.len(), 2, "deduplicated");
        let json = br#"{"entries": [{"kind": "cidr", "value": "198.51.100.0/24"}]}"#;
        assert_eq!(parse_entries(None, json).unwrap()[0].1, "198.51.100.0/24");
        assert_eq!(
            parse_entries(None, b"{\"entries\": 3}").unwrap_err().code,
            "invalid_json"
        );
        let r = parse_range("198.51.100.0/24").unwrap();
        assert!(r.contains("198.51.100.200".parse().unwrap()));
        assert!(!r.contains("198.51.101.1".parse().unwrap()));
        let r6 = parse_range("2001:db8::/32").unwrap();
        assert!(r6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!r6.contains("198.51.100.1".parse().unwrap()));
    }
}
