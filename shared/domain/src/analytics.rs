//! The back office's figures: what one payment version adds to the aggregates of its
//! merchant × country × wallet × provider × hour (and day), and the sums read back. Pure:
//! the consumer of the table's change stream ([`delta`]) and the analytics API read and
//! write them through the store.
//!
//! A version counts once, by what its history entry says happened: `created` is an
//! attempt (and risk control's decision), a move to `succeeded` a success with its volume,
//! `failed` / `expired` a wallet's failure by category, `canceled` a cancellation, and each
//! refund event its refund's count and amount. What risk control stopped (a block, a review
//! declined or expired) is counted as risk control's, never as a wallet's failure. A late
//! success (after the payment had ended) adds its volume and a late success, not a
//! success: the payment already counted as ended, and counting it twice would skew the
//! success rate. A failover (`rerouted`) moves the attempt to the new provider.

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
    /// Held for review, then declined by the shop or let expire: risk control's doing, no
    /// wallet's failure.
    #[serde(default)]
    pub risk_stopped: u64,
    /// Attempts that left this provider for another (failover): a provider's own attempts
    /// are `attempts - rerouted`.
    #[serde(default)]
    pub rerouted: u64,
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
        self.risk_stopped += o.risk_stopped;
        self.rerouted += o.rerouted;
    }

    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    /// The attempts that stayed with this bucket's provider.
    pub fn own_attempts(&self) -> u64 {
        self.attempts.saturating_sub(self.rerouted)
    }

    /// Successes per attempt, in basis points (none without attempts).
    pub fn conversion_bp(&self) -> Option<u64> {
        let attempts = self.own_attempts();
        (attempts > 0).then(|| (self.successes * 10_000 / attempts).min(10_000))
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

/// What one version of a payment adds, given its history entry's event, status before, time
/// and detail. `None` when it adds nothing (an acceptance, a review decision).
pub fn delta(
    p: &Payment,
    event: &str,
    from: Option<PaymentStatus>,
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
    let mut provider = p.provider;
    match event {
        "created" => {
            c.attempts = 1;
            match p.risk.as_ref().map(|r| r.decision) {
                Some(RiskDecision::Allow) => c.risk_allowed = 1,
                Some(RiskDecision::Review) => c.risk_reviewed = 1,
                Some(RiskDecision::Block) => c.risk_blocked = 1,
                None => {}
            }
        }
        "rerouted" => {
            // The attempt leaves the provider before this one (its route's previous step)
            // and is this one's now: two buckets, the second from `rerouted_to`.
            let previous = p.route.iter().rev().nth(1)?.provider;
            c.rerouted = 1;
            provider = previous;
        }
        "succeeded" if !from.is_some_and(|f| f.is_paid()) => {
            c.volume = p.amount.minor;
            if detail == Some("late_success") {
                c.late_successes = 1;
            } else {
                c.successes = 1;
            }
        }
        "review_declined" => c.risk_stopped = 1,
        "expired" | "canceled" if from == Some(PaymentStatus::RequiresReview) => c.risk_stopped = 1,
        "failed" if from.is_some_and(|f| !f.is_terminal()) => fail(&mut c, category()),
        "expired" if from.is_some_and(|f| !f.is_terminal()) => {
            fail(&mut c, FailureCategory::Expired)
        }
        "canceled" if from.is_some_and(|f| !f.is_terminal()) => c.canceled = 1,
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
            provider,
            hour: hour_of(at),
        },
        c,
    ))
}

/// The attempt a failover (`rerouted`) brings to the payment's new provider: the second
/// half of what [`delta`] answers for it.
pub fn rerouted_to(p: &Payment, event: &str, at: Timestamp) -> Option<(Bucket, Counts)> {
    (event == "rerouted").then(|| {
        (
            Bucket {
                merchant: p.merchant_id.clone(),
                country: p.country,
                wallet: p.wallet,
                provider: p.provider,
                hour: hour_of(at),
            },
            Counts {
                attempts: 1,
                ..Counts::default()
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::{Failure, FailureCode};
    use crate::payment::{RefundLine, RefundState};

    fn payment() -> Payment {
        crate::payment::fixture()
    }

    #[test]
    fn each_event_counts_what_it_is() {
        use PaymentStatus as S;
        let mut p = payment();
        let at = Timestamp(5 * 3_600_000 + 10);
        let (b, c) = delta(&p, "created", None, at, None).unwrap();
        assert_eq!((b.hour, c.attempts), (5, 1));
        assert!(delta(&p, "accepted", Some(S::Processing), at, None).is_none());
        let (_, c) = delta(&p, "succeeded", Some(S::RequiresAction), at, None).unwrap();
        assert_eq!(
            (c.successes, c.volume, c.late_successes),
            (1, 15_000_000, 0)
        );
        // Late: the payment already counted as ended; its money is counted, not a success.
        let late = delta(&p, "succeeded", Some(S::Expired), at, Some("late_success")).unwrap();
        assert_eq!(
            (late.1.successes, late.1.volume, late.1.late_successes),
            (0, 15_000_000, 1)
        );
        // A success of a paid payment (a duplicate) adds nothing.
        assert!(delta(&p, "succeeded", Some(S::Succeeded), at, None).is_none());
        p.failure = Some(Failure::new(FailureCode::InsufficientBalance, None));
        let (_, c) = delta(&p, "failed", Some(S::RequiresAction), at, None).unwrap();
        assert_eq!(c.failures[&FailureCategory::InsufficientBalance], 1);
        let (_, c) = delta(&p, "expired", Some(S::RequiresAction), at, None).unwrap();
        assert_eq!(c.failures[&FailureCategory::Expired], 1);
        // Nothing after an end: a failure of an expired payment adds no second failure.
        assert!(delta(&p, "failed", Some(S::Expired), at, None).is_none());
        // Risk control's stops are no wallet's failures.
        let (_, c) = delta(&p, "review_declined", Some(S::RequiresReview), at, None).unwrap();
        assert_eq!((c.failed(), c.risk_stopped), (0, 1));
        let (_, c) = delta(&p, "expired", Some(S::RequiresReview), at, None).unwrap();
        assert_eq!((c.failed(), c.risk_stopped), (0, 1));
        // A failover moves the attempt from the previous provider to the new one.
        let mut moved = payment();
        moved.route = vec![
            crate::RouteStep {
                provider: Provider::Xendit,
                reason: "priority 1".into(),
            },
            crate::RouteStep {
                provider: Provider::Adyen,
                reason: "failover".into(),
            },
        ];
        moved.provider = Provider::Adyen;
        let (left, c) = delta(&moved, "rerouted", Some(S::Processing), at, None).unwrap();
        assert_eq!(
            (left.provider, c.rerouted, c.attempts),
            (Provider::Xendit, 1, 0)
        );
        let (joined, c) = rerouted_to(&moved, "rerouted", at).unwrap();
        assert_eq!((joined.provider, c.attempts), (Provider::Adyen, 1));
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
        let (_, c) = delta(&p, "refund_requested", Some(S::Succeeded), at, None).unwrap();
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
        let moved_away = Counts {
            attempts: 2,
            rerouted: 1,
            successes: 1,
            ..Counts::default()
        };
        assert_eq!(moved_away.conversion_bp(), Some(10_000));
        assert_eq!(c.success_rate_bp(), Some(6_666));
        assert_eq!(c.average_order(), Some(250));
        assert_eq!(Counts::default().conversion_bp(), None);
    }
}
