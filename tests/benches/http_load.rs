//! `cargo bench -p walletpay-tests --bench figures -- http`
//!
//! The three write paths a shop and a provider call (create-payment, the Xendit webhook, a
//! partial refund), each through the use case in process and over HTTP at 1 and 32
//! connections, with the same server's answer to a request without a key (401, no work)
//! beside them as the ceiling of the HTTP layer. The local stack runs on the embedded store
//! with the Xendit sandbox on loopback and its consumers working; the load comes from this
//! process, closed-loop (each connection sends its next request when the answer arrives),
//! on the same two threads as the server, as `wrk` on the same box would share the cores.
//!
//! Every answer must be the expected status: a row with another is a failed run, not a
//! figure. Set `BENCH_SECONDS` to change each row's length (default 5).

use crate::percentile;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use walletpay_local::{Backend, Options};
use walletpay_tests::stack::{dana_order, start_with, Stack};

/// How long a row runs: `Some(duration)` benching, `None` (a few requests per connection)
/// when `cargo test` runs it.
fn length() -> Option<Duration> {
    let benching = std::env::args().any(|a| a == "--bench");
    benching.then(|| {
        Duration::from_secs(
            std::env::var("BENCH_SECONDS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(5),
        )
    })
}

/// One request of a row: the n-th overall, ready to send.
type Make = Arc<dyn Fn(usize) -> reqwest::RequestBuilder + Send + Sync>;

struct Row {
    wall: Duration,
    /// Sorted.
    samples: Vec<Duration>,
}

/// When a row is over: its time is up, or (under `cargo test`) each sender made 8 requests.
#[derive(Clone, Copy)]
struct Until(Option<Instant>);

impl Until {
    fn start() -> Self {
        Until(length().map(|d| Instant::now() + d))
    }

    fn reached(self, made: usize) -> bool {
        match self.0 {
            Some(u) => Instant::now() >= u,
            None => made >= 8,
        }
    }
}

impl Row {
    fn new(mut samples: Vec<Duration>, wall: Duration) -> Self {
        samples.sort();
        Row { wall, samples }
    }

    fn print(&self, what: &str, how: &str) {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "  {what:<16} {how:<14} {:>7.0} req/s   p50 {:>7.0} µs   p99 {:>7.0} µs   ({} requests)",
            self.samples.len() as f64 / self.wall.as_secs_f64(),
            us(percentile(&self.samples, 0.50)),
            us(percentile(&self.samples, 0.99)),
            self.samples.len(),
        );
    }
}

/// `connections` connections, each its own client with one kept-alive connection, sending
/// closed-loop until the row's time is up (or 8 requests each under `cargo test`).
async fn over_http(connections: usize, make: Make, expect: u16) -> Row {
    let next = Arc::new(AtomicUsize::new(0));
    let until = Until::start();
    let start = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (make, next) = (make.clone(), next.clone());
            tokio::spawn(async move {
                let client = walletpay_wallet_adapter::tls::client_builder()
                    .pool_max_idle_per_host(1)
                    .build()
                    .unwrap();
                let mut samples = Vec::new();
                while !until.reached(samples.len()) {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let req = make(n);
                    let t = Instant::now();
                    let resp = client
                        .execute(req.build().unwrap())
                        .await
                        .expect("the local stack answers");
                    let status = resp.status().as_u16();
                    let body = resp.bytes().await.expect("the whole answer");
                    samples.push(t.elapsed());
                    assert_eq!(status, expect, "{}", String::from_utf8_lossy(&body));
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await.expect("a connection's task"));
    }
    Row::new(samples, start.elapsed())
}

/// One call at a time through the use case, as the Lambda handler makes it.
async fn in_process<F, Fut>(call: F) -> Row
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let until = Until::start();
    let start = Instant::now();
    let mut samples = Vec::new();
    while !until.reached(samples.len()) {
        let t = Instant::now();
        call(samples.len()).await;
        samples.push(t.elapsed());
    }
    Row::new(samples, start.elapsed())
}

fn order(n: usize, run: &str) -> serde_json::Value {
    let reference = format!("http-{run}-{n}");
    let mut o = dana_order(&reference);
    o["customer"]["id"] = json!(format!("cus-{reference}"));
    o["customer"]["phone"] = json!(format!("+62813{:08}", n % 100_000_000));
    o
}

