//! A refund of (part of) a paid payment. Its amount is reserved on the payment's own
//! ledger before any provider call (see `Payment::refundable_minor`), so concurrent refunds
//! can never add up to more than was paid.

use crate::failure::Failure;
use crate::ids::{MerchantId, PaymentId};
use crate::money::Money;
use crate::payment::{Payment, RefundLine, RefundState};
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
        Reversed = "reversed",
    }
);

/// A refund as the API shows it: one line of its payment's refund ledger, with the payment's
/// ids and currency.
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
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Refund {
    /// The refund `line` of `payment`; `None` if the line's id is not a refund id.
    pub fn of(payment: &Payment, line: &RefundLine) -> Option<Refund> {
        Some(Refund {
            id: RefundId::parse(&line.refund_id)?,
            payment_id: payment.id.clone(),
            merchant_id: payment.merchant_id.clone(),
            amount: Money {
                minor: line.amount_minor,
                currency: payment.amount.currency,
            },
            reason: line.reason,
            merchant_reference: line.merchant_reference.clone(),
            status: match line.state {
                RefundState::Pending => RefundStatus::Pending,
                RefundState::Succeeded => RefundStatus::Succeeded,
                RefundState::Failed => RefundStatus::Failed,
                RefundState::Reversed => RefundStatus::Reversed,
            },
            failure: line.failure.clone(),
            provider_reference: line.provider_reference.clone(),
            created_at: line.created_at,
            updated_at: line.updated_at,
        })
    }
}
