//! Risk control's decision, pure: a payment about to be made, its customer, the figures read
//! for it (velocity, spend today, whether its device is known), its list hits and the
//! model's score in; `allow | review | block`, a score 0-100 and the reasons (stable codes,
//! with the values that fired them) out. No I/O and no clock: the caller reads the figures
//! and lists and asks the model.
//!
//! Rules are data ([`RiskConfig`]): each has a kind (an amount limit, a velocity limit over
//! a window, failed attempts, a list, a mismatch), an action (block, review, or add to the
//! score) and a mode (`active`, or `shadow`: evaluated and reported, never acted on). An
//! allow-list hit lifts the velocity and failed-attempt rules (a known customer's burst is no
//! attack). The score is the model's plus every active rule's points, at most 100; the
//! strictness turns it into a decision (review at or above one threshold, block at or above
//! another), and any active rule that blocks or reviews decides so whatever the score.

pub mod backtest;
pub mod counter;
pub mod model;
pub mod policy;
mod record;

pub use record::{Assessment, Review, ReviewChoice, Snapshot};

use crate::catalog::{Country, WalletId};
use crate::money::Money;
use crate::payment::Customer;
use serde::{Deserialize, Serialize};

/// What a rule does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "points")]
pub enum Action {
    Block,
    Review,
    /// Adds this many points to the score.
    Score(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Active,
    /// Evaluated and reported, never acted on.
    Shadow,
}

/// Who a velocity figure counts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Customer,
    Phone,
    Email,
    Device,
    Ip,
}

impl Dimension {
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Customer => "customer",
            Dimension::Phone => "phone",
            Dimension::Email => "email",
            Dimension::Device => "device",
            Dimension::Ip => "ip",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    Minute,
    Hour,
    Day,
}

impl Window {
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Minute => "1m",
            Window::Hour => "1h",
            Window::Day => "24h",
        }
    }
}

/// What a list entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    Phone,
    Email,
    EmailDomain,
    Device,
    Ip,
    Cidr,
    Customer,
}

impl ListKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Phone => "phone",
            ListKind::Email => "email",
            ListKind::EmailDomain => "email_domain",
            ListKind::Device => "device",
            ListKind::Ip => "ip",
            ListKind::Cidr => "cidr",
            ListKind::Customer => "customer",
        }
    }

    pub const ALL: [ListKind; 7] = [
        ListKind::Phone,
        ListKind::Email,
        ListKind::EmailDomain,
        ListKind::Device,
        ListKind::Ip,
        ListKind::Cidr,
        ListKind::Customer,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a rule checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RuleKind {
    /// One payment above this amount (minor units).
    AmountPerPayment { max_minor: i64 },
    /// The customer's payments today, this one included, above this.
    AmountPerCustomerDay { max_minor: i64 },
    /// The customer's wallet account's payments (this wallet and phone number) over the
    /// last day, this one included, above this.
    AmountPerWalletDay { max_minor: i64 },
    /// More than `max_count` payments, or more than `max_sum_minor` in all, by one
    /// customer, phone, e-mail, device or IP over the window (this one included).
    Velocity {
        dimension: Dimension,
        window: Window,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_count: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_sum_minor: Option<i64>,
    },
    /// More than `max` failed attempts by one device or phone over the window (a wallet
    /// being tested with stolen credentials).
    FailedAttempts {
        dimension: Dimension,
        window: Window,
        max: u32,
    },
    /// A block-list entry matches the customer.
    BlockList,
    /// The phone's country calling code is not the market's.
    PhoneCountryMismatch,
    /// A device never seen before paying at least this much.
    NewDeviceHighAmount { min_minor: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// The merchant's or platform's name for it, reported with its reasons.
    pub id: String,
    #[serde(flatten)]
    pub kind: RuleKind,
    pub action: Action,
    #[serde(default)]
    pub mode: Mode,
}

/// How strict the score's decision is: review at or above `review_at`, block at or above
/// `block_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strictness {
    pub review_at: u8,
    pub block_at: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// Lets the most through: only the clearest cases are stopped.
    MaxConversion,
    Balanced,
    /// Stops more, at the cost of some good payments.
    MaxProtection,
}

impl Preset {
    pub fn strictness(self) -> Strictness {
        match self {
            Preset::MaxConversion => Strictness {
                review_at: 90,
                block_at: 97,
            },
            Preset::Balanced => Strictness {
                review_at: 70,
                block_at: 90,
            },
            Preset::MaxProtection => Strictness {
                review_at: 50,
                block_at: 75,
            },
        }
    }
}

/// A merchant's (or the platform's) rules and strictness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskConfig {
    pub rules: Vec<Rule>,
    pub strictness: Strictness,
}

