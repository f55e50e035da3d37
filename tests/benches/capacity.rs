//! `tests/figures` (or, with the AWS stand-ins' variables set,
//! `cargo bench -p walletpay-tests --bench figures -- capacity`)
//!
//! DynamoDB read and write capacity units for one full life of a payment, measured on
//! DynamoDB Local with `ReturnConsumedCapacity`: create, approval through the provider's
//! callback, the first status check, a partial refund and its success, and every merchant
//! notification delivered. Printed per phase, next to the state changes.

use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use walletpay_app::Settings;
use walletpay_local::{Backend, Options};
use walletpay_tests::stack::{dana_order, start_with, Stack};

pub fn run() {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        println!("capacity: needs DynamoDB Local and moto; run tests/figures");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(measure());
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn measure() {
    let opts = Options {
        settings: Settings {
            status_check_delays: vec![Duration::from_secs(2), Duration::from_secs(600)],
            ..Settings::default()
        },
        ..Options::default()
    };
    let s: Stack = start_with(Backend::Aws, opts).await.expect("stand-ins");
    let meter = s
        .local
        .capacity
        .clone()
        .expect("the AWS backend meters DynamoDB");

    // The shop's endpoint: records the event types it receives.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let rec = seen.clone();
    let hooks = Router::new().route(
        "/hooks",
        post(move |body: String| {
            let rec = rec.clone();
            async move {
                let v: Value = serde_json::from_str(&body).unwrap();
                rec.lock()
                    .unwrap()
                    .push(v["type"].as_str().unwrap().to_string());
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, hooks).await.unwrap() });
    let key = s.local.demo_key.clone();
    let patch = s
        .http
        .patch(s.url("/v1/merchant"))
        .header("authorization", format!("Bearer {key}"))
        .body(json!({"webhook_url": url}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 200);
    s.post("/v1/merchant/webhook-secret", &key).await;

    let count = |t: &str| {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|x| x.as_str() == t)
            .count()
    };
    let mut rows: Vec<(&str, f64, f64)> = Vec::new();
    // Per store operation over the whole life: (calls, RCU, WCU).
    let mut ops: std::collections::BTreeMap<&str, (u64, f64, f64)> = Default::default();
    let mut phase = |name: &'static str, rows: &mut Vec<(&str, f64, f64)>| {
        let (r, w) = meter.units();
        for (op, n, r, w) in meter.by_operation() {
            let e = ops.entry(op).or_default();
            e.0 += n;
            e.1 += r;
            e.2 += w;
        }
        meter.reset();
        rows.push((name, r, w));
    };
    meter.reset();

    let a = s.create("capacity-1", &dana_order("capacity-1")).await;
    assert_eq!(a.status, 201);
    let id = a.body["id"].as_str().unwrap().to_string();
    wait_until("payment.requires_action delivered", || {
        count("payment.requires_action") == 1
    })
    .await;
    phase("create (API) + 2 notifications", &mut rows);

    s.simulate(a.body["provider_reference"].as_str().unwrap(), "success")
        .await;
    wait_until("payment.succeeded delivered", || {
        count("payment.succeeded") == 1
    })
    .await;
    phase("callback -> webhook -> consumer + notification", &mut rows);

    tokio::time::sleep(Duration::from_millis(2500)).await;
    phase("first status check (finds it final)", &mut rows);

    let r = s
        .post_json(
            &format!("/v1/payments/{id}/refunds"),
            &key,
            "capacity-r1",
            &json!({"amount": 5_000_000}),
        )
        .await;
    assert_eq!(r.status, 201);
    wait_until("refund.created delivered", || count("refund.created") == 1).await;
    phase("refund (API) + notification", &mut rows);
    wait_until("refund.succeeded delivered", || {
        count("refund.succeeded") == 1
    })
    .await;
    phase("refund worker + notification", &mut rows);

    let history = s.history(&id).await;
    meter.reset();
    let changes = history.len();
    let (tr, tw) = rows
        .iter()
        .fold((0.0, 0.0), |(r, w), (_, pr, pw)| (r + pr, w + pw));
    println!(
        "DynamoDB capacity for one payment's life (DynamoDB Local, ReturnConsumedCapacity=TOTAL)"
    );
    for (name, r, w) in &rows {
        println!("  {name:<48} RCU {r:>5.1}   WCU {w:>5.1}");
    }
    println!(
        "  {:<48} RCU {tr:>5.1}   WCU {tw:>5.1}   total {:.1}",
        "total",
        tr + tw
    );
    println!("  by store operation:");
    for (op, (n, r, w)) in &ops {
        println!("    {op:<30} x{n:<3} RCU {r:>5.1}   WCU {w:>5.1}");
    }
    println!(
        "state changes: {changes} ({}); units per change: {:.2} (writes {:.2})",
        history
            .iter()
            .map(|h| h.event.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        (tr + tw) / changes as f64,
        tw / changes as f64
    );
    let notifications = seen.lock().unwrap().len();
    cost_of_a_million(tr, tw, changes, notifications);
}

/// Published on-demand prices, us-east-1, as read on 2026-12-02 (README, "Figures").
mod price {
    /// Lambda, per request.
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    /// Lambda arm64, per GB-second (first tier).
    pub const LAMBDA_ARM_GB_S: f64 = 0.000_013_333_4;
    /// API Gateway HTTP API, per request (first 300 million a month).
    pub const HTTP_API_REQUEST: f64 = 1.00 / 1e6;
    /// DynamoDB on-demand, standard table class.
    pub const WRU: f64 = 0.625 / 1e6;
    pub const RRU: f64 = 0.125 / 1e6;
    /// SQS standard, per request (each 64 KB chunk).
    pub const SQS_REQUEST: f64 = 0.40 / 1e6;
    /// CloudWatch Logs ingestion (standard), per GB.
    pub const LOG_GB: f64 = 0.50;
}

/// The AWS cost of a million payments living the life measured above (created, paid by the
/// wallet's callback, checked once, partly refunded, every notification delivered). The
/// units and the notifications are this run's; the requests and invocations are what that
/// life makes through the deployed functions; the billed durations are not measurable
/// here (the provider's and the shop's round trips dominate them) and are stated as
/// assumptions, at the template's 256 MB on arm64. DynamoDB units are charged as measured
/// on DynamoDB Local (a transactional write counts double on AWS: README, "Capacity").
fn cost_of_a_million(rcu: f64, wcu: f64, versions: usize, notifications: usize) {
    let n = 1e6;
    // (function, invocations per payment, assumed billed ms each)
    let functions: [(&str, f64, f64); 8] = [
        ("create-payment", 1.0, 400.0),
        ("wallet-webhook (payment + refund)", 2.0, 30.0),
        ("payment-events", 2.0, 60.0),
        ("status-checks", 1.0, 300.0),
        ("refund", 1.0, 40.0),
        ("refund-worker", 1.0, 400.0),
        ("notifier", notifications as f64, 200.0),
        ("payment-analytics (a version each)", versions as f64, 30.0),
    ];
    let gb = 256.0 / 1024.0;
    let invocations: f64 = functions.iter().map(|f| f.1).sum();
    let gb_s: f64 = functions.iter().map(|f| f.1 * f.2 / 1000.0 * gb).sum();
    // The shop's create and refund, the provider's two callbacks.
    let api_requests = 4.0;
    // Each queued message is sent, received and deleted: the two payment events, the
    // status check and its follow-up, the refund job, each notification.
    let sqs_requests = 3.0 * (2.0 + 2.0 + 1.0 + notifications as f64);
    // About 2 KB of log lines per invocation.
    let log_gb = invocations * 2048.0 / 1e9;
    let lines = [
        (
            "Lambda requests",
            invocations * n * price::LAMBDA_REQUEST,
            format!("{invocations:.0} invocations"),
        ),
        (
            "Lambda duration (assumed)",
            gb_s * n * price::LAMBDA_ARM_GB_S,
            format!("{gb_s:.3} GB-s"),
        ),
        (
            "API Gateway HTTP API",
            api_requests * n * price::HTTP_API_REQUEST,
            format!("{api_requests:.0} requests"),
        ),
        (
            "DynamoDB writes",
            wcu * n * price::WRU,
            format!("{wcu:.1} WRU (measured)"),
        ),
        (
            "DynamoDB reads",
            rcu * n * price::RRU,
            format!("{rcu:.1} RRU (measured)"),
        ),
        (
            "SQS",
            sqs_requests * n * price::SQS_REQUEST,
            format!("{sqs_requests:.0} requests"),
        ),
        (
            "CloudWatch Logs",
            log_gb * n * price::LOG_GB,
            format!("{:.1} KB", log_gb * 1e6),
        ),
    ];
    println!("AWS cost of a million such payments (us-east-1 prices read 2026-12-02; per payment in brackets)");
    for (what, usd, per) in &lines {
        println!("  {what:<28} ${usd:>9.2}   ({per})");
    }
    let total: f64 = lines.iter().map(|l| l.1).sum();
    println!(
        "  {:<28} ${total:>9.2}   (${:.6} a payment)",
        "total",
        total / n
    );
    println!("  assumed billed ms per invocation, 256 MB arm64:");
    for (f, calls, ms) in functions {
        println!("    {f:<36} x{calls:<3} {ms:>5.0} ms");
    }
}
