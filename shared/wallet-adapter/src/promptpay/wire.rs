//! The bank-notification protocol walletpay speaks with a Thai acquiring bank for PromptPay
//! bill payments. Banks differ; this is the one interface an integration with a bank
//! implements (on its side, or in a thin gateway):
//!
//! - `POST /v1/bills` registers a bill (`Idempotency-Key`); `GET /v1/bills` and
//!   `GET /v1/bill-payments` (by `biller_id`, `ref1`, `ref2`) are the inquiry;
//!   `POST /v1/bills/cancel` withdraws an open bill (422 `bill_not_open` once paid,
//!   expired or canceled);
//! - `POST /v1/bill-payments/refunds` (`Idempotency-Key`) answers `succeeded`, `failed` or
//!   `pending`; `GET /v1/bill-payments/refunds/{refund_id}` says where one stands;
//! - signed callbacks (`X-Bank-Signature`): `bill_payment.settled` with the payment, and
//!   `refund.reversed` with a refund the bank made and then had returned.

use serde::{Deserialize, Serialize};

/// A bill walletpay registers with the bank before showing its QR, so the bank refuses a
/// payment of another amount or after the expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bill {
    pub biller_id: String,
    pub ref1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref2: Option<String>,
    /// THB with 2 decimals.
    pub amount: String,
    /// RFC 3339.
    pub expires_at: String,
    /// `open`, `paid`, `expired`, `canceled` (answers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A bill payment as the bank reports it. `amount` is THB with 2 decimals (`"300.00"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillPayment {
    pub transaction_id: String,
    pub biller_id: String,
    pub ref1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref2: Option<String>,
    pub amount: String,
    pub currency: String,
    /// `settled` or `reversed`.
    pub status: String,
    /// RFC 3339.
    pub paid_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_bank: Option<String>,
}

/// The callback body: `{"event": "bill_payment.settled", "data": {bill payment}}` or
/// `{"event": "refund.reversed", "data": {refund}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notification {
    pub event: String,
    pub data: serde_json::Value,
}

/// `POST /v1/bills/cancel`: the bill to withdraw.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BillRefs {
    pub biller_id: String,
    pub ref1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref2: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefundRequest {
    pub biller_id: String,
    pub ref1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref2: Option<String>,
    /// THB with 2 decimals.
    pub amount: String,
    /// Our refund id.
    pub reference: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refund {
    pub refund_id: String,
    pub transaction_id: String,
    /// The bill the refunded payment paid.
    #[serde(default)]
    pub ref1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref2: Option<String>,
    pub amount: String,
    /// `pending`, `succeeded`, `failed`, or `reversed` (made, then returned by the payer's
    /// bank).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    pub reference: String,
}

/// `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}
