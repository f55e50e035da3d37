//! A payment and its state machine.
//!
//! ```text
//!   requires_review ──approved──▶ processing      (risk control's review; see `risk`)
//!       │  declined: failed, window over: expired, or canceled
//!
//!   processing ──accepted──▶ requires_action
//!       │  ╲                     │
//!       │   ╲──────────┬─────────┤
//!       ▼              ▼         ▼
//!   succeeded      failed | expired | canceled
//!       ▲                  │
//!       └── late success ──┘   (money taken is never ignored)
//! ```
//! A status only moves forward. A duplicate event changes nothing; a late event that would
//! move a payment backwards is ignored, except a success, which is always recorded.
//!
//! The one way back is the provider's own correction of a refund: a refund reported made
//! and then reversed (the money returned to the shop) gives its amount back as refundable,
//! so a `refunded` payment can become `partially_refunded` or `succeeded` again. A paid
//! payment always stays paid.

use crate::catalog::{Country, Provider, WalletId};
use crate::failure::Failure;
use crate::ids::{MerchantId, PaymentId};
use crate::money::Money;
use crate::refund::RefundReason;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Held by risk control for the shop's review; nothing sent to a provider yet.
    RequiresReview,
    /// Sent to the provider, outcome not yet known.
    Processing,
    /// The customer has to approve in the wallet (see `next_action`).
    RequiresAction,
    Succeeded,
    Failed,
    Canceled,
    Expired,
    /// Paid, then refunded in part.
    PartiallyRefunded,
    /// Paid, then refunded in full.
    Refunded,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 9] = [
        PaymentStatus::RequiresReview,
        PaymentStatus::Processing,
        PaymentStatus::RequiresAction,
        PaymentStatus::Succeeded,
        PaymentStatus::Failed,
        PaymentStatus::Canceled,
        PaymentStatus::Expired,
        PaymentStatus::PartiallyRefunded,
        PaymentStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::RequiresReview => "requires_review",
            PaymentStatus::Processing => "processing",
            PaymentStatus::RequiresAction => "requires_action",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Canceled => "canceled",
            PaymentStatus::Expired => "expired",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Refunded => "refunded",
        }
    }

    /// Money was taken (and may since have been refunded in part or whole).
    pub fn is_paid(self) -> bool {
        matches!(
            self,
            PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
        )
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        !matches!(
            self,
            PaymentStatus::RequiresReview
                | PaymentStatus::Processing
                | PaymentStatus::RequiresAction
        )
    }

    /// Position along the state machine: a status never moves to a lower rank.
    pub fn rank(self) -> u8 {
        match self {
            PaymentStatus::RequiresReview => 0,
            PaymentStatus::Processing => 1,
            PaymentStatus::RequiresAction => 2,
            PaymentStatus::Failed | PaymentStatus::Canceled | PaymentStatus::Expired => 3,
            PaymentStatus::Succeeded => 4,
            PaymentStatus::PartiallyRefunded => 5,
            PaymentStatus::Refunded => 6,
        }
    }
}

/// What the customer has to do, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NextAction {
    Redirect { url: String },
    Deeplink { url: String },
    Qr { data: String },
    Push { message: String },
}

/// What the shop told us about its customer. Only what risk control and the wallet need.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

impl Customer {
    /// The phone number with all but the last three digits hidden, for logs.
    pub fn masked_phone(&self) -> Option<String> {
        self.phone.as_ref().map(|p| {
            let digits: Vec<char> = p.chars().collect();
            let keep = digits.len().saturating_sub(3);
            digits
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i < keep && c.is_ascii_digit() {
                        '*'
                    } else {
                        *c
                    }
                })
                .collect()
        })
    }
}

/// Where one refund of a payment stands, as the payment's own ledger keeps it: the
/// refundable amount is derived from these lines, so reserving it is part of the same
/// conditional write as everything else that changes the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    Pending,
    Succeeded,
    Failed,
    /// Reported made, then undone by the provider.
    Reversed,
}

/// One provider a payment was offered to, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteStep {
    pub provider: Provider,
    pub reason: String,
}

