//! Xendit e-wallet charges (`/ewallets/charges`), the aggregator for Indonesian, Philippine,
//! Vietnamese and Thai wallets.
//!
//! Protocol facts, from Xendit's API reference and official SDKs (xendit-node,
//! xendit-python, xendit-java):
//! - HTTP Basic auth with the secret API key as user name and an empty password.
//! - `POST /ewallets/charges` with `reference_id, currency, amount, checkout_method
//!   ("ONE_TIME_PAYMENT"), channel_code, channel_properties, metadata`; the answer is the
//!   charge object (`id` = `ewc_<uuid>`), `status: "PENDING"`. The success code is not stated
//!   in a primary source (the SDKs accept any 2xx; their mocks answer 200): we accept any 2xx.
//! - Amounts are JSON numbers in major units (whole rupiah for IDR; IDR minimum 100, PHP 1).
//! - `GET /ewallets/charges/{id}` reads a charge. Statuses: `PENDING`, `SUCCEEDED`, `FAILED`,
//!   `VOIDED` (`VOIDED`/`REFUNDED` appear only in third-party typings).
//! - Errors are `{"error_code", "message"}`: 400 `API_VALIDATION_ERROR`,
//!   `UNSUPPORTED_CURRENCY`; 401 `INVALID_API_KEY`, `INVALID_MERCHANT_CREDENTIALS`; 403
//!   `CHANNEL_NOT_ACTIVATED`, `REQUEST_FORBIDDEN_ERROR`; 404 `DATA_NOT_FOUND` (unconfirmed
//!   for e-wallets); 429 `CHARGE_LIMIT_EXCEEDED`; 500 `SERVER_ERROR`; 503 `CHANNEL_UNAVAILABLE`.
//! - Callbacks: `{"event": "ewallet.capture", "business_id", "created", "data": <charge>}`
//!   with header `x-callback-token` = the account's verification token; no timestamp or
//!   payload signature. Retried on non-2xx at 15 min, 1 h, 3 h, 6 h, 12 h, 24 h.
//! - Failure codes in callbacks: `ACCOUNT_ACCESS_BLOCKED, INVALID_MERCHANT_CREDENTIALS,
//!   USER_DECLINED_PAYMENT, INVALID_ACCOUNT_DETAILS, MAXIMUM_LIMIT_REACHED, USER_UNREACHABLE,
//!   CHANNEL_UNAVAILABLE, INSUFFICIENT_BALANCE, ACCOUNT_NOT_ACTIVATED` (Xendit's e-wallet test
//!   scenarios); `SERVER_ERROR, PARTNER_TIMEOUT_ERROR, TIMEOUT_ERROR` appear in Xendit's
//!   payment-request failure codes and `USER_DID_NOT_AUTHORIZE_THE_PAYMENT` in its legacy
//!   e-wallet API; we map them too.
//! - An idempotency header for this endpoint is not documented: the `reference_id` (our
//!   payment id) is the merchant's key, and our own idempotency layer guarantees one charge
//!   per payment.

mod client;
pub mod mapping;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod signature;
pub mod wire;

pub use client::{Xendit, XenditConfig, XenditCredentials};
pub use mapping::{channel_code, failure_from_code, wallet_for_channel};
pub use signature::callback_token_matches;

/// Test credentials of the Xendit sandbox (documented in the README).
pub const SANDBOX_SECRET_KEY: &str = "xnd_development_walletpay_sandbox_key";
pub const SANDBOX_CALLBACK_TOKEN: &str = "walletpay_sandbox_callback_token";
