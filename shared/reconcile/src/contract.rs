//! A provider account's contracted terms, as data: the fee it may take per wallet, and when
//! it must pay the money out (T+N working or calendar days in the market's calendar).

use crate::date::{Date, Weekday};
use serde::{Deserialize, Serialize};
use walletpay_domain::{Currency, Money, WalletId};

/// The fee on a payment: a percentage of its amount (in basis points: 150 is 1.50%), rounded
/// to the nearest minor unit (halves up), plus a fixed part in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeRule {
    /// The wallet it applies to; none: every wallet without a rule of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<WalletId>,
    /// The currency it applies to; none: every currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    pub percent_bps: u32,
    #[serde(default)]
    pub fixed_minor: i64,
    /// The unit the provider rounds its fee to, in minor units (100: whole rupiah, as the
    /// Indonesian providers charge); none: the minor unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounding_minor: Option<i64>,
}

impl FeeRule {
    pub fn fee(&self, gross: i64) -> i64 {
        // In units of the rounding: gross * bps / 10_000 / unit, halves up.
        let unit = self.rounding_minor.filter(|u| *u > 1).unwrap_or(1) as i128;
        let scaled = gross as i128 * self.percent_bps as i128;
        let divisor = 10_000 * unit;
        let percent = (scaled + divisor / 2).div_euclid(divisor) * unit;
        percent as i64 + self.fixed_minor
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayBasis {
    /// Counting only the market's working days.
    Working,
    /// Counting every day; a date that falls on a weekend or holiday moves to the next
    /// working day.
    Calendar,
}

/// When money booked on a day must be paid out: `days` after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettlementCycle {
    pub days: u32,
    pub basis: DayBasis,
}

/// The market's non-working days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    #[serde(default = "weekend")]
    pub weekend: Vec<Weekday>,
    #[serde(default)]
    pub holidays: Vec<Date>,
}

fn weekend() -> Vec<Weekday> {
    vec![Weekday::Sat, Weekday::Sun]
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar {
            weekend: weekend(),
            holidays: Vec::new(),
        }
    }
}

impl Calendar {
    pub fn is_working(&self, d: Date) -> bool {
        !self.weekend.contains(&d.weekday()) && !self.holidays.contains(&d)
    }

    fn next_working(&self, mut d: Date) -> Date {
        // A calendar that has no working day at all is refused when the contract is set.
        for _ in 0..366 {
            if self.is_working(d) {
                return d;
            }
            d = d.plus_days(1);
        }
        d
    }
}

/// A provider account's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    /// Tried in order: the first rule for the payment's wallet and currency, then the first
    /// without a wallet.
    pub fees: Vec<FeeRule>,
    pub settlement: SettlementCycle,
    #[serde(default)]
    pub calendar: Calendar,
    /// How many days a success we show may stay unlisted by the provider (settlement lags)
    /// before it is a discrepancy; none: the deployment's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    #[error("a fee of more than 100% ({0} basis points)")]
    FeeTooHigh(u32),
    #[error("a negative fixed fee")]
    NegativeFixedFee,
    #[error("a fee rounding unit outside 1 to 1,000,000 minor units")]
    BadRounding,
    #[error("the calendar has no working day")]
    NoWorkingDay,
    #[error("a settlement cycle longer than 30 days")]
    CycleTooLong,
    #[error("a grace period longer than 30 days")]
    GraceTooLong,
}

impl Contract {
    /// Refuses terms that cannot be meant.
    pub fn check(&self) -> Result<(), ContractError> {
        for rule in &self.fees {
            if rule.percent_bps > 10_000 {
                return Err(ContractError::FeeTooHigh(rule.percent_bps));
            }
            if rule.fixed_minor < 0 {
                return Err(ContractError::NegativeFixedFee);
            }
            if rule
                .rounding_minor
                .is_some_and(|u| !(1..=1_000_000).contains(&u))
            {
                return Err(ContractError::BadRounding);
            }
        }
        if self.calendar.weekend.len() >= 7 {
            return Err(ContractError::NoWorkingDay);
        }
        if self.settlement.days > 30 {
            return Err(ContractError::CycleTooLong);
        }
        if self.grace_days.is_some_and(|g| g > 30) {
            return Err(ContractError::GraceTooLong);
        }
        Ok(())
    }

