//! A shop's risk configuration as it is written and kept: a [`Policy`] per scope (the
//! platform's, set with operator keys, and each merchant's own), each with a default and
//! per-market overrides, and how they resolve into the [`RiskConfig`] one payment is decided
//! on. Every field comes from the most specific level that sets it: the merchant's market,
//! the merchant, the platform's market, the platform, the built-in default for the market
//! ([`builtin`]). Rules are replaced as a whole, never merged, so what a shop reads back is
//! what runs.

// Amounts below are written <major>_<minor digits> (IDR 150,000.00 is 150_000_00).
#![allow(clippy::inconsistent_digit_grouping)]

use super::{Action, Dimension, Mode, Preset, RiskConfig, Rule, RuleKind, Strictness, Window};
use crate::catalog::Country;
use crate::money::Currency;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest review window a shop may set: a customer does not wait longer.
pub const MAX_REVIEW_MINUTES: u32 = 24 * 60;
/// The default review window.
pub const DEFAULT_REVIEW_MINUTES: u32 = 60;
/// At most this many rules per level.
pub const MAX_RULES: usize = 200;

/// A preset, or explicit thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StrictnessSetting {
    Preset { preset: Preset },
    Thresholds { review_at: u8, block_at: u8 },
}

impl StrictnessSetting {
    pub fn strictness(self) -> Strictness {
        match self {
            StrictnessSetting::Preset { preset } => preset.strictness(),
            StrictnessSetting::Thresholds {
                review_at,
                block_at,
            } => Strictness {
                review_at,
                block_at,
            },
        }
    }
}

/// One level's settings; anything left out comes from the level below.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strictness: Option<StrictnessSetting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<Rule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_window_minutes: Option<u32>,
}

/// One scope's configuration: its default level (the same fields as a [`Level`]) and
/// per-market overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strictness: Option<StrictnessSetting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<Rule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_window_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub markets: BTreeMap<Country, Level>,
}

impl Policy {
    /// The scope's default level.
    pub fn default_level(&self) -> Level {
        Level {
            strictness: self.strictness,
            rules: self.rules.clone(),
            review_window_minutes: self.review_window_minutes,
        }
    }
}

/// A level's fields, borrowed: strictness, rules, review window.
type Fields<'a> = (
    Option<StrictnessSetting>,
    Option<&'a Vec<Rule>>,
    Option<u32>,
);

impl Level {
    fn fields(&self) -> Fields<'_> {
        (
            self.strictness,
            self.rules.as_ref(),
            self.review_window_minutes,
        )
    }
}

impl Policy {
    fn fields(&self) -> Fields<'_> {
        (
            self.strictness,
            self.rules.as_ref(),
            self.review_window_minutes,
        )
    }
}

/// What one payment is decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub config: RiskConfig,
    pub review_window_minutes: u32,
}

/// Resolves the settings for a market from the merchant's and the platform's policies.
pub fn resolve(merchant: Option<&Policy>, platform: Option<&Policy>, country: Country) -> Resolved {
    // Most specific first, borrowed: only the rules that win are copied.
    let levels: Vec<Fields<'_>> = [
        merchant
            .and_then(|m| m.markets.get(&country))
            .map(Level::fields),
        merchant.map(Policy::fields),
        platform
            .and_then(|p| p.markets.get(&country))
            .map(Level::fields),
        platform.map(Policy::fields),
    ]
    .into_iter()
    .flatten()
    .collect();
    let strictness = levels
        .iter()
        .find_map(|l| l.0)
        .map_or(Preset::Balanced.strictness(), StrictnessSetting::strictness);
    let rules = levels
        .iter()
        .find_map(|l| l.1.cloned())
        .unwrap_or_else(|| builtin(country));
    let review_window_minutes = levels
        .iter()
        .find_map(|l| l.2)
        .unwrap_or(DEFAULT_REVIEW_MINUTES);
    Resolved {
        config: RiskConfig { rules, strictness },
        review_window_minutes,
    }
}

/// An ordinary order in a currency, in minor units: the scale the built-in limits and the
/// model's amount feature are measured against.
pub fn typical_order_minor(c: Currency) -> i64 {
    match c {
        Currency::IDR => 150_000_00,
        Currency::THB => 500_00,
        Currency::MYR => 60_00,
        Currency::PHP => 800_00,
        Currency::VND => 300_000,
        Currency::BRL => 80_00,
        Currency::SGD => 40_00,
    }
}

