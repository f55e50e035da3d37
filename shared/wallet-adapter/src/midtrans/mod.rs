//! Midtrans Core API, the aggregator for GoPay and ShopeePay in Indonesia.
//!
//! Protocol facts, from Midtrans's API reference and official clients (midtrans-nodejs-client,
//! midtrans-php, midtrans-python-client):
//! - `Authorization: Basic base64(server key + ":")`.
//! - `POST /v2/charge` with `payment_type` (`gopay`, `shopeepay`), `transaction_details
//!   {order_id, gross_amount}` (whole rupiah, a JSON integer; decimals are refused),
//!   `gopay {enable_callback, callback_url}` / `shopeepay {callback_url}`.
//! - Answers carry `status_code` as a string, often with HTTP 200 even for errors: `201`
//!   pending, `200` done, `202` denied, `407` expired, `400` validation, `401` bad key, `402`
//!   channel not activated, `404` unknown order, `406` duplicate order id, `412`/`414`
//!   refund refused, `5xx` server errors. `transaction_status`: `pending, settlement,
//!   capture, deny, cancel, expire, refund, partial_refund`. GoPay answers `actions`
//!   `generate-qr-code`, `deeplink-redirect`, `get-status`, `cancel`.
//! - `GET /v2/{order_id}/status` (by our own id), `POST /v2/{order_id}/cancel`,
//!   `POST /v2/{order_id}/refund {refund_key, amount, reason}` (`refund_key` is the
//!   idempotency key).
//! - Notifications: the transaction as JSON with `signature_key` (see `signature`); no
//!   timestamp, so the adapter only lets a verified one trigger a status check.
//! - Midtrans reports a failed GoPay/ShopeePay payment only as `deny`, `cancel` or `expire`:
//!   the finer failure categories (insufficient balance, limits, ...) cannot be told apart.

mod client;
pub mod mapping;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod settlement;
pub mod signature;
pub mod wire;

pub use client::{Midtrans, MidtransConfig, MidtransCredentials};

/// Test credentials of the Midtrans sandbox (documented in the README).
pub const SANDBOX_SERVER_KEY: &str = "SB-Mid-server-walletpay-sandbox-key";
