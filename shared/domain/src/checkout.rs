//! A hosted checkout session: one order a buyer pays on walletpay's page, with every
//! attempt at paying it (each a payment of its own). A new attempt is started only once
//! every earlier one is final ([`CheckoutSession::may_start`]); its place is reserved in the
//! session (one conditional write) before its payment is made, so no payment of the order
//! can exist that the session does not know of. The session is complete once one attempt
//! succeeded, and open while one may still succeed, even past its expiry.

use crate::catalog::{Country, WalletId};
use crate::ids::{MerchantId, PaymentId, SessionId};
use crate::messages::Lang;
use crate::money::Money;
use crate::payment::{Customer, PaymentStatus};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Open,
    Complete,
    Expired,
}

/// One attempt: the payment it made (none until it is made: the place is reserved first),
/// with the wallet and the status last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<PaymentId>,
    pub wallet: WalletId,
    pub status: PaymentStatus,
    pub created_at: Timestamp,
    /// The first-purchase incentive granted to this attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incentive: Option<crate::incentive::Applied>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutSession {
    pub id: SessionId,
    pub merchant_id: MerchantId,
    pub merchant_reference: String,
    pub amount: Money,
    pub country: Country,
    #[serde(default)]
    pub customer: Customer,
    pub return_url: String,
    pub cancel_url: String,
    /// Where the shop takes cards, offered when no wallet can recover a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_fallback_url: Option<String>,
    /// The wallets the shop allows for this order (none: every wallet of the market).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallets: Option<Vec<WalletId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<Lang>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Oldest first.
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    /// The attempt that paid, once one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_by: Option<PaymentId>,
    /// The order has ended and what it was granted and did not use was released.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub grants_settled: bool,
    /// The order's payment when its grants were settled (a later success settles again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_paid_by: Option<PaymentId>,
    /// Bumped by every write; each write is conditional on the version it read.
    pub version: u64,
}

/// At most this many attempts per session: past them the buyer is better served by the
/// shop (and a page open to anyone cannot be used to make payments without end).
pub const MAX_ATTEMPTS: usize = 20;

/// Why a new attempt cannot start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The order is paid.
    Complete,
    Expired,
    /// Attempt number `n` may still succeed: it must end first.
    Pending(usize),
    /// The shop did not allow this wallet for the order.
    WalletNotAllowed,
    /// [`MAX_ATTEMPTS`] were made.
    TooManyAttempts,
}

impl CheckoutSession {
    /// Complete once paid; expired past its expiry once no attempt may still succeed (an
    /// attempt started just before the expiry can be paid after it).
    pub fn status_at(&self, now: Timestamp) -> SessionStatus {
        if self.paid_by.is_some() {
            SessionStatus::Complete
        } else if now >= self.expires_at && self.attempts.iter().all(|a| a.status.is_terminal()) {
            SessionStatus::Expired
        } else {
            SessionStatus::Open
        }
    }

    pub fn allows(&self, wallet: WalletId) -> bool {
        self.wallets.as_ref().is_none_or(|w| w.contains(&wallet))
    }

    /// Whether an attempt with `wallet` may start now.
    pub fn may_start(&self, wallet: WalletId, now: Timestamp) -> Result<(), Refusal> {
        if self.paid_by.is_some() {
            return Err(Refusal::Complete);
        }
        if now >= self.expires_at {
            return Err(Refusal::Expired);
        }
        if !self.allows(wallet) {
            return Err(Refusal::WalletNotAllowed);
        }
        match self.attempts.iter().position(|a| !a.status.is_terminal()) {
            Some(n) => Err(Refusal::Pending(n)),
            None if self.attempts.len() >= MAX_ATTEMPTS => Err(Refusal::TooManyAttempts),
            None => Ok(()),
        }
    }

    /// Records what an attempt's payment now says; a success completes the session (the
    /// first one only: a later one is a second payment of the same order).
    pub fn observe(&mut self, payment_id: &PaymentId, status: PaymentStatus) -> bool {
        let Some(a) = self
            .attempts
            .iter_mut()
            .find(|a| a.payment_id.as_ref() == Some(payment_id))
        else {
            return false;
        };
        let mut changed = a.status != status;
        a.status = status;
        // Whenever it is seen paid, also at the moment it is linked.
        if status.is_paid() && self.paid_by.is_none() {
            self.paid_by = Some(payment_id.clone());
            changed = true;
        }
        changed
    }

