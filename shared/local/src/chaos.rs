//! Faults the local stack can inject into itself, for the flash-sale simulation: one
//! provider's sandbox degraded while the caller says so (5xx before anything is made,
//! answers held past the client's timeout after the charge was made, slow answers), the
//! providers' webhooks lost, duplicated and delayed (so reordered), and queue consumers
//! killed part-way through a batch (its messages come back after the visibility timeout).
//!
//! Every decision is a function of the seed, what is being decided and the content it is
//! about (a request's path and body, a webhook's body, a message's body) and how many times
//! that content was seen before, never of the order in which concurrent work reaches it.
//! The content carries the ids the stack makes (new each run), so a seed fixes the rates
//! and the traffic, not which request meets which fault. So that a short run sees every
//! fault, the 5th, 6th and 7th provider webhooks are lost, duplicated and delayed whatever
//! the draws, and the 3rd queue batch is killed.

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use walletpay_domain::Provider;

/// A request carrying this header was re-sent by the faults themselves (a duplicate or a
/// delayed webhook) and passes untouched.
const REPLAY_HEADER: &str = "x-walletpay-fault-replay";

/// How often each fault happens.
#[derive(Debug, Clone)]
pub struct FaultRates {
    /// The sandbox that degrades while [`Chaos::degrade`] is on.
    pub degraded: Option<Provider>,
    /// Share of its API calls answered 503 before reaching it (nothing made).
    pub server_error: f64,
    /// Share of its API calls made, then answered only after `hold` (past the client's
    /// timeout: an unknown outcome).
    pub timeout: f64,
    pub hold: Duration,
    /// Share of its API calls answered after `slow` more.
    pub slow: f64,
    pub slow_by: Duration,
    /// Shares of provider webhooks lost (answered 200, never handled), duplicated (handled,
    /// then delivered again shortly after) and delayed (answered 200, handled up to
    /// `max_delay` later, so after webhooks sent after it).
    pub webhook_lost: f64,
    pub webhook_duplicated: f64,
    pub webhook_delayed: f64,
    pub max_delay: Duration,
    /// Share of queue batches whose consumer is killed part-way (within `kill_within`).
    pub consumer_killed: f64,
    pub kill_within: Duration,
}

impl Default for FaultRates {
    fn default() -> Self {
        FaultRates {
            degraded: None,
            server_error: 0.0,
            timeout: 0.0,
            hold: Duration::from_secs(3),
            slow: 0.0,
            slow_by: Duration::from_millis(800),
            webhook_lost: 0.0,
            webhook_duplicated: 0.0,
            webhook_delayed: 0.0,
            max_delay: Duration::from_secs(2),
            consumer_killed: 0.0,
            kill_within: Duration::from_millis(40),
        }
    }
}

/// What the faults did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub server_errors: u64,
    pub timeouts: u64,
    pub slow: u64,
    pub webhooks_lost: u64,
    pub webhooks_duplicated: u64,
    pub webhooks_delayed: u64,
    pub consumers_killed: u64,
}

#[derive(Default)]
struct Counters {
    server_errors: AtomicU64,
    timeouts: AtomicU64,
    slow: AtomicU64,
    webhooks_lost: AtomicU64,
    webhooks_duplicated: AtomicU64,
    webhooks_delayed: AtomicU64,
    consumers_killed: AtomicU64,
}

/// The faults of one run.
pub struct Chaos {
    seed: u64,
    rates: FaultRates,
    degrading: AtomicBool,
    calm: AtomicBool,
    seen: Mutex<HashMap<u64, u32>>,
    webhooks: AtomicU64,
    batches: AtomicU64,
    counters: Counters,
    base_url: OnceLock<String>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Chaos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chaos")
            .field("seed", &self.seed)
            .field("rates", &self.rates)
            .field("degrading", &self.degrading())
            .finish_non_exhaustive()
    }
}

/// A fault's draw, in `[0, 1)`.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