/// One refund of a payment, kept in the payment itself: a refund is part of the payment it
/// refunds, so every refund change is one conditional write of the payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    pub refund_id: String,
    pub amount_minor: i64,
    pub state: RefundState,
    pub reason: RefundReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The provider's id for this refund, once it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: PaymentId,
    pub merchant_id: MerchantId,
    pub merchant_reference: String,
    pub amount: Money,
    pub country: Country,
    pub wallet: WalletId,
    pub provider: Provider,
    pub provider_reference: Option<String>,
    pub status: PaymentStatus,
    pub next_action: Option<NextAction>,
    pub failure: Option<Failure>,
    pub customer: Customer,
    pub return_url: Option<String>,
    pub description: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Timestamp,
    /// A success that arrived after the payment had failed, expired or been canceled.
    #[serde(default)]
    pub late_success: bool,
    /// The payment's refunds, oldest first.
    #[serde(default)]
    pub refunds: Vec<RefundLine>,
    /// The providers the payment was offered to, in order, and why each was chosen; the
    /// last is `provider`.
    #[serde(default)]
    pub route: Vec<RouteStep>,
    /// What risk control decided, on what, and the shop's review (none: decided before
    /// risk control, or the payment was never assessed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<crate::risk::Assessment>,
    /// The shop reported the payment as fraud (a label for backtests and training).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraud_report: Option<FraudReport>,
    /// The checkout session this payment is an attempt of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout_session: Option<crate::ids::SessionId>,
    /// The first-purchase incentive this payment was made with: `amount` is what is left
    /// after its discount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incentive: Option<crate::incentive::Applied>,
    /// Bumped by every write; every update is conditional on the version it read.
    pub version: u64,
}

/// A shop's report that a payment was fraud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FraudReport {
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Something that happened to a payment, from the provider or from us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PaymentEvent {
    /// The provider took the charge; the customer has to act.
    Accepted {
        provider_reference: String,
        next_action: Option<NextAction>,
    },
    Succeeded,
    Failed {
        failure: Failure,
    },
    Expired,
    Canceled,
    /// Reserve `amount_minor` of the refundable amount for a new refund.
    RefundRequested {
        refund_id: String,
        amount_minor: i64,
    },
    RefundSucceeded {
        refund_id: String,
    },
    /// The refund did not happen: its reservation is released.
    RefundFailed {
        refund_id: String,
    },
    /// A refund the provider reported made was undone: its amount is refundable again.
    RefundReversed {
        refund_id: String,
    },
    /// The shop approved a payment held for review: it goes to `provider` (chosen for
    /// `reason`), and the customer's time to approve starts again (`expires_at`).
    ReviewApproved {
        by: String,
        expires_at: Timestamp,
        provider: Provider,
        reason: String,
    },
    /// The shop declined a payment held for review.
    ReviewDeclined {
        by: String,
        failure: Failure,
    },
    /// A payment held for review reached the end of its review window undecided: it
    /// expires, but only if it is still held (an approval that got there first stands).
    ReviewExpired,
    /// The shop canceled a payment held for review; only if it is still held.
    ReviewCanceled,
    /// The shop reported the payment as fraud; its status does not change.
    FraudReported {
        reason: Option<String>,
    },
}

impl PaymentEvent {
    pub fn name(&self) -> &'static str {
        match self {
            PaymentEvent::Accepted { .. } => "accepted",
            PaymentEvent::Succeeded => "succeeded",
            PaymentEvent::Failed { .. } => "failed",
            PaymentEvent::Expired => "expired",
            PaymentEvent::Canceled => "canceled",
            PaymentEvent::RefundRequested { .. } => "refund_requested",
            PaymentEvent::RefundSucceeded { .. } => "refund_succeeded",
            PaymentEvent::RefundFailed { .. } => "refund_failed",
            PaymentEvent::RefundReversed { .. } => "refund_reversed",
            PaymentEvent::ReviewApproved { .. } => "review_approved",
            PaymentEvent::ReviewDeclined { .. } => "review_declined",
            PaymentEvent::FraudReported { .. } => "fraud_reported",
            PaymentEvent::ReviewExpired => "expired",
            PaymentEvent::ReviewCanceled => "canceled",
        }
    }

    /// The status a payment-level event moves to (refund events derive theirs).
    fn target(&self) -> PaymentStatus {
        match self {
            PaymentEvent::Accepted { .. } => PaymentStatus::RequiresAction,
            PaymentEvent::Succeeded => PaymentStatus::Succeeded,
            PaymentEvent::Failed { .. } => PaymentStatus::Failed,
            PaymentEvent::Expired => PaymentStatus::Expired,
            PaymentEvent::Canceled => PaymentStatus::Canceled,
            PaymentEvent::ReviewApproved { .. } => PaymentStatus::Processing,
            PaymentEvent::ReviewDeclined { .. } => PaymentStatus::Failed,
            PaymentEvent::ReviewExpired => PaymentStatus::Expired,
            PaymentEvent::ReviewCanceled => PaymentStatus::Canceled,
            PaymentEvent::FraudReported { .. } => PaymentStatus::Succeeded,
            PaymentEvent::RefundRequested { .. }
            | PaymentEvent::RefundSucceeded { .. }
            | PaymentEvent::RefundFailed { .. }
            | PaymentEvent::RefundReversed { .. } => PaymentStatus::Succeeded,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleReason {
    /// The payment is already in the state the event describes.
    Duplicate,
    /// The event would move the payment backwards.
    Late,
}

/// Why a refund cannot be reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundRefusal {
    /// The payment was never paid (or is not paid yet).
    NotRefundable,
    /// More than what is left to refund.
    ExceedsRefundable { refundable_minor: i64 },
}

/// What applying an event would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Move to the new status (a `late_success` is a success after a failure or expiry).
    Move {
        to: PaymentStatus,
        late_success: bool,
    },
    /// Change nothing.
    Stale(StaleReason),
    /// A refund that must not be made.
    Refused(RefundRefusal),
}