    /// The idempotency key of attempt number `n` (so a retried start makes one payment).
    pub fn attempt_key(&self, n: usize) -> String {
        format!("{}:{n}", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn session() -> CheckoutSession {
        CheckoutSession {
            id: SessionId::new(1, 1),
            merchant_id: MerchantId::new(1, 2),
            merchant_reference: "order-1".into(),
            amount: Money::positive(15_000_000, Currency::IDR).unwrap(),
            country: Country::ID,
            customer: Customer::default(),
            return_url: "https://shop.example/thanks".into(),
            cancel_url: "https://shop.example/cart".into(),
            card_fallback_url: None,
            wallets: Some(vec![WalletId::Dana, WalletId::Ovo]),
            lang: None,
            created_at: Timestamp(0),
            expires_at: Timestamp(1_000),
            attempts: Vec::new(),
            paid_by: None,
            grants_settled: false,
            settled_paid_by: None,
            version: 1,
        }
    }

    #[test]
    fn one_attempt_at_a_time_and_one_success() {
        let mut s = session();
        assert_eq!(s.may_start(WalletId::Dana, Timestamp(1)), Ok(()));
        assert_eq!(
            s.may_start(WalletId::Gopay, Timestamp(1)),
            Err(Refusal::WalletNotAllowed)
        );
        let first = PaymentId::new(1, 7);
        s.attempts.push(Attempt {
            payment_id: Some(first.clone()),
            wallet: WalletId::Dana,
            status: PaymentStatus::Processing,
            created_at: Timestamp(1),
            incentive: None,
        });
        // Unknown outcome: no second attempt until it is final.
        assert_eq!(
            s.may_start(WalletId::Ovo, Timestamp(2)),
            Err(Refusal::Pending(0))
        );
        assert!(s.observe(&first, PaymentStatus::Failed));
        assert_eq!(s.may_start(WalletId::Ovo, Timestamp(3)), Ok(()));
        let second = PaymentId::new(1, 8);
        s.attempts.push(Attempt {
            payment_id: Some(second.clone()),
            wallet: WalletId::Ovo,
            status: PaymentStatus::RequiresAction,
            created_at: Timestamp(3),
            incentive: None,
        });
        assert!(s.observe(&second, PaymentStatus::Succeeded));
        assert_eq!(s.status_at(Timestamp(4)), SessionStatus::Complete);
        assert_eq!(s.paid_by.as_ref(), Some(&second));
        assert_eq!(
            s.may_start(WalletId::Dana, Timestamp(4)),
            Err(Refusal::Complete)
        );
        // Paid already when first recorded: the session completes all the same.
        let mut paid_at_once = session();
        let p = PaymentId::new(1, 9);
        paid_at_once.attempts.push(Attempt {
            payment_id: Some(p.clone()),
            wallet: WalletId::Dana,
            status: PaymentStatus::Succeeded,
            created_at: Timestamp(1),
            incentive: None,
        });
        assert!(paid_at_once.observe(&p, PaymentStatus::Succeeded));
        assert_eq!(
            paid_at_once.status_at(Timestamp(2)),
            SessionStatus::Complete
        );
        // A late success of the first is not the session's payment.
        s.observe(&first, PaymentStatus::Succeeded);
        assert_eq!(s.paid_by.as_ref(), Some(&second));
        assert_eq!(
            session().status_at(Timestamp(1_000)),
            SessionStatus::Expired
        );
        let mut many = session();
        for n in 0..MAX_ATTEMPTS {
            many.attempts.push(Attempt {
                payment_id: Some(PaymentId::new(2, n as u128)),
                wallet: WalletId::Dana,
                status: PaymentStatus::Failed,
                created_at: Timestamp(1),
                incentive: None,
            });
        }
        assert_eq!(
            many.may_start(WalletId::Dana, Timestamp(2)),
            Err(Refusal::TooManyAttempts)
        );
    }
}
