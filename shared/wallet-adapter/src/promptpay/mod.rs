//! PromptPay without an aggregator (Thailand): walletpay builds the dynamic bill-payment QR
//! (EMVCo tag 30: the merchant's biller id, our payment as references, the amount; see
//! `walletpay_domain::emv`), the payer's banking app pays it, and the merchant's acquiring
//! bank confirms through the bank-notification protocol in `wire` (a signed callback, an
//! inquiry by reference, refunds).

mod client;
pub mod mapping;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod settlement;
pub mod signature;
pub mod wire;

pub use client::{PromptPay, PromptPayConfig, PromptPayCredentials};
pub use mapping::{payment_of, references};

/// Test credentials of the sandbox bank (documented in the README).
pub const SANDBOX_API_KEY: &str = "bank_test_walletpay_sandbox";
pub const SANDBOX_WEBHOOK_SECRET: &str = "bank_whsec_walletpay_sandbox_callbacks";
pub const SANDBOX_BILLER_ID: &str = "010753600031508";