    /// The rule for a payment in `wallet` and `currency`, if the contract has one.
    pub fn fee_rule(&self, wallet: Option<WalletId>, currency: Currency) -> Option<&FeeRule> {
        let fits = |r: &&FeeRule| r.currency.is_none_or(|c| c == currency);
        self.fees
            .iter()
            .filter(fits)
            .find(|r| r.wallet.is_some() && r.wallet == wallet)
            .or_else(|| self.fees.iter().filter(fits).find(|r| r.wallet.is_none()))
    }

    /// The contracted fee on a payment of `gross`, if the contract names one.
    pub fn expected_fee(
        &self,
        wallet: Option<WalletId>,
        gross: i64,
        currency: Currency,
    ) -> Option<i64> {
        self.fee_rule(wallet, currency).map(|r| r.fee(gross))
    }

    /// The last day money booked on `booked` may be paid out.
    pub fn due(&self, booked: Date) -> Date {
        due_on(self.settlement, &self.calendar, booked)
    }
}

/// The last day money booked on `booked` may be paid out under `cycle` in `cal`.
fn due_on(cycle: SettlementCycle, cal: &Calendar, booked: Date) -> Date {
    match cycle.basis {
        DayBasis::Calendar => cal.next_working(booked.plus_days(cycle.days as i32)),
        DayBasis::Working => {
            let mut d = booked;
            let mut left = cycle.days;
            while left > 0 {
                d = d.plus_days(1);
                if cal.is_working(d) {
                    left -= 1;
                }
            }
            d
        }
    }
}

/// A merchant's own terms with a provider account, as its onboarding with the provider
/// records them: a fee in basis points and a fixed part, and payout T+N business days. What
/// they leave unsaid is the account's contract's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MerchantTerms {
    pub fee_bps: Option<u32>,
    /// A fixed fee in its currency: a payment in another pays the account's fixed part.
    pub fee_fixed: Option<Money>,
    pub settlement_days: Option<u32>,
}

impl MerchantTerms {
    pub fn is_empty(&self) -> bool {
        self.fee_bps.is_none() && self.fee_fixed.is_none() && self.settlement_days.is_none()
    }
}

/// The terms one merchant's movements are held to: the account's contract, under the
/// merchant's own where it has them.
#[derive(Debug, Clone, Copy)]
pub struct Terms<'a> {
    pub contract: Option<&'a Contract>,
    pub merchant: Option<&'a MerchantTerms>,
}

