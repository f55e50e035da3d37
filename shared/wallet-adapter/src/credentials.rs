//! Provider credentials: read from the Secrets port as JSON, held in redacting types (no
//! `Debug` output or log line can print a secret), and checked before every use.
//!
//! Credentials that are missing, still the placeholders a fresh deploy seeds
//! (`set-after-deploy`, `00`, ...), or too weak to sign with (a signing key or shared token
//! under [`MIN_SIGNING_KEY_BYTES`]) are refused: the adapter then declines every charge as a
//! configuration error, so routing moves on to the next provider, and refuses every webhook
//! (503, nothing queued). A refusal is logged once, with the reason, not the value; the
//! secret is read again through the cache, so filling it in takes effect without a deploy.

use serde::de::DeserializeOwned;
use std::sync::{Arc, Mutex};
use walletpay_ports::{Secrets, SecretsError};

pub use secrecy::{ExposeSecret, SecretString};

/// The shortest signing key or shared token accepted: 256 bits, as HMAC-SHA256 wants.
pub const MIN_SIGNING_KEY_BYTES: usize = 32;

/// What a credentials struct checks about itself.
pub trait Checked {
    /// `Err` with the reason (naming fields, never their values) when unusable.
    fn check(&self) -> Result<(), String>;
}

/// Why an adapter has no usable credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Missing, placeholder or too weak: a person has to fill them in.
    #[error("credentials refused: {0}")]
    Refused(String),
    /// The secrets store did not answer.
    #[error("credentials unavailable: {0}")]
    Unavailable(String),
}

/// Where one adapter's credentials come from, and what it last said about them.
pub struct CredentialSource {
    provider: &'static str,
    secrets: Arc<dyn Secrets>,
    name: String,
    /// The last refusal logged, so each reason is logged once.
    refused: Mutex<Option<String>>,
}

impl CredentialSource {
    pub fn new(provider: &'static str, secrets: Arc<dyn Secrets>, name: impl Into<String>) -> Self {
        CredentialSource {
            provider,
            secrets,
            name: name.into(),
            refused: Mutex::new(None),
        }
    }

    /// The secret's name in the Secrets port.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads, parses and checks the credentials.
    pub async fn load<T: DeserializeOwned + Checked>(&self) -> Result<T, CredentialError> {
        let raw = match self.secrets.get(&self.name).await {
            Ok(raw) => SecretString::from(raw),
            Err(SecretsError::NotFound(_)) => {
                return Err(self.refuse(format!("secret {} does not exist", self.name)))
            }
            Err(e) => {
                tracing::warn!(provider = self.provider, error = %e, "provider credentials could not be read");
                return Err(CredentialError::Unavailable(e.to_string()));
            }
        };
        // serde_json's messages can quote the input: only its position is reported.
        let creds: T = serde_json::from_str(raw.expose_secret()).map_err(|e| {
            self.refuse(format!(
                "secret {} is not the JSON {} expects ({:?} error at line {}, column {})",
                self.name,
                self.provider,
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        if let Err(why) = creds.check() {
            return Err(self.refuse(format!("secret {}: {why}", self.name)));
        }
        if let Ok(mut last) = self.refused.lock() {
            if last.take().is_some() {
                tracing::info!(provider = self.provider, secret = %self.name, "credentials accepted");
            }
        }
        Ok(creds)
    }

    fn refuse(&self, why: String) -> CredentialError {
        let mut last = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_deref() != Some(why.as_str()) {
            tracing::error!(provider = self.provider, reason = %why, "provider credentials refused: its charges and webhooks are refused until they are set");
            *last = Some(why.clone());
        }
        CredentialError::Refused(why)
    }
}

/// Values a fresh deploy seeds, or that no provider would ever issue.
fn placeholder(v: &str) -> bool {
    let lower = v.trim().to_ascii_lowercase();
    const MARKS: [&str; 6] = [
        "set-after-deploy",
        "set_after_deploy",
        "changeme",
        "change-me",
        "placeholder",
        "replace-me",
    ];
    let mut chars = lower.chars();
    let first = chars.next();
    MARKS.iter().any(|m| lower.contains(m)) || first.is_some_and(|c| chars.all(|d| d == c))
}

/// A required value: present and not a placeholder.
pub fn required(field: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("`{field}` is missing"));
    }
    if placeholder(value) {
        return Err(format!("`{field}` is still a placeholder"));
    }
    Ok(())
}

/// A required secret.
pub fn required_secret(field: &str, value: &SecretString) -> Result<(), String> {
    required(field, value.expose_secret())
}

/// A key that signs or authenticates webhooks (or a shared token compared with one): present,
/// not a placeholder, and at least [`MIN_SIGNING_KEY_BYTES`] long once decoded.
pub fn signing_key(
    field: &str,
    decoded_len: Option<usize>,
    value: &SecretString,
) -> Result<(), String> {
    required_secret(field, value)?;
    match decoded_len {
        None => Err(format!("`{field}` is not in the expected encoding")),
        Some(n) if n < MIN_SIGNING_KEY_BYTES => Err(format!(
            "`{field}` is {n} bytes, shorter than the {MIN_SIGNING_KEY_BYTES} a signing key needs"
        )),
        Some(_) => Ok(()),
    }
}

/// A signing key used as its bytes (HMAC with the UTF-8 of the secret).
pub fn text_key(field: &str, value: &SecretString) -> Result<(), String> {
    signing_key(field, Some(value.expose_secret().len()), value)
}

/// An optional previous key, checked like the current one when present.
pub fn optional_text_key(field: &str, value: &Option<SecretString>) -> Result<(), String> {
    match value {
        Some(v) if !v.expose_secret().is_empty() => text_key(field, v),
        _ => Ok(()),
    }
}

/// The accepted values of a key and its optional predecessor, for constant-time comparison.
pub fn current_and_previous<'a>(
    current: &'a SecretString,
    previous: &'a Option<SecretString>,
) -> Vec<&'a str> {
    std::iter::once(current.expose_secret())
        .chain(previous.as_ref().map(|p| p.expose_secret()))
        .filter(|k| !k.is_empty())
        .collect()
}

