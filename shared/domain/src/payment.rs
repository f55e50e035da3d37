//! A payment and its state machine.
//!
//! ```text
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

use crate::catalog::{Country, Provider, WalletId};
use crate::failure::Failure;
use crate::ids::{MerchantId, PaymentId};
use crate::money::Money;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Sent to the provider, outcome not yet known.
    Processing,
    /// The customer has to approve in the wallet (see `next_action`).
    RequiresAction,
    Succeeded,
    Failed,
    Canceled,
    Expired,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 6] = [
        PaymentStatus::Processing,
        PaymentStatus::RequiresAction,
        PaymentStatus::Succeeded,
        PaymentStatus::Failed,
        PaymentStatus::Canceled,
        PaymentStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Processing => "processing",
            PaymentStatus::RequiresAction => "requires_action",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Canceled => "canceled",
            PaymentStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        !matches!(
            self,
            PaymentStatus::Processing | PaymentStatus::RequiresAction
        )
    }

    /// Position along the state machine: a status never moves to a lower rank.
    pub fn rank(self) -> u8 {
        match self {
            PaymentStatus::Processing => 0,
            PaymentStatus::RequiresAction => 1,
            PaymentStatus::Failed | PaymentStatus::Canceled | PaymentStatus::Expired => 2,
            PaymentStatus::Succeeded => 3,
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
    /// Bumped by every write; every update is conditional on the version it read.
    pub version: u64,
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
}

impl PaymentEvent {
    pub fn name(&self) -> &'static str {
        match self {
            PaymentEvent::Accepted { .. } => "accepted",
            PaymentEvent::Succeeded => "succeeded",
            PaymentEvent::Failed { .. } => "failed",
            PaymentEvent::Expired => "expired",
            PaymentEvent::Canceled => "canceled",
        }
    }

    fn target(&self) -> PaymentStatus {
        match self {
            PaymentEvent::Accepted { .. } => PaymentStatus::RequiresAction,
            PaymentEvent::Succeeded => PaymentStatus::Succeeded,
            PaymentEvent::Failed { .. } => PaymentStatus::Failed,
            PaymentEvent::Expired => PaymentStatus::Expired,
            PaymentEvent::Canceled => PaymentStatus::Canceled,
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
}

impl Payment {
    /// Decides what `event` does to this payment; pure, so every writer decides the same.
    pub fn decide(&self, event: &PaymentEvent) -> Decision {
        use PaymentStatus as S;
        let to = event.target();
        if self.status == to {
            return Decision::Stale(StaleReason::Duplicate);
        }
        match (self.status, event) {
            (S::Processing, _) => Decision::Move {
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
                PaymentEvent::Expired | PaymentEvent::Canceled => self.next_action = None,
            }
            self.updated_at = now;
            self.version += 1;
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::{Failure, FailureCode};
    use crate::money::Currency;
    use proptest::prelude::*;

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
            version: 1,
        }
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
        ]
    }

    proptest! {
        /// Whatever arrives, in whatever order and however often: the status never moves to
        /// a lower rank, a success is never undone, and a success is never lost.
        #[test]
        fn no_event_ever_moves_a_payment_backwards(seq in proptest::collection::vec(events(), 0..24)) {
            let mut p = payment();
            let mut seen_success = false;
            for (i, e) in seq.iter().enumerate() {
                let before = p.clone();
                let decision = p.apply(e, Timestamp(i as i64 + 1));
                prop_assert!(p.status.rank() >= before.status.rank(), "{:?} -> {:?} on {:?}", before.status, p.status, e);
                if before.status == PaymentStatus::Succeeded {
                    prop_assert_eq!(p.status, PaymentStatus::Succeeded);
                }
                match decision {
                    Decision::Move { .. } => prop_assert_eq!(p.version, before.version + 1),
                    Decision::Stale(_) => prop_assert_eq!(&p, &before),
                }
                if *e == PaymentEvent::Succeeded {
                    seen_success = true;
                }
                // Applying the same event again changes nothing.
                let again = p.clone();
                prop_assert!(matches!(p.apply(e, Timestamp(1000)), Decision::Stale(_)));
                prop_assert_eq!(&p, &again);
            }
            prop_assert_eq!(seen_success, p.status == PaymentStatus::Succeeded);
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
    fn phone_is_masked_for_logs() {
        let c = Customer {
            phone: Some("+6281234567890".into()),
            ..Default::default()
        };
        assert_eq!(c.masked_phone().unwrap(), "+**********890");
    }
}
