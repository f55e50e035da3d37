//! Amounts are integers in the currency's ISO 4217 minor unit, as Stripe keeps them:
//! IDR 150,000.00 is `Money { minor: 15_000_000, currency: IDR }`. No floats, anywhere.
//! Each provider adapter converts to its own convention with the helpers here.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The currencies of the markets walletpay serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Currency {
    IDR,
    THB,
    MYR,
    PHP,
    VND,
    BRL,
    SGD,
}

impl Currency {
    pub const ALL: [Currency; 7] = [
        Currency::IDR,
        Currency::THB,
        Currency::MYR,
        Currency::PHP,
        Currency::VND,
        Currency::BRL,
        Currency::SGD,
    ];

    /// Digits after the decimal point in ISO 4217 (VND has none).
    pub fn exponent(self) -> u32 {
        match self {
            Currency::VND => 0,
            _ => 2,
        }
    }

    /// The smallest step a wallet payment moves in, in minor units: no wallet of these
    /// markets takes fractions of a rupiah (100 for IDR); one minor unit elsewhere.
    pub fn payable_step(self) -> i64 {
        match self {
            Currency::IDR => 100,
            _ => 1,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Currency::IDR => "IDR",
            Currency::THB => "THB",
            Currency::MYR => "MYR",
            Currency::PHP => "PHP",
            Currency::VND => "VND",
            Currency::BRL => "BRL",
            Currency::SGD => "SGD",
        }
    }