impl Chaos {
    pub fn new(seed: u64, rates: FaultRates) -> Arc<Self> {
        Arc::new(Chaos {
            seed,
            rates,
            degrading: AtomicBool::new(false),
            calm: AtomicBool::new(false),
            seen: Mutex::new(HashMap::new()),
            webhooks: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            counters: Counters::default(),
            base_url: OnceLock::new(),
            http: walletpay_wallet_adapter::tls::client_builder()
                .build()
                .expect("an HTTP client"),
        })
    }

    pub fn rates(&self) -> &FaultRates {
        &self.rates
    }

    /// Starts or ends the degraded provider's bad period.
    pub fn degrade(&self, on: bool) {
        self.degrading.store(on, Ordering::SeqCst);
    }

    pub fn degrading(&self) -> bool {
        self.degrading.load(Ordering::SeqCst) && !self.calmed()
    }

    /// Ends every fault (the sale is over).
    pub fn calm(&self) {
        self.calm.store(true, Ordering::SeqCst);
    }

    fn calmed(&self) -> bool {
        self.calm.load(Ordering::SeqCst)
    }

    pub fn counts(&self) -> FaultCounts {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        FaultCounts {
            server_errors: get(&c.server_errors),
            timeouts: get(&c.timeouts),
            slow: get(&c.slow),
            webhooks_lost: get(&c.webhooks_lost),
            webhooks_duplicated: get(&c.webhooks_duplicated),
            webhooks_delayed: get(&c.webhooks_delayed),
            consumers_killed: get(&c.consumers_killed),
        }
    }

    pub(crate) fn serve_at(&self, base_url: &str) {
        let _ = self.base_url.set(base_url.to_string());
    }

    /// Two draws in `[0, 1)` for `what` about `content`, the nth time it is seen.
    fn draw(&self, what: &str, content: &[u8]) -> (f64, f64) {
        let mut h = DefaultHasher::new();
        self.seed.hash(&mut h);
        what.hash(&mut h);
        content.hash(&mut h);
        let key = h.finish();
        let n = {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            let n = seen.entry(key).or_insert(0);
            *n += 1;
            *n
        };
        n.hash(&mut h);
        let first = h.finish();
        first.hash(&mut h);
        (unit(first), unit(h.finish()))
    }

    /// Whether this batch's consumer is killed, and after how long.
    pub(crate) fn kill_after(&self, bodies: &[&str]) -> Option<Duration> {
        if self.rates.consumer_killed <= 0.0 || self.calmed() {
            return None;
        }
        let content = bodies.concat();
        let (mut p, when) = self.draw("consumer", content.as_bytes());
        if self.batches.fetch_add(1, Ordering::Relaxed) == 2 {
            p = 0.0;
        }
        (p < self.rates.consumer_killed).then(|| {
            self.counters
                .consumers_killed
                .fetch_add(1, Ordering::Relaxed);
            self.rates.kill_within.mul_f64(when)
        })
    }

    pub(crate) fn killed_too_late(&self) {
        // The batch finished before the kill: it was not killed after all.
        self.counters
            .consumers_killed
            .fetch_sub(1, Ordering::Relaxed);
    }
}

async fn buffered(req: Request) -> Result<(axum::http::request::Parts, Bytes), Response> {
    let (parts, body) = req.into_parts();
    match to_bytes(body, 1 << 20).await {
        Ok(b) => Ok((parts, b)),
        Err(_) => Err(StatusCode::PAYLOAD_TOO_LARGE.into_response()),
    }
}

/// The degraded sandbox's API, while the bad period lasts. Its checkout pages, `simulate`
/// (the buyer's side) and reports (read after the sale) are left alone.
pub(crate) async fn degraded_sandbox(
    State(chaos): State<Arc<Chaos>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    if !chaos.degrading()
        || ["simulate", "checkout", "report", "statements"]
            .iter()
            .any(|p| path.contains(p))
    {
        return next.run(req).await;
    }
    let (parts, body) = match buffered(req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut content = parts.method.as_str().as_bytes().to_vec();
    content.extend_from_slice(path.as_bytes());
    content.extend_from_slice(&body);
    let (p, _) = chaos.draw("sandbox", &content);
    let r = &chaos.rates;
    let c = &chaos.counters;
    let req = Request::from_parts(parts, Body::from(body));
    if p < r.server_error {
        c.server_errors.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "{\"error\":\"service unavailable\"}",
        )
            .into_response();
    }
    if p < r.server_error + r.timeout {
        c.timeouts.fetch_add(1, Ordering::Relaxed);
        let answer = next.run(req).await;
        tokio::time::sleep(r.hold).await;
        return answer;
    }
    if p < r.server_error + r.timeout + r.slow {
        c.slow.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(r.slow_by).await;
    }
    next.run(req).await
}

