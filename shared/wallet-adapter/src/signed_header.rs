//! The timestamped HMAC signature header `t=<unix>,v1=<hex>[,v1=<hex>...][,v0=...]` that
//! Stripe introduced (`Stripe-Signature`), and that the PromptPay acquiring bank
//! (`X-Bank-Signature`) and walletpay's own notifications to merchants
//! (`Walletpay-Signature`) use as well: the scheme lives here once.
//!
//! Each `v1` is hex(HMAC-SHA256(secret, "<t>.<raw body>")). Several `v1` arrive while a
//! secret is rolled; any one matching is enough. Other schemes (`v0`) and malformed parts are
//! ignored. A timestamp older than the tolerance (300 s by default in every official Stripe
//! library) is refused, and so is one further ahead than the tolerance (as stripe-php does),
//! so a captured request cannot be replayed later. Comparison is constant-time. Sources:
//! stripe-go `webhook/client.go`, stripe-python `stripe/_webhook.py`; the tests are the
//! official libraries' vectors.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("unable to extract timestamp and signatures from header")]
    Malformed,
    #[error("no signatures found with expected scheme")]
    NoV1,
    #[error("no signature matches the payload")]
    Mismatch,
    #[error("timestamp outside the tolerance zone")]
    Stale,
}

/// hex(HMAC-SHA256(secret, "<t>.<payload>")).
pub fn compute(secret: &str, t: i64, payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

/// The header signed with `secret` (what the sandboxes send).
pub fn header(secret: &str, t: i64, payload: &[u8]) -> String {
    header_with(&[secret], t, payload)
}

/// The header with one `v1` per secret, in order (the current one, then during a rotation
/// the previous one).
pub fn header_with(secrets: &[&str], t: i64, payload: &[u8]) -> String {
    let mut h = format!("t={t}");
    for secret in secrets {
        h.push_str(",v1=");
        h.push_str(&compute(secret, t, payload));
    }
    h
}

/// Verifies a request's header `name` against its raw body with any of `secrets`, at `now`
/// (unix seconds); a missing header is `Malformed`.
pub fn verify_request(
    headers: &http::HeaderMap,
    name: &str,
    payload: &[u8],
    secrets: &[&str],
    now: i64,
) -> Result<i64, SignatureError> {
    let header = headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or(SignatureError::Malformed)?;
    verify(header, payload, secrets, now, DEFAULT_TOLERANCE_SECONDS)
}

/// Verifies a header against the raw body with any of `secrets`, at `now` (unix seconds);
/// returns the signed timestamp.
pub fn verify(
    header: &str,
    payload: &[u8],
    secrets: &[&str],
    now: i64,
    tolerance: i64,
) -> Result<i64, SignatureError> {
    let mut t: Option<i64> = None;
    let mut v1: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k {
            "t" => t = v.parse().ok(),
            "v1" => {
                if let Ok(sig) = hex::decode(v) {
                    v1.push(sig);
                }
            }
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if v1.is_empty() {
        return Err(SignatureError::NoV1);
    }
    let mut ok = subtle::Choice::from(0);
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let expected = hex::decode(compute(secret, t, payload)).expect("hex we made");
        for sig in &v1 {
            ok |= expected.ct_eq(sig);
        }
    }
    if !bool::from(ok) {
        return Err(SignatureError::Mismatch);
    }
    if (now - t).abs() > tolerance {
        return Err(SignatureError::Stale);
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// stripe-dotnet `src/StripeTests/Resources/event_test_signature.json`, byte for byte
    /// (2-space indent, trailing newline).
    const DOTNET_PAYLOAD: &str = "{\n  \"id\": \"evt_123\",\n  \"object\": \"event\",\n  \"account\": \"acct_123\",\n  \"api_version\": \"2017-05-25\",\n  \"created\": 1533204620,\n  \"data\": {\n    \"object\": {\n      \"id\": \"cus_123\",\n      \"object\": \"customer\",\n      \"created\": 123456789,\n      \"email\": \"test@stripe.com\",\n      \"livemode\": false,\n      \"metadata\": {}\n    }\n  },\n  \"livemode\": false,\n  \"pending_webhooks\": 1,\n  \"request\": {\n    \"id\": \"req_123\",\n    \"idempotency_key\": \"idempotency-key-123\"\n  },\n  \"type\": \"customer.created\"\n}\n";
    /// stripe-dotnet `src/StripeTests/Services/Events/EventUtilityTest.cs`.
    const DOTNET_HEADER: &str = "t=1533204620,v1=2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7,v0=63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef";

    #[test]
    fn stripe_dotnet_vector() {
        assert_eq!(DOTNET_PAYLOAD.len(), 484);
        assert_eq!(
            compute("webhook_secret", 1533204620, DOTNET_PAYLOAD.as_bytes()),
            "2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7"
        );
        // As that test does: valid 100 s later, stale 400 s later.
        assert_eq!(
            verify(
                DOTNET_HEADER,
                DOTNET_PAYLOAD.as_bytes(),
                &["webhook_secret"],
                1533204720,
                300
            ),
            Ok(1533204620)
        );
        assert_eq!(
            verify(
                DOTNET_HEADER,
                DOTNET_PAYLOAD.as_bytes(),
                &["webhook_secret"],
                1533205020,
                300
            ),
            Err(SignatureError::Stale)
        );
        // One byte less (no trailing newline) is another payload.
        let trimmed = DOTNET_PAYLOAD.trim_end().as_bytes();
        assert_eq!(
            verify(DOTNET_HEADER, trimmed, &["webhook_secret"], 1533204720, 300),
            Err(SignatureError::Mismatch)
        );
    }

    /// stripe-node `test/crypto/helpers.ts`: raw HMAC-SHA256 with key `test_secret`.
    #[test]
    fn stripe_node_hmac_vectors() {
        let raw = |data: &str| {
            let mut mac = Hmac::<Sha256>::new_from_slice(b"test_secret").unwrap();
            mac.update(data.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        };
        assert_eq!(
            raw(""),
            "f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd"
        );
        assert_eq!(
            raw("{\"obj1\":\"hello\",\"obj2\":\"world\"}"),
            "bebb1a643997f419b315ddba19e6f5411e1ce7f810ba6d3617ce72823092f363"
        );
        assert_eq!(
            raw("\u{1F600}"),
            "837da296d05c4fe31f61d5d7ead035099d9585a5bcde87de952012a78f0b0c43"
        );
    }

    /// The fixed cases every official library tests (secret `whsec_test_secret`).
    #[test]
    fn header_cases_from_the_official_libraries() {
        let secret = "whsec_test_secret";
        let body = br#"{"id":"evt_test_webhook","object":"event"}"#;
        let now = 1_614_000_000;
        let good = header(secret, now, body);
        assert_eq!(verify(&good, body, &[secret], now, 300), Ok(now));
        // An extra bad v1 does not hurt.
        assert_eq!(
            verify(
                &format!("{good},v1=bad_signature"),
                body,
                &[secret],
                now,
                300
            ),
            Ok(now)
        );
        // Only v0: no signature with the expected scheme.
        let v0 = good.replace("v1=", "v0=");
        assert_eq!(
            verify(&v0, body, &[secret], now, 300),
            Err(SignatureError::NoV1)
        );
        assert_eq!(
            verify("bad_header", body, &[secret], now, 300),
            Err(SignatureError::Malformed)
        );
        // Rolling secrets: the old one still verifies while it is listed.
        assert_eq!(
            verify(&good, body, &["whsec_new", secret], now, 300),
            Ok(now)
        );
        assert_eq!(
            verify(&good, body, &["whsec_new"], now, 300),
            Err(SignatureError::Mismatch)
        );
        // Both secrets of a rotation sign; either verifies.
        let both = header_with(&["whsec_new", secret], now, body);
        assert_eq!(verify(&both, body, &["whsec_new"], now, 300), Ok(now));
        assert_eq!(verify(&both, body, &[secret], now, 300), Ok(now));
        assert!(both.starts_with(&format!("t={now},v1=")) && both.matches(",v1=").count() == 2);
        // Too far in the future is refused too.
        assert_eq!(
            verify(&header(secret, now + 301, body), body, &[secret], now, 300),
            Err(SignatureError::Stale)
        );
    }
}