/// The rules a market starts with, before the platform or the shop sets its own.
pub fn builtin(country: Country) -> Vec<Rule> {
    let typical = typical_order_minor(country.currency());
    let rule = |id: &str, kind: RuleKind, action: Action| Rule {
        id: id.into(),
        kind,
        action,
        mode: Mode::Active,
    };
    vec![
        rule("block-list", RuleKind::BlockList, Action::Block),
        rule(
            "wallet-testing",
            RuleKind::FailedAttempts {
                dimension: Dimension::Device,
                window: Window::Hour,
                max: 5,
            },
            Action::Block,
        ),
        rule(
            "phone-testing",
            RuleKind::FailedAttempts {
                dimension: Dimension::Phone,
                window: Window::Hour,
                max: 5,
            },
            Action::Review,
        ),
        rule(
            "phone-burst",
            RuleKind::Velocity {
                dimension: Dimension::Phone,
                window: Window::Minute,
                max_count: Some(5),
                max_sum_minor: None,
            },
            Action::Review,
        ),
        rule(
            "device-burst",
            RuleKind::Velocity {
                dimension: Dimension::Device,
                window: Window::Hour,
                max_count: Some(15),
                max_sum_minor: None,
            },
            Action::Score(25),
        ),
        // One address can be a whole carrier's NAT: only points, and a high bar.
        rule(
            "ip-burst",
            RuleKind::Velocity {
                dimension: Dimension::Ip,
                window: Window::Minute,
                max_count: Some(300),
                max_sum_minor: None,
            },
            Action::Score(10),
        ),
        rule(
            "foreign-phone",
            RuleKind::PhoneCountryMismatch,
            Action::Score(15),
        ),
        rule(
            "new-device-big",
            RuleKind::NewDeviceHighAmount {
                min_minor: typical * 20,
            },
            Action::Score(20),
        ),
        rule(
            "big-payment",
            RuleKind::AmountPerPayment {
                max_minor: typical * 200,
            },
            Action::Review,
        ),
        rule(
            "customer-day",
            RuleKind::AmountPerCustomerDay {
                max_minor: typical * 300,
            },
            Action::Review,
        ),
        rule(
            "wallet-day",
            RuleKind::AmountPerWalletDay {
                max_minor: typical * 300,
            },
            Action::Review,
        ),
    ]
}

/// Why a policy cannot be kept: the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        message: message.into(),
    }
}

fn check_level(level: &Level, at: &str) -> Result<(), Invalid> {
    if let Some(StrictnessSetting::Thresholds {
        review_at,
        block_at,
    }) = level.strictness
    {
        if review_at > block_at || block_at > 101 || review_at == 0 {
            return Err(invalid(
                format!("{at}strictness"),
                "review_at is 1-101, block_at is review_at-101 (101: never on the score alone).",
            ));
        }
    }
    if let Some(m) = level.review_window_minutes {
        if m == 0 || m > MAX_REVIEW_MINUTES {
            return Err(invalid(
                format!("{at}review_window_minutes"),
                format!("The review window is 1-{MAX_REVIEW_MINUTES} minutes."),
            ));
        }
    }
    let Some(rules) = &level.rules else {
        return Ok(());
    };
    if rules.len() > MAX_RULES {
        return Err(invalid(
            format!("{at}rules"),
            format!("At most {MAX_RULES} rules."),
        ));
    }
    let mut ids = std::collections::BTreeSet::new();
    for (i, r) in rules.iter().enumerate() {
        let field = format!("{at}rules[{i}]");
        let id_ok = !r.id.is_empty()
            && r.id.len() <= 64
            && r.id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !id_ok {
            return Err(invalid(
                format!("{field}.id"),
                "A rule id is 1-64 letters, digits, '-', '_' or '.'.",
            ));
        }
        if !ids.insert(r.id.as_str()) {
            return Err(invalid(
                format!("{field}.id"),
                format!("Rule id `{}` is used twice.", r.id),
            ));
        }
        if let Action::Score(points) = r.action {
            if points == 0 || points > 100 {
                return Err(invalid(format!("{field}.action"), "Points are 1-100."));
            }
        }
        let amount_ok = |v: i64| v > 0;
        let ok = match &r.kind {
            RuleKind::AmountPerPayment { max_minor }
            | RuleKind::AmountPerCustomerDay { max_minor }
            | RuleKind::AmountPerWalletDay { max_minor } => amount_ok(*max_minor),
            RuleKind::NewDeviceHighAmount { min_minor } => amount_ok(*min_minor),
            RuleKind::Velocity {
                max_count,
                max_sum_minor,
                ..
            } => {
                (max_count.is_some() || max_sum_minor.is_some())
                    && max_count.is_none_or(|n| n > 0)
                    && max_sum_minor.is_none_or(amount_ok)
            }
            RuleKind::FailedAttempts { dimension, .. } => {
                matches!(dimension, Dimension::Device | Dimension::Phone)
            }
            RuleKind::BlockList | RuleKind::PhoneCountryMismatch => true,
        };
        if !ok {
            return Err(invalid(
                field,
                "Limits are positive; a velocity rule sets max_count or max_sum_minor; failed attempts are counted per device or phone.",
            ));
        }
    }
    Ok(())
}