/// Provider webhooks lost, duplicated or delayed.
pub(crate) async fn webhook_faults(
    State(chaos): State<Arc<Chaos>>,
    req: Request,
    next: Next,
) -> Response {
    if !req.uri().path().starts_with("/v1/webhooks/")
        || req.headers().contains_key(REPLAY_HEADER)
        || chaos.calmed()
    {
        return next.run(req).await;
    }
    let (parts, body) = match buffered(req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (mut p, when) = chaos.draw("webhook", &body);
    let r = &chaos.rates;
    // The 5th, 6th and 7th webhooks: lost, delayed, duplicated.
    match chaos.webhooks.fetch_add(1, Ordering::Relaxed) {
        4 => p = 0.0,
        5 => p = r.webhook_lost,
        6 => p = r.webhook_lost + r.webhook_delayed,
        _ => {}
    }
    let c = &chaos.counters;
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let headers = parts.headers.clone();
    if p < r.webhook_lost {
        c.webhooks_lost.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::OK, "{}").into_response();
    }
    if p < r.webhook_lost + r.webhook_delayed {
        c.webhooks_delayed.fetch_add(1, Ordering::Relaxed);
        resend(&chaos, path, headers, body, r.max_delay.mul_f64(when));
        return (StatusCode::OK, "{}").into_response();
    }
    if p < r.webhook_lost + r.webhook_delayed + r.webhook_duplicated {
        // Delivered again, from at once (racing the first) to half a second later.
        c.webhooks_duplicated.fetch_add(1, Ordering::Relaxed);
        resend(
            &chaos,
            path,
            headers,
            body.clone(),
            Duration::from_millis(500).mul_f64(when),
        );
    }
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// Delivers a provider's webhook again, as the provider would, after `after`.
fn resend(chaos: &Arc<Chaos>, path: String, headers: HeaderMap, body: Bytes, after: Duration) {
    let Some(base) = chaos.base_url.get().cloned() else {
        return;
    };
    let http = chaos.http.clone();
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let mut h = headers;
        h.remove(axum::http::header::HOST);
        h.remove(axum::http::header::CONTENT_LENGTH);
        let sent = http
            .post(format!("{base}{path}"))
            .headers(h)
            .header(REPLAY_HEADER, "1")
            .body(body)
            .send()
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "a replayed webhook did not go through");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_faults_and_repeats_draw_anew() {
        let a = Chaos::new(7, FaultRates::default());
        let b = Chaos::new(7, FaultRates::default());
        let c = Chaos::new(8, FaultRates::default());
        let first = a.draw("webhook", b"body");
        assert_eq!(first, b.draw("webhook", b"body"));
        assert_ne!(first, c.draw("webhook", b"body"));
        // The second sighting of the same content is a new draw (a retry may succeed).
        let second = a.draw("webhook", b"body");
        assert_ne!(first, second);
        assert_eq!(second, b.draw("webhook", b"body"));
        let (p, q) = a.draw("sandbox", b"x");
        assert!((0.0..1.0).contains(&p) && (0.0..1.0).contains(&q));
    }

    #[test]
    fn kills_happen_at_their_rate() {
        let chaos = Chaos::new(
            1,
            FaultRates {
                consumer_killed: 0.25,
                ..FaultRates::default()
            },
        );
        let bodies: Vec<String> = (0..4000).map(|i| format!("message {i}")).collect();
        let killed = bodies
            .iter()
            .filter(|b| chaos.kill_after(&[b.as_str()]).is_some())
            .count();
        assert!((850..1150).contains(&killed), "{killed} of 4000 killed");
        assert_eq!(chaos.counts().consumers_killed, killed as u64);
    }
}
