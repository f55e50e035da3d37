//! The API's representation of a payment.

use serde::Serialize;
use walletpay_domain::{Failure, NextAction, Payment, Timestamp};

#[derive(Debug, Serialize)]
pub struct PaymentView<'a> {
    pub id: &'a str,
    pub object: &'static str,
    pub status: &'static str,
    pub amount: i64,
    /// Refunded and confirmed so far.
    pub amount_refunded: i64,
    /// What can still be refunded (0 unless paid).
    pub amount_refundable: i64,
    pub currency: &'static str,
    pub country: &'static str,
    pub wallet: &'static str,
    pub provider: &'static str,
    pub provider_reference: Option<&'a str>,
    pub next_action: Option<&'a NextAction>,
    pub failure: Option<&'a Failure>,
    pub merchant_reference: &'a str,
    pub description: Option<&'a str>,
    pub late_success: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Timestamp,
}

impl<'a> PaymentView<'a> {
    pub fn of(p: &'a Payment) -> Self {
        PaymentView {
            id: p.id.as_str(),
            object: "payment",
            status: p.status.as_str(),
            amount: p.amount.minor,
            amount_refunded: p.refunded_minor(),
            amount_refundable: p.refundable_minor(),
            currency: p.amount.currency.code(),
            country: p.country.as_str(),
            wallet: p.wallet.as_str(),
            provider: p.provider.as_str(),
            provider_reference: p.provider_reference.as_deref(),
            next_action: p.next_action.as_ref(),
            failure: p.failure.as_ref(),
            merchant_reference: &p.merchant_reference,
            description: p.description.as_deref(),
            late_success: p.late_success,
            created_at: p.created_at,
            updated_at: p.updated_at,
            expires_at: p.expires_at,
        }
    }
}

pub fn payment_json(p: &Payment) -> String {
    serde_json::to_string(&PaymentView::of(p)).expect("a payment view serialises")
}
