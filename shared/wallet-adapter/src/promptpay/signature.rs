//! How the acquiring bank signs its callbacks: `X-Bank-Signature`, the timestamped HMAC
//! header of [`crate::signed_header`] (the scheme Stripe uses) with the callback secret
//! (during a rotation, the previous one too), at most 300 s old either way.

use crate::signed_header::verify_request;
use crate::WebhookError;

pub use crate::signed_header::header;

/// The header the bank signs with.
pub const HEADER: &str = "x-bank-signature";

/// Checks a callback's `X-Bank-Signature` against its raw body, at `now` (unix seconds).
pub fn check(
    headers: &http::HeaderMap,
    body: &[u8],
    secrets: &[&str],
    now: i64,
) -> Result<(), WebhookError> {
    verify_request(headers, HEADER, body, secrets, now)
        .map(|_| ())
        .map_err(|_| WebhookError::Unauthenticated)
}
