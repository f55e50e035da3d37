//! First-purchase incentives: a merchant's offer of money off a buyer's first payment with
//! one wallet in one market ("Rp 5.000 off your first DANA payment"), a fixed amount or a
//! percentage with a cap, inside a validity period and a budget. A buyer (known by customer
//! id and by phone: either one already used is enough to refuse) gets it once; the budget
//! is spent by one conditional write per grant, so it is never overspent (the store's
//! `IncentiveStore::grant`). What the buyer was granted travels on the payment as an
//! [`Applied`].

use crate::catalog::{Country, WalletId};
use crate::ids::{IncentiveId, MerchantId};
use crate::money::Money;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// How much comes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Discount {
    /// This many minor units off.
    Fixed { amount: i64 },
    /// `basis_points` / 100 percent off (rounded down to a minor unit), at most `cap`.
    Percent { basis_points: u32, cap: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incentive {
    pub id: IncentiveId,
    pub merchant_id: MerchantId,
    pub country: Country,
    pub wallet: WalletId,
    pub discount: Discount,
    /// The whole budget, in minor units of the country's currency.
    pub budget: i64,
    pub valid_from: Timestamp,
    pub valid_until: Timestamp,
    /// A merchant can end an incentive early; it is never deleted (payments name it).
    pub active: bool,
    pub created_at: Timestamp,
}

/// An incentive as it stands: what is left of its budget and how often it was granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub incentive: Incentive,
    pub remaining: i64,
    pub grants: u64,
}

/// What a payment got: the incentive, the order's amount before it, and the discount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub id: IncentiveId,
    pub original_amount: i64,
    pub discount: i64,
}

/// Why an incentive cannot be set up as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub why: &'static str,
}

impl Incentive {
    /// Whether it is on offer for `wallet` in `country` at `now`.
    pub fn offered(&self, country: Country, wallet: WalletId, now: Timestamp) -> bool {
        self.active
            && self.country == country
            && self.wallet == wallet
            && self.valid_from <= now
            && now < self.valid_until
    }

    /// The discount on an order of `amount`, leaving at least `floor` (the wallet's smallest
    /// payment) to pay, in whole payable steps of the currency (whole rupiah), so what is
    /// left is an amount a wallet takes; `None` when nothing would come off.
    pub fn discount_on(&self, amount: Money, floor: i64) -> Option<i64> {
        let raw = match self.discount {
            Discount::Fixed { amount: off } => off,
            Discount::Percent { basis_points, cap } => {
                let pct = (amount.minor as i128 * basis_points as i128 / 10_000) as i64;
                pct.min(cap)
            }
        };
        let step = amount.currency.payable_step();
        let off = raw.min(amount.minor - floor.max(1));
        let off = off - off.rem_euclid(step);
        (off > 0).then_some(off)
    }

    /// Buyers have one first payment per shop, market and wallet: every incentive for the
    /// same three shares its record of who had one.
    pub fn first_purchase_scope(&self) -> String {
        format!("{}#{}#{}", self.merchant_id, self.country, self.wallet)
    }

    /// Checks the merchant's setup: positive amounts (whole rupiah in IDR), a percentage of
    /// at most 100, a period that ends after it starts.
    pub fn validate(&self) -> Result<(), Invalid> {
        let bad = |field, why| Err(Invalid { field, why });
        let step = self.country.currency().payable_step();
        match self.discount {
            Discount::Fixed { amount } if amount <= 0 => {
                return bad("amount", "is a positive amount in minor units")
            }
            Discount::Fixed { amount } if amount % step != 0 => {
                return bad(
                    "amount",
                    "is a whole amount a wallet takes (whole rupiah in IDR)",
                )
            }
            Discount::Percent { basis_points, .. }
                if basis_points == 0 || basis_points > 10_000 =>
            {
                return bad("percent_basis_points", "is 1-10000 (0.01% to 100%)")
            }
            Discount::Percent { cap, .. } if cap <= 0 => {
                return bad("cap", "is a positive amount in minor units")
            }
            _ => {}
        }
        if self.budget <= 0 {
            return bad("budget", "is a positive amount in minor units");
        }
        if self.valid_until <= self.valid_from {
            return bad("valid_until", "is after valid_from");
        }
        Ok(())
    }
}