pub fn run() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut opts = Options::default();
        // One merchant at load: its per-process limit would answer most of it with 429s.
        opts.settings.merchant_rate = walletpay_app::rate_limit::Limit {
            per_minute: 60_000_000,
            per_second: 1_000_000.0,
            burst: 2_000_000.0,
        };
        let s: Arc<Stack> = Arc::new(
            start_with(Backend::Embedded, opts)
                .await
                .expect("the embedded stack needs no stand-ins"),
        );
        let (app, merchant, key) = (
            s.local.app.clone(),
            s.local.demo_merchant.clone(),
            s.local.demo_key.clone(),
        );

        // Paid payments to refund: Rp 150,000 each, refunded Rp 10 at a time, spread so
        // that 32 connections rarely meet on one payment.
        let paid: Vec<String> = futures::future::join_all((0..96).map(|i| {
            let s = s.clone();
            async move {
                s.paid(&format!("http-paid-{i}"), 15_000_000).await["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            }
        }))
        .await;
        let paid = Arc::new(paid);

        println!(
            "write paths in process and over HTTP (local stack, embedded store, Xendit sandbox on loopback; load from this process on the same 2 threads)"
        );

        // The ceiling, first, before the other rows leave work queued behind them: the same
        // server refusing a request without a key.
        for conns in [1, 32] {
            let s2 = s.clone();
            let make: Make = Arc::new(move |n| {
                s2.http
                    .post(s2.url("/v1/payments"))
                    .header("idempotency-key", format!("nokey-{n}"))
                    .json(&json!({}))
            });
            over_http(conns, make, 401)
                .await
                .print("401, no key", &format!("{conns} conn HTTP"));
        }

        // create-payment
        let row = in_process(|n| {
            let (app, merchant) = (app.clone(), merchant.clone());
            async move {
                let body = order(n, "inproc").to_string();
                let key = format!("inproc-{n}");
                let r = walletpay_app::payments::create_payment(
                    &app,
                    &merchant,
                    Some(&key),
                    body.as_bytes(),
                    None,
                )
                .await
                .expect("payment created");
                assert_eq!(r.status, 201);
            }
        })
        .await;
        row.print("create-payment", "in process");
        for conns in [1, 32] {
            let (s2, key) = (s.clone(), key.clone());
            let make: Make = Arc::new(move |n| {
                let run = format!("c{conns}");
                s2.http
                    .post(s2.url("/v1/payments"))
                    .bearer_auth(&key)
                    .header("idempotency-key", format!("http-{run}-{n}"))
                    .json(&order(n, &run))
            });
            over_http(conns, make, 201)
                .await
                .print("create-payment", &format!("{conns} conn HTTP"));
        }

        // The Xendit webhook of a paid payment: verified, read, handed to the consumer,
        // which finds it already applied.
        let (headers, body) = walletpay_tests::webhooks::genuine(&paid[0])
            .into_iter()
            .find(|(p, _, _)| *p == "xendit")
            .map(|(_, h, b)| (h, b))
            .unwrap();
        let row = in_process(|_| {
            let (app, headers, body) = (app.clone(), headers.clone(), body.clone());
            async move {
                let r = walletpay_app::webhooks::receive_webhook(&app, "xendit", &headers, &body)
                    .await
                    .expect("a genuine webhook");
                assert_eq!(r.status, 200);
            }
        })
        .await;
        row.print("Xendit webhook", "in process");
        for conns in [1, 32] {
            let (s2, headers, body) = (s.clone(), headers.clone(), body.clone());
            let make: Make = Arc::new(move |_| {
                s2.http
                    .post(s2.url("/v1/webhooks/xendit"))
                    .headers(headers.clone())
                    .body(body.clone())
            });
            over_http(conns, make, 200)
                .await
                .print("Xendit webhook", &format!("{conns} conn HTTP"));
        }

        // A partial refund: reserved against the payment, its job queued.
        let refund = json!({"amount": 1000, "reason": "requested_by_customer"}).to_string();
        let row = in_process(|n| {
            let (app, merchant, paid, refund) =
                (app.clone(), merchant.clone(), paid.clone(), refund.clone());
            async move {
                let key = format!("inproc-refund-{n}");
                let r = walletpay_app::refunds::create_refund(
                    &app,
                    &merchant,
                    &paid[n % paid.len()],
                    Some(&key),
                    refund.as_bytes(),
                    None,
                )
                .await
                .expect("refund accepted");
                assert_eq!(r.status, 201);
            }
        })
        .await;
        row.print("refund", "in process");
        for conns in [1, 32] {
            let (s2, key, paid, refund) = (s.clone(), key.clone(), paid.clone(), refund.clone());
            let make: Make = Arc::new(move |n| {
                s2.http
                    .post(s2.url(&format!("/v1/payments/{}/refunds", paid[n % paid.len()])))
                    .bearer_auth(&key)
                    .header("idempotency-key", format!("http-refund-{conns}-{n}"))
                    .header("content-type", "application/json")
                    .body(refund.clone())
            });
            over_http(conns, make, 201)
                .await
                .print("refund", &format!("{conns} conn HTTP"));
        }

    });
}
