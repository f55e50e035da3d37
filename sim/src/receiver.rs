//! The shops' notification endpoint: checks each delivery's `Walletpay-Signature` with the
//! shop's secret (HMAC-SHA256 over `<t>.<body>`, constant-time), and keeps every event by
//! its id, counting deliveries and any redelivery whose content differs from the first. Like
//! a real shop's server it is sometimes down: it answers 500 to one first delivery in 20
//! and answers one in 100 only after the sender's 10 s deadline (kept all the same), so
//! walletpay's retries and their duplicates are part of the sale.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Inbox {
    pub events: HashMap<String, Value>,
    /// First deliveries answered 500, and answered late.
    pub refused: u64,
    pub late: u64,
    /// Delivery attempts per event id.
    attempts: HashMap<String, u32>,
    pub deliveries: u64,
    /// A redelivered event whose content is not the first delivery's.
    pub changed: u64,
    pub bad_signatures: u64,
}

#[derive(Clone, Default)]
pub struct Receiver {
    secrets: Arc<Mutex<HashMap<String, String>>>,
    inboxes: Arc<Mutex<HashMap<String, Inbox>>>,
}

impl Receiver {
    /// Starts listening on loopback; answers its base URL.
    pub async fn start(&self) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/hooks/{shop}", post(receive))
            .with_state(self.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(format!("http://{addr}"))
    }

    pub fn expect(&self, shop: &str, secret: &str) {
        self.secrets
            .lock()
            .unwrap()
            .insert(shop.to_string(), secret.to_string());
    }

    /// Reads the shop's inbox.
    pub fn with<R>(&self, shop: &str, f: impl FnOnce(&Inbox) -> R) -> R {
        let inboxes = self.inboxes.lock().unwrap();
        match inboxes.get(shop) {
            Some(i) => f(i),
            None => f(&Inbox::default()),
        }
    }
}

fn signed(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(sig) = headers
        .get("walletpay-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut t = None;
    let mut v1 = Vec::new();
    for part in sig.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = Some(x),
            Some(("v1", x)) => v1.push(x),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    v1.iter().any(|candidate| {
        let Ok(expected) = hex::decode(candidate) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
        mac.update(t.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&expected).is_ok()
    })
}

async fn receive(
    State(r): State<Receiver>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let secret = r.secrets.lock().unwrap().get(&shop).cloned();
    let answer = {
        let mut inboxes = r.inboxes.lock().unwrap();
        let inbox = inboxes.entry(shop).or_default();
        take(inbox, secret.as_deref(), &headers, &body)
    };
    match answer {
        Ok(true) => {
            tokio::time::sleep(std::time::Duration::from_secs(11)).await;
            StatusCode::OK
        }
        Ok(false) => StatusCode::OK,
        Err(status) => status,
    }
}

/// Files one delivery; `Ok(true)`: answer it late.
fn take(
    inbox: &mut Inbox,
    secret: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<bool, StatusCode> {
    if !secret.is_some_and(|s| signed(s, headers, body)) {
        inbox.bad_signatures += 1;
        return Err(StatusCode::UNAUTHORIZED);
    }
    let Ok(event) = serde_json::from_slice::<Value>(body) else {
        return Err(StatusCode::BAD_REQUEST);
    };
    let Some(id) = event["id"].as_str().map(str::to_string) else {
        return Err(StatusCode::BAD_REQUEST);
    };
    inbox.deliveries += 1;
    let attempt = {
        let n = inbox.attempts.entry(id.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let first = attempt == 1;
    let draw = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    }) % 100;
    if first && draw < 5 {
        inbox.refused += 1;
        return Err(StatusCode::INTERNAL_SERVER_ERROR);
    }
    match inbox.events.get(&id) {
        Some(first) if *first != event => inbox.changed += 1,
        Some(_) => {}
        None => {
            inbox.events.insert(id, event);
        }
    }
    if first && draw == 5 {
        inbox.late += 1;
        return Ok(true);
    }
    Ok(false)
}