/// Whether `presented` equals one of `accepted` (empty ones never match), compared in
/// constant time: for shared tokens, API keys and Basic credentials.
pub fn equals_any(presented: &[u8], accepted: &[&str]) -> bool {
    use subtle::ConstantTimeEq;
    let mut ok = subtle::Choice::from(0);
    for value in accepted.iter().filter(|t| !t.is_empty()) {
        ok |= presented.ct_eq(value.as_bytes());
    }
    ok.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use walletpay_ports::StaticSecrets;

    #[derive(Debug, Deserialize)]
    struct Demo {
        key: SecretString,
        token: SecretString,
    }

    impl Checked for Demo {
        fn check(&self) -> Result<(), String> {
            required_secret("key", &self.key)?;
            text_key("token", &self.token)
        }
    }

    fn source(value: Option<&str>) -> CredentialSource {
        let s = StaticSecrets::new();
        if let Some(v) = value {
            s.set("demo", v);
        }
        CredentialSource::new("Demo", Arc::new(s), "demo")
    }

    async fn load(value: Option<&str>) -> Result<Demo, CredentialError> {
        source(value).load::<Demo>().await
    }

    #[tokio::test]
    async fn placeholders_missing_and_short_keys_are_refused() {
        let token = "t".repeat(31) + "u";
        let good = format!(r#"{{"key": "sk_live_abc", "token": "{token}"}}"#);
        assert!(load(Some(&good)).await.is_ok());
        for (value, why) in [
            (None, "does not exist"),
            (Some("not json"), "not the JSON"),
            (Some(r#"{"key": "sk_live_abc"}"#), "not the JSON"),
            (
                Some(&*format!(
                    r#"{{"key": "set-after-deploy", "token": "{token}"}}"#
                )),
                "`key` is still a placeholder",
            ),
            (
                Some(&*format!(r#"{{"key": "", "token": "{token}"}}"#)),
                "`key` is missing",
            ),
            (
                Some(r#"{"key": "sk_live_abc", "token": "00"}"#),
                "`token` is still a placeholder",
            ),
            (
                Some(r#"{"key": "sk_live_abc", "token": "short-token"}"#),
                "11 bytes",
            ),
        ] {
            match load(value).await {
                Err(CredentialError::Refused(r)) => assert!(r.contains(why), "{value:?}: {r}"),
                other => panic!("{value:?}: expected a refusal, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_refusal_never_quotes_the_secret() {
        let err = load(Some(
            r#"{"key": 12345678901234567890123, "token": "hunter2hunter2"}"#,
        ))
        .await
        .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(!err.to_string().contains("1234567890"), "{err}");
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let d: Demo =
            serde_json::from_str(r#"{"key": "sk_live_visible?", "token": "tok_visible?"}"#)
                .unwrap();
        let shown = format!("{d:?}");
        assert!(!shown.contains("sk_live_visible"), "{shown}");
        assert!(!shown.contains("tok_visible"), "{shown}");
    }

    #[test]
    fn placeholder_detection() {
        for p in ["set-after-deploy", "00", "000000000000000", "CHANGEME", "x"] {
            assert!(placeholder(p), "{p}");
        }
        for v in ["xnd_development_abc", "010753600031508", "whsec_1a2b"] {
            assert!(!placeholder(v), "{v}");
        }
    }
}
