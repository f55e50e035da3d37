//! What a configuration would have done to a shop's own past payments, and what its shadow
//! rules saw. Pure: the caller reads the payments of the period; each one assessed carries
//! the snapshot it was decided on ([`super::Snapshot`]), which is replayed through the
//! proposed rules, and its real outcome is its label ([`Outcome`]).
//!
//! The curve sweeps one threshold from loose (100) to strict (0) in steps of 5: at threshold
//! `t` a payment is stopped when the proposed rules block or review it, or its score is at
//! least `t`. For each point: the payments stopped, split by their outcome; the success rate
//! that would remain (good payments paid and not stopped, over the payments that reached an
//! end) and what it costs against the real one; the share of the reported fraud stopped.

use super::{evaluate, Input, RiskConfig, RiskDecision, Strictness};
use crate::catalog::Country;
use crate::payment::{Payment, PaymentStatus};
use serde::Serialize;

/// What really became of a payment, as its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Paid, and neither refunded nor reported.
    GoodPaid,
    /// Reported by the shop as fraud.
    Fraud,
    /// Paid, then refunded in part or whole.
    Refunded,
    /// Failed, expired or canceled.
    Failed,
    /// Stopped by risk control at the time: its real outcome is unknown.
    Stopped,
    /// Not at an end yet.
    Open,
}

pub fn outcome_of(p: &Payment) -> Outcome {
    if p.fraud_report.is_some() {
        return Outcome::Fraud;
    }
    // Blocked, declined, or held for review and never approved: risk control stopped it.
    let stopped = p.risk.as_ref().is_some_and(|r| {
        r.decision == RiskDecision::Block
            || (r.decision == RiskDecision::Review
                && r.review
                    .as_ref()
                    .is_none_or(|v| v.decision == super::ReviewChoice::Decline))
    });
    match p.status {
        PaymentStatus::Succeeded => Outcome::GoodPaid,
        PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded => Outcome::Refunded,
        PaymentStatus::RequiresReview => Outcome::Open,
        _ if stopped => Outcome::Stopped,
        PaymentStatus::Failed | PaymentStatus::Expired | PaymentStatus::Canceled => Outcome::Failed,
        PaymentStatus::Processing | PaymentStatus::RequiresAction => Outcome::Open,
    }
}

/// Payments per outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Split {
    pub good_paid: u64,
    pub fraud: u64,
    pub refunded: u64,
    pub failed: u64,
    pub stopped: u64,
    pub open: u64,
}

impl Split {
    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::GoodPaid => self.good_paid += 1,
            Outcome::Fraud => self.fraud += 1,
            Outcome::Refunded => self.refunded += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Stopped => self.stopped += 1,
            Outcome::Open => self.open += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.good_paid + self.fraud + self.refunded + self.failed + self.stopped + self.open
    }

    /// Payments that reached an end.
    fn ended(&self) -> u64 {
        self.total() - self.open
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub threshold: u8,
    pub stopped: Split,
    /// Good payments that would still be paid, over the payments that reached an end.
    pub success_rate: f64,
    /// The real success rate minus this one: what the setting costs.
    pub success_rate_cost: f64,
    /// The share of the reported fraud it stops (0 when none was reported).
    pub fraud_stopped: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// Payments replayed, and those without a snapshot (decided before risk control).
    pub assessed: u64,
    pub not_assessed: u64,
    /// The assessed payments by their real outcome.
    pub outcomes: Split,
    /// The real success rate.
    pub success_rate: f64,
    /// The proposed configuration as it stands: what it blocks and what it reviews.
    pub blocked: Split,
    pub reviewed: Split,
    pub curve: Vec<Point>,
}

fn ratio(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

/// Replays `payments` through `proposed` (the configuration for each market).
pub fn backtest<'a>(
    payments: impl IntoIterator<Item = &'a Payment>,
    proposed: impl Fn(Country) -> RiskConfig,
) -> Backtest {
    let mut configs: std::collections::BTreeMap<Country, RiskConfig> = Default::default();
    let thresholds: Vec<u8> = (0..=20).rev().map(|i| i * 5).collect();
    let mut out = Backtest {
        assessed: 0,
        not_assessed: 0,
        outcomes: Split::default(),
        success_rate: 0.0,
        blocked: Split::default(),
        reviewed: Split::default(),
        curve: Vec::new(),
    };
    let mut stopped_at = vec![Split::default(); thresholds.len()];
    for p in payments {
        let Some(risk) = &p.risk else {
            out.not_assessed += 1;
            continue;
        };
        out.assessed += 1;
        let outcome = outcome_of(p);
        out.outcomes.add(outcome);
        let config = configs
            .entry(p.country)
            .or_insert_with(|| proposed(p.country));
        let lists = risk.snapshot.lists();
        let input = Input {
            amount: p.amount,
            country: p.country,
            wallet: p.wallet,
            customer: &p.customer,
            figures: &risk.snapshot.figures,
            lists: &lists,
            model_score: Some(risk.snapshot.model_score),
        };
        let verdict = evaluate(config, &input);
        match verdict.decision {
            RiskDecision::Block => out.blocked.add(outcome),
            RiskDecision::Review => out.reviewed.add(outcome),
            RiskDecision::Allow => {}
        }
        // The rules' own stops hold at every threshold; the score's depend on it.
        let forced = {
            let never = RiskConfig {
                rules: config.rules.clone(),
                strictness: Strictness {
                    review_at: 101,
                    block_at: 101,
                },
            };
            evaluate(&never, &input).decision != RiskDecision::Allow
        };
        for (i, t) in thresholds.iter().enumerate() {
            if forced || verdict.score >= *t {
                stopped_at[i].add(outcome);
            }
        }
    }
    let ended = out.outcomes.ended();
    out.success_rate = ratio(out.outcomes.good_paid, ended);
    out.curve = thresholds
        .iter()
        .zip(stopped_at)
        .map(|(t, stopped)| {
            let rate = ratio(out.outcomes.good_paid - stopped.good_paid, ended);
            Point {
                threshold: *t,
                stopped,
                success_rate: rate,
                success_rate_cost: out.success_rate - rate,
                fraud_stopped: ratio(stopped.fraud, out.outcomes.fraud),
            }
        })
        .collect();
    out
}

/// How often one shadow rule fired, and on what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShadowResult {
    pub rule: String,
    pub fired: u64,
    pub outcomes: Split,
}

/// The shadow rules that fired on `payments` (as recorded when each was decided), most
/// fired first.
pub fn shadow_results<'a>(payments: impl IntoIterator<Item = &'a Payment>) -> Vec<ShadowResult> {
    let mut by_rule: std::collections::BTreeMap<String, ShadowResult> = Default::default();
    for p in payments {
        let Some(risk) = &p.risk else { continue };
        let outcome = outcome_of(p);
        let mut seen = std::collections::BTreeSet::new();
        for r in &risk.shadow {
            if !seen.insert(r.rule.as_str()) {
                continue;
            }
            let e = by_rule
                .entry(r.rule.clone())
                .or_insert_with(|| ShadowResult {
                    rule: r.rule.clone(),
                    fired: 0,
                    outcomes: Split::default(),
                });
            e.fired += 1;
            e.outcomes.add(outcome);
        }
    }
    let mut out: Vec<ShadowResult> = by_rule.into_values().collect();
    out.sort_by(|a, b| b.fired.cmp(&a.fired).then(a.rule.cmp(&b.rule)));
    out
}
