//! Routing and failover on the local stack: the shop's providers in its order, failover on a
//! provider-side refusal, never on an unknown outcome, the unhealthy provider skipped, and
//! health visible.

use serde_json::{json, Value};
use std::time::Duration;
use walletpay_app::Settings;
use walletpay_local::{Backend, Options};
use walletpay_tests::stack::{dana_order, start_with, Stack};

async fn stack() -> Stack {
    let opts = Options {
        settings: Settings {
            // Every count written and read at once, so one test sees its own traffic.
            health_flush: Duration::ZERO,
            health_cache: Duration::ZERO,
            status_check_delays: vec![Duration::from_secs(600)],
            ..Settings::default()
        },
        provider_timeout: Duration::from_millis(700),
        sandbox_slow_response: Duration::from_millis(1500),
        ..Options::default()
    };
    start_with(Backend::Embedded, opts).await.unwrap()
}

async fn enable(s: &Stack, key: &str, providers: Value) {
    let r = s
        .http
        .patch(s.url("/v1/merchant"))
        .header("authorization", format!("Bearer {key}"))
        .body(json!({"wallet_providers": {"ID:dana": providers}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

fn order(reference: &str, whole_rupiah: i64) -> Value {
    let mut o = dana_order(reference);
    o["amount"] = json!(whole_rupiah * 100);
    o
}

fn route(p: &Value) -> Vec<String> {
    p["route"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["provider"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_over_only_when_nothing_can_have_been_charged() {
    let s = stack().await;
    let key = s.local.demo_key.clone();
    enable(&s, &key, json!(["xendit", "adyen"])).await;

    // Xendit answers 503 CHANNEL_UNAVAILABLE: refused before the customer saw anything.
    let a = s.create("unavailable", &order("unavailable", 10101)).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["provider"], "adyen", "{}", a.body);
    assert_eq!(a.body["status"], "requires_action");
    assert_eq!(route(&a.body), ["xendit", "adyen"]);
    assert!(a.body["route"][1]["reason"]
        .as_str()
        .unwrap()
        .contains("xendit refused"));
    let id = a.body["id"].as_str().unwrap();
    let events: Vec<String> = s.history(id).await.into_iter().map(|h| h.event).collect();
    assert_eq!(events, ["created", "rerouted", "accepted"]);
    assert!(s.local.adyen.payment_for(id).is_some());

    // Xendit takes the charge but answers too late: maybe charged, so never offered to
    // another provider.
    let b = s.create("slow", &order("slow", 10999)).await;
    assert_eq!(b.body["status"], "processing", "{}", b.body);
    assert_eq!(b.body["provider"], "xendit");
    assert_eq!(route(&b.body), ["xendit"]);
    let id = b.body["id"].as_str().unwrap();
    assert!(s.local.adyen.payment_for(id).is_none(), "no second charge");

    // A 500: the same.
    let c = s.create("error", &order("error", 10102)).await;
    assert_eq!(c.body["provider"], "xendit");
    assert!(s
        .local
        .adyen
        .payment_for(c.body["id"].as_str().unwrap())
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unhealthy_provider_is_skipped_and_health_shows_it() {
    let s = stack().await;
    let key = s.local.demo_key.clone();
    enable(&s, &key, json!(["xendit", "adyen"])).await;
    // Five payments Xendit cannot take: its circuit for DANA opens.
    for i in 0..5 {
        let a = s
            .create(&format!("down-{i}"), &order(&format!("down-{i}"), 10101))
            .await;
        assert_eq!(a.body["provider"], "adyen");
    }
    // The next payment goes straight to Adyen, and says why.
    let a = s.create("healthy", &order("healthy", 150_000)).await;
    assert_eq!(a.status, 201);
    assert_eq!(route(&a.body), ["adyen"], "{}", a.body);
    let why = a.body["route"][0]["reason"].as_str().unwrap();
    assert!(why.contains("skipped xendit (circuit open"), "{why}");

    let h = s.get_path("/v1/providers/health", &key).await;
    assert_eq!(h.status, 200);
    let row = |provider: &str| {
        h.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["provider"] == provider && r["country"] == "ID" && r["wallet"] == "dana")
            .cloned()
            .unwrap()
    };
    let x = row("xendit");
    assert_eq!(x["circuit"], "open", "{x}");
    assert_eq!(x["attempts"], 5);
    assert_eq!(x["provider_errors"], 5);
    assert_eq!(x["error_rate"], 1.0);
    let y = row("adyen");
    assert_eq!(y["circuit"], "closed", "{y}");
    assert_eq!(y["attempts"], 6);
    assert_eq!(y["success_rate"], 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shops_order_and_choice_are_followed() {
    let s = stack().await;
    let key = s.local.demo_key.clone();
    // Adyen first.
    enable(&s, &key, json!(["adyen", "xendit"])).await;
    let a = s
        .create("adyen-first", &order("adyen-first", 150_000))
        .await;
    assert_eq!(a.body["provider"], "adyen");
    // Only Xendit enabled: no failover to a provider the shop did not enable.
    enable(&s, &key, json!(["xendit"])).await;
    let b = s.create("xendit-only", &order("xendit-only", 10101)).await;
    assert_eq!(b.body["status"], "failed", "{}", b.body);
    assert_eq!(route(&b.body), ["xendit"]);
    // A provider the catalog does not list for the wallet is refused.
    let r = s
        .http
        .patch(s.url("/v1/merchant"))
        .header("authorization", format!("Bearer {key}"))
        .body(json!({"wallet_providers": {"ID:dana": ["stripe"]}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
