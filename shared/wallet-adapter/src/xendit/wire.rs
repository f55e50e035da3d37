//! Xendit's Payments API v3 bodies (payment requests, payments, webhooks) and its unified
//! refunds, field for field. Amounts travel as JSON numbers in major units; we read and write
//! them as raw number literals, never through a float. What we read is read leniently
//! (Xendit's examples disagree on which fields are present), what we send exactly.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// `POST /v3/payment_requests` (a one-off `PAY`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatePaymentRequest {
    pub reference_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub country: String,
    pub currency: String,
    pub request_amount: Box<RawValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_method: Option<String>,
    pub channel_code: String,
    #[serde(default)]
    pub channel_properties: ChannelProperties,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// What a channel needs beside the amount: where to bring the customer back, and for OVO
/// the account's mobile number.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_return_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_return_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_return_url: Option<String>,
    /// E.164 (`+628123456789`): the OVO account the payment is pushed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_number: Option<String>,
}

/// One thing the customer is to do: `{type, descriptor, value}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// `REDIRECT_CUSTOMER`, `PRESENT_TO_CUSTOMER`, `API_POST_REQUEST`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `WEB_URL`, `DEEPLINK_URL`, `QR_STRING`, `PAYMENT_CODE`, ...
    pub descriptor: String,
    pub value: String,
}

/// The payment request object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentRequest {
    pub payment_request_id: String,
    #[serde(default)]
    pub business_id: String,
    pub reference_id: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub country: String,
    pub currency: String,
    pub request_amount: Box<RawValue>,
    #[serde(default)]
    pub capture_method: Option<String>,
    pub channel_code: String,
    #[serde(default)]
    pub channel_properties: Option<ChannelProperties>,
    #[serde(default)]
    pub actions: Vec<Action>,
    /// `REQUIRES_ACTION`, `PENDING`, `ACCEPTING_PAYMENTS`, `AUTHORIZED`, `SUCCEEDED`,
    /// `FAILED`, `CANCELED`, `EXPIRED` (read as an open set).
    pub status: String,
    #[serde(default)]
    pub failure_code: Option<String>,
    /// The payment made against this request (`py-...`), once there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_payment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub updated: String,
}

/// One capture of a payment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Capture {
    pub capture_id: String,
    pub capture_amount: Box<RawValue>,
    #[serde(default)]
    pub capture_timestamp: Option<String>,
}

/// How a payment was paid (for QRIS, the issuing wallet or bank).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct PaymentDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_id: Option<String>,
}

/// The payment object: `GET /v3/payments/{payment_id}` and the `data` of payment webhooks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payment {
    pub payment_id: String,
    #[serde(default)]
    pub business_id: String,
    pub reference_id: String,
    pub payment_request_id: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub country: String,
    pub currency: String,
    pub request_amount: Box<RawValue>,
    #[serde(default)]
    pub capture_method: Option<String>,
    pub channel_code: String,
    #[serde(default)]
    pub captures: Vec<Capture>,
    /// `PENDING`, `AUTHORIZED`, `SUCCEEDED`, `FAILED`, `CANCELED`, `EXPIRED`.
    pub status: String,
    #[serde(default)]
    pub payment_details: Option<PaymentDetails>,
    #[serde(default)]
    pub failure_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub updated: String,
}

/// A webhook: `{event, business_id, created, data[, api_version]}`; `data` is read by the
/// event's kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Webhook {
    pub event: String,
    #[serde(default)]
    pub business_id: String,
    #[serde(default)]
    pub created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Read by the event's kind, from its raw text (amounts never through a float).
    pub data: Box<RawValue>,
}

/// Every error answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error_code: String,
    pub message: String,
}

/// `POST /refunds`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateRefund {
    pub payment_request_id: String,
    /// Our refund id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    /// `None`: whatever is left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// `REQUESTED_BY_CUSTOMER`, `DUPLICATE`, `FRAUDULENT`, `CANCELLATION`, `OTHERS`.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// The refund object (`rfd-...`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refund {
    pub id: String,
    #[serde(default)]
    pub payment_request_id: Option<String>,
    #[serde(default)]
    pub payment_id: Option<String>,
    #[serde(default)]
    pub reference_id: Option<String>,
    #[serde(default)]
    pub channel_code: String,
    pub currency: String,
    pub amount: Box<RawValue>,
    /// `PENDING`, `SUCCEEDED`, `FAILED`, `CANCELLED`.
    pub status: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub failure_code: Option<String>,
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub updated: String,
}

/// `GET /refunds?payment_request_id=` (a page, as Xendit's Go SDK reads it).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RefundList {
    #[serde(default)]
    pub data: Vec<Refund>,
    #[serde(default)]
    pub has_more: bool,
}

/// `POST /v3/payment_requests/{id}/simulate` (test mode): pay the request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimulatePayment {
    pub amount: Box<RawValue>,
}

/// Its answer: the outcome follows by webhook.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimulateAnswer {
    pub status: String,
    pub message: String,
}

/// `GET /transactions`: a page of the account's transactions, oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TransactionList {
    /// Required: an answer without its list is no answer (never an empty day).
    pub data: Vec<Transaction>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub links: Vec<Value>,
}

/// One transaction of the Transaction Service: amounts are JSON numbers in major units (an
/// older example writes them as strings), read as their literal text.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transaction {
    pub id: String,
    #[serde(default)]
    pub product_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    #[serde(default)]
    pub channel_category: Option<String>,
    #[serde(default)]
    pub channel_code: Option<String>,
    #[serde(default)]
    pub reference_id: Option<String>,
    pub currency: String,
    pub amount: Box<RawValue>,
    pub net_amount: Box<RawValue>,
    #[serde(default)]
    pub net_amount_currency: Option<String>,
    /// `MONEY_IN` or `MONEY_OUT`.
    pub cashflow: String,
    #[serde(default)]
    pub settlement_status: Option<String>,
    #[serde(default)]
    pub estimated_settlement_time: Option<String>,
    #[serde(default)]
    pub business_id: String,
    pub created: String,
    #[serde(default)]
    pub updated: String,
    #[serde(default)]
    pub fee: Option<TransactionFee>,
    #[serde(default)]
    pub product_data: Option<ProductData>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransactionFee {
    pub xendit_fee: Box<RawValue>,
    pub value_added_tax: Box<RawValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xendit_withholding_tax: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_party_withholding_tax: Option<Box<RawValue>>,
    #[serde(default)]
    pub status: String,
}

/// The Payments API v3 objects a transaction belongs to.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProductData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_id: Option<String>,
}
