//! The back office's figures: what one payment version adds to the aggregates of its
//! merchant × country × wallet × provider × hour (and day), and the sums read back. Pure:
//! the consumer of the table's change stream ([`delta`]) and the analytics API read and
//! write them through the store.
//!
//! A version counts once, by what its history entry says happened: `created` is an
//! attempt (and risk control's decision), a move to `succeeded` a success with its volume
//! (and a late success when it came after the payment had ended), `failed` / `expired` /
//! `canceled` a failure by category, and each refund event its refund's count and amount.

use crate::catalog::{Country, Provider, WalletId};
use crate::failure::FailureCategory;
use crate::ids::MerchantId;
use crate::payment::{Payment, PaymentStatus};
use crate::risk::RiskDecision;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What one bucket holds: every field adds up (a sum of buckets is a bucket).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Payments created.
    #[serde(default)]
    pub attempts: u64,
    #[serde(default)]
    pub successes: u64,
    /// Minor units paid by those successes.
    #[serde(default)]
    pub volume: i64,
    /// Failures (provider refusals, risk blocks, expiries) by category, and cancellations.
    #[serde(default)]
    pub failures: BTreeMap<FailureCategory, u64>,
    #[serde(default)]
    pub canceled: u64,
    #[serde(default)]
    pub late_successes: u64,
    /// Refunds by what happened to them: requested, succeeded, failed, reversed; each a
    /// count and an amount.
    #[serde(default)]
    pub refunds: BTreeMap<RefundStage, (u64, i64)>,
    /// Risk control's decisions at creation.
    #[serde(default)]
    pub risk_allowed: u64,
    #[serde(default)]
    pub risk_reviewed: u64,
    #[serde(default)]
    pub risk_blocked: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStage {
    Requested,
    Succeeded,
    Failed,
    Reversed,
}

impl RefundStage {
    pub const ALL: [RefundStage; 4] = [
        RefundStage::Requested,
        RefundStage::Succeeded,
        RefundStage::Failed,
        RefundStage::Reversed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefundStage::Requested => "requested",
            RefundStage::Succeeded => "succeeded",
            RefundStage::Failed => "failed",
            RefundStage::Reversed => "reversed",
        }
    }
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.attempts += o.attempts;
        self.successes += o.successes;
        self.volume += o.volume;
        self.canceled += o.canceled;
        self.late_successes += o.late_successes;
        for (k, v) in &o.failures {
            *self.failures.entry(*k).or_default() += v;
        }
        for (k, (n, a)) in &o.refunds {
            let e = self.refunds.entry(*k).or_default();
            e.0 += n;
            e.1 += a;
        }
        self.risk_allowed += o.risk_allowed;
        self.risk_reviewed += o.risk_reviewed;
        self.risk_blocked += o.risk_blocked;
    }

    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    /// Successes per attempt, in basis points (none without attempts).
    pub fn conversion_bp(&self) -> Option<u64> {
        (self.attempts > 0).then(|| self.successes * 10_000 / self.attempts)
    }

    /// Successes per ended payment (succeeded or failed), in basis points.
    pub fn success_rate_bp(&self) -> Option<u64> {
        let ended = self.successes + self.failed();
        (ended > 0).then(|| self.successes * 10_000 / ended)
    }

    /// The average paid order, in minor units, rounded down.
    pub fn average_order(&self) -> Option<i64> {
        (self.successes > 0).then(|| self.volume / self.successes as i64)
    }

    pub fn is_empty(&self) -> bool {
        *self == Counts::default()
    }
}

/// Which bucket a version lands in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Bucket {
    pub merchant: MerchantId,
    pub country: Country,
    pub wallet: WalletId,
    pub provider: Provider,
    /// Unix hour (the version's time, UTC).
    pub hour: i64,
}

impl Bucket {
    /// The UTC day of the hour (days since the epoch).
    pub fn day(&self) -> i64 {
        self.hour.div_euclid(24)
    }
}

pub fn hour_of(t: Timestamp) -> i64 {
    t.millis().div_euclid(3_600_000)
}

