//! Xendit on its Payments API v3, the aggregator for Indonesian, Philippine, Vietnamese and
//! Thai wallets and the national QR codes QRIS and QR Ph.
//!
//! Protocol facts, from Xendit's API reference (its OpenAPI pages for the Payments API v3 and
//! refunds), its v3 migration guides and channel pages, and its official SDKs:
//! - HTTP Basic auth with the secret API key as user name and an empty password; every
//!   `/v3` call carries `api-version: 2024-11-11` (the one value the reference lists).
//! - `POST /v3/payment_requests` with `reference_id` (our payment id), `type: PAY`, `country`,
//!   `currency`, `request_amount` (a JSON number in major units: whole rupiah and dong),
//!   `capture_method: AUTOMATIC`, `channel_code` (v3 drops the legacy country prefix:
//!   `DANA`, `OVO`, `SHOPEEPAY`, `LINKAJA`, `QRIS`, `GCASH`, `PAYMAYA`, `GRABPAY`, `QRPH`,
//!   `MOMO`, `ZALOPAY`, `TRUEMONEY`, `LINEPAY`; ShopeePay's code is told apart by
//!   `country`), `channel_properties` (`success_return_url`, `failure_return_url`; for OVO
//!   the account's `mobile_number`). Answer 201: the payment request (`pr-<uuid>`),
//!   `status` (`REQUIRES_ACTION`, `PENDING`, `ACCEPTING_PAYMENTS`, `AUTHORIZED`,
//!   `SUCCEEDED`, `FAILED`, `CANCELED`, `EXPIRED`, read as an open set), `actions[]` of
//!   `{type, descriptor, value}` (`REDIRECT_CUSTOMER` with `WEB_URL` or `DEEPLINK_URL`,
//!   `PRESENT_TO_CUSTOMER` with `QR_STRING`; OVO pushes to the app and answers none).
//! - We send our payment id as `idempotency-key`. The v3 reference does not define the
//!   header (Xendit's other APIs do: the same key and body answer the first request's
//!   object, another body `409 DUPLICATE_ERROR`); a create whose answer was lost is recovered
//!   by sending the same create again under the same key. A 409 is an unknown outcome.
//! - `GET /v3/payment_requests/{id}` reads a request (`latest_payment_id` names its payment,
//!   `GET /v3/payments/{id}`, whose `payment_details.issuer_name` says which wallet or bank
//!   paid a QRIS code). `POST /v3/payment_requests/{id}/cancel` cancels one still waiting;
//!   one no longer active answers 400 `INACTIVE_PAYMENT_REQUEST`.
//! - Errors are `{"error_code", "message"}`: 400 `API_VALIDATION_ERROR`,
//!   `INVALID_VALUE_ERROR`, `PAYMENT_REQUEST_RATE_LIMITED`; 401 (`INVALID_API_KEY` in
//!   Xendit's other v3 APIs); 403 `INVALID_MERCHANT_SETTINGS`, `ACCOUNT_ACCESS_BLOCKED`; 404
//!   `DATA_NOT_FOUND`; 409 (a duplicate); 429 `RATE_LIMIT_EXCEEDED`; 500 `SERVER_ERROR`; 503
//!   `CHANNEL_UNAVAILABLE`, `ISSUER_UNAVAILABLE`.
//! - Webhooks: `{event, business_id, created, data[, api_version]}` with header
//!   `x-callback-token` (the account's verification token; no payload signature, no
//!   timestamp): `payment.capture` and `payment.failure` (`data` is the payment, naming its
//!   `payment_request_id`), `payment_request.expiry`, `refund.succeeded`, `refund.failed`.
//!   Retried at 15 min, 1 h, 3 h, 6 h, 12 h and 24 h until answered 2xx.
//! - Refunds: `POST /refunds` (not under `/v3`) with `payment_request_id`, `reference_id`,
//!   `amount`, `currency`, `reason` and an `idempotency-key`; answer 200 with the refund
//!   (`rfd-<uuid>`, `PENDING`, then `SUCCEEDED` or `FAILED`; `CANCELLED` with two Ls); `GET
//!   /refunds/{id}`. 400 `REFUND_AMOUNT_EXCEEDED`, `REFUND_IN_PROGRESS` (another refund of
//!   the payment is still pending), 403 `REFUND_NOT_SUPPORTED`,
//!   `PARTIAL_REFUND_NOT_SUPPORTED`. No refunds of QR Ph, TrueMoney or LINE Pay payments, nor
//!   of one-off OVO payments; LinkAja in full only; QRIS by the issuer that paid (see
//!   `mapping::qris_refund_refusal`).
//! - UNCONFIRMED, and so decided here: the OVO phone field's name (`mobile_number`, as in
//!   Xendit's v2 and its Go SDK), what a repeated idempotency key answers on v3 (as in its
//!   Payouts v3), the body of `payment_request.expiry` (the request). The sandbox behaves
//!   the same way, so a change is one place to make.

mod client;
pub mod mapping;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod settlement;
pub mod signature;
pub mod wire;

pub use client::API_VERSION;
pub use client::{Xendit, XenditConfig, XenditCredentials};
pub use mapping::{channel_code, failure_from_code, wallet_for_channel};
pub use signature::callback_token_matches;

/// Test credentials of the Xendit sandbox (documented in the README).
pub const SANDBOX_SECRET_KEY: &str = "xnd_development_walletpay_sandbox_key";
pub const SANDBOX_CALLBACK_TOKEN: &str = "walletpay_sandbox_callback_token";
