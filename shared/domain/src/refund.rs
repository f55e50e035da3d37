//! A refund of (part of) a paid payment. Its amount is reserved on the payment's own
//! ledger before any provider call (see `Payment::refundable_minor`), so concurrent refunds
//! can never add up to more than was paid.

use crate::failure::Failure;
use crate::ids::{MerchantId, PaymentId};
use crate::money::Money;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

prefixed_id!(
    /// A refund: `ref_...`.
    RefundId,
    "ref_"
);

string_enum!(
    /// Why the shop refunds.
    RefundReason {
        RequestedByCustomer = "requested_by_customer",
        Duplicate = "duplicate",
        Fraudulent = "fraudulent",
        Other = "other",
    }
);

string_enum!(
    RefundStatus {
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: RefundId,
    pub payment_id: PaymentId,
    pub merchant_id: MerchantId,
    pub amount: Money,
    pub reason: RefundReason,
    pub merchant_reference: Option<String>,
    pub status: RefundStatus,
    pub failure: Option<Failure>,
    /// The provider's id for this refund, once it has one.
    pub provider_reference: Option<String>,
    /// Provider calls made so far (the worker backs off between them).
    pub attempts: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

impl Refund {
    /// Moves a pending refund to a final status; false if it was already final.
    pub fn settle(
        &mut self,
        status: RefundStatus,
        failure: Option<Failure>,
        now: Timestamp,
    ) -> bool {
        if self.status != RefundStatus::Pending || status == RefundStatus::Pending {
            return false;
        }
        self.status = status;
        self.failure = failure;
        self.updated_at = now;
        self.version += 1;
        true
    }
}
