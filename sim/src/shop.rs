//! The buyers' two journeys over HTTP, as a browser and a shop's server make them: through
//! walletpay's hosted checkout (the buyer's own wallet among every wallet of the market,
//! failures turned into a retry or a switch), and through one aggregator with one attempt
//! and no recovery (the baseline). Both end with the shop's refunds of the order.

use crate::traffic::{Buyer, Next, RefundPlan, MAX_ATTEMPTS};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a buyer waits for a payment to move (its code or button to appear, or their
/// wallet's answer to come back) before giving up on the order.
pub const PATIENCE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(200);

/// One HTTP client for the run, timing every call by what it is.
pub struct Http {
    client: reqwest::Client,
    pub base: String,
    timings: Mutex<HashMap<&'static str, Vec<u32>>>,
    pub requests: AtomicU64,
    /// Answers that were neither what the journey expects nor a refusal it handles.
    pub unexpected: Mutex<Vec<String>>,
}

pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Http {
    pub fn new(base: String) -> Self {
        Http {
            client: walletpay_wallet_adapter::tls::client_builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(512)
                .timeout(Duration::from_secs(30))
                .build()
                .expect("HTTP client"),
            base,
            timings: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            unexpected: Mutex::new(Vec::new()),
        }
    }

    pub fn timings(&self) -> HashMap<&'static str, Vec<u32>> {
        self.timings.lock().unwrap().clone()
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    /// Sends, timing it as `what`; a transport error answers status 0.
    pub async fn send(&self, what: &'static str, req: reqwest::RequestBuilder) -> Answer {
        let started = Instant::now();
        self.requests.fetch_add(1, Ordering::Relaxed);
        let answer = match req.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                let body = r
                    .bytes()
                    .await
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or(Value::Null);
                Answer { status, body }
            }
            Err(e) => Answer {
                status: 0,
                body: json!({"transport_error": e.to_string()}),
            },
        };
        let micros = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
        self.timings
            .lock()
            .unwrap()
            .entry(what)
            .or_default()
            .push(micros);
        answer
    }

    pub fn unexpected(&self, what: &str, a: &Answer) {
        let mut u = self.unexpected.lock().unwrap();
        if u.len() < 20 {
            u.push(format!("{what}: {} {}", a.status, a.body));
        }
    }

    async fn api(
        &self,
        what: &'static str,
        method: reqwest::Method,
        path: &str,
        key: &str,
    ) -> Answer {
        self.send(what, self.request(method, path).bearer_auth(key))
            .await
    }
}

/// A shop of the run.
pub struct Shop {
    pub name: &'static str,
    pub key: String,
    /// The one provider the shop reaches its wallets through, or `None` (walletpay's
    /// routing across every provider).
    pub only: Option<&'static str>,
}

/// What one order came to, as the journey saw it.
#[derive(Debug, Default, Clone)]
pub struct Order {
    pub attempts: usize,
    /// The buyer found no wallet they would pay with.
    pub no_wallet: bool,
    /// Paid, as our API last showed it, and by which attempt (1-based).
    pub paid: Option<String>,
    pub paid_by_attempt: usize,
    /// What the shop asked to refund and was accepted (201), in minor units.
    pub refund_accepted: i64,
    /// An expired attempt the buyer approved in the wallet after another paid the order.
    pub paid_late: Option<String>,
    /// The buyer gave up waiting.
    pub abandoned: bool,
    pub refunds_sent: u32,
    pub refunds_refused: u32,
    /// Two refunds of 70% sent at once that were both taken.
    pub both_taken: bool,
}

fn final_status(s: &str) -> bool {
    matches!(
        s,
        "succeeded" | "failed" | "expired" | "canceled" | "refunded" | "partially_refunded"
    )
}

/// The buyer's act in their wallet: the provider sandbox's `simulate` of a charge.
async fn simulate(http: &Http, provider: &str, reference: &str, body: Value) -> Answer {
    let req = http
        .request(
            reqwest::Method::POST,
            &format!("/sandbox/{provider}/simulate/{reference}"),
        )
        .header("content-type", "application/json")
        .body(body.to_string());
    http.send("wallet", req).await
}

