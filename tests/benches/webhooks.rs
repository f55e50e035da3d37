//! `cargo bench -p walletpay-tests --bench figures -- webhooks`
//!
//! What `POST /v1/webhooks/{provider}` costs us per provider: verification of the provider's
//! signature or token, parsing of the body, and the send to the payment-events queue (the
//! in-process queue; nothing consumes it here), through the same use case the Lambda runs.
//! Prints percentiles in microseconds. Set `BENCH_REQUESTS` to change the sample size
//! (default 5000 per provider).

use crate::percentile;
use std::sync::Arc;
use std::time::{Duration, Instant};
use walletpay_app::{Adapters, App, Settings};
use walletpay_embedded::{EmbeddedStore, InProcessQueue};
use walletpay_ports::{StaticSecrets, SystemClock};
use walletpay_wallet_adapter::{adyen, midtrans, stripe, xendit};

fn app() -> App {
    let secrets = Arc::new(
        walletpay_local::sandbox_secrets()
            .iter()
            .fold(StaticSecrets::new(), |s, (n, v)| s.with(n, v)),
    );
    let q = || Arc::new(InProcessQueue::new(Duration::from_secs(30)));
    let unused = "http://127.0.0.1:9";
    App {
        store: Arc::new(EmbeddedStore::in_memory()),
        payment_events: q(),
        status_checks: q(),
        refunds: q(),
        notifications: q(),
        notifications_dead: q(),
        reconcile_jobs: q(),
        webhooks: Arc::new(walletpay_api::runtime::HttpWebhookSender::new()),
        clock: Arc::new(SystemClock),
        adapters: Adapters::new()
            .with(Arc::new(xendit::Xendit::new(
                xendit::XenditConfig::new(unused),
                secrets.clone(),
            )))
            .with(Arc::new(stripe::Stripe::new(
                stripe::StripeConfig::new(unused),
                secrets.clone(),
            )))
            .with(Arc::new(adyen::Adyen::new(
                adyen::AdyenConfig::new(unused),
                secrets.clone(),
            )))
            .with(Arc::new(midtrans::Midtrans::new(
                midtrans::MidtransConfig::new(unused),
                secrets,
            ))),
        settings: Settings::default(),
        merchants: Default::default(),
        health: Default::default(),
        limits: Default::default(),
        risk: Default::default(),
    }
}

const PAYMENT: &str = "pay_01m8ab8makqqg641md11702kgn";

/// A genuine success webhook of each provider, as it arrives: (provider, headers, body).
fn webhooks() -> Vec<(&'static str, http::HeaderMap, Vec<u8>)> {
    walletpay_tests::webhooks::genuine(PAYMENT)
}

pub fn run() {
    let benching = std::env::args().any(|a| a == "--bench");
    let requests: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 5000 } else { 20 });
    let warmup = if benching { 500 } else { 2 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        println!(
            "webhook verify + parse + enqueue, {requests} per provider (after {warmup} warm-up)"
        );
        for (provider, headers, body) in webhooks() {
            let app = app();
            let mut samples = Vec::with_capacity(requests);
            for i in 0..warmup + requests {
                let t = Instant::now();
                let reply =
                    walletpay_app::webhooks::receive_webhook(&app, provider, &headers, &body).await;
                let took = t.elapsed();
                let reply = reply.unwrap_or_else(|e| panic!("{provider}: {}", e.code));
                assert_eq!(reply.status, 200, "{provider}");
                if i >= warmup {
                    samples.push(took);
                }
            }
            samples.sort();
            let us = |d: Duration| d.as_secs_f64() * 1e6;
            println!(
                "  {provider:<9} p50 {:>6.1} µs   p90 {:>6.1} µs   p99 {:>6.1} µs   max {:>7.1} µs",
                us(percentile(&samples, 0.50)),
                us(percentile(&samples, 0.90)),
                us(percentile(&samples, 0.99)),
                us(*samples.last().unwrap()),
            );
        }
    });
}