/// What was read for the payment before deciding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// Per (dimension, window): payments and their sum, this one not included.
    pub velocity: Vec<((Dimension, Window), u32, i64)>,
    /// Per (dimension, window): failed attempts.
    pub failed: Vec<((Dimension, Window), u32)>,
    /// The customer's spend over the last day, and that of the customer's account in this
    /// wallet (the wallet and phone number), this one not included.
    pub customer_day_minor: i64,
    pub wallet_day_minor: i64,
    /// Whether the device paid here before (true when the payment names no device: there
    /// is nothing to call new).
    pub device_known: bool,
}

impl Figures {
    fn velocity_of(&self, d: Dimension, w: Window) -> (u32, i64) {
        self.velocity
            .iter()
            .find(|(k, _, _)| *k == (d, w))
            .map_or((0, 0), |(_, n, s)| (*n, *s))
    }

    fn failed_of(&self, d: Dimension, w: Window) -> u32 {
        self.failed
            .iter()
            .find(|(k, _)| *k == (d, w))
            .map_or(0, |(_, n)| *n)
    }
}

/// The list entries that matched the customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListHits {
    pub block: Vec<(ListKind, String)>,
    pub allow: Vec<(ListKind, String)>,
    /// Hits in the platform's block list: they block whatever the merchant's rules say (a
    /// shop's policy cannot switch off the platform's list).
    pub platform_block: Vec<(ListKind, String)>,
}

/// A payment about to be made.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub amount: Money,
    pub country: Country,
    pub wallet: WalletId,
    pub customer: &'a Customer,
    pub figures: &'a Figures,
    pub lists: &'a ListHits,
    /// The learned model's score, 0-100 (none: no model).
    pub model_score: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskDecision {
    Allow,
    Review,
    Block,
}

/// Why: a stable code, the rule, and the value that fired it against its limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// `amount.payment`, `velocity.phone.1h.count`, `list.block.email_domain`, ...
    pub code: String,
    pub rule: String,
    pub value: i64,
    pub limit: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub decision: RiskDecision,
    pub score: u8,
    /// The active rules that fired.
    pub reasons: Vec<Reason>,
    /// The shadow rules that fired (reported, not acted on).
    pub shadow: Vec<Reason>,
}

/// The country calling code of a market.
pub(crate) fn calling_code(c: Country) -> &'static str {
    match c {
        Country::ID => "+62",
        Country::TH => "+66",
        Country::MY => "+60",
        Country::PH => "+63",
        Country::VN => "+84",
        Country::BR => "+55",
        Country::SG => "+65",
    }
}

