//! Adyen Checkout API bodies (v71) and standard webhook notifications, as far as the wallet
//! flows read them. Adyen names fields in camelCase.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    pub currency: walletpay_domain::Currency,
    /// Minor units in Adyen's exponent for the currency.
    pub value: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentMethod {
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequest {
    pub merchant_account: String,
    pub amount: Amount,
    /// Our payment id.
    pub reference: String,
    pub payment_method: PaymentMethod,
    pub return_url: String,
    pub country_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shopper_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telephone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shopper_statement: Option<String>,
}

/// `action`: what the shopper does next.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    /// `redirect`, `qrCode`, `await`, `sdk`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_code_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentResponse {
    /// `Authorised, Refused, Received, Pending, RedirectShopper, PresentToShopper,
    /// Cancelled, Error`, ...
    pub result_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psp_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal_reason_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    pub merchant_account: String,
    pub amount: Amount,
    /// Our refund id.
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_refund_reason: Option<String>,
}

/// The answer to a modification (refund, cancel): a receipt, the outcome comes by webhook.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationResponse {
    pub merchant_account: String,
    pub payment_psp_reference: String,
    /// The modification's own reference.
    pub psp_reference: String,
    #[serde(default)]
    pub reference: Option<String>,
    /// `received`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelRequest {
    pub merchant_account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// `{"status", "errorCode", "message", "errorType", "pspReference"}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub status: u16,
    pub error_code: String,
    pub message: String,
    pub error_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psp_reference: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub live: String,
    pub notification_items: Vec<NotificationItemWrapper>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotificationItemWrapper {
    #[serde(rename = "NotificationRequestItem")]
    pub item: NotificationRequestItem,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRequestItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_data: Option<std::collections::BTreeMap<String, String>>,
    pub amount: NotificationAmount,
    pub event_code: String,
    #[serde(default)]
    pub event_date: String,
    pub merchant_account_code: String,
    /// For a payment: our payment id. For a modification: the original payment's reference.
    pub merchant_reference: String,
    /// For a modification: the original payment's `pspReference`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_reference: Option<String>,
    pub psp_reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<String>,
    #[serde(default)]
    pub reason: String,
    /// `"true"` or `"false"`.
    pub success: String,
}

/// Notification amounts keep the currency as a plain string (it is signed as sent).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotificationAmount {
    pub currency: String,
    pub value: i64,
}