    /// ISO 4217 numeric code (EMV QR tag 53 carries it).
    pub fn numeric(self) -> &'static str {
        match self {
            Currency::IDR => "360",
            Currency::THB => "764",
            Currency::MYR => "458",
            Currency::PHP => "608",
            Currency::VND => "704",
            Currency::BRL => "986",
            Currency::SGD => "702",
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == s)
            .ok_or_else(|| MoneyError::UnknownCurrency(s.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency {0}")]
    UnknownCurrency(String),
    #[error("amount must be greater than zero")]
    NotPositive,
    #[error("{currency} {minor} has a fractional part that the provider cannot take")]
    Fractional { minor: i64, currency: Currency },
    #[error("amount is too large")]
    Overflow,
    #[error("malformed decimal amount {0:?}")]
    Malformed(String),
}

/// An amount of money in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    /// A strictly positive amount.
    pub fn positive(minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        if minor <= 0 {
            return Err(MoneyError::NotPositive);
        }
        Ok(Money { minor, currency })
    }

    fn scale(self) -> i64 {
        10_i64.pow(self.currency.exponent())
    }

    /// The amount in whole major units when it has no fractional part
    /// (IDR 15000000 minor -> 150000 rupiah); an error otherwise.
    pub fn whole_major(self) -> Result<i64, MoneyError> {
        let scale = self.scale();
        if self.minor % scale != 0 {
            return Err(MoneyError::Fractional {
                minor: self.minor,
                currency: self.currency,
            });
        }
        Ok(self.minor / scale)
    }

    /// `"150000.00"`: the decimal string with exactly `places` digits after the point,
    /// as SNAP, Pix and EMV QR codes want it. `places` must be at least the exponent.
    pub fn decimal_string(self, places: u32) -> String {
        let exp = self.currency.exponent();
        debug_assert!(places >= exp);
        let scale = self.scale() as u64;
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        let major = abs / scale;
        let frac = abs % scale;
        if places == 0 {
            return format!("{sign}{major}");
        }
        let frac_scaled = frac * 10_u64.pow(places - exp);
        format!(
            "{sign}{major}.{frac_scaled:0width$}",
            width = places as usize
        )
    }

    /// Parses a provider's decimal string (`"150000.00"`, `"150000"`, `"12.5"`) into minor
    /// units; digits beyond the currency's exponent must be zero.
    pub fn parse_decimal(s: &str, currency: Currency) -> Result<Self, MoneyError> {
        let bad = || MoneyError::Malformed(s.to_string());
        let (int_part, frac_part) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if int_part.is_empty()
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
            || (s.contains('.') && frac_part.is_empty())
        {
            return Err(bad());
        }
        let exp = currency.exponent() as usize;
        let (kept, dropped) = frac_part.split_at(frac_part.len().min(exp));
        if dropped.bytes().any(|b| b != b'0') {
            return Err(bad());
        }
        let major: i64 = int_part.parse().map_err(|_| MoneyError::Overflow)?;
        let mut frac: i64 = if kept.is_empty() {
            0
        } else {
            kept.parse().map_err(|_| bad())?
        };
        frac *= 10_i64.pow((exp - kept.len()) as u32);
        let minor = major
            .checked_mul(10_i64.pow(exp as u32))
            .and_then(|m| m.checked_add(frac))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, currency })
    }

    /// From whole major units (a provider that speaks whole rupiah).
    pub fn from_whole_major(major: i64, currency: Currency) -> Result<Self, MoneyError> {
        let minor = major
            .checked_mul(10_i64.pow(currency.exponent()))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, currency })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            self.currency,
            self.decimal_string(self.currency.exponent())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idr_minor_units_follow_iso_4217() {
        let m = Money::positive(15_000_000, Currency::IDR).unwrap();
        assert_eq!(m.whole_major().unwrap(), 150_000);
        assert_eq!(m.decimal_string(2), "150000.00");
        assert_eq!(m.to_string(), "IDR 150000.00");
    }

    #[test]
    fn fractional_rupiah_is_refused_for_whole_unit_providers() {
        let m = Money::positive(15_000_050, Currency::IDR).unwrap();
        assert!(matches!(
            m.whole_major(),
            Err(MoneyError::Fractional { .. })
        ));
    }

    #[test]
    fn negative_amounts_carry_their_sign_once() {
        let m = |minor, currency| Money { minor, currency };
        assert_eq!(m(-150, Currency::IDR).to_string(), "IDR -1.50");
        assert_eq!(m(-50, Currency::IDR).to_string(), "IDR -0.50");
        assert_eq!(m(-5_000, Currency::VND).to_string(), "VND -5000");
        assert_eq!(
            m(i64::MIN, Currency::VND).decimal_string(0),
            i64::MIN.to_string()
        );
    }

    #[test]
    fn vnd_has_no_minor_unit() {
        let m = Money::positive(50_000, Currency::VND).unwrap();
        assert_eq!(m.whole_major().unwrap(), 50_000);
        assert_eq!(m.decimal_string(0), "50000");
        assert_eq!(m.decimal_string(2), "50000.00");
    }

    #[test]
    fn decimal_strings_round_trip() {
        for (s, minor) in [("12.34", 1234), ("0.05", 5), ("100", 10000), ("7.5", 750)] {
            let m = Money::parse_decimal(s, Currency::BRL).unwrap();
            assert_eq!(m.minor, minor, "{s}");
        }
        assert_eq!(
            Money::parse_decimal("789000.00", Currency::IDR)
                .unwrap()
                .minor,
            78_900_000
        );
        assert_eq!(
            Money::parse_decimal("49500", Currency::VND).unwrap().minor,
            49500
        );
        assert_eq!(
            Money {
                minor: 1234,
                currency: Currency::BRL
            }
            .decimal_string(2),
            "12.34"
        );
    }

    #[test]
    fn malformed_decimals_are_refused() {
        for s in ["", ".5", "1.", "1,00", "-1.00", "1.001", "1e3", " 1"] {
            assert!(Money::parse_decimal(s, Currency::BRL).is_err(), "{s:?}");
        }
        assert!(Money::parse_decimal("1.000", Currency::BRL).is_ok());
        assert!(Money::parse_decimal("99999999999999999999", Currency::BRL).is_err());
    }

    #[test]
    fn zero_and_negative_amounts_are_refused() {
        assert_eq!(
            Money::positive(0, Currency::THB),
            Err(MoneyError::NotPositive)
        );
        assert_eq!(
            Money::positive(-5, Currency::THB),
            Err(MoneyError::NotPositive)
        );
    }
}
