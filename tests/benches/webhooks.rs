//! `cargo bench -p walletpay-tests --bench figures -- webhooks`
//!
//! What `POST /v1/webhooks/{provider}` costs us per provider: verification of the provider's
//! signature or token, parsing of the body, and the send to the payment-events queue (the
//! in-process queue; nothing consumes it here), through the same use case the Lambda runs.
//! Prints percentiles in microseconds. Set `BENCH_REQUESTS` to change the sample size
//! (default 5000 per provider).

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::{Digest, Sha256, Sha512};
use std::sync::Arc;
use std::time::{Duration, Instant};
use walletpay_app::{Adapters, App, Settings};
use walletpay_embedded::{EmbeddedStore, InProcessQueue};
use walletpay_ports::{StaticSecrets, SystemClock};
use walletpay_wallet_adapter::{adyen, midtrans, stripe, xendit};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

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
    let mut out = Vec::new();
    let headers = |pairs: &[(&str, String)]| {
        let mut h = http::HeaderMap::new();
        h.insert("content-type", "application/json".parse().unwrap());
        for (k, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    };

    let x = json!({"event": "payment.capture", "business_id": "5f27a14a9bf05c73dd040bc8", "created": "2026-11-25T10:00:00.000Z", "api_version": "v3",
        "data": {"payment_id": "py-1402feb0-bb79-47ae-9d1e-e69394d3949c", "business_id": "5f27a14a9bf05c73dd040bc8", "reference_id": PAYMENT,
        "payment_request_id": "pr-1102feb0-bb79-47ae-9d1e-e69394d3949c", "type": "PAY", "country": "ID", "currency": "IDR",
        "request_amount": 150000, "capture_method": "AUTOMATIC", "channel_code": "DANA",
        "captures": [{"capture_id": "cptr-fa2abf5c-b5e4-4cd5-95df-f2c949eba332", "capture_amount": 150000, "capture_timestamp": "2026-11-25T10:00:01.000Z"}],
        "status": "SUCCEEDED", "payment_details": {}, "created": "2026-11-25T10:00:00.000Z", "updated": "2026-11-25T10:00:01.000Z"}});
    out.push((
        "xendit",
        headers(&[("x-callback-token", xendit::SANDBOX_CALLBACK_TOKEN.into())]),
        x.to_string().into_bytes(),
    ));

    let now = walletpay_tests::now().unix_seconds();
    let s = json!({"id": "evt_1", "object": "event", "type": "payment_intent.succeeded", "created": now, "livemode": false,
        "data": {"object": {"id": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "object": "payment_intent", "amount": 300000, "amount_received": 300000,
        "currency": "thb", "status": "succeeded", "created": now, "metadata": {"payment_id": PAYMENT}, "payment_method_types": ["promptpay"]}}});
    let body = s.to_string().into_bytes();
    let header = stripe::signature::header(stripe::SANDBOX_WEBHOOK_SECRET, now, &body);
    out.push(("stripe", headers(&[("stripe-signature", header)]), body));

    let psp = "QFQTPCQ8HXSKGK82";
    let data = format!(
        "{psp}::{}:{PAYMENT}:150000:IDR:AUTHORISATION:true",
        adyen::SANDBOX_MERCHANT_ACCOUNT
    );
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&hex::decode(adyen::SANDBOX_HMAC_KEY).unwrap()).unwrap();
    mac.update(data.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let a = json!({"live": "false", "notificationItems": [{"NotificationRequestItem": {"additionalData": {"hmacSignature": sig},
        "amount": {"currency": "IDR", "value": 150000}, "eventCode": "AUTHORISATION", "eventDate": "2026-11-25T10:00:00+00:00",
        "merchantAccountCode": adyen::SANDBOX_MERCHANT_ACCOUNT, "merchantReference": PAYMENT, "pspReference": psp,
        "paymentMethod": "dana", "reason": "", "success": "true"}}]});
    out.push(("adyen", headers(&[]), a.to_string().into_bytes()));

    let gross = "150000.00";
    let sig = hex::encode(Sha512::digest(
        format!("{PAYMENT}200{gross}{}", midtrans::SANDBOX_SERVER_KEY).as_bytes(),
    ));
    let m = json!({"transaction_time": "2026-11-25 17:00:00", "transaction_status": "settlement",
        "transaction_id": "2c4f7a3e-1b6d-4f0a-9b8e-3d2c1a0f9e8d", "status_message": "midtrans payment notification",
        "status_code": "200", "signature_key": sig, "payment_type": "gopay", "order_id": PAYMENT,
        "gross_amount": gross, "fraud_status": "accept", "currency": "IDR"});
    out.push(("midtrans", headers(&[]), m.to_string().into_bytes()));
    out
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