impl Payment {
    /// Decides what `event` does to this payment; pure, so every writer decides the same.
    pub fn decide(&self, event: &PaymentEvent) -> Decision {
        use PaymentStatus as S;
        match event {
            PaymentEvent::RefundRequested {
                refund_id,
                amount_minor,
            } => {
                if self.refund_line(refund_id).is_some() {
                    return Decision::Stale(StaleReason::Duplicate);
                }
                if !self.status.is_paid() {
                    return Decision::Refused(RefundRefusal::NotRefundable);
                }
                let refundable_minor = self.refundable_minor();
                if *amount_minor <= 0 || *amount_minor > refundable_minor {
                    return Decision::Refused(RefundRefusal::ExceedsRefundable {
                        refundable_minor,
                    });
                }
                return Decision::Move {
                    to: self.status,
                    late_success: false,
                };
            }
            PaymentEvent::RefundSucceeded { refund_id } => {
                return match self.refund_line(refund_id) {
                    Some(l) if l.state == RefundState::Pending => {
                        let refunded = self.refunded_minor() + l.amount_minor;
                        let to = if refunded >= self.amount.minor {
                            S::Refunded
                        } else {
                            S::PartiallyRefunded
                        };
                        Decision::Move {
                            to,
                            late_success: false,
                        }
                    }
                    Some(l) if l.state == RefundState::Succeeded => {
                        Decision::Stale(StaleReason::Duplicate)
                    }
                    _ => Decision::Stale(StaleReason::Late),
                };
            }
            PaymentEvent::RefundFailed { refund_id } => {
                return match self.refund_line(refund_id) {
                    Some(l) if l.state == RefundState::Pending => Decision::Move {
                        to: self.status,
                        late_success: false,
                    },
                    Some(l) if l.state == RefundState::Failed => {
                        Decision::Stale(StaleReason::Duplicate)
                    }
                    _ => Decision::Stale(StaleReason::Late),
                };
            }
            PaymentEvent::RefundReversed { refund_id } => {
                return match self.refund_line(refund_id) {
                    Some(l) if l.state == RefundState::Succeeded => {
                        let refunded = self.refunded_minor() - l.amount_minor;
                        Decision::Move {
                            to: if refunded > 0 {
                                S::PartiallyRefunded
                            } else {
                                S::Succeeded
                            },
                            late_success: false,
                        }
                    }
                    Some(l) if l.state == RefundState::Reversed => {
                        Decision::Stale(StaleReason::Duplicate)
                    }
                    _ => Decision::Stale(StaleReason::Late),
                };
            }
            PaymentEvent::FraudReported { .. } => {
                return if self.fraud_report.is_some() {
                    Decision::Stale(StaleReason::Duplicate)
                } else {
                    Decision::Move {
                        to: self.status,
                        late_success: false,
                    }
                };
            }
            PaymentEvent::ReviewApproved { .. }
            | PaymentEvent::ReviewDeclined { .. }
            | PaymentEvent::ReviewExpired
            | PaymentEvent::ReviewCanceled => {
                return if self.status == S::RequiresReview {
                    Decision::Move {
                        to: event.target(),
                        late_success: false,
                    }
                } else {
                    Decision::Stale(StaleReason::Late)
                };
            }
            _ => {}
        }
        let to = event.target();
        // A paid payment only moves through its refunds.
        if self.status.is_paid() && self.status != S::Succeeded {
            return Decision::Stale(if *event == PaymentEvent::Succeeded {
                StaleReason::Duplicate
            } else {
                StaleReason::Late
            });
        }
        if self.status == to {
            return Decision::Stale(StaleReason::Duplicate);
        }
        match (self.status, event) {
            // Held for review, nothing was sent to a provider: only a success (money taken
            // is never ignored), the window's end or a cancel move it; approval and decline
            // are decided above.
            (S::RequiresReview, PaymentEvent::Accepted { .. } | PaymentEvent::Failed { .. }) => {
                Decision::Stale(StaleReason::Late)
            }
            (S::RequiresReview | S::Processing, _) => Decision::Move {
                to,
                late_success: false,
            },
            (S::RequiresAction, PaymentEvent::Accepted { .. }) => {
                Decision::Stale(StaleReason::Late)
            }
            (S::RequiresAction, _) => Decision::Move {
                to,
                late_success: false,
            },
            (S::Failed | S::Canceled | S::Expired, PaymentEvent::Succeeded) => Decision::Move {
                to,
                late_success: true,
            },
            _ => Decision::Stale(StaleReason::Late),
        }
    }

