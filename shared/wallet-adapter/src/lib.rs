//! The wallet-adapter crate: one trait for what every wallet provider does, and one folder
//! per provider with the same files in each:
//!
//! - `client.rs`: the adapter (implements [`WalletAdapter`]) over real HTTP,
//! - `wire.rs`: the provider's request and response bodies, field for field,
//! - `mapping.rs`: the provider's statuses and error codes onto our states and failure taxonomy,
//!   and amounts into the provider's convention,
//! - `signature.rs`: how the provider authenticates its webhooks,
//! - `sandbox.rs` (feature `sandbox`): a local simulator of the provider's API.

mod adapter;
pub mod adyen;
pub mod credentials;
pub mod dana;
pub mod midtrans;
pub mod pix;
pub mod promptpay;
#[cfg(feature = "sandbox")]
pub mod sandbox_kit;
pub mod stripe;
pub mod xendit;

pub use adapter::{
    AdapterError, Cancel, ChargeCreated, ChargeRequest, ProviderEvent, ProviderStatus, Recovered,
    RefundOutcome, RefundRequest, RefundUpdate, WalletAdapter, WebhookAck, WebhookError,
    WebhookRequest,
};
