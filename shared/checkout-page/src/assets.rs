//! The page's static files, compiled into the binary and served under
//! `/checkout/assets/`: nothing is fetched from another origin.

use crate::logos;

pub struct Asset {
    pub content_type: &'static str,
    pub body: std::borrow::Cow<'static, str>,
    /// Named by version (htmx): cached for a year; the rest for an hour.
    pub immutable: bool,
}

/// The file at `path` under `/checkout/assets/`.
pub fn get(path: &str) -> Option<Asset> {
    let fixed = |content_type, body: &'static str, immutable| {
        Some(Asset {
            content_type,
            body: body.into(),
            immutable,
        })
    };
    match path {
        "checkout.css" => fixed(
            "text/css; charset=utf-8",
            include_str!("../assets/checkout.css"),
            false,
        ),
        "checkout.js" => fixed(
            "text/javascript; charset=utf-8",
            include_str!("../assets/checkout.js"),
            false,
        ),
        "htmx-2.0.11.min.js" => fixed(
            "text/javascript; charset=utf-8",
            include_str!("../assets/htmx-2.0.11.min.js"),
            true,
        ),
        "icon.svg" => fixed("image/svg+xml", include_str!("../assets/icon.svg"), false),
        _ => {
            let key = path.strip_prefix("logos/")?.strip_suffix(".svg")?;
            Some(Asset {
                content_type: "image/svg+xml",
                body: logos::svg(key)?.into(),
                immutable: false,
            })
        }
    }
}

/// Where the mark of a catalog logo key is served.
pub fn logo_url(key: &str) -> String {
    format!("/checkout/assets/logos/{key}.svg")
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_file_is_served_and_nothing_else() {
        for p in [
            "checkout.css",
            "checkout.js",
            "htmx-2.0.11.min.js",
            "icon.svg",
            "logos/id/dana.svg",
        ] {
            assert!(super::get(p).is_some(), "{p}");
        }
        for p in [
            "../Cargo.toml",
            "logos/id/dana",
            "logos/../x.svg",
            "nope.js",
        ] {
            assert!(super::get(p).is_none(), "{p}");
        }
    }
}
