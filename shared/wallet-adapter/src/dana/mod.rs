//! DANA without an aggregator, over Bank Indonesia's SNAP open-API standard.
//!
//! Protocol facts (DANA's SNAP documentation and Bank Indonesia's SNAP standard):
//! - Create: `POST /payment-gateway/v1.0/debit/payment-host-to-host.htm` (service 54,
//!   success `2005400`) with `partnerReferenceNo, merchantId, amount{value: "10000.00",
//!   currency: "IDR"}, validUpTo, urlParams[{url, type: PAY_RETURN | NOTIFICATION,
//!   isDeeplink}]`; answer `referenceNo, webRedirectUrl`. `merchantId + partnerReferenceNo`
//!   is the idempotency key: the same data again answers the same success, other data
//!   `4045418` (inconsistent request).
//! - Status: `POST /payment-gateway/v1.0/debit/status.htm` (service 55, `2005500`),
//!   `latestTransactionStatus` 00 success, 01 initiated, 02 paying, 03 pending, 04
//!   refunded, 05 cancelled, 06 failed, 07 not found. Refund: `POST
//!   /payment-gateway/v1.0/debit/refund.htm` (service 58, `2005800`).
//! - Every request: `X-TIMESTAMP` (+07:00), `X-SIGNATURE` (see `signature`), `X-PARTNER-ID`,
//!   `X-EXTERNAL-ID` (unique per day, at most 36 characters), `CHANNEL-ID`, and the B2B
//!   access token (`POST /v1.0/access-token/b2b.htm`, signed `client id|timestamp`,
//!   `2007300`) as `Authorization: Bearer`. A wrong signature answers HTTP 401 with
//!   `4015400`-style codes (`401` + service + `00`).
//! - `responseCode` = HTTP status (3 digits) + service (2) + case (2).
//! - DANA's finish notification (service 56) is signed with DANA's private key the same way
//!   and verified with its public key; it is answered `2005600`.
//! - Keys are PEM (PKCS#8 private, SubjectPublicKeyInfo public), from the Secrets port.

mod client;
pub mod mapping;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod settlement;
pub mod signature;
pub mod wire;

pub use client::{Dana, DanaConfig, DanaCredentials};

/// The sandbox's test credentials (documented in the README). The key pairs are test keys
/// made for the sandbox, never used anywhere else.
pub const SANDBOX_PARTNER_ID: &str = "walletpay-sandbox-partner";
pub const SANDBOX_MERCHANT_ID: &str = "216620000000000000000";
pub const SANDBOX_CHANNEL_ID: &str = "95221";
pub const SANDBOX_CLIENT_SECRET: &str = "walletpay-sandbox-client-secret-key";
pub const SANDBOX_MERCHANT_PRIVATE_KEY: &str = include_str!("keys/sandbox-merchant-private.pem");
pub const SANDBOX_MERCHANT_PUBLIC_KEY: &str = include_str!("keys/sandbox-merchant-public.pem");
pub const SANDBOX_DANA_PRIVATE_KEY: &str = include_str!("keys/sandbox-dana-private.pem");
pub const SANDBOX_DANA_PUBLIC_KEY: &str = include_str!("keys/sandbox-dana-public.pem");

/// Where DANA's notifications reach us: the path it signs.
pub const NOTIFY_PATH: &str = "/v1/webhooks/dana";