    fn record_review(&mut self, decision: crate::risk::ReviewChoice, by: &str, now: Timestamp) {
        if let Some(r) = self.risk.as_mut() {
            r.review = Some(crate::risk::Review {
                decision,
                by: by.to_string(),
                at: now,
            });
        }
    }

    pub fn refund_line(&self, refund_id: &str) -> Option<&RefundLine> {
        self.refunds.iter().find(|l| l.refund_id == refund_id)
    }

    /// The line of a refund, to fill in what the provider said about it.
    pub fn refund_line_mut(&mut self, refund_id: &str) -> Option<&mut RefundLine> {
        self.refunds.iter_mut().find(|l| l.refund_id == refund_id)
    }

    fn set_refund_state(&mut self, refund_id: &str, state: RefundState, now: Timestamp) {
        if let Some(l) = self.refund_line_mut(refund_id) {
            l.state = state;
            l.updated_at = now;
        }
    }

    fn sum_refunds(&self, state: RefundState) -> i64 {
        self.refunds
            .iter()
            .filter(|l| l.state == state)
            .map(|l| l.amount_minor)
            .sum()
    }

    /// Refunded and confirmed.
    pub fn refunded_minor(&self) -> i64 {
        self.sum_refunds(RefundState::Succeeded)
    }

    /// Reserved by refunds still under way.
    pub fn refund_reserved_minor(&self) -> i64 {
        self.sum_refunds(RefundState::Pending)
    }

    /// What can still be refunded: nothing unless paid.
    pub fn refundable_minor(&self) -> i64 {
        if !self.status.is_paid() {
            return 0;
        }
        self.amount.minor - self.refunded_minor() - self.refund_reserved_minor()
    }

    /// Applies `event` if it moves the payment; returns whether it did. The caller writes the
    /// result conditionally on the version it read.
    pub fn apply(&mut self, event: &PaymentEvent, now: Timestamp) -> Decision {
        let decision = self.decide(event);
        if let Decision::Move { to, late_success } = decision {
            self.status = to;
            self.late_success |= late_success;
            match event {
                PaymentEvent::Accepted {
                    provider_reference,
                    next_action,
                } => {
                    self.provider_reference = Some(provider_reference.clone());
                    self.next_action = next_action.clone();
                }
                PaymentEvent::Failed { failure } => {
                    self.failure = Some(failure.clone());
                    self.next_action = None;
                }
                PaymentEvent::Succeeded => {
                    self.failure = None;
                    self.next_action = None;
                }
                PaymentEvent::Expired
                | PaymentEvent::Canceled
                | PaymentEvent::ReviewExpired
                | PaymentEvent::ReviewCanceled => self.next_action = None,
                PaymentEvent::RefundRequested {
                    refund_id,
                    amount_minor,
                } => self.refunds.push(RefundLine {
                    refund_id: refund_id.clone(),
                    amount_minor: *amount_minor,
                    state: RefundState::Pending,
                    reason: RefundReason::Other,
                    merchant_reference: None,
                    failure: None,
                    provider_reference: None,
                    created_at: now,
                    updated_at: now,
                }),
                PaymentEvent::RefundSucceeded { refund_id } => {
                    self.set_refund_state(refund_id, RefundState::Succeeded, now)
                }
                PaymentEvent::RefundFailed { refund_id } => {
                    self.set_refund_state(refund_id, RefundState::Failed, now)
                }
                PaymentEvent::RefundReversed { refund_id } => {
                    self.set_refund_state(refund_id, RefundState::Reversed, now)
                }
                PaymentEvent::ReviewApproved {
                    by,
                    expires_at,
                    provider,
                    reason,
                } => {
                    self.expires_at = *expires_at;
                    self.provider = *provider;
                    self.route.push(RouteStep {
                        provider: *provider,
                        reason: reason.clone(),
                    });
                    self.record_review(crate::risk::ReviewChoice::Approve, by, now);
                }
                PaymentEvent::ReviewDeclined { by, failure } => {
                    self.failure = Some(failure.clone());
                    self.record_review(crate::risk::ReviewChoice::Decline, by, now);
                }
                PaymentEvent::FraudReported { reason } => {
                    self.fraud_report = Some(FraudReport {
                        at: now,
                        reason: reason.clone(),
                    })
                }
            }
            self.updated_at = now;
            self.version += 1;
        }
        decision
    }
}

