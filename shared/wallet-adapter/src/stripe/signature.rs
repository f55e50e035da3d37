//! How Stripe signs its webhooks: `Stripe-Signature`, the timestamped HMAC header of
//! [`crate::signed_header`] with the endpoint secret (during a roll, the previous one too),
//! at most 300 s old either way.

use crate::signed_header::{verify_request, SignatureError};
use crate::WebhookError;

pub use crate::signed_header::{compute, header, DEFAULT_TOLERANCE_SECONDS};

/// The header Stripe signs with.
pub const HEADER: &str = "stripe-signature";

/// Checks a webhook's `Stripe-Signature` against its raw body, at `now` (unix seconds).
pub fn check(
    headers: &http::HeaderMap,
    body: &[u8],
    secrets: &[&str],
    now: i64,
) -> Result<(), WebhookError> {
    match verify_request(headers, HEADER, body, secrets, now) {
        Ok(_) => Ok(()),
        Err(SignatureError::Stale) => {
            tracing::warn!("Stripe webhook outside the 300 s tolerance (a replay?)");
            Err(WebhookError::Unauthenticated)
        }
        Err(_) => Err(WebhookError::Unauthenticated),
    }
}
