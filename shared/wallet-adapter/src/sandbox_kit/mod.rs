//! What the provider sandboxes share: the checkout page, `simulate` and the sandbox error
//! (`checkout`), the settlement movements and their faults (`settlement`), the magic
//! amounts, an idempotency-key memory, ids, time and CSV.

mod checkout;
pub mod settlement;

pub use checkout::{
    checkout_page, decide, page, simulate, DecideForm, Outcome, SandboxError, Shown, SimulateBody,
    Simulator,
};

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use walletpay_domain::{Money, Timestamp};

/// Magic amounts, in whole units of the currency, shared by the Stripe, Adyen and Midtrans
/// sandboxes (Xendit's follow Xendit's own test amounts). They fit every wallet's limits.
pub mod magic {
    /// Create is refused: the wallet is unavailable at the provider.
    pub const UNAVAILABLE: i64 = 1101;
    /// Create answers 500 and makes nothing.
    pub const SERVER_ERROR: i64 = 1102;
    /// Create makes the charge but answers only after the configured slow response (longer
    /// than a client's timeout: an unknown outcome).
    pub const SLOW: i64 = 1109;
    /// A refund of this amount stays pending until `simulate-refund`.
    pub const REFUND_PENDING: i64 = 1111;
    /// A refund of this amount is refused by the provider.
    pub const REFUND_FAILS: i64 = 2222;
    /// A refund of this amount is made, but the answer is a 500.
    pub const REFUND_LOST: i64 = 3333;
}

/// The amount in whole units when it has no fraction (what magic values are compared with).
pub fn whole(amount: Money) -> Option<i64> {
    amount.whole_major().ok()
}

/// The client a sandbox sends its webhooks with (a provider waits up to 30 s for an answer).
pub fn webhook_client() -> reqwest::Client {
    crate::tls::client_builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

pub fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(d.as_millis() as i64)
}

pub fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `n` random characters from `[0-9A-Za-z]`.
pub fn alnum(n: usize) -> String {
    const CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..n)
        .map(|_| CHARS[rand::random::<u32>() as usize % CHARS.len()] as char)
        .collect()
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What a provider remembers per idempotency key: a fingerprint of the request and the
/// answer it gave, replayed for the same request and refused for another.
#[derive(Default)]
pub struct IdempotencyMemory(Mutex<HashMap<String, (String, u16, String)>>);

/// What `simulate-refund` expects, said back when its body is anything else.
pub const REFUND_OUTCOME_EXPECTED: &str = "expected {\"outcome\": \"success\" | \"failed\"}";

/// The body of `simulate-refund`: `{"outcome": "success"}` makes the waiting refund,
/// `{"outcome": "failed"}` refuses it; `None` for anything else.
pub fn refund_outcome(body: &[u8]) -> Option<bool> {
    #[derive(Deserialize)]
    struct Outcome {
        outcome: String,
    }
    match serde_json::from_slice::<Outcome>(body)
        .ok()?
        .outcome
        .as_str()
    {
        "success" => Some(true),
        "failed" => Some(false),
        _ => None,
    }
}

/// What `simulate-refund` expects where the provider can also undo a refund it made.
pub const REFUND_OUTCOME_OR_REVERSAL_EXPECTED: &str =
    "expected {\"outcome\": \"success\" | \"failed\"} for a waiting refund, or {\"outcome\": \"reversed\"} for one made";

/// Whether the body of `simulate-refund` asks to undo a refund already made
/// (`{"outcome": "reversed"}`).
pub fn refund_reversal(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Outcome {
        outcome: String,
    }
    serde_json::from_slice::<Outcome>(body).is_ok_and(|o| o.outcome == "reversed")
}

/// A remembered JSON answer, given again as it was first given.
pub fn remembered_answer(status: u16, body: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK),
        [("content-type", "application/json")],
        body,
    )
        .into_response()
}

pub enum Remembered {
    /// Same key, same request: this answer again.
    Replay(u16, String),
    /// Same key, another request.
    Mismatch,
    New,
}

impl IdempotencyMemory {
    pub fn check(&self, key: &str, fingerprint: &str) -> Remembered {
        let map = self.0.lock().expect("sandbox lock");
        match map.get(key) {
            Some((f, status, body)) if f == fingerprint => {
                Remembered::Replay(*status, body.clone())
            }
            Some(_) => Remembered::Mismatch,
            None => Remembered::New,
        }
    }

    pub fn remember(&self, key: &str, fingerprint: &str, status: u16, body: &str) {
        self.0.lock().expect("sandbox lock").insert(
            key.to_string(),
            (fingerprint.to_string(), status, body.to_string()),
        );
    }
}

/// One CSV line: fields quoted when they need it (RFC 4180).
/// A query string or form body as its pairs, repeated names kept (`types=A&types=B`).
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(bytes: &[u8]) -> Form {
        Form(url::form_urlencoded::parse(bytes).into_owned().collect())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first value of `name`.
    pub fn one(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

pub fn csv_line(fields: &[String]) -> String {
    let mut out = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

/// `GET .../reports/...?date=YYYY-MM-DD`: the day a sandbox's report covers.
#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    pub date: String,
}

/// A report as a sandbox serves it.
pub fn csv(body: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::OK,
        [("content-type", "text/csv")],
        body,
    )
        .into_response()
}

/// `YYYY-MM-DD` of a timestamp (UTC), for settlement reports by day.
pub fn day_of(t: Timestamp) -> String {
    t.to_string()[..10].to_string()
}

/// The dynamic BR Code an aggregator's sandbox shows for a Pix charge: the charge's location
/// on the sandbox's own host, for `amount`.
pub fn pix_code(host: &str, charge: &str, amount: Money) -> String {
    walletpay_domain::emv::BrCode {
        key: None,
        url: Some(format!("{host}/pix/{charge}")),
        merchant_name: "WALLETPAY SANDBOX".into(),
        merchant_city: "SAO PAULO".into(),
        amount: Some(amount),
        txid: "***".into(),
    }
    .payload()
    .expect("a valid sandbox BR Code")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_what_needs_it() {
        assert_eq!(
            csv_line(&["a".into(), "b,c".into(), "say \"hi\"".into()]),
            "a,\"b,c\",\"say \"\"hi\"\"\"\r\n"
        );
    }
    #[test]
    fn a_refund_outcome_is_success_or_failed_and_nothing_else() {
        assert_eq!(refund_outcome(br#"{"outcome":"success"}"#), Some(true));
        assert_eq!(refund_outcome(br#"{"outcome":"failed"}"#), Some(false));
        assert_eq!(refund_outcome(br#"{"outcome":"sucess"}"#), None);
        assert_eq!(refund_outcome(br#"{}"#), None);
        assert_eq!(refund_outcome(b"outcome=success"), None);
        assert_eq!(refund_outcome(br#"{"outcome":"reversed"}"#), None);
        assert!(refund_reversal(br#"{"outcome":"reversed"}"#));
        assert!(!refund_reversal(br#"{"outcome":"failed"}"#));
    }
}
