//! Stripe's PaymentIntent, Refund and Event bodies, as far as the wallet flows read them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub object: String,
    pub amount: i64,
    #[serde(default)]
    pub amount_received: i64,
    /// Lower case (`thb`, `brl`, `myr`, `sgd`).
    pub currency: String,
    pub status: String,
    #[serde(default)]
    pub next_action: Option<NextAction>,
    #[serde(default)]
    pub last_payment_error: Option<StripeError>,
    #[serde(default)]
    pub cancellation_reason: Option<String>,
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub payment_method_types: Vec<String>,
    pub created: i64,
    #[serde(default)]
    pub livemode: bool,
}

/// `next_action`: the one field named by `type` is set.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NextAction {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_to_url: Option<RedirectToUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promptpay_display_qr_code: Option<DisplayQrCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pix_display_qr_code: Option<DisplayQrCode>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedirectToUrl {
    pub url: String,
    #[serde(default)]
    pub return_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DisplayQrCode {
    /// The raw EMV payload to render as a QR code.
    pub data: String,
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub hosted_instructions_url: Option<String>,
    #[serde(default)]
    pub image_url_png: Option<String>,
    #[serde(default)]
    pub image_url_svg: Option<String>,
}

/// The error object, in `{"error": ...}` answers and in `last_payment_error`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StripeError {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: StripeError,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refund {
    pub id: String,
    pub object: String,
    pub amount: i64,
    pub currency: String,
    pub payment_intent: Option<String>,
    /// `pending`, `requires_action`, `succeeded`, `failed`, `canceled`.
    pub status: String,
    #[serde(default)]
    pub failure_reason: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
    pub created: i64,
}

/// `{"object": "list", "data": [...], "has_more", "url"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct List<T> {
    pub object: String,
    pub data: Vec<T>,
    pub has_more: bool,
    pub url: String,
}

/// A webhook event; `data.object` is a PaymentIntent or a Refund depending on `type`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub object: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created: i64,
    #[serde(default)]
    pub livemode: bool,
    #[serde(default)]
    pub api_version: Option<String>,
    pub data: EventData,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

/// `GET /v1/reporting/report_types/{id}`: through when a report type has data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportType {
    pub id: String,
    pub object: String,
    pub data_available_start: i64,
    pub data_available_end: i64,
    #[serde(default)]
    pub version: i64,
}

/// A report run (`frr_...`): `pending`, then `succeeded` with its file, or `failed`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportRun {
    pub id: String,
    pub object: String,
    pub report_type: String,
    pub status: String,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub result: Option<ReportFile>,
    #[serde(default)]
    pub parameters: ReportParameters,
    pub created: i64,
    #[serde(default)]
    pub succeeded_at: Option<i64>,
}

/// A run's parameters (the interval, Unix seconds, the end exclusive).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_start: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_end: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_account: Option<String>,
}

/// The file a run made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportFile {
    pub id: String,
    pub object: String,
    #[serde(default)]
    pub filename: Option<String>,
    pub url: String,
    #[serde(default)]
    pub size: Option<u64>,
}
