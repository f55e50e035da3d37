//! A seeded flash sale against the local stack, with faults, that proves nothing is lost and
//! shows what routing and recovery convert.
//!
//! Buyers across the six markets (`traffic`) pay one order each at two shops at once: one
//! on walletpay's hosted checkout with every provider (routing, failover, the localized
//! recoveries), and one reaching its wallets through a single aggregator with one attempt
//! and no recovery (`shop`). While the sale runs, that aggregator's sandbox degrades for a
//! stretch of it, provider webhooks are lost, duplicated and delayed, and queue consumers are
//! killed part-way through batches (`walletpay_local::chaos`). When it is over, each
//! provider's day is reconciled and every payment is held against the providers' own books
//! (`truth`), every event of the shops' feeds against what their endpoint received
//! (`receiver`), and a panic hook counts panics.

pub mod receiver;
pub mod report;
pub mod shop;
pub mod traffic;
pub mod truth;

use futures::StreamExt;
use receiver::Receiver;
use report::{Report, Side};
use serde_json::{json, Value};
use shop::{Http, Order, Shop};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use traffic::Buyer;
use walletpay_local::chaos::{Chaos, FaultRates};
use walletpay_local::{Backend, LocalStack, Options};

/// What one run is.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    pub buyers: usize,
    pub backend: Backend,
    /// Buyers paying at once.
    pub concurrency: usize,
    /// The baseline's one aggregator.
    pub aggregator: walletpay_domain::Provider,
    /// The provider whose sandbox degrades.
    pub degrade: walletpay_domain::Provider,
    /// The stretch of the sale (as shares of the buyers started) it is degraded for.
    pub degraded: (f64, f64),
    pub faults: FaultRates,
}

impl Config {
    /// A sale whose baseline is Adyen (the one aggregator that serves all six markets),
    /// with Adyen degraded for a quarter of it.
    pub fn new(seed: u64, buyers: usize) -> Self {
        let aggregator = walletpay_domain::Provider::Adyen;
        Config {
            seed,
            buyers,
            backend: Backend::Embedded,
            concurrency: 200,
            aggregator,
            degrade: aggregator,
            degraded: (0.35, 0.60),
            faults: FaultRates {
                degraded: Some(aggregator),
                server_error: 0.30,
                timeout: 0.10,
                hold: Duration::from_millis(2_500),
                slow: 0.20,
                slow_by: Duration::from_millis(800),
                webhook_lost: 0.03,
                webhook_duplicated: 0.05,
                webhook_delayed: 0.05,
                max_delay: Duration::from_secs(2),
                consumer_killed: 0.03,
                kill_within: Duration::from_millis(40),
            },
        }
    }
}

static PANICS: AtomicU64 = AtomicU64::new(0);

/// The name of the sale's runtime threads, whose panics the run counts.
pub const THREAD_NAME: &str = "walletpay-sim";

