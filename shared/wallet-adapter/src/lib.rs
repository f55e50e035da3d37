//! The wallet-adapter crate: one trait for what every wallet provider does, and one folder
//! per provider with the same files in each:
//!
//! - `mod.rs`: the provider's protocol facts, in words, and its sandbox test credentials,
//! - `client.rs`: the adapter (implements [`WalletAdapter`]) over real HTTP,
//! - `wire.rs`: the provider's request and response bodies, field for field,
//! - `mapping.rs`: the provider's statuses and error codes onto our states and failure taxonomy,
//!   and amounts and references into the provider's convention,
//! - `signature.rs`: how the provider authenticates its webhooks (and, where it signs our
//!   requests too, how we sign them),
//! - `settlement.rs`: the provider's settlement data of a day, read from its own source and
//!   format into typed rows (the shared parts are in [`settlement`]),
//! - `sandbox/` (feature `sandbox`): a local simulator of the provider's API: `mod.rs` its
//!   state and router, `api.rs` the provider's endpoints, `simulate.rs` settling charges and
//!   refunds (the shared page and `simulate` are in [`sandbox_kit`]), `report.rs` its
//!   settlement report.
//!
//! Beside them: [`credentials`] (reading and checking each provider's secret) and
//! [`signed_header`] (the timestamped HMAC header Stripe, the PromptPay bank and our own
//! notifications share).

mod adapter;
pub mod adyen;
pub mod credentials;
pub mod dana;
pub mod midtrans;
pub mod pix;
pub mod promptpay;
#[cfg(feature = "sandbox")]
pub mod sandbox_kit;
pub mod settlement;
pub mod signed_header;
pub mod stripe;
pub mod tls;
pub mod xendit;

pub use adapter::{
    AdapterError, Cancel, ChargeCreated, ChargeRequest, ProviderEvent, ProviderStatus, Recovered,
    RefundCheck, RefundOutcome, RefundRequest, RefundSupport, RefundUpdate, ReportAnnounced,
    WalletAdapter, WebhookAck, WebhookError, WebhookRequest,
};
pub use settlement::{RowSink, SettlementDay, SettlementError, SourceRead};