impl Policy {
    /// Checks every level.
    pub fn check(&self) -> Result<(), Invalid> {
        check_level(&self.default_level(), "")?;
        for (country, level) in &self.markets {
            check_level(level, &format!("markets.{country}."))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_level_wins_and_rules_are_replaced_whole() {
        let platform: Policy = serde_json::from_str(
            r#"{"strictness": {"preset": "max_protection"},
                "markets": {"TH": {"review_window_minutes": 30}}}"#,
        )
        .unwrap();
        let merchant: Policy = serde_json::from_str(
            r#"{"rules": [{"id": "big", "kind": "amount_per_payment", "max_minor": 100, "action": {"type": "block"}}],
                "markets": {"ID": {"strictness": {"review_at": 40, "block_at": 60}}}}"#,
        )
        .unwrap();
        platform.check().unwrap();
        merchant.check().unwrap();
        let id = resolve(Some(&merchant), Some(&platform), Country::ID);
        assert_eq!(
            id.config.strictness,
            Strictness {
                review_at: 40,
                block_at: 60
            }
        );
        assert_eq!(id.config.rules.len(), 1);
        assert_eq!(id.review_window_minutes, DEFAULT_REVIEW_MINUTES);
        let th = resolve(Some(&merchant), Some(&platform), Country::TH);
        assert_eq!(th.config.strictness, Preset::MaxProtection.strictness());
        assert_eq!(
            th.config.rules.len(),
            1,
            "the merchant's rules, every market"
        );
        assert_eq!(th.review_window_minutes, 30);
        let fresh = resolve(None, None, Country::BR);
        assert_eq!(fresh.config.strictness, Preset::Balanced.strictness());
        assert_eq!(fresh.config.rules, builtin(Country::BR));
        // Every built-in set is itself valid.
        for c in Country::ALL {
            Policy {
                rules: Some(builtin(*c)),
                ..Policy::default()
            }
            .check()
            .unwrap();
        }
    }

    #[test]
    fn bad_policies_are_refused_with_their_field() {
        let cases = [
            (
                r#"{"strictness": {"review_at": 90, "block_at": 80}}"#,
                "strictness",
            ),
            (r#"{"review_window_minutes": 0}"#, "review_window_minutes"),
            (
                r#"{"markets": {"ID": {"review_window_minutes": 5000}}}"#,
                "markets.ID.review_window_minutes",
            ),
            (
                r#"{"rules": [{"id": "a", "kind": "block_list", "action": {"type": "block"}}, {"id": "a", "kind": "block_list", "action": {"type": "review"}}]}"#,
                "rules[1].id",
            ),
            (
                r#"{"rules": [{"id": "v", "kind": "velocity", "dimension": "ip", "window": "minute", "action": {"type": "review"}}]}"#,
                "rules[0]",
            ),
            (
                r#"{"rules": [{"id": "f", "kind": "failed_attempts", "dimension": "email", "window": "hour", "max": 3, "action": {"type": "review"}}]}"#,
                "rules[0]",
            ),
            (
                r#"{"rules": [{"id": "s", "kind": "block_list", "action": {"type": "score", "points": 0}}]}"#,
                "rules[0].action",
            ),
            (
                r#"{"rules": [{"id": "a b", "kind": "block_list", "action": {"type": "block"}}]}"#,
                "rules[0].id",
            ),
        ];
        for (text, field) in cases {
            let p: Policy = serde_json::from_str(text).unwrap();
            assert_eq!(p.check().unwrap_err().field, field, "{text}");
        }
        assert!(serde_json::from_str::<Policy>(r#"{"strictnes": {}}"#).is_err());
    }
}
