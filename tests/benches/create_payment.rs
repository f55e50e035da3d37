//! `cargo bench -p walletpay-tests --bench figures -- create_payment`
//!
//! Latency of create-payment through the use case (validation, idempotency claim, risk
//! control's read, decision and counter writes, payment write, provider call, status write,
//! response stored) on the embedded store, with the
//! Xendit adapter calling the Xendit sandbox over HTTP on loopback. Prints percentiles.
//! Set `BENCH_REQUESTS` to change the sample size (default 5000).

use crate::percentile;
use serde_json::json;
use std::time::{Duration, Instant};
use walletpay_local::{Backend, Options};

pub fn run() {
    // `cargo test --all-targets` runs this too, without `--bench`: then it is a quick smoke run.
    let benching = std::env::args().any(|a| a == "--bench");
    let default = if benching { 5000 } else { 50 };
    let requests: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let warmup = if benching { 500 } else { 5 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let stack = walletpay_local::start(Options {
            port: 0,
            backend: Backend::Embedded,
            ..Options::default()
        })
        .await
        .expect("local stack");
        let app = stack.app.clone();
        let merchant = stack.demo_merchant.clone();
        let body = |i: usize| {
            json!({
                "merchant_reference": format!("order-{i}"),
                "amount": 15000000,
                "currency": "IDR",
                "country": "ID",
                "wallet": "dana",
                // A buyer per order, as in a flash sale: risk control reads and writes every
                // counter and list for each.
                "customer": {
                    "id": format!("cus_{i}"),
                    "phone": format!("+62813{:08}", i % 100_000_000),
                    "email": format!("buyer{i}@example.com"),
                    "ip": format!("198.51.100.{}", i % 250 + 1),
                    "device_id": format!("dev-{i}")
                },
                "return_url": "https://shop.example/thanks"
            })
            .to_string()
        };
        let run = |i: usize| {
            let app = app.clone();
            let merchant = merchant.clone();
            let b = body(i);
            async move {
                let key = format!("bench-{i}");
                let t = Instant::now();
                let reply = walletpay_app::payments::create_payment(
                    &app,
                    &merchant,
                    Some(&key),
                    b.as_bytes(),
                    None,
                )
                .await
                .expect("payment created");
                let took = t.elapsed();
                assert_eq!(reply.status, 201);
                took
            }
        };
        for i in 0..warmup {
            run(1_000_000 + i).await;
        }
        let mut samples = Vec::with_capacity(requests);
        let start = Instant::now();
        for i in 0..requests {
            samples.push(run(i).await);
        }
        let wall = start.elapsed();
        samples.sort();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "create-payment via the use case, embedded store, Xendit sandbox over loopback HTTP"
        );
        println!("requests: {requests} (after {warmup} warm-up), one at a time");
        println!(
            "p50 {:.0} us   p90 {:.0} us   p99 {:.0} us   p99.9 {:.0} us   max {:.0} us",
            us(percentile(&samples, 0.50)),
            us(percentile(&samples, 0.90)),
            us(percentile(&samples, 0.99)),
            us(percentile(&samples, 0.999)),
            us(*samples.last().unwrap()),
        );
        println!(
            "throughput {:.0} payments/s on one connection",
            requests as f64 / wall.as_secs_f64()
        );
        assert_eq!(
            stack.xendit.payment_requests().len(),
            requests + warmup,
            "one charge per payment"
        );
    });
}