impl Shop {
    /// The wallets the shop offers for this order, best first.
    async fn offered(&self, http: &Http, b: &Buyer) -> Vec<String> {
        let path = format!(
            "/v1/wallets?country={}&amount={}&currency={}",
            b.market.country, b.amount_minor, b.market.currency
        );
        let a = http
            .api("wallets", reqwest::Method::GET, &path, &self.key)
            .await;
        if a.status != 200 {
            http.unexpected("wallets", &a);
            return Vec::new();
        }
        a.body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|w| self.only.is_none_or(|p| w["provider"] == p))
            .filter_map(|w| w["wallet"].as_str().map(str::to_string))
            .collect()
    }

    fn choice(b: &Buyer, offered: &[String]) -> Option<String> {
        if offered.iter().any(|w| w == b.own_wallet) {
            return Some(b.own_wallet.to_string());
        }
        offered.first().filter(|_| b.takes_another_wallet).cloned()
    }

    fn customer(b: &Buyer, seed: u64) -> Value {
        json!({
            "id": b.customer_id,
            "phone": b.phone,
            "email": format!("{}@example.com", b.customer_id),
            "device_id": format!("dev-sim{seed}-{}", b.index),
            "ip": format!("203.0.113.{}", b.index % 250 + 1),
        })
    }

    pub fn reference(seed: u64, b: &Buyer) -> String {
        format!("order-{seed}-{}", b.index)
    }

    async fn payment(&self, http: &Http, id: &str) -> Answer {
        http.api(
            "get payment",
            reqwest::Method::GET,
            &format!("/v1/payments/{id}"),
            &self.key,
        )
        .await
    }

    /// Waits until the payment can be acted on (a reference at its provider) or is final.
    async fn until(&self, http: &Http, id: &str, done: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let a = self.payment(http, id).await;
            if a.status == 200 && done(&a.body) {
                return Some(a.body);
            }
            if a.status != 200 && a.status != 0 {
                http.unexpected("get payment", &a);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The buyer acts in their wallet, at the sandbox of the payment's provider.
    async fn in_wallet(&self, http: &Http, payment: &Value, outcome: &str) {
        let (Some(provider), Some(reference)) = (
            payment["provider"].as_str(),
            payment["provider_reference"].as_str(),
        ) else {
            return;
        };
        let a = simulate(http, provider, reference, json!({"outcome": outcome})).await;
        if !(200..300).contains(&a.status) {
            // A charge already closed (expired meanwhile) refuses the buyer: not ours.
            if a.status != 409 && a.status != 400 {
                http.unexpected("simulate", &a);
            }
        }
    }

    /// One attempt after its payment exists: the buyer acts, then waits for the answer.
    /// `None`: gave up waiting.
    async fn attempt(&self, http: &Http, id: &str, outcome: &str) -> Option<Value> {
        let ready = self
            .until(http, id, |p| {
                final_status(p["status"].as_str().unwrap_or(""))
                    || (p["provider_reference"].is_string() && p["status"] == "requires_action")
            })
            .await?;
        if final_status(ready["status"].as_str().unwrap_or("")) {
            return Some(ready);
        }
        self.in_wallet(http, &ready, outcome).await;
        self.until(http, id, |p| {
            final_status(p["status"].as_str().unwrap_or(""))
        })
        .await
    }

    /// walletpay's hosted checkout.
    pub async fn checkout(&self, http: &Http, seed: u64, b: &Buyer) -> Order {
        let mut order = Order::default();
        let offered = self.offered(http, b).await;
        let Some(mut wallet) = Self::choice(b, &offered) else {
            order.no_wallet = true;
            return order;
        };
        let reference = Self::reference(seed, b);
        let created = http
            .send(
                "create session",
                http.request(reqwest::Method::POST, "/v1/checkout/sessions")
                    .bearer_auth(&self.key)
                    .header("idempotency-key", format!("sim-{reference}"))
                    .json(&json!({
                        "amount": b.amount_minor,
                        "currency": b.market.currency,
                        "country": b.market.country,
                        "merchant_reference": reference,
                        "customer": Self::customer(b, seed),
                        "return_url": "https://shop.example/thanks",
                        "cancel_url": "https://shop.example/cart",
                    })),
            )
            .await;
        if created.status != 201 {
            http.unexpected("create session", &created);
            return order;
        }
        let Some(session) = created.body["id"].as_str().map(str::to_string) else {
            return order;
        };
        let mut failed: Vec<String> = Vec::new();
        let mut expired_first: Option<String> = None;
        for n in 0..MAX_ATTEMPTS {
            order.attempts = n + 1;
            let start = || {
                http.send(
                    "start attempt",
                    http.request(reqwest::Method::POST, &format!("/checkout/{session}/pay"))
                        .header("sec-fetch-site", "same-origin")
                        .form(&[("wallet", wallet.as_str()), ("offered", "")]),
                )
            };
            let pay = if n == 0 && b.double_click {
                // Two starts of one attempt at once: the page makes one payment.
                let (x, y) = tokio::join!(start(), start());
                if y.status != 303 {
                    http.unexpected("start attempt (twice at once)", &y);
                }
                x
            } else {
                start().await
            };
            if pay.status != 303 {
                http.unexpected("start attempt", &pay);
                return order;
            }
            let s = http
                .api(
                    "get session",
                    reqwest::Method::GET,
                    &format!("/v1/checkout/sessions/{session}"),
                    &self.key,
                )
                .await;
            let attempts = s.body["payments"].as_array().cloned().unwrap_or_default();
            if attempts.len() != n + 1 {
                // The page refused a second attempt (one may still succeed) or made none.
                order.abandoned = true;
                return order;
            }
            let Some(id) = attempts[n]["id"].as_str().map(str::to_string) else {
                order.abandoned = true;
                return order;
            };
            let Some(p) = self.attempt(http, &id, b.in_wallet[n].outcome()).await else {
                order.abandoned = true;
                return order;
            };
            if p["status"] == "succeeded" {
                order.paid = Some(id);
                order.paid_by_attempt = n + 1;
                break;
            }
            if n == 0 && p["status"] == "expired" && p["provider"] == "xendit" {
                expired_first = p["provider_reference"].as_str().map(str::to_string);
            }
            let category =
                p["failure"]["category"]
                    .as_str()
                    .unwrap_or(if p["status"] == "expired" {
                        "expired"
                    } else {
                        "unknown"
                    });
            let recovery: Vec<String> = p["failure"]["recovery"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect();
            failed.push(wallet.clone());
            match b.next_after(n, category, &recovery) {
                Next::Retry => {}
                Next::Switch => {
                    let alternatives: Vec<String> = p["failure"]["alternatives"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|w| w.as_str().map(str::to_string))
                        .chain(offered.iter().cloned())
                        .collect();
                    match alternatives.into_iter().find(|w| !failed.contains(w)) {
                        Some(w) => wallet = w,
                        None => break,
                    }
                }
                Next::Leave => break,
            }
        }
        if let (Some(_), Some(reference), true) = (&order.paid, &expired_first, b.pays_late) {
            // The buyer approves the first, expired, request after all: Xendit settles it
            // (the race its webhook guide warns of); the order is paid twice until the
            // late-success path refunds one.
            let late = simulate(
                http,
                "xendit",
                reference,
                json!({"outcome": "success", "late": true}),
            )
            .await;
            if late.status == 200 {
                order.paid_late = Some(reference.clone());
            } else {
                http.unexpected("late approval", &late);
            }
        }
        if let Some(id) = order.paid.clone() {
            self.refund(http, b, &id, &mut order).await;
        }
        order
    }

    /// One aggregator, one attempt, no recovery.
    pub async fn single(&self, http: &Http, seed: u64, b: &Buyer) -> Order {
        let mut order = Order::default();
        let offered = self.offered(http, b).await;
        let Some(wallet) = Self::choice(b, &offered) else {
            order.no_wallet = true;
            return order;
        };
        let reference = Self::reference(seed, b);
        order.attempts = 1;
        let created = http
            .send(
                "create payment",
                http.request(reqwest::Method::POST, "/v1/payments")
                    .bearer_auth(&self.key)
                    .header("idempotency-key", format!("sim-{reference}"))
                    .json(&json!({
                        "amount": b.amount_minor,
                        "currency": b.market.currency,
                        "country": b.market.country,
                        "wallet": wallet,
                        "merchant_reference": reference,
                        "customer": Self::customer(b, seed),
                        "return_url": "https://shop.example/thanks",
                    })),
            )
            .await;
        if created.status != 201 {
            http.unexpected("create payment", &created);
            return order;
        }
        let Some(id) = created.body["id"].as_str().map(str::to_string) else {
            return order;
        };
        match self.attempt(http, &id, b.in_wallet[0].outcome()).await {
            None => order.abandoned = true,
            Some(p) if p["status"] == "succeeded" => {
                order.paid = Some(id.clone());
                order.paid_by_attempt = 1;
            }
            Some(_) => {}
        }
        if let Some(id) = order.paid.clone() {
            self.refund(http, b, &id, &mut order).await;
        }
        order
    }

    async fn refund_one(&self, http: &Http, id: &str, key: String, amount: Option<i64>) -> Answer {
        let body = match amount {
            Some(a) => json!({"amount": a, "reason": "requested_by_customer"}),
            None => json!({"reason": "requested_by_customer"}),
        };
        http.send(
            "create refund",
            http.request(reqwest::Method::POST, &format!("/v1/payments/{id}/refunds"))
                .bearer_auth(&self.key)
                .header("idempotency-key", key)
                .json(&body),
        )
        .await
    }

    async fn refund(&self, http: &Http, b: &Buyer, id: &str, order: &mut Order) {
        let answers = match b.refund {
            RefundPlan::None => return,
            RefundPlan::Full => vec![
                self.refund_one(http, id, format!("r-{id}-full"), None)
                    .await,
            ],
            RefundPlan::Half => {
                vec![
                    self.refund_one(http, id, format!("r-{id}-half"), Some(b.part(50)))
                        .await,
                ]
            }
            RefundPlan::TwoAtOnce => {
                let (x, y) = tokio::join!(
                    self.refund_one(http, id, format!("r-{id}-a"), Some(b.part(70))),
                    self.refund_one(http, id, format!("r-{id}-b"), Some(b.part(70))),
                );
                order.both_taken = x.status == 201 && y.status == 201;
                vec![x, y]
            }
        };
        for a in answers {
            order.refunds_sent += 1;
            match (a.status, a.body["error"]["code"].as_str()) {
                (201, _) => order.refund_accepted += a.body["amount"].as_i64().unwrap_or(0),
                (422, Some("refund_exceeds_refundable" | "refund_not_supported")) => {
                    order.refunds_refused += 1
                }
                (503, _) => order.refunds_refused += 1,
                _ => {
                    order.refunds_refused += 1;
                    http.unexpected("create refund", &a);
                }
            }
        }
    }
}
