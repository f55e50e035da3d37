//! A settlement row: one money movement as a provider's settlement data lists it, typed the
//! same for every provider (each provider's `settlement.rs` reads its own format into this).

use crate::date::Date;
use serde::{Deserialize, Serialize};
use walletpay_domain::{Currency, Money, PaymentId, RefundId, Timestamp};

/// What a movement is, for the merchant's balance at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A payment taken from a customer.
    Charge,
    /// Money given back to a customer (or, with status `reversed`, a refund undone).
    Refund,
    /// A fee the provider charged on its own line (fees withheld from a charge are that
    /// charge's `fee`).
    Fee,
    /// A correction, chargeback or other movement the provider made on its own.
    Adjustment,
    /// Money paid out to the merchant's bank account.
    Payout,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Charge => "charge",
            Kind::Refund => "refund",
            Kind::Fee => "fee",
            Kind::Adjustment => "adjustment",
            Kind::Payout => "payout",
        }
    }
}

/// Where the movement stands at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    Succeeded,
    Pending,
    Failed,
    /// Made, then undone (a refund returned, a charge reversed).
    Reversed,
}

impl RowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Succeeded => "succeeded",
            RowStatus::Pending => "pending",
            RowStatus::Failed => "failed",
            RowStatus::Reversed => "reversed",
        }
    }
}

/// One row of a provider's settlement data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementRow {
    /// Where it came from: the line of a file (1 is the first line after the header) or
    /// the position in an API's listing.
    pub line: u64,
    /// Our payment id, where the provider carries it.
    pub payment_id: Option<PaymentId>,
    /// Our refund id, where the provider carries it.
    pub refund_id: Option<RefundId>,
    /// The provider's id of this line (its transaction, balance transaction, journal or
    /// transfer id).
    pub provider_reference: String,
    /// The provider's id of the charge it is or belongs to, in the form our payment records
    /// it, where the source carries it: a charge listed under another one than ours is
    /// another charge made for the payment.
    pub charge_reference: Option<String>,
    pub kind: Kind,
    /// The movement's amount, never negative (its direction is its kind), in minor units.
    pub gross: i64,
    /// What the provider withheld for it, in minor units (negative: a fee given back).
    pub fee: i64,
    /// Its effect on the merchant's balance at the provider, signed, in minor units.
    pub net: i64,
    pub currency: Currency,
    pub status: RowStatus,
    /// The day the provider booked it, in its report time zone.
    pub booked_on: Date,
    pub booked_at: Option<Timestamp>,
    /// When the money is (or was) paid out or made available to the merchant.
    pub value_on: Option<Date>,
    /// Whether the provider says the money has been paid out (settled) already.
    pub settled: bool,
    /// The provider's name for the payment method or channel.
    pub method: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an amount in {1}")]
pub struct AmountError(pub String, pub Currency);

/// A signed decimal amount in major units (`"-150000.00"`, `"12.5"`, `"150000"`) in minor
/// units of `currency`: digits beyond its ISO 4217 exponent must be zero; nothing else (no
/// spaces, thousands separators, exponents or `+`) is taken.
pub fn minor_units(text: &str, currency: Currency) -> Result<i64, AmountError> {
    let err = || AmountError(text.to_string(), currency);
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let m = Money::parse_decimal(digits, currency).map_err(|_| err())?;
    Ok(if negative { -m.minor } else { m.minor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_exactly_or_not_at_all() {
        assert_eq!(minor_units("150000", Currency::IDR), Ok(15_000_000));
        assert_eq!(minor_units("-150000.00", Currency::IDR), Ok(-15_000_000));
        assert_eq!(minor_units("12.5", Currency::THB), Ok(1250));
        assert_eq!(minor_units("120.10", Currency::BRL), Ok(12_010));
        assert_eq!(minor_units("15000", Currency::VND), Ok(15_000));
        for bad in [
            "", "-", "1,000.00", "1 000", "+5", "1e3", "12.345", "12.", ".5", "--1", "NaN",
        ] {
            assert!(minor_units(bad, Currency::THB).is_err(), "{bad}");
        }
        assert!(
            minor_units("1.5", Currency::VND).is_err(),
            "VND has no minor unit"
        );
    }
}