/// A payment as created, for the crate's tests (IDR 150,000 with DANA via Xendit).
#[cfg(test)]
pub(crate) fn fixture() -> Payment {
    Payment {
        id: PaymentId::new(1, 1),
        merchant_id: MerchantId::new(1, 2),
        merchant_reference: "order-1".into(),
        amount: Money::positive(15_000_000, crate::money::Currency::IDR).unwrap(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::{Failure, FailureCode};
    use proptest::prelude::*;

    fn payment() -> Payment {
        super::fixture()
    }

    fn events() -> impl Strategy<Value = PaymentEvent> {
        prop_oneof![
            Just(PaymentEvent::Accepted {
                provider_reference: "ewc_1".into(),
                next_action: Some(NextAction::Redirect {
                    url: "https://x".into()
                })
            }),
            Just(PaymentEvent::Succeeded),
            Just(PaymentEvent::Failed {
                failure: Failure::new(FailureCode::InsufficientBalance, None)
            }),
            Just(PaymentEvent::Expired),
            Just(PaymentEvent::Canceled),
            (0..3u8, 1..12_000_000i64).prop_map(|(n, amount_minor)| {
                PaymentEvent::RefundRequested {
                    refund_id: format!("ref_{n}"),
                    amount_minor,
                }
            }),
            (0..3u8).prop_map(|n| PaymentEvent::RefundSucceeded {
                refund_id: format!("ref_{n}")
            }),
            (0..3u8).prop_map(|n| PaymentEvent::RefundFailed {
                refund_id: format!("ref_{n}")
            }),
            (0..3u8).prop_map(|n| PaymentEvent::RefundReversed {
                refund_id: format!("ref_{n}")
            }),
        ]
    }

    proptest! {
        /// Whatever arrives, in whatever order and however often: the status never moves to
        /// a lower rank (but for a refund's reversal, which never unpays), a success is never
        /// undone, and a success is never lost.
        #[test]
        fn no_event_ever_moves_a_payment_backwards(seq in proptest::collection::vec(events(), 0..24)) {
            let mut p = payment();
            let mut seen_success = false;
            for (i, e) in seq.iter().enumerate() {
                let before = p.clone();
                let decision = p.apply(e, Timestamp(i as i64 + 1));
                let reversal = matches!(e, PaymentEvent::RefundReversed { .. });
                prop_assert!(reversal || p.status.rank() >= before.status.rank(), "{:?} -> {:?} on {:?}", before.status, p.status, e);
                if reversal && matches!(decision, Decision::Move { .. }) {
                    prop_assert!(p.refunded_minor() < before.refunded_minor());
                    prop_assert_eq!(p.refundable_minor() - before.refundable_minor(), before.refunded_minor() - p.refunded_minor());
                }
                if before.status.is_paid() {
                    prop_assert!(p.status.is_paid(), "paid, then {:?}", p.status);
                }
                match decision {
                    Decision::Move { .. } => prop_assert_eq!(p.version, before.version + 1),
                    Decision::Stale(_) | Decision::Refused(_) => prop_assert_eq!(&p, &before),
                }
                // Refunds never add up to more than was paid, and a refund never un-happens.
                prop_assert!(p.refunded_minor() + p.refund_reserved_minor() <= p.amount.minor);
                prop_assert!(reversal || p.refunded_minor() >= before.refunded_minor());
                if p.refunded_minor() > 0 {
                    prop_assert!(matches!(p.status, PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded));
                } else if p.status.is_paid() {
                    prop_assert_eq!(p.status, PaymentStatus::Succeeded, "nothing refunded: plain succeeded");
                }
                if *e == PaymentEvent::Succeeded {
                    seen_success = true;
                }
                // Applying the same event again changes nothing.
                let again = p.clone();
                let moved = matches!(p.apply(e, Timestamp(1000)), Decision::Move { .. });
                prop_assert!(!moved, "applying {:?} twice moved the payment twice", e);
                prop_assert_eq!(&p, &again);
            }
            prop_assert_eq!(seen_success, p.status.is_paid());
        }
    }

    #[test]
    fn success_after_expiry_is_recorded_as_late_success() {
        let mut p = payment();
        p.apply(&PaymentEvent::Expired, Timestamp(1));
        assert_eq!(p.status, PaymentStatus::Expired);
        let d = p.apply(&PaymentEvent::Succeeded, Timestamp(2));
        assert_eq!(
            d,
            Decision::Move {
                to: PaymentStatus::Succeeded,
                late_success: true
            }
        );
        assert!(p.late_success);
    }

    #[test]
    fn failure_after_success_is_ignored() {
        let mut p = payment();
        p.apply(&PaymentEvent::Succeeded, Timestamp(1));
        let d = p.apply(
            &PaymentEvent::Failed {
                failure: Failure::new(FailureCode::Unknown, None),
            },
            Timestamp(2),
        );
        assert_eq!(d, Decision::Stale(StaleReason::Late));
        assert_eq!(p.status, PaymentStatus::Succeeded);
        assert!(p.failure.is_none());
    }

    #[test]
    fn refunds_reserve_then_settle() {
        let mut p = payment();
        let req = |id: &str, amount_minor| PaymentEvent::RefundRequested {
            refund_id: id.into(),
            amount_minor,
        };
        assert_eq!(
            p.decide(&req("r1", 100)),
            Decision::Refused(RefundRefusal::NotRefundable)
        );
        p.apply(&PaymentEvent::Succeeded, Timestamp(1));
        assert!(matches!(
            p.apply(&req("r1", 10_000_000), Timestamp(2)),
            Decision::Move { .. }
        ));
        assert_eq!(p.refundable_minor(), 5_000_000);
        assert_eq!(
            p.decide(&req("r2", 5_000_001)),
            Decision::Refused(RefundRefusal::ExceedsRefundable {
                refundable_minor: 5_000_000
            })
        );
        assert_eq!(
            p.decide(&req("r1", 10_000_000)),
            Decision::Stale(StaleReason::Duplicate)
        );
        p.apply(&req("r2", 5_000_000), Timestamp(3));
        assert_eq!(p.refundable_minor(), 0);
        p.apply(
            &PaymentEvent::RefundFailed {
                refund_id: "r2".into(),
            },
            Timestamp(4),
        );
        assert_eq!(
            p.refundable_minor(),
            5_000_000,
            "a failed refund gives its reservation back"
        );
        p.apply(
            &PaymentEvent::RefundSucceeded {
                refund_id: "r1".into(),
            },
            Timestamp(5),
        );
        assert_eq!(p.status, PaymentStatus::PartiallyRefunded);
        p.apply(&req("r3", 5_000_000), Timestamp(6));
        p.apply(
            &PaymentEvent::RefundSucceeded {
                refund_id: "r3".into(),
            },
            Timestamp(7),
        );
        assert_eq!(p.status, PaymentStatus::Refunded);
        assert_eq!(p.refunded_minor(), 15_000_000);
        assert_eq!(
            p.decide(&PaymentEvent::Succeeded),
            Decision::Stale(StaleReason::Duplicate)
        );
    }

    #[test]
    fn a_reversed_refund_gives_its_amount_back() {
        let mut p = payment();
        p.apply(&PaymentEvent::Succeeded, Timestamp(1));
        for (id, amount) in [("r1", 10_000_000), ("r2", 5_000_000)] {
            p.apply(
                &PaymentEvent::RefundRequested {
                    refund_id: id.into(),
                    amount_minor: amount,
                },
                Timestamp(2),
            );
            p.apply(
                &PaymentEvent::RefundSucceeded {
                    refund_id: id.into(),
                },
                Timestamp(3),
            );
        }
        assert_eq!(p.status, PaymentStatus::Refunded);
        let reverse = |id: &str| PaymentEvent::RefundReversed {
            refund_id: id.into(),
        };
        assert!(matches!(
            p.apply(&reverse("r2"), Timestamp(4)),
            Decision::Move {
                to: PaymentStatus::PartiallyRefunded,
                ..
            }
        ));
        assert_eq!(p.refundable_minor(), 5_000_000);
        assert_eq!(p.refund_line("r2").unwrap().state, RefundState::Reversed);
        assert_eq!(
            p.decide(&reverse("r2")),
            Decision::Stale(StaleReason::Duplicate)
        );
        p.apply(&reverse("r1"), Timestamp(5));
        assert_eq!(p.status, PaymentStatus::Succeeded);
        assert_eq!(p.refundable_minor(), 15_000_000);
        // Only a refund that was made can be reversed.
        p.apply(
            &PaymentEvent::RefundRequested {
                refund_id: "r3".into(),
                amount_minor: 1_000_000,
            },
            Timestamp(6),
        );
        assert_eq!(p.decide(&reverse("r3")), Decision::Stale(StaleReason::Late));
    }

    #[test]
    fn a_payment_held_for_review_is_approved_declined_expired_or_canceled() {
        let held = || Payment {
            status: PaymentStatus::RequiresReview,
            ..payment()
        };
        let approve = PaymentEvent::ReviewApproved {
            by: "key_1".into(),
            expires_at: Timestamp(5_000),
            provider: Provider::Adyen,
            reason: "approved".into(),
        };
        let mut p = held();
        assert!(matches!(
            p.apply(&approve, Timestamp(10)),
            Decision::Move {
                to: PaymentStatus::Processing,
                ..
            }
        ));
        assert_eq!(p.expires_at, Timestamp(5_000));
        assert_eq!((p.provider, p.route.len()), (Provider::Adyen, 1));
        assert_eq!(p.decide(&approve), Decision::Stale(StaleReason::Late));
        let decline = PaymentEvent::ReviewDeclined {
            by: "key_1".into(),
            failure: Failure::new(FailureCode::RiskRejected, None),
        };
        let mut p = held();
        p.apply(&decline, Timestamp(10));
        assert_eq!(p.status, PaymentStatus::Failed);
        assert_eq!(p.failure.as_ref().unwrap().code, FailureCode::RiskRejected);
        for (e, to) in [
            (PaymentEvent::Expired, PaymentStatus::Expired),
            (PaymentEvent::Canceled, PaymentStatus::Canceled),
        ] {
            let mut p = held();
            p.apply(&e, Timestamp(10));
            assert_eq!(p.status, to);
        }
        // The window's end and a cancel move only a payment still held: an approval that
        // got there first stands.
        let mut approved = held();
        approved.apply(&approve, Timestamp(10));
        for e in [PaymentEvent::ReviewExpired, PaymentEvent::ReviewCanceled] {
            assert_eq!(approved.decide(&e), Decision::Stale(StaleReason::Late));
            let mut p = held();
            assert!(matches!(p.apply(&e, Timestamp(11)), Decision::Move { .. }));
        }
        // No provider was asked: a provider's word about a charge is stale.
        let accepted = PaymentEvent::Accepted {
            provider_reference: "x".into(),
            next_action: None,
        };
        assert_eq!(held().decide(&accepted), Decision::Stale(StaleReason::Late));
        // A fraud report is recorded once and moves no status.
        let mut p = payment();
        p.apply(&PaymentEvent::Succeeded, Timestamp(1));
        let report = PaymentEvent::FraudReported {
            reason: Some("chargeback".into()),
        };
        p.apply(&report, Timestamp(2));
        assert_eq!(p.status, PaymentStatus::Succeeded);
        assert_eq!(p.fraud_report.as_ref().unwrap().at, Timestamp(2));
        assert_eq!(p.decide(&report), Decision::Stale(StaleReason::Duplicate));
    }

    #[test]
    fn phone_is_masked_for_logs() {
        let c = Customer {
            phone: Some("+6281234567890".into()),
            ..Default::default()
        };
        assert_eq!(c.masked_phone().unwrap(), "+**********890");
    }
}
