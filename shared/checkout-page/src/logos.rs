//! The wallets' marks on the page: simple SVG tiles drawn for walletpay (a coloured rounded
//! square with the wallet's initials), never the brands' own artwork. One per logo key of
//! the catalog (`<country>/<wallet>`); each colour keeps white initials above WCAG's 4.5:1.

/// (logo key, tile colour, initials)
const MARKS: &[(&str, &str, &str)] = &[
    ("id/dana", "#0b5cad", "DA"),
    ("id/ovo", "#4c2a86", "OV"),
    ("id/gopay", "#00707a", "GP"),
    ("id/shopeepay", "#b93815", "SP"),
    ("id/linkaja", "#b3131b", "LA"),
    ("id/qris", "#5a1a1a", "QR"),
    ("th/promptpay", "#0e3a6b", "PP"),
    ("th/truemoney", "#b3541e", "TM"),
    ("th/rabbit_line_pay", "#1c6b2c", "LP"),
    ("th/shopeepay", "#b93815", "SP"),
    ("my/touch_n_go", "#0b3d91", "TG"),
    ("my/grabpay", "#00704a", "GR"),
    ("my/boost", "#a3171f", "BO"),
    ("ph/gcash", "#0a55b8", "GC"),
    ("ph/maya", "#17603a", "MY"),
    ("ph/grabpay", "#00704a", "GR"),
    ("ph/qrph", "#1f3a8a", "QR"),
    ("vn/momo", "#8f1657", "MO"),
    ("vn/zalopay", "#0a58a8", "ZP"),
    ("br/pix", "#1f6b63", "PX"),
    ("sg/grabpay", "#00704a", "GR"),
];

/// The mark of `key`, or `None` for a key the catalog does not have.
pub fn svg(key: &str) -> Option<String> {
    let (_, colour, initials) = MARKS.iter().find(|(k, _, _)| *k == key)?;
    Some(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48"><rect width="48" height="48" rx="11" fill="{colour}"/><text x="24" y="30.5" text-anchor="middle" font-family="Arial,Helvetica,sans-serif" font-size="17" font-weight="700" fill="#fff">{initials}</text></svg>"##
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luminance(hex: &str) -> f64 {
        let c = |i: usize| {
            let v = u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as f64 / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * c(1) + 0.7152 * c(3) + 0.0722 * c(5)
    }

    #[test]
    fn every_catalog_wallet_has_a_legible_mark() {
        for spec in walletpay_domain::catalog::CATALOG {
            let svg = svg(spec.logo).unwrap_or_else(|| panic!("no mark for {}", spec.logo));
            assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        }
        for (key, colour, _) in MARKS {
            let ratio = 1.05 / (luminance(colour) + 0.05);
            assert!(ratio >= 4.5, "{key}: white on {colour} is {ratio:.2}:1");
        }
        assert!(svg("xx/none").is_none());
    }
}
