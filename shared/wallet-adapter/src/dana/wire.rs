//! DANA's SNAP bodies (camelCase), as far as host-to-host debit payments read them.

use serde::{Deserialize, Serialize};

/// `{"value": "150000.00", "currency": "IDR"}`: a decimal string with 2 places.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    pub value: String,
    pub currency: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UrlParam {
    pub url: String,
    /// `PAY_RETURN` or `NOTIFICATION`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `Y` or `N`.
    pub is_deeplink: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrder {
    pub partner_reference_no: String,
    pub merchant_id: String,
    pub amount: Amount,
    /// ISO 8601 with +07:00.
    pub valid_up_to: String,
    pub url_params: Vec<UrlParam>,
}

/// Every answer carries `responseCode` (HTTP status + service code + case) and
/// `responseMessage`; the rest depends on the service.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub response_code: String,
    pub response_message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_reference_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_redirect_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_partner_reference_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_reference_no: Option<String>,
    /// `00` success, `01` initiated, `02` paying, `03` pending, `04` refunded, `05`
    /// cancelled, `06` failed, `07` not found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_transaction_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_status_desc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_refund_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Seconds, as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusQuery {
    pub original_partner_reference_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_reference_no: Option<String>,
    pub merchant_id: String,
    /// `54`: the service the payment was made with.
    pub service_code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundOrder {
    pub original_partner_reference_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_reference_no: Option<String>,
    /// Our refund id: DANA keeps a refund unique per merchant and refund number.
    pub partner_refund_no: String,
    pub merchant_id: String,
    pub refund_amount: Amount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Cancel Order (service 57).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelOrder {
    pub original_partner_reference_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_reference_no: Option<String>,
    pub merchant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// DANA's finish notification (service 56).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notify {
    pub original_partner_reference_no: String,
    pub original_reference_no: String,
    pub merchant_id: String,
    pub amount: Amount,
    pub latest_transaction_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_status_desc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_time: Option<String>,
}
