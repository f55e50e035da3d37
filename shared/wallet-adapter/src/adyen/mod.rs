//! Adyen Checkout (API v71), the aggregator for DANA and GoPay (ID), GCash (PH), MoMo (VN),
//! Touch 'n Go and GrabPay (MY), TrueMoney (TH) and Pix (BR).
//!
//! Protocol facts, from Adyen's API explorer and official libraries (adyen-node-api-library,
//! adyen-go-api-library, adyen-php-api-library, adyen-java-api-library):
//! - `X-API-Key` header; `Idempotency-Key` (up to 64 characters, kept at least 31 days).
//! - `POST /payments` with `merchantAccount, amount{currency, value}, reference,
//!   paymentMethod{type}, returnUrl, countryCode`; types used here: `dana, gopay_wallet,
//!   gcash, momo_wallet, touchngo, grabpay_MY, truemoney, pix` (`truemoney` and the
//!   `grabpay_*` names come from Adyen's payment-method list, not from a library).
//! - Amounts in Adyen's own exponent table (Java library `Util.getDecimalPlaces`): IDR and
//!   VND have 0 decimals, the others here 2. IDR 150,000 is `value: 150000`.
//! - Answer: `resultCode` (Authorised, Refused, Received, Pending, RedirectShopper,
//!   PresentToShopper, Cancelled, Error), `pspReference`, `action` (`redirect {url,
//!   method}`, `qrCode {qrCodeData, url, expiresAt}`, `await`), `refusalReason`.
//! - No payment or refund lookup in the Checkout API: outcomes come by webhook
//!   (AUTHORISATION, OFFER_CLOSED, CANCELLATION, REFUND, REFUND_FAILED), which Adyen retries
//!   until it is accepted. A create that timed out is recovered by repeating it under the
//!   same `Idempotency-Key`.
//! - `POST /payments/{pspReference}/refunds {merchantAccount, amount, reference,
//!   merchantRefundReason}` answers `status: "received"`. The REFUND notification carries
//!   the refund's `pspReference`, the payment's as `originalReference`, and the payment's
//!   `merchantReference`.
//! - Errors `{status, errorCode, message, errorType, pspReference}`.
//! - Webhooks: see `signature`; answered 200 `[accepted]`.

mod client;
pub mod mapping;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod settlement;
pub mod signature;
pub mod wire;

pub use client::{Adyen, AdyenConfig, AdyenCredentials, CHECKOUT_API_VERSION};

/// Test credentials of the Adyen sandbox (documented in the README).
pub const SANDBOX_API_KEY: &str = "AQE_walletpay_sandbox_api_key";
pub const SANDBOX_MERCHANT_ACCOUNT: &str = "WalletpaySandboxECOM";
pub const SANDBOX_HMAC_KEY: &str =
    "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";
