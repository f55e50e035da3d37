//! Stripe PaymentIntents, the aggregator for PromptPay (TH), Pix (BR) and GrabPay (MY, SG).
//!
//! Protocol facts, from Stripe's API reference and official libraries (stripe-go,
//! stripe-node, stripe-python, stripe-dotnet):
//! - `Authorization: Bearer <secret key>`; bodies are `application/x-www-form-urlencoded`
//!   with bracketed keys (`payment_method_types[]=pix`, `metadata[payment_id]=...`).
//! - `POST /v1/payment_intents` with `amount, currency, payment_method_types[],
//!   payment_method_data[type], confirm=true, return_url`; PromptPay needs
//!   `payment_method_data[billing_details][email]`; Pix takes
//!   `payment_method_options[pix][expires_at]` (or `expires_after_seconds`; 10 s to 14 days
//!   ahead).
//! - Amounts in the currency's smallest unit in Stripe's table; for every currency we use
//!   that is the ISO 4217 minor unit (IDR is not zero-decimal at Stripe).
//! - Statuses `requires_payment_method, requires_confirmation, requires_action, processing,
//!   requires_capture, canceled, succeeded`; a failed attempt goes back to
//!   `requires_payment_method` with `last_payment_error`.
//! - `Idempotency-Key` (up to 255 characters): the first answer to a key, even a 500, is
//!   replayed for 24 h; the same key with other parameters is a 400 `idempotency_error`.
//!   Our payment id is the key of its intent, our refund id the key of its refund, so a
//!   retry after an unknown outcome finds what the first call made.
//! - Errors `{"error": {type, code, decline_code, message, param}}`: 400, 401, 402 (payment
//!   errors), 404, 409, 429, 5xx.
//! - `POST /v1/refunds {payment_intent, amount, reason}`; statuses `pending,
//!   requires_action, succeeded, failed, canceled`.
//! - `POST /v1/payment_intents/{id}/cancel` cancels an intent awaiting the customer.
//! - Webhooks: see `signature`; event types `payment_intent.succeeded, .payment_failed,
//!   .canceled, .processing, .requires_action` carry the intent in `data.object`.

mod client;
pub mod mapping;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod settlement;
pub mod signature;
pub mod wire;

pub use client::{Stripe, StripeConfig, StripeCredentials};
pub use mapping::refund_outcome;

/// Test credentials of the Stripe sandbox (documented in the README).
pub const SANDBOX_SECRET_KEY: &str = "sk_test_walletpay_sandbox";
pub const SANDBOX_WEBHOOK_SECRET: &str = "whsec_walletpay_sandbox_signing_secret";