/// What fired of one rule, if anything: its code, value and limit.
fn fires(rule: &Rule, input: &Input<'_>, allowed: bool) -> Option<(String, i64, i64)> {
    let f = input.figures;
    let amount = input.amount.minor;
    match &rule.kind {
        RuleKind::AmountPerPayment { max_minor } => {
            (amount > *max_minor).then(|| ("amount.payment".into(), amount, *max_minor))
        }
        RuleKind::AmountPerCustomerDay { max_minor } => {
            let total = f.customer_day_minor + amount;
            (input.customer.id.is_some() && total > *max_minor)
                .then(|| ("amount.customer_day".into(), total, *max_minor))
        }
        RuleKind::AmountPerWalletDay { max_minor } => {
            let total = f.wallet_day_minor + amount;
            (total > *max_minor).then(|| ("amount.wallet_day".into(), total, *max_minor))
        }
        RuleKind::Velocity {
            dimension,
            window,
            max_count,
            max_sum_minor,
        } => {
            if allowed {
                return None;
            }
            let (n, sum) = f.velocity_of(*dimension, *window);
            let base = format!("velocity.{}.{}", dimension.as_str(), window.as_str());
            if let Some(max) = max_count {
                if n + 1 > *max {
                    return Some((format!("{base}.count"), (n + 1) as i64, *max as i64));
                }
            }
            match max_sum_minor {
                Some(max) if sum + amount > *max => {
                    Some((format!("{base}.sum"), sum + amount, *max))
                }
                _ => None,
            }
        }
        RuleKind::FailedAttempts {
            dimension,
            window,
            max,
        } => {
            if allowed {
                return None;
            }
            let n = f.failed_of(*dimension, *window);
            (n > *max).then(|| {
                (
                    format!("failed.{}.{}", dimension.as_str(), window.as_str()),
                    n as i64,
                    *max as i64,
                )
            })
        }
        RuleKind::BlockList => input
            .lists
            .block
            .first()
            .map(|(kind, _)| (format!("list.block.{}", kind.as_str()), 1, 0)),
        RuleKind::PhoneCountryMismatch => {
            let phone = input.customer.phone.as_deref()?;
            (!phone.starts_with(calling_code(input.country)))
                .then(|| ("mismatch.phone_country".into(), 1, 0))
        }
        RuleKind::NewDeviceHighAmount { min_minor } => {
            (input.customer.device_id.is_some() && !f.device_known && amount >= *min_minor)
                .then(|| ("mismatch.new_device_amount".into(), amount, *min_minor))
        }
    }
}

