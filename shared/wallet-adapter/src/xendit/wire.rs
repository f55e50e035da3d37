//! Xendit's bodies, field for field. Amounts travel as JSON numbers; we read and write them
//! as raw number literals, never through a float.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

#[derive(Debug, Serialize, Deserialize)]
pub struct CreateChargeBody {
    pub reference_id: String,
    pub currency: String,
    pub amount: Box<RawValue>,
    pub checkout_method: String,
    pub channel_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_properties: Option<ChannelProperties>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ChannelProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_redirect_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_redirect_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_redirect_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_number: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Actions {
    pub desktop_web_checkout_url: Option<String>,
    pub mobile_web_checkout_url: Option<String>,
    pub mobile_deeplink_checkout_url: Option<String>,
    pub qr_checkout_string: Option<String>,
}

/// The charge object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Charge {
    pub id: String,
    pub business_id: String,
    pub reference_id: String,
    pub status: String,
    pub currency: String,
    pub charge_amount: Box<RawValue>,
    pub capture_amount: Option<Box<RawValue>>,
    pub refunded_amount: Option<Box<RawValue>>,
    pub checkout_method: String,
    pub channel_code: String,
    pub channel_properties: Option<ChannelProperties>,
    pub actions: Option<Actions>,
    pub is_redirect_required: bool,
    pub callback_url: Option<String>,
    pub created: String,
    pub updated: String,
    pub void_status: Option<String>,
    pub voided_at: Option<String>,
    pub capture_now: bool,
    pub customer_id: Option<String>,
    pub payment_method_id: Option<String>,
    pub failure_code: Option<String>,
    pub basket: Option<serde_json::Value>,
    pub metadata: Option<serde_json::Value>,
}

/// The callback body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Callback {
    pub event: String,
    pub business_id: String,
    pub created: String,
    #[serde(default)]
    pub api_version: Option<String>,
    pub data: Charge,
}

/// Every error answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error_code: String,
    pub message: String,
}

/// `POST /ewallets/charges/{id}/refunds`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CreateRefundBody {
    pub amount: Box<RawValue>,
    /// `REQUESTED_BY_CUSTOMER`, `DUPLICATE`, `FRAUDULENT`, `CANCELLATION`, `OTHERS`.
    pub reason: String,
}

/// The refund object (field names after Xendit's e-wallet refund reference; not confirmed
/// by an official SDK).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefundObject {
    pub id: String,
    pub charge_id: String,
    pub status: String,
    pub currency: String,
    pub channel_code: String,
    pub capture_amount: Box<RawValue>,
    pub refund_amount: Box<RawValue>,
    pub reason: String,
    pub failure_code: Option<String>,
    pub created: String,
    pub updated: String,
}
