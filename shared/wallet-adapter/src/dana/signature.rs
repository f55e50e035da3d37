//! Bank Indonesia's SNAP signatures, as DANA uses them, and the check of DANA's signed
//! notifications ([`check_notification`]).
//!
//! - Asymmetric (requests and notifications): `base64(SHA256withRSA(private key,
//!   METHOD + ":" + path + ":" + lowerhex(SHA-256(minified body)) + ":" + X-TIMESTAMP))`,
//!   verified with the sender's public key. RSA PKCS#1 v1.5 with SHA-256 (the `rsa` crate).
//! - The B2B access-token call: `base64(SHA256withRSA(private key, client id + "|" +
//!   X-TIMESTAMP))`.
//! - Symmetric (endpoints called with a B2B token): `HMAC-SHA512(client secret, METHOD + ":" +
//!   path + ":" + access token + ":" + lowerhex(SHA-256(minified body)) + ":" +
//!   X-TIMESTAMP)`, base64 (the output encoding is not confirmed by a primary source).
//!
//! "Minified" is the JSON body without whitespace outside strings; we always send bodies
//! exactly as `serde_json::to_vec` writes them, which is minified.

use base64::Engine;
use hmac::{Hmac, Mac};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256, Sha512};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a PKCS#8 RSA private key in PEM")]
    Private,
    #[error("not an RSA public key in PEM (SubjectPublicKeyInfo)")]
    Public,
}

pub fn private_key(pem: &str) -> Result<RsaPrivateKey, KeyError> {
    RsaPrivateKey::from_pkcs8_pem(pem.trim()).map_err(|_| KeyError::Private)
}

pub fn public_key(pem: &str) -> Result<RsaPublicKey, KeyError> {
    RsaPublicKey::from_public_key_pem(pem.trim()).map_err(|_| KeyError::Public)
}

/// The string a request or notification signature covers.
pub fn string_to_sign(method: &str, path: &str, body: &[u8], timestamp: &str) -> String {
    format!(
        "{method}:{path}:{}:{timestamp}",
        hex::encode(Sha256::digest(body))
    )
}

pub fn sign(key: &RsaPrivateKey, data: &str) -> String {
    let signer = SigningKey::<Sha256>::new(key.clone());
    base64::engine::general_purpose::STANDARD.encode(signer.sign(data.as_bytes()).to_bytes())
}

/// Whether `signature` (base64) signs `data` under any of `keys`.
pub fn verify(keys: &[RsaPublicKey], data: &str, signature: &str) -> bool {
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(raw.as_slice()) else {
        return false;
    };
    keys.iter().any(|k| {
        VerifyingKey::<Sha256>::new(k.clone())
            .verify(data.as_bytes(), &sig)
            .is_ok()
    })
}