impl Terms<'_> {
    /// The contracted fee on a payment of `gross`, if the terms name one. A merchant's rate
    /// replaces the account's rule for the wallet (its rounding kept).
    pub fn expected_fee(
        &self,
        wallet: Option<WalletId>,
        gross: i64,
        currency: Currency,
    ) -> Option<i64> {
        let rule = self.contract.and_then(|c| c.fee_rule(wallet, currency));
        let fixed = self
            .merchant
            .and_then(|m| m.fee_fixed)
            .filter(|f| f.currency == currency)
            .map(|f| f.minor);
        let bps = self.merchant.and_then(|m| m.fee_bps);
        if bps.is_none() && fixed.is_none() {
            return rule.map(|r| r.fee(gross));
        }
        let own = FeeRule {
            wallet: None,
            currency: None,
            percent_bps: bps.or(rule.map(|r| r.percent_bps)).unwrap_or(0),
            fixed_minor: fixed.or(rule.map(|r| r.fixed_minor)).unwrap_or(0),
            // The account's rounding; without an account rule, the currency's payable step
            // (whole rupiah, as the Indonesian providers charge).
            rounding_minor: match rule {
                Some(r) => r.rounding_minor,
                None => Some(currency.payable_step()),
            },
        };
        Some(own.fee(gross))
    }

    /// The last day money booked on `booked` may be paid out, if the terms say.
    pub fn due(&self, booked: Date) -> Option<Date> {
        match self.merchant.and_then(|m| m.settlement_days) {
            Some(days) => {
                let cycle = SettlementCycle {
                    days,
                    basis: DayBasis::Working,
                };
                let calendar = self.contract.map(|c| &c.calendar);
                Some(match calendar {
                    Some(cal) => due_on(cycle, cal, booked),
                    None => due_on(cycle, &Calendar::default(), booked),
                })
            }
            None => self.contract.map(|c| c.due(booked)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn contract(days: u32, basis: DayBasis) -> Contract {
        Contract {
            fees: vec![
                FeeRule {
                    wallet: Some(WalletId::Ovo),
                    currency: None,
                    percent_bps: 273,
                    fixed_minor: 0,
                    rounding_minor: None,
                },
                FeeRule {
                    wallet: None,
                    currency: Some(Currency::IDR),
                    percent_bps: 150,
                    fixed_minor: 100_000,
                    rounding_minor: None,
                },
            ],
            settlement: SettlementCycle { days, basis },
            calendar: Calendar {
                weekend: vec![Weekday::Sat, Weekday::Sun],
                holidays: vec![d("2026-12-25")],
            },
            grace_days: None,
        }
    }

    #[test]
    fn fees_follow_the_wallets_rule_then_the_default() {
        let c = contract(1, DayBasis::Working);
        // 2.73% of IDR 150,000.00 is IDR 4,095.00.
        assert_eq!(
            c.expected_fee(Some(WalletId::Ovo), 15_000_000, Currency::IDR),
            Some(409_500)
        );
        // 1.5% + IDR 1,000: IDR 3,250.00.
        assert_eq!(
            c.expected_fee(Some(WalletId::Dana), 15_000_000, Currency::IDR),
            Some(325_000)
        );
        // The percentage is rounded to the minor unit, halves up: 0.495 down, 1.5 up.
        assert_eq!(
            FeeRule {
                wallet: None,
                currency: None,
                percent_bps: 150,
                fixed_minor: 0,
                rounding_minor: None,
            }
            .fee(33),
            0
        );
        assert_eq!(
            FeeRule {
                wallet: None,
                currency: None,
                percent_bps: 150,
                fixed_minor: 0,
                rounding_minor: None,
            }
            .fee(100),
            2
        );
        // Rounded to whole rupiah, as the Indonesian providers charge: 2.9% of IDR 1,234.56
        // is IDR 35.80224, so IDR 36.
        let whole = FeeRule {
            wallet: None,
            currency: None,
            percent_bps: 290,
            fixed_minor: 0,
            rounding_minor: Some(100),
        };
        assert_eq!(whole.fee(123_456), 3_600);
        assert_eq!(whole.fee(15_000_000), 435_000);
        assert_eq!(
            c.expected_fee(Some(WalletId::Dana), 10_000, Currency::PHP),
            None
        );
    }

    #[test]
    fn payout_dates_skip_weekends_and_holidays() {
        let w = contract(2, DayBasis::Working);
        // Thursday + 2 working days is Monday.
        assert_eq!(w.due(d("2026-12-03")), d("2026-12-07"));
        // Across Christmas (a Friday): Wednesday 23 + 2 is Monday 28.
        assert_eq!(w.due(d("2026-12-23")), d("2026-12-28"));
        let c = contract(2, DayBasis::Calendar);
        // Thursday + 2 calendar days is Saturday, which moves to Monday.
        assert_eq!(c.due(d("2026-12-03")), d("2026-12-07"));
        assert_eq!(c.due(d("2026-12-01")), d("2026-12-03"));
        assert_eq!(
            contract(0, DayBasis::Working).due(d("2026-12-05")),
            d("2026-12-05")
        );
    }

    #[test]
    fn terms_that_cannot_be_meant_are_refused() {
        let mut c = contract(1, DayBasis::Working);
        assert_eq!(c.check(), Ok(()));
        c.fees[0].percent_bps = 10_001;
        assert_eq!(c.check(), Err(ContractError::FeeTooHigh(10_001)));
        let mut c = contract(1, DayBasis::Working);
        c.calendar.weekend = vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        assert_eq!(c.check(), Err(ContractError::NoWorkingDay));
        let json =
            r#"{"fees":[{"percent_bps":150}],"settlement":{"days":1,"basis":"working"},"extra":1}"#;
        assert!(
            serde_json::from_str::<Contract>(json).is_err(),
            "unknown fields are refused"
        );
    }
}