/// The runtime a sale runs on: its worker threads are named, so that the run counts the
/// panics of its own tasks only (a test binary runs other tests beside it).
pub fn runtime() -> tokio::runtime::Runtime {
    count_panics();
    tokio::runtime::Builder::new_multi_thread()
        .thread_name(THREAD_NAME)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn count_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(THREAD_NAME) {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

/// The stack's options for a sale: short waits between status checks, refund checks and
/// notification retries (the sale lasts minutes, not a day), no per-shop rate limit, a
/// provider call bounded at 2 s.
async fn options(cfg: &Config, chaos: Arc<Chaos>) -> Result<Options, String> {
    let mut opts = Options {
        port: 0,
        backend: cfg.backend,
        reconcile_schedule: false,
        visibility: Duration::from_secs(3),
        provider_timeout: Duration::from_secs(2),
        sandbox_slow_response: Duration::from_secs(3),
        chaos: Some(chaos),
        // As Lambda scales a consumer out under a sale's queue depth (against the SQS
        // stand-in, a few: each one long-polls it).
        consumers_per_queue: if cfg.backend == Backend::Aws { 4 } else { 64 },
        ..Options::default()
    };
    let s = &mut opts.settings;
    s.status_check_delays = [1, 2, 3, 5, 10].map(Duration::from_secs).to_vec();
    s.status_check_horizon = Duration::from_secs(30 * 60);
    s.refund_retry_delays = [1, 2, 5].map(Duration::from_secs).to_vec();
    s.notification_delays = [1, 2, 4, 8, 15].map(Duration::from_secs).to_vec();
    s.feed_settle = Duration::from_secs(1);
    s.health_flush = Duration::from_secs(1);
    s.health_cache = Duration::from_secs(1);
    s.merchant_rate = walletpay_app::rate_limit::Limit {
        per_minute: 100_000_000,
        per_second: 1_000_000.0,
        burst: 1_000_000.0,
    };
    if cfg.backend == Backend::Aws {
        let tag = format!(
            "wp-sim-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis()
        );
        opts.table = tag.clone();
        let config = walletpay_aws::load_config().await;
        let sqs = aws_sdk_sqs::Client::new(&config);
        let mut urls = Vec::new();
        for name in ["events", "checks", "refunds", "notify", "dead", "reconcile"] {
            let url = sqs
                .create_queue()
                .queue_name(format!("{tag}-{name}"))
                .attributes(
                    aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                    opts.visibility.as_secs().to_string(),
                )
                .send()
                .await
                .map_err(|e| format!("cannot create a queue: {e}"))?
                .queue_url
                .ok_or("SQS gave no queue URL")?;
            urls.push(url);
        }
        let mut u = urls.into_iter();
        opts.queue_url = u.next();
        opts.status_queue_url = u.next();
        opts.refunds_queue_url = u.next();
        opts.notifications_queue_url = u.next();
        opts.notifications_dlq_url = u.next();
        opts.reconcile_queue_url = u.next();
    }
    Ok(opts)
}

/// Sets a shop's notification endpoint and secret (and, for the baseline, its one
/// aggregator for every wallet it serves).
async fn configure(
    http: &Http,
    receiver: &Receiver,
    hooks: &str,
    shop: &Shop,
) -> Result<(), String> {
    let secret = http
        .send(
            "setup",
            http.request(reqwest::Method::POST, "/v1/merchant/webhook-secret")
                .bearer_auth(&shop.key),
        )
        .await;
    let Some(secret) = secret.body["secret"].as_str() else {
        return Err(format!(
            "no webhook secret for {}: {}",
            shop.name, secret.body
        ));
    };
    receiver.expect(shop.name, secret);
    let mut patch = json!({"webhook_url": format!("{hooks}/hooks/{}", shop.name)});
    if let Some(only) = shop.only {
        let mut providers = serde_json::Map::new();
        for spec in walletpay_domain::catalog::CATALOG {
            if spec.providers.iter().any(|p| p.as_str() == only) {
                providers.insert(format!("{}:{}", spec.country, spec.wallet), json!([only]));
            }
        }
        patch["wallet_providers"] = Value::Object(providers);
    }
    let a = http
        .send(
            "setup",
            http.request(reqwest::Method::PATCH, "/v1/merchant")
                .bearer_auth(&shop.key)
                .json(&patch),
        )
        .await;
    if a.status != 200 {
        return Err(format!(
            "{} not configured: {} {}",
            shop.name, a.status, a.body
        ));
    }
    Ok(())
}

/// Every event of a shop's feed, oldest first.
async fn feed(http: &Http, shop: &Shop) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(c) => format!("/v1/events?limit=200&after={c}"),
            None => "/v1/events?limit=200".to_string(),
        };
        let a = http
            .send(
                "read",
                http.request(reqwest::Method::GET, &path)
                    .bearer_auth(&shop.key),
            )
            .await;
        if a.status != 200 {
            return Err(format!("events: {} {}", a.status, a.body));
        }
        let page = a.body["data"].as_array().cloned().unwrap_or_default();
        let empty = page.is_empty();
        out.extend(page);
        if a.body["has_more"] != true {
            return Ok(out);
        }
        if empty {
            // Events newer than the feed's settling time are not shown yet.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        after = a.body["next_cursor"].as_str().map(str::to_string);
    }
}

/// Every payment of a shop.
async fn payments(http: &Http, shop: &Shop) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/payments?limit=100&cursor={c}"),
            None => "/v1/payments?limit=100".to_string(),
        };
        let a = http
            .send(
                "read",
                http.request(reqwest::Method::GET, &path)
                    .bearer_auth(&shop.key),
            )
            .await;
        if a.status != 200 {
            return Err(format!("payments: {} {}", a.status, a.body));
        }
        out.extend(a.body["data"].as_array().cloned().unwrap_or_default());
        match a.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return Ok(out),
        }
    }
}

