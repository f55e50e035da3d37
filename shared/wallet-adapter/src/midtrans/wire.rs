//! Midtrans Core API bodies (`/v2/charge`, status, refund, cancel, notifications), as far
//! as GoPay, ShopeePay and QRIS read them. Midtrans writes amounts and codes as strings in answers.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransactionDetails {
    pub order_id: String,
    /// Whole rupiah, a JSON integer.
    pub gross_amount: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CustomerDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GopayOptions {
    pub enable_callback: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ShopeepayOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// `qris`: who creates the code and takes the payment (`gopay`, the default, or
/// `airpay shopee`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QrisOptions {
    pub acquirer: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChargeRequest {
    /// `gopay`, `shopeepay` or `qris`.
    pub payment_type: String,
    pub transaction_details: TransactionDetails,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_details: Option<CustomerDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gopay: Option<GopayOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shopeepay: Option<ShopeepayOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qris: Option<QrisOptions>,
    /// When an unpaid charge expires (Midtrans's own default otherwise: GoPay 15 minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_expiry: Option<CustomExpiry>,
}

/// `custom_expiry`: the charge expires `expiry_duration` `unit`s after `order_time` (when
/// absent, after the transaction time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomExpiry {
    /// `yyyy-MM-dd HH:mm:ss +0700`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_time: Option<String>,
    pub expiry_duration: i64,
    /// `second`, `minute` (the default), `hour` or `day`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

impl CustomExpiry {
    /// The duration in seconds, if its unit is one Midtrans knows.
    pub fn seconds(&self) -> Option<i64> {
        let unit = match self.unit.as_deref().unwrap_or("minute") {
            "second" => 1,
            "minute" => 60,
            "hour" => 3600,
            "day" => 86_400,
            _ => return None,
        };
        (self.expiry_duration > 0).then(|| self.expiry_duration.saturating_mul(unit))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Action {
    /// `generate-qr-code`, `deeplink-redirect`, `get-status`, `cancel`.
    pub name: String,
    pub method: String,
    pub url: String,
}

/// The transaction as charge, status and notifications show it. `status_code` is a string
/// (`"201"` pending, `"200"` done, `"202"` denied, `"407"` expired, `"404"` unknown ...),
/// also when the HTTP status is 200.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Transaction {
    pub status_code: String,
    #[serde(default)]
    pub status_message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<String>,
    /// `"3000.00"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gross_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_time: Option<String>,
    /// `pending, settlement, capture, deny, cancel, expire, refund, partial_refund`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraud_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_time: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    /// QRIS: the code itself (an EMV payload), beside the actions' image of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_string: Option<String>,
    /// QRIS: who made the code and takes the payment (`gopay`, `airpay shopee`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquirer: Option<String>,
    /// QRIS, once paid: the wallet or bank that paid the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// QRIS, once paid: `on-us` (paid with the acquirer's own wallet) or `off-us`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_type: Option<String>,
    /// Notifications only: `lowerhex(SHA-512(order_id + status_code + gross_amount + server key))`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_key: Option<String>,
    /// Refund answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_chargeback_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefundRequest {
    /// Our refund id: Midtrans's idempotency key for refunds.
    pub refund_key: String,
    /// Whole rupiah.
    pub amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