/// What one version of a payment adds, given its history entry's event, status before and
/// after, time and detail. `None` when it adds nothing (an acceptance, a review decision).
pub fn delta(
    p: &Payment,
    event: &str,
    from: Option<PaymentStatus>,
    to: PaymentStatus,
    at: Timestamp,
    detail: Option<&str>,
) -> Option<(Bucket, Counts)> {
    let mut c = Counts::default();
    let fail = |c: &mut Counts, category: FailureCategory| {
        *c.failures.entry(category).or_default() += 1;
    };
    let category = || {
        p.failure
            .as_ref()
            .map(|f| f.category)
            .unwrap_or(FailureCategory::Unknown)
    };
    match event {
        "created" => {
            c.attempts = 1;
            match p.risk.as_ref().map(|r| r.decision) {
                Some(RiskDecision::Allow) => c.risk_allowed = 1,
                Some(RiskDecision::Review) => c.risk_reviewed = 1,
                Some(RiskDecision::Block) => c.risk_blocked = 1,
                None => {}
            }
            // Blocked by risk control: written failed at once.
            if to == PaymentStatus::Failed {
                fail(&mut c, category());
            }
        }
        "succeeded" if !from.is_some_and(|f| f.is_paid()) => {
            c.successes = 1;
            c.volume = p.amount.minor;
            if detail == Some("late_success") {
                c.late_successes = 1;
            }
        }
        "failed" if from != Some(PaymentStatus::Failed) => fail(&mut c, category()),
        "expired" if from != Some(PaymentStatus::Expired) => fail(&mut c, FailureCategory::Expired),
        "canceled" if from != Some(PaymentStatus::Canceled) => c.canceled = 1,
        "refund_requested" | "refund_succeeded" | "refund_failed" | "refund_reversed" => {
            let stage = match event {
                "refund_requested" => RefundStage::Requested,
                "refund_succeeded" => RefundStage::Succeeded,
                "refund_failed" => RefundStage::Failed,
                _ => RefundStage::Reversed,
            };
            // The refund this version changed: named by the entry, else the one whose
            // line changed with it.
            let line = p
                .refunds
                .iter()
                .find(|l| detail == Some(l.refund_id.as_str()))
                .or_else(|| p.refunds.iter().rev().find(|l| l.updated_at == at))?;
            c.refunds.insert(stage, (1, line.amount_minor));
        }
        _ => return None,
    }
    Some((
        Bucket {
            merchant: p.merchant_id.clone(),
            country: p.country,
            wallet: p.wallet,
            provider: p.provider,
            hour: hour_of(at),
        },
        c,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::{Failure, FailureCode};
    use crate::money::{Currency, Money};
    use crate::payment::{Customer, RefundLine, RefundState};
    use crate::PaymentId;

    fn payment() -> Payment {
        Payment {
            id: PaymentId::new(1, 1),
            merchant_id: MerchantId::new(1, 2),
            merchant_reference: "order-1".into(),
            amount: Money::positive(15_000_000, Currency::IDR).unwrap(),
            country: Country::ID,
            wallet: WalletId::Dana,
            provider: Provider::Xendit,
            provider_reference: None,
            status: PaymentStatus::Processing,
            next_action: None,
            failure: None,
            customer: Customer::default(),
            return_url: None,
            description: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            expires_at: Timestamp(900_000),
            late_success: false,
            refunds: Vec::new(),
            route: Vec::new(),
            risk: None,
            fraud_report: None,
            checkout_session: None,
            incentive: None,
            version: 1,
        }
    }

    #[test]
    fn each_event_counts_what_it_is() {
        let mut p = payment();
        let at = Timestamp(5 * 3_600_000 + 10);
        let (b, c) = delta(&p, "created", None, PaymentStatus::Processing, at, None).unwrap();
        assert_eq!((b.hour, c.attempts), (5, 1));
        assert!(delta(
            &p,
            "accepted",
            Some(PaymentStatus::Processing),
            PaymentStatus::RequiresAction,
            at,
            None
        )
        .is_none());
        let (_, c) = delta(
            &p,
            "succeeded",
            Some(PaymentStatus::RequiresAction),
            PaymentStatus::Succeeded,
            at,
            Some("late_success"),
        )
        .unwrap();
        assert_eq!(
            (c.successes, c.volume, c.late_successes),
            (1, 15_000_000, 1)
        );
        // A success of a paid payment (a duplicate) adds nothing.
        assert!(delta(
            &p,
            "succeeded",
            Some(PaymentStatus::Succeeded),
            PaymentStatus::Succeeded,
            at,
            None
        )
        .is_none());
        p.failure = Some(Failure::new(FailureCode::InsufficientBalance, None));
        let (_, c) = delta(
            &p,
            "failed",
            Some(PaymentStatus::RequiresAction),
            PaymentStatus::Failed,
            at,
            None,
        )
        .unwrap();
        assert_eq!(c.failures[&FailureCategory::InsufficientBalance], 1);
        let (_, c) = delta(
            &p,
            "expired",
            Some(PaymentStatus::RequiresAction),
            PaymentStatus::Expired,
            at,
            None,
        )
        .unwrap();
        assert_eq!(c.failures[&FailureCategory::Expired], 1);
        p.refunds.push(RefundLine {
            refund_id: "re_1".into(),
            amount_minor: 1_000_000,
            state: RefundState::Pending,
            reason: crate::RefundReason::RequestedByCustomer,
            merchant_reference: None,
            failure: None,
            provider_reference: None,
            created_at: at,
            updated_at: at,
        });
        let (_, c) = delta(
            &p,
            "refund_requested",
            Some(PaymentStatus::Succeeded),
            PaymentStatus::Succeeded,
            at,
            None,
        )
        .unwrap();
        assert_eq!(c.refunds[&RefundStage::Requested], (1, 1_000_000));
        let mut sum = Counts::default();
        sum.add(&c);
        sum.add(&c);
        assert_eq!(sum.refunds[&RefundStage::Requested], (2, 2_000_000));
    }

    #[test]
    fn rates_and_averages() {
        let c = Counts {
            attempts: 8,
            successes: 4,
            volume: 1_000,
            failures: BTreeMap::from([(FailureCategory::Expired, 2)]),
            ..Counts::default()
        };
        assert_eq!(c.conversion_bp(), Some(5_000));
        assert_eq!(c.success_rate_bp(), Some(6_666));
        assert_eq!(c.average_order(), Some(250));
        assert_eq!(Counts::default().conversion_bp(), None);
    }
}