/// The keys a buyer is known by for "once per buyer": customer id and phone, each alone
/// enough to refuse a second grant. No key, no incentive (nothing could hold it to once).
pub fn buyer_keys(customer_id: Option<&str>, phone: Option<&str>) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(id) = customer_id.filter(|s| !s.is_empty()) {
        keys.push(format!("id:{id}"));
    }
    if let Some(p) = phone.filter(|s| !s.is_empty()) {
        keys.push(format!("phone:{p}"));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn incentive(discount: Discount) -> Incentive {
        Incentive {
            id: IncentiveId::new(1, 1),
            merchant_id: MerchantId::new(1, 2),
            country: Country::ID,
            wallet: WalletId::Dana,
            discount,
            budget: 1_000_000,
            valid_from: Timestamp(100),
            valid_until: Timestamp(200),
            active: true,
            created_at: Timestamp(0),
        }
    }

    fn idr(minor: i64) -> Money {
        Money::positive(minor, Currency::IDR).unwrap()
    }

    #[test]
    fn discounts_fixed_and_capped_percent_never_below_the_floor() {
        let fixed = incentive(Discount::Fixed { amount: 500_000 });
        assert_eq!(fixed.discount_on(idr(15_000_000), 10_000), Some(500_000));
        // Never more than leaves the wallet's smallest payment.
        assert_eq!(fixed.discount_on(idr(510_000), 10_000), Some(500_000));
        assert_eq!(fixed.discount_on(idr(400_000), 10_000), Some(390_000));
        assert_eq!(fixed.discount_on(idr(10_000), 10_000), None);
        let pct = incentive(Discount::Percent {
            basis_points: 1_000,
            cap: 1_000_000,
        });
        assert_eq!(pct.discount_on(idr(5_000_000), 100), Some(500_000));
        assert_eq!(pct.discount_on(idr(50_000_000), 100), Some(1_000_000));
        // 10% of Rp 123.456 is Rp 12.345,60: Rp 12.345 comes off, and what is left is whole
        // rupiah (a wallet takes no fraction of one).
        let uncapped = incentive(Discount::Percent {
            basis_points: 1_000,
            cap: 100_000_000,
        });
        let off = uncapped.discount_on(idr(12_345_600), 100).unwrap();
        assert_eq!(off, 1_234_500);
        assert_eq!((12_345_600 - off) % 100, 0);
    }

    #[test]
    fn offered_only_in_its_market_wallet_and_period_while_active() {
        let mut i = incentive(Discount::Fixed { amount: 1 });
        assert!(i.offered(Country::ID, WalletId::Dana, Timestamp(100)));
        assert!(!i.offered(Country::ID, WalletId::Dana, Timestamp(200)));
        assert!(!i.offered(Country::ID, WalletId::Dana, Timestamp(99)));
        assert!(!i.offered(Country::ID, WalletId::Ovo, Timestamp(150)));
        i.active = false;
        assert!(!i.offered(Country::ID, WalletId::Dana, Timestamp(150)));
    }

    #[test]
    fn setups_are_checked_and_buyers_keyed_by_id_and_phone() {
        assert!(incentive(Discount::Fixed { amount: 0 }).validate().is_err());
        assert_eq!(
            incentive(Discount::Fixed { amount: 50 })
                .validate()
                .unwrap_err()
                .field,
            "amount"
        );
        let p = incentive(Discount::Percent {
            basis_points: 10_001,
            cap: 1,
        });
        assert_eq!(p.validate().unwrap_err().field, "percent_basis_points");
        let mut i = incentive(Discount::Fixed { amount: 100 });
        i.valid_until = i.valid_from;
        assert_eq!(i.validate().unwrap_err().field, "valid_until");
        assert_eq!(
            buyer_keys(Some("c1"), Some("+62811")),
            ["id:c1", "phone:+62811"]
        );
        assert!(buyer_keys(None, Some("")).is_empty());
    }
}
