//! The values a request carries, each as a type that cannot hold an invalid one: parse a
//! raw value once at the edge, and everything after it can rely on the type. Each
//! `parse` says why a value is refused (in words for the API's message, naming no field).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn refused(why: impl Into<String>) -> Refused {
    Refused(why.into())
}

/// Text a person typed: not empty, no control characters, at most `max` characters.
pub fn plain_text(s: &str, max: usize) -> Result<(), Refused> {
    if s.is_empty() {
        return Err(refused("must not be empty"));
    }
    if s.chars().count() > max {
        return Err(refused(format!("is longer than {max} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(refused("contains control characters"));
    }
    Ok(())
}

macro_rules! text_newtype {
    ($(#[$m:meta])* $name:ident, $max:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(s: impl Into<String>) -> Result<Self, Refused> {
                let s = s.into();
                plain_text(&s, $max)?;
                Ok($name(s))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = Refused;
            fn try_from(s: String) -> Result<Self, Refused> {
                $name::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_newtype!(
    /// The shop's own reference for an order or a refund: 1 to 128 characters.
    MerchantReference,
    128
);

text_newtype!(
    /// What the customer is paying for, as the shop describes it: at most 255 characters.
    Description,
    255
);

/// A phone number in E.164 form: `+`, then 8 to 15 digits (`+6281234567890`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(s: &str) -> Result<Self, Refused> {
        let digits = s
            .strip_prefix('+')
            .ok_or_else(|| refused("must be in E.164 form, like +6281234567890"))?;
        if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refused("must be in E.164 form, like +6281234567890"));
        }
        if digits.starts_with('0') {
            return Err(refused("must begin with a country code, like +62"));
        }
        Ok(Phone(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// All but the last three digits hidden, for logs.
    pub fn masked(&self) -> String {
        let keep = self.0.len().saturating_sub(3);
        self.0
            .char_indices()
            .map(|(i, c)| if i > 0 && i < keep { '*' } else { c })
            .collect()
    }
}

/// Never the whole number in a log line or an error.
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

/// An e-mail address: a local part and a domain of at least two labels, no spaces, at most
/// 254 characters (what a wallet or a receipt can be sent to, not every RFC 5322 form).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, Refused> {
        let bad = || refused("is not an e-mail address");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(bad());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return Err(bad());
        }
        Ok(Email(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`, lower case.
    pub fn domain(&self) -> String {
        self.0
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default()
    }
}

/// Where a customer is sent back to: an absolute http(s) URL with a host, no credentials,
/// at most 2,048 characters. Kept as the client wrote it (what the payment echoes back),
/// beside its parsed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnUrl {
    text: String,
    url: url::Url,
}

impl ReturnUrl {
    pub fn parse(s: &str) -> Result<Self, Refused> {
        let bad = || refused("must be an http(s) URL");
        if s.len() > 2048 || s.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        // `https://@host` parses with empty credentials: refused like any credentials.
        let authority = s
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""));
        if authority.is_some_and(|a| a.contains('@')) {
            return Err(refused("must not carry credentials"));
        }
        // The parser forgives `https:///path` (as `https://path/`): the host must be written.
        if authority.is_none_or(str::is_empty) {
            return Err(bad());
        }
        let u = url::Url::parse(s).map_err(|_| bad())?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(bad());
        }
        if u.host_str().is_none_or(str::is_empty) {
            return Err(bad());
        }
        Ok(ReturnUrl {
            text: s.to_string(),
            url: u,
        })
    }

    /// The URL as the client sent it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn url(&self) -> &url::Url {
        &self.url
    }
}

/// An `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(s: &str) -> Result<Self, Refused> {
        if s.is_empty() || s.len() > 255 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(refused("must be 1 to 255 visible ASCII characters"));
        }
        Ok(IdempotencyKey(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_e164_with_a_country_code() {
        for ok in ["+6281234567890", "+66812345678", "+5511987654321"] {
            assert_eq!(Phone::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "0812-345",
            "6281234567890",
            "+62",
            "+62 812 345",
            "+0812345678",
            "+628123456789012345",
            "+62abc45678",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
        let p = Phone::parse("+6281234567890").unwrap();
        assert_eq!(p.masked(), "+**********890");
        assert!(!format!("{p:?}").contains("6281234567"), "{p:?}");
    }

    #[test]
    fn emails_have_a_local_part_and_a_dotted_domain() {
        for ok in [
            "sari@example.com",
            "a.b+tag@shop.co.id",
            "budi@xn--80ak6aa92e.com",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "sari",
            "@example.com",
            "sari@",
            "sari@example",
            "sari@@example.com",
            "sari @example.com",
            "sari@-ex.com",
            "sari@ex..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Email::parse("Sari@Example.COM").unwrap().domain(),
            "example.com"
        );
    }

    #[test]
    fn return_urls_are_http_with_a_host_and_no_credentials() {
        for ok in [
            "https://shop.example/thanks",
            "http://localhost:8080/back?o=1",
        ] {
            assert!(ReturnUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://@",
            "https://@shop.example/",
            "https://user:pw@shop.example/",
            "javascript:alert(1)",
            "https://",
            "https:///path",
            "ftp://shop.example/",
            "shop.example/thanks",
            "https://shop .example/",
        ] {
            assert!(ReturnUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn references_are_plain_text_within_their_length() {
        assert!(MerchantReference::parse("order-1001").is_ok());
        assert!(MerchantReference::parse("").is_err());
        assert!(MerchantReference::parse("r".repeat(129)).is_err());
        assert!(MerchantReference::parse("a\u{0}b").is_err());
        assert!(
            MerchantReference::parse("ü".repeat(128)).is_ok(),
            "characters, not bytes"
        );
        assert!(Description::parse("d".repeat(256)).is_err());
    }

    #[test]
    fn idempotency_keys_are_visible_ascii() {
        assert!(IdempotencyKey::parse("order-1001").is_ok());
        for bad in ["", "has space", "é", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