/// The symmetric signature of an endpoint called with a B2B access token.
pub fn symmetric(
    client_secret: &str,
    method: &str,
    path: &str,
    access_token: &str,
    body: &[u8],
    timestamp: &str,
) -> String {
    let data = format!(
        "{method}:{path}:{access_token}:{}:{timestamp}",
        hex::encode(Sha256::digest(body))
    );
    let mut mac =
        Hmac::<Sha512>::new_from_slice(client_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// `X-TIMESTAMP` in Jakarta time: `2026-11-25T17:00:00+07:00`.
pub fn timestamp(at: walletpay_domain::Timestamp) -> String {
    let wib = walletpay_domain::Timestamp(at.millis() + 7 * 3600 * 1000).to_string();
    format!("{}+07:00", &wib[..19])
}

/// How far a notification's `X-TIMESTAMP` may be from our clock.
pub const NOTIFY_TOLERANCE_SECONDS: i64 = 300;

/// DANA's finish notification: `X-SIGNATURE` with DANA's key (or its previous one, both in
/// `keys`) over `POST:<our notify path>:<body hash>:<X-TIMESTAMP>`, the timestamp within
/// [`NOTIFY_TOLERANCE_SECONDS`] of `now` (unix seconds) either way, so a captured
/// notification cannot be replayed later.
pub fn check_notification(
    keys: &[RsaPublicKey],
    path: &str,
    headers: &http::HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), crate::WebhookError> {
    use crate::WebhookError::Unauthenticated;
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .ok_or(Unauthenticated)
    };
    let (ts, sig) = (header("x-timestamp")?, header("x-signature")?);
    if !verify(keys, &string_to_sign("POST", path, body, ts), sig) {
        return Err(Unauthenticated);
    }
    let sent = time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339)
        .map_err(|_| Unauthenticated)?;
    if (sent.unix_timestamp() - now).abs() > NOTIFY_TOLERANCE_SECONDS {
        return Err(Unauthenticated);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MERCHANT_PRIVATE: &str = include_str!("keys/sandbox-merchant-private.pem");
    const MERCHANT_PUBLIC: &str = include_str!("keys/sandbox-merchant-public.pem");
    const DANA_PUBLIC: &str = include_str!("keys/sandbox-dana-public.pem");

    /// A request signature made with OpenSSL (`openssl dgst -sha256 -sign`) over the same
    /// string and key, so ours is checked against an independent implementation.
    #[test]
    fn matches_openssl() {
        let body = br#"{"partnerReferenceNo":"pay_01m8ab8makqqg641md11702kgn","merchantId":"216620000000000000000","amount":{"value":"150000.00","currency":"IDR"}}"#;
        let data = string_to_sign(
            "POST",
            "/payment-gateway/v1.0/debit/payment-host-to-host.htm",
            body,
            "2026-11-25T17:00:00+07:00",
        );
        assert_eq!(data, "POST:/payment-gateway/v1.0/debit/payment-host-to-host.htm:a2153c662d760726175db972aab29e3f1e8cedf49c812de07855c3e2974f476c:2026-11-25T17:00:00+07:00");
        let openssl = "sSnDrOF+DnP6EjwZwXPZ60+I/VAwC3tkjQUIdp0jXrihpVifQrrVXqXnT6/64BFXGhVgMjdg9FnzbXTTmDekPotV8b/352+Sm69mtBnjdWt7mp5+dboR9BzfPRif0K0TLTBHYD+TVh053w5uaE9+zxrMjHY4vmpWngtV8BJT5JEmds05Rdufbx3/fQ3UPKyUd7U7ayS9c8Tm5TnIAjelE4g/8H91JB9c/4BPY1N/mLaz2WTi3y9O6hUfO1JBh1bUuMCM1JdC7ZKaFJsk7Mw6mAxaQGqDp7Sm76vjnjqQg6Cr3svjjqunPTXGpRSlfNSO6GdsuRekLy5mhmJhD3G98Q==";
        let key = private_key(MERCHANT_PRIVATE).unwrap();
        assert_eq!(sign(&key, &data), openssl);
        let public = public_key(MERCHANT_PUBLIC).unwrap();
        assert!(verify(std::slice::from_ref(&public), &data, openssl));
        // Another key, another string, a broken signature: no.
        assert!(!verify(&[public_key(DANA_PUBLIC).unwrap()], &data, openssl));
        assert!(!verify(
            std::slice::from_ref(&public),
            &data.replace("POST", "GET"),
            openssl
        ));
        assert!(!verify(&[public], &data, "AAAA"));
    }

    /// The symmetric signature, against Python's `hmac`/`hashlib` over the same inputs.
    #[test]
    fn symmetric_matches_python() {
        assert_eq!(
            symmetric(
                "walletpay-sandbox-client-secret",
                "POST",
                "/payment-gateway/v1.0/debit/status.htm",
                "tok123",
                br#"{"a":1}"#,
                "2026-11-25T17:00:00+07:00"
            ),
            "gaSuqPd7PsuG4lrsy0wYbSaA8aPIngDt7u0D5phj1Xh8YsGYvtBhYS98IeQjuBjVcYvyfLLD/WBX4cVnc3T+GQ=="
        );
    }

    #[test]
    fn timestamps_are_jakarta_time() {
        let t = walletpay_domain::Timestamp::parse_rfc3339("2026-11-25T10:00:00.000Z").unwrap();
        assert_eq!(timestamp(t), "2026-11-25T17:00:00+07:00");
    }

    #[test]
    fn keys_must_be_pem() {
        assert_eq!(private_key("nope").unwrap_err(), KeyError::Private);
        assert_eq!(public_key(MERCHANT_PRIVATE).unwrap_err(), KeyError::Public);
    }
}