/// Decides on a payment; see the module's documentation.
pub fn evaluate(config: &RiskConfig, input: &Input<'_>) -> Verdict {
    let allowed = !input.lists.allow.is_empty();
    let mut score = input.model_score.unwrap_or(0).min(100) as u32;
    let mut blocked = false;
    let mut reviewed = false;
    let mut reasons = Vec::new();
    let mut shadow = Vec::new();
    for rule in &config.rules {
        let Some((code, value, limit)) = fires(rule, input, allowed) else {
            continue;
        };
        let reason = Reason {
            code,
            rule: rule.id.clone(),
            value,
            limit,
        };
        if rule.mode == Mode::Shadow {
            shadow.push(reason);
            continue;
        }
        match rule.action {
            Action::Block => blocked = true,
            Action::Review => reviewed = true,
            Action::Score(points) => score += points as u32,
        }
        reasons.push(reason);
    }
    if let Some((kind, _)) = input.lists.platform_block.first() {
        blocked = true;
        reasons.push(Reason {
            code: format!("list.block.{}", kind.as_str()),
            rule: "platform-block-list".into(),
            value: 1,
            limit: 0,
        });
    }
    let score = score.min(100) as u8;
    let s = config.strictness;
    let decision = if blocked || score >= s.block_at {
        RiskDecision::Block
    } else if reviewed || score >= s.review_at {
        RiskDecision::Review
    } else {
        RiskDecision::Allow
    };
    Verdict {
        decision,
        score,
        reasons,
        shadow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn rule(id: &str, kind: RuleKind, action: Action) -> Rule {
        Rule {
            id: id.into(),
            kind,
            action,
            mode: Mode::Active,
        }
    }

    fn customer() -> Customer {
        Customer {
            id: Some("cus_1".into()),
            phone: Some("+6281234567890".into()),
            email: Some("sari@example.com".into()),
            ip: Some("203.0.113.7".into()),
            device_id: Some("dev-1".into()),
        }
    }

    fn decide(
        config: &RiskConfig,
        amount: i64,
        c: &Customer,
        f: &Figures,
        l: &ListHits,
        model: Option<u8>,
    ) -> Verdict {
        evaluate(
            config,
            &Input {
                amount: Money::positive(amount, Currency::IDR).unwrap(),
                country: Country::ID,
                wallet: WalletId::Dana,
                customer: c,
                figures: f,
                lists: l,
                model_score: model,
            },
        )
    }

    fn config(rules: Vec<Rule>) -> RiskConfig {
        RiskConfig {
            rules,
            strictness: Preset::Balanced.strictness(),
        }
    }

    #[test]
    fn each_rule_kind_fires_with_its_code_and_values() {
        let c = customer();
        let lists = ListHits::default();
        let busy = Figures {
            velocity: vec![((Dimension::Phone, Window::Hour), 4, 40_000_000)],
            failed: vec![((Dimension::Device, Window::Hour), 6)],
            customer_day_minor: 90_000_000,
            wallet_day_minor: 1_000_000_000,
            device_known: false,
        };
        let cases: Vec<(RuleKind, &str, i64, i64)> = vec![
            (
                RuleKind::AmountPerPayment {
                    max_minor: 10_000_000,
                },
                "amount.payment",
                15_000_000,
                10_000_000,
            ),
            (
                RuleKind::AmountPerCustomerDay {
                    max_minor: 100_000_000,
                },
                "amount.customer_day",
                105_000_000,
                100_000_000,
            ),
            (
                RuleKind::AmountPerWalletDay {
                    max_minor: 1_000_000_000,
                },
                "amount.wallet_day",
                1_015_000_000,
                1_000_000_000,
            ),
            (
                RuleKind::Velocity {
                    dimension: Dimension::Phone,
                    window: Window::Hour,
                    max_count: Some(3),
                    max_sum_minor: None,
                },
                "velocity.phone.1h.count",
                5,
                3,
            ),
            (
                RuleKind::Velocity {
                    dimension: Dimension::Phone,
                    window: Window::Hour,
                    max_count: None,
                    max_sum_minor: Some(50_000_000),
                },
                "velocity.phone.1h.sum",
                55_000_000,
                50_000_000,
            ),
            (
                RuleKind::FailedAttempts {
                    dimension: Dimension::Device,
                    window: Window::Hour,
                    max: 5,
                },
                "failed.device.1h",
                6,
                5,
            ),
            (
                RuleKind::NewDeviceHighAmount {
                    min_minor: 10_000_000,
                },
                "mismatch.new_device_amount",
                15_000_000,
                10_000_000,
            ),
        ];
        for (kind, code, value, limit) in cases {
            let v = decide(
                &config(vec![rule("r", kind.clone(), Action::Review)]),
                15_000_000,
                &c,
                &busy,
                &lists,
                None,
            );
            assert_eq!(v.decision, RiskDecision::Review, "{kind:?}");
            assert_eq!(
                (
                    v.reasons[0].code.as_str(),
                    v.reasons[0].value,
                    v.reasons[0].limit
                ),
                (code, value, limit),
                "{kind:?}"
            );
            // Within its limit it does not fire.
            let v = decide(
                &config(vec![rule("r", kind.clone(), Action::Block)]),
                15_000_000,
                &c,
                &Figures {
                    device_known: true,
                    ..Figures::default()
                },
                &lists,
                None,
            );
            assert!(
                v.reasons.is_empty() || code.starts_with("amount.payment"),
                "{kind:?}: {v:?}"
            );
        }
        // A phone from another market.
        let foreign = Customer {
            phone: Some("+6591234567".into()),
            ..customer()
        };
        let v = decide(
            &config(vec![rule(
                "cc",
                RuleKind::PhoneCountryMismatch,
                Action::Score(40),
            )]),
            1_000_000,
            &foreign,
            &Figures::default(),
            &lists,
            Some(20),
        );
        assert_eq!((v.decision, v.score), (RiskDecision::Allow, 60));
        assert_eq!(v.reasons[0].code, "mismatch.phone_country");
        // A block-list hit.
        let hit = ListHits {
            block: vec![(ListKind::EmailDomain, "example.com".into())],
            allow: Vec::new(),
            platform_block: Vec::new(),
        };
        let v = decide(
            &config(vec![rule("bl", RuleKind::BlockList, Action::Block)]),
            1_000_000,
            &c,
            &Figures::default(),
            &hit,
            None,
        );
        assert_eq!(v.decision, RiskDecision::Block);
        assert_eq!(v.reasons[0].code, "list.block.email_domain");
    }

    #[test]
    fn strictness_shadow_and_allow_lists() {
        let c = customer();
        let f = Figures {
            velocity: vec![((Dimension::Device, Window::Minute), 9, 0)],
            ..Figures::default()
        };
        let burst = rule(
            "burst",
            RuleKind::Velocity {
                dimension: Dimension::Device,
                window: Window::Minute,
                max_count: Some(3),
                max_sum_minor: None,
            },
            Action::Block,
        );
        let none = ListHits::default();
        assert_eq!(
            decide(&config(vec![burst.clone()]), 1_000_000, &c, &f, &none, None).decision,
            RiskDecision::Block
        );
        // An allow entry lifts velocity rules.
        let allowed = ListHits {
            block: Vec::new(),
            allow: vec![(ListKind::Customer, "cus_1".into())],
            platform_block: Vec::new(),
        };
        let v = decide(
            &config(vec![burst.clone()]),
            1_000_000,
            &c,
            &f,
            &allowed,
            None,
        );
        assert_eq!((v.decision, v.reasons.len()), (RiskDecision::Allow, 0));
        // A shadow rule is reported and changes nothing.
        let mut shadow = burst.clone();
        shadow.mode = Mode::Shadow;
        let v = decide(&config(vec![shadow]), 1_000_000, &c, &f, &none, None);
        assert_eq!(
            (v.decision, v.reasons.len(), v.shadow.len()),
            (RiskDecision::Allow, 0, 1)
        );
        assert_eq!(v.shadow[0].code, "velocity.device.1m.count");
        // The model's score against the presets: 80 is reviewed when balanced, blocked when
        // strict, let through at maximum conversion.
        for (preset, want) in [
            (Preset::MaxConversion, RiskDecision::Allow),
            (Preset::Balanced, RiskDecision::Review),
            (Preset::MaxProtection, RiskDecision::Block),
        ] {
            let cfg = RiskConfig {
                rules: Vec::new(),
                strictness: preset.strictness(),
            };
            assert_eq!(
                decide(&cfg, 1_000_000, &c, &Figures::default(), &none, Some(80)).decision,
                want,
                "{preset:?}"
            );
        }
        // Points add up, at most 100.
        let pts = |id: &str| {
            rule(
                id,
                RuleKind::AmountPerPayment { max_minor: 1 },
                Action::Score(60),
            )
        };
        let v = decide(
            &config(vec![pts("a"), pts("b")]),
            1_000_000,
            &c,
            &Figures::default(),
            &none,
            Some(50),
        );
        assert_eq!((v.score, v.decision), (100, RiskDecision::Block));
    }

    #[test]
    fn rules_are_data() {
        let text = r#"{"rules": [
            {"id": "big", "kind": "amount_per_payment", "max_minor": 500000000, "action": {"type": "review"}},
            {"id": "phone-burst", "kind": "velocity", "dimension": "phone", "window": "hour", "max_count": 5, "action": {"type": "score", "points": 30}, "mode": "shadow"}
        ], "strictness": {"review_at": 70, "block_at": 90}}"#;
        let cfg: RiskConfig = serde_json::from_str(text).unwrap();
        assert_eq!(cfg.rules.len(), 2);
        assert_eq!(cfg.rules[1].mode, Mode::Shadow);
        assert_eq!(cfg.rules[1].action, Action::Score(30));
        let back: RiskConfig = serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg);
    }
}