/// How many of the shop's feed events its endpoint has not received.
async fn undelivered(
    http: &Http,
    receiver: &Receiver,
    shop: &Shop,
) -> Result<(u64, usize), String> {
    let events = feed(http, shop).await?;
    let missing = receiver.with(shop.name, |inbox| {
        events
            .iter()
            .filter(|e| {
                e["id"]
                    .as_str()
                    .is_none_or(|id| !inbox.events.contains_key(id))
            })
            .count() as u64
    });
    Ok((missing, events.len()))
}

/// Runs each provider's days of the sale (in its report time zone: one, or two when the
/// sale crossed its midnight) and answers what each run said.
async fn reconcile(
    stack: &LocalStack,
    http: &Http,
    began: walletpay_domain::Timestamp,
) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut days = Vec::new();
    for p in walletpay_domain::Provider::ALL {
        let offset = stack.app.settings.reconcile.offset(*p);
        let first = walletpay_reconcile::Date::of(began, offset);
        let last = walletpay_reconcile::Date::of(stack.app.clock.now(), offset);
        days.push((p, first));
        if last != first {
            days.push((p, last));
        }
    }
    for (p, day) in days {
        if *p == walletpay_domain::Provider::Adyen {
            // Adyen's day is its batch, closed at midnight and announced by a notification:
            // the sale's day closes now.
            let closed = http
                .send(
                    "reconcile",
                    http.request(reqwest::Method::POST, "/sandbox/adyen/settlement/publish")
                        .json(&json!({"date": day.to_string()})),
                )
                .await;
            if closed.status != 200 {
                http.unexpected("close the Adyen batch", &closed);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let started = http
            .send(
                "reconcile",
                http.request(reqwest::Method::POST, "/v1/reconciliation/runs")
                    .bearer_auth(&stack.demo_operator_key)
                    .json(&json!({"provider": p.as_str(), "date": day.to_string()})),
            )
            .await;
        // A day already running (Adyen's, started by its report's notification) answers
        // 409 run_in_progress: its run is followed all the same.
        if started.status != 202 && started.status != 409 {
            out.push((format!("{} {day}", p.as_str()), started.body));
            continue;
        }
        let id = format!("rcn_{}_{}", p.as_str(), day.compact());
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let run = http
                .send(
                    "reconcile",
                    http.request(
                        reqwest::Method::GET,
                        &format!("/v1/reconciliation/runs/{id}"),
                    )
                    .bearer_auth(&stack.demo_operator_key),
                )
                .await;
            let state = run.body["state"].as_str().unwrap_or_default().to_string();
            if state == "done" || state == "failed" || Instant::now() > deadline {
                out.push((format!("{} {day}", p.as_str()), run.body));
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    out
}

/// Runs the sale and answers its report.
///
/// Run it on [`runtime`], whose threads' panics it counts.
pub async fn run(cfg: Config) -> Result<Report, String> {
    count_panics();
    let panics_before = PANICS.load(Ordering::SeqCst);
    let chaos = Chaos::new(
        cfg.seed,
        FaultRates {
            degraded: Some(cfg.degrade),
            ..cfg.faults.clone()
        },
    );
    let stack = walletpay_local::start(options(&cfg, chaos.clone()).await?).await?;
    let http = Arc::new(Http::new(stack.base_url.clone()));
    let receiver = Receiver::default();
    let hooks = receiver.start().await.map_err(|e| e.to_string())?;
    let (_, baseline_key) = walletpay_app::auth::create_merchant(
        stack.app.store.as_ref(),
        "One-aggregator shop",
        stack.app.clock.now(),
        None,
    )
    .await
    .map_err(|e| e.to_string())?;
    let walletpay = Arc::new(Shop {
        name: "walletpay",
        key: stack.demo_key.clone(),
        only: None,
    });
    let baseline = Arc::new(Shop {
        name: "baseline",
        key: baseline_key,
        only: Some(cfg.aggregator.as_str()),
    });
    configure(&http, &receiver, &hooks, &walletpay).await?;
    configure(&http, &receiver, &hooks, &baseline).await?;

    let started = Instant::now();
    let began = stack.app.clock.now();
    let from = (cfg.degraded.0 * cfg.buyers as f64) as usize;
    let until = (cfg.degraded.1 * cfg.buyers as f64) as usize;
    let seed = cfg.seed;
    let orders: Vec<(Order, Order)> = futures::stream::iter(0..cfg.buyers)
        .map(|i| {
            if i == from {
                chaos.degrade(true);
            }
            if i == until {
                chaos.degrade(false);
            }
            let (http, walletpay, baseline) = (http.clone(), walletpay.clone(), baseline.clone());
            async move {
                let b = Buyer::draw(seed, i);
                tokio::join!(
                    walletpay.checkout(&http, seed, &b),
                    baseline.single(&http, seed, &b)
                )
            }
        })
        .buffer_unordered(cfg.concurrency)
        .collect()
        .await;
    chaos.degrade(false);
    let sale = started.elapsed();
    // The sale is over: what is left to prove is that nothing was lost meanwhile.
    chaos.calm();
    let requests = http.requests.load(Ordering::Relaxed);

    // Until every event of both feeds has reached the shops (retries run for a while),
    // then once more after reconciliation, whose corrections are events too.
    let settle = |what: &'static str| {
        let (http, receiver, walletpay, baseline) = (&http, &receiver, &walletpay, &baseline);
        async move {
            let started = Instant::now();
            loop {
                let a = undelivered(http, receiver, walletpay).await?;
                let b = undelivered(http, receiver, baseline).await?;
                if (a.0 == 0 && b.0 == 0) || started.elapsed() > Duration::from_secs(180) {
                    return Ok::<_, String>(());
                }
                let _ = what;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    };
    settle("the sale").await?;
    // Refunds and status checks still in flight.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let runs = reconcile(&stack, &http, began).await;
    tokio::time::sleep(stack.app.settings.feed_settle + Duration::from_secs(1)).await;
    settle("reconciliation").await?;

    let books = truth::books(&stack);
    let mut invariants = truth::Invariants::default();
    let mut sides = Vec::new();
    let mut known = std::collections::HashSet::new();
    for (shop, journeys) in [
        (&walletpay, orders.iter().map(|o| &o.0).collect::<Vec<_>>()),
        (&baseline, orders.iter().map(|o| &o.1).collect::<Vec<_>>()),
    ] {
        let listed = payments(&http, shop).await?;
        known.extend(
            listed
                .iter()
                .filter_map(|p| p["id"].as_str().map(str::to_string)),
        );
        let accepted: HashMap<String, i64> = journeys
            .iter()
            .filter_map(|o| o.paid.clone().map(|id| (id, o.refund_accepted)))
            .collect();
        let delivered = receiver.with(shop.name, |inbox| {
            inbox
                .events
                .values()
                .filter_map(|e| {
                    Some((
                        e["payment_id"].as_str()?.to_string(),
                        e["type"].as_str()?.to_string(),
                    ))
                })
                .collect::<std::collections::HashSet<_>>()
        });
        let paid = invariants.check_payments(&listed, &books, &accepted, &delivered);
        let (missing, events) = undelivered(&http, &receiver, shop).await?;
        invariants.notifications_lost += missing;
        let (changed, deliveries, bad) =
            receiver.with(shop.name, |i| (i.changed, i.deliveries, i.bad_signatures));
        invariants.notifications_changed += changed;
        invariants.over_refunds += journeys.iter().filter(|o| o.both_taken).count() as u64;
        sides.push(Side::of(
            shop.name,
            &journeys,
            paid.len(),
            listed.len(),
            events,
            deliveries,
            bad,
        ));
    }
    invariants.check_unknown(&books, &known);
    invariants.panics = PANICS.load(Ordering::SeqCst) - panics_before;
    let mut timings: HashMap<&'static str, Vec<u32>> = http.timings();
    timings.retain(|k, _| !matches!(*k, "setup" | "read" | "reconcile"));
    let unexpected = http.unexpected.lock().unwrap().clone();
    Ok(Report {
        seed: cfg.seed,
        buyers: cfg.buyers,
        backend: cfg.backend,
        aggregator: cfg.aggregator.as_str(),
        degraded: cfg.degrade.as_str(),
        sale,
        requests,
        invariants,
        sides,
        faults: chaos.counts(),
        endpoint_refused: receiver.with("walletpay", |i| i.refused)
            + receiver.with("baseline", |i| i.refused),
        endpoint_late: receiver.with("walletpay", |i| i.late)
            + receiver.with("baseline", |i| i.late),
        timings,
        runs,
        unexpected,
    })
}
