//! Merchants and their API keys. A key is `wpk_<key id>_<secret>`: the key id (16 base32
//! characters) finds the record, the secret (32 base32 characters, 160 bits) is checked
//! against the SHA-256 stored for it, in constant time. The key itself is never stored.

use crate::error::ApiError;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use walletpay_domain::{MerchantId, Timestamp};
use walletpay_ports::{ApiKeyRecord, Merchant, Store, StoreError};

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const KEY_ID_LEN: usize = 16;
const SECRET_LEN: usize = 32;

fn random_token(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..32)] as char)
        .collect()
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A key `<prefix><key id>_<secret>` split into its parts, if it has the right shape.
fn split_key<'k>(prefix: &str, key: &'k str) -> Option<(&'k str, &'k str)> {
    let rest = key.strip_prefix(prefix)?;
    let (id, secret) = rest.split_once('_')?;
    let ok = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| ALPHABET.contains(&b));
    (ok(id, KEY_ID_LEN) && ok(secret, SECRET_LEN)).then_some((id, secret))
}

fn new_key(prefix: &str) -> String {
    format!(
        "{prefix}{}_{}",
        random_token(KEY_ID_LEN),
        random_token(SECRET_LEN)
    )
}

/// A merchant's key split into its parts, if it has the right shape.
pub fn parse_key(key: &str) -> Option<(&str, &str)> {
    split_key("wpk_", key)
}

pub fn generate_key() -> String {
    new_key("wpk_")
}

fn unauthorized() -> ApiError {
    ApiError::new(
        401,
        "unauthorized",
        "Send your API key as `Authorization: Bearer <key>`.",
    )
}

/// Whether a presented secret is the one whose SHA-256 is stored (in constant time).
fn secret_matches(secret: &str, stored_sha256: &str) -> bool {
    bool::from(
        sha256_hex(secret)
            .as_bytes()
            .ct_eq(stored_sha256.as_bytes()),
    )
}

/// Creates a merchant with one API key; returns the merchant and the key (shown once).
/// `fixed_key` sets the key instead of drawing one (the local stack's `--demo-key`).
pub async fn create_merchant(
    store: &dyn Store,
    name: &str,
    now: Timestamp,
    fixed_key: Option<&str>,
) -> Result<(Merchant, String), CreateMerchantError> {
    let key = match fixed_key {
        Some(k) => {
            parse_key(k).ok_or(CreateMerchantError::MalformedKey)?;
            k.to_string()
        }
        None => generate_key(),
    };
    let (key_id, secret) = parse_key(&key).expect("well-formed key");
    let merchant = Merchant::new(MerchantId::new(now.millis(), rand::random()), name, now);
    store.put_merchant(&merchant).await?;
    store
        .insert_api_key(&ApiKeyRecord {
            key_id: key_id.to_string(),
            merchant_id: merchant.id.clone(),
            secret_sha256: sha256_hex(secret),
            created_at: now,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists => CreateMerchantError::KeyTaken,
            e => CreateMerchantError::Store(e),
        })?;
    Ok((merchant, key))
}

#[derive(Debug, thiserror::Error)]
pub enum CreateMerchantError {
    #[error(
        "an API key is wpk_ followed by 16 and 32 characters of 0-9a-z (no i, l, o, u) joined by _"
    )]
    MalformedKey,
    #[error("that API key id is already in use")]
    KeyTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The merchant behind an `Authorization: Bearer <key>` header.
pub async fn authenticate(store: &dyn Store, header: Option<&str>) -> Result<MerchantId, ApiError> {
    let key = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(unauthorized)?;
    let (key_id, secret) = parse_key(key).ok_or_else(unauthorized)?;
    let record = store.get_api_key(key_id).await?.ok_or_else(unauthorized)?;
    if secret_matches(secret, &record.secret_sha256) {
        Ok(record.merchant_id)
    } else {
        Err(unauthorized())
    }
}

/// An operator key is `wok_<key id>_<secret>`, the same shape as a merchant's; it reaches
/// the operator routes (reconciliation) across all merchants.
pub fn parse_operator_key(key: &str) -> Option<(&str, &str)> {
    split_key("wok_", key)
}

pub fn generate_operator_key() -> String {
    new_key("wok_")
}

/// Stores an operator key for `name` (only its hash); returns the key, shown once.
/// `fixed_key` sets it instead of drawing one (the local stack's `--operator-key`).
pub async fn create_operator_key(
    store: &dyn Store,
    name: &str,
    now: Timestamp,
    fixed_key: Option<&str>,
) -> Result<String, CreateMerchantError> {
    let key = match fixed_key {
        Some(k) => {
            parse_operator_key(k).ok_or(CreateMerchantError::MalformedKey)?;
            k.to_string()
        }
        None => generate_operator_key(),
    };
    let (key_id, secret) = parse_operator_key(&key).expect("well-formed key");
    store
        .insert_operator_key(&walletpay_ports::reconcile::OperatorKeyRecord {
            key_id: key_id.to_string(),
            name: name.to_string(),
            secret_sha256: sha256_hex(secret),
            created_at: now,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists => CreateMerchantError::KeyTaken,
            e => CreateMerchantError::Store(e),
        })?;
    Ok(key)
}

/// The name a caller's changes are audited under: `key_<key id>` for a merchant's key (its
/// public part), `operator:<name>` for an operator.
pub fn actor(principal: &Principal, header: Option<&str>) -> String {
    match principal {
        Principal::Operator(name) => format!("operator:{name}"),
        Principal::Merchant(_) => header
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .and_then(parse_key)
            .map_or_else(|| "key_unknown".into(), |(id, _)| format!("key_{id}")),
    }
}

/// Who is calling: a merchant with its key, or an operator with theirs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Merchant(MerchantId),
    /// The operator key's holder.
    Operator(String),
}

/// The merchant or operator behind an `Authorization: Bearer <key>` header.
pub async fn authenticate_principal(
    store: &dyn Store,
    header: Option<&str>,
) -> Result<Principal, ApiError> {
    let key = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    let Some((key_id, secret)) = parse_operator_key(key) else {
        return authenticate(store, header).await.map(Principal::Merchant);
    };
    let record = store
        .get_operator_key(key_id)
        .await?
        .ok_or_else(unauthorized)?;
    if secret_matches(secret, &record.secret_sha256) {
        Ok(Principal::Operator(record.name))
    } else {
        Err(unauthorized())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_keys_have_their_own_prefix() {
        let k = generate_operator_key();
        assert!(parse_operator_key(&k).is_some());
        assert!(
            parse_key(&k).is_none(),
            "an operator key is no merchant key"
        );
        assert!(parse_operator_key(&generate_key()).is_none());
    }

    #[test]
    fn keys_have_one_shape() {
        let k = generate_key();
        assert_eq!(k.len(), 4 + 16 + 1 + 32);
        assert!(parse_key(&k).is_some());
        assert!(parse_key("wpk_short_secret").is_none());
        assert!(parse_key(&k.replace("wpk_", "wpx_")).is_none());
        assert!(parse_key(&format!("{k}x")).is_none());
    }
}
