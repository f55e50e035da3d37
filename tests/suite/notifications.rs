//! Merchant notifications against the local stack, on both backends: signed delivery in
//! order, retries against a receiver that fails, the dead-letter queue after the last
//! retry, the event feed, redelivery, secret rotation, events of changes that lost their
//! write never being sent, and the
//! automatic refund of a late success.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use walletpay_app::Settings;
use walletpay_local::{Backend, Options};
use walletpay_tests::stack::{dana_order, start_with, Stack};

/// A shop's webhook endpoint: fails the first `fail_first` deliveries, records the rest.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    attempts: Arc<Mutex<u32>>,
    fail_first: u32,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let n = {
        let mut a = r.attempts.lock().unwrap();
        *a += 1;
        *a
    };
    if n <= r.fail_first {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    r.seen.lock().unwrap().push((headers, body));
    StatusCode::OK
}

impl Receiver {
    async fn serve(fail_first: u32) -> (Receiver, String) {
        let r = Receiver {
            fail_first,
            ..Receiver::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/hooks", post(receive))
            .with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, url)
    }

    fn events(&self) -> Vec<Value> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| serde_json::from_str(b).unwrap())
            .collect()
    }

    async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let e = self.events();
            if e.len() >= n {
                return e;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {n} events arrived",
                e.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Checks `Walletpay-Signature` the way the README tells shops to: each `v1` is
/// HMAC-SHA256(secret, "<t>.<body>") in hex; returns whether one matches `secret`.
fn signed_with(headers: &HeaderMap, body: &str, secret: &str) -> bool {
    let header = headers["walletpay-signature"].to_str().unwrap();
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v.to_string()),
            Some(("v1", v)) => sigs.push(v.to_string()),
            _ => {}
        }
    }
    let t = t.expect("t= in the header");
    let age = walletpay_tests::now().unix_seconds() - t.parse::<i64>().unwrap();
    assert!((0..300).contains(&age), "timestamp {age} s old");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    sigs.iter().any(|s| s == &expected)
}

fn fast() -> Options {
    Options {
        settings: Settings {
            notification_delays: vec![
                Duration::from_millis(100),
                Duration::from_millis(200),
                Duration::from_millis(300),
            ],
            payment_ttl: Duration::from_secs(2),
            status_check_delays: vec![Duration::from_millis(300), Duration::from_millis(600)],
            refund_retry_delays: vec![Duration::from_millis(200)],
            feed_settle: Duration::from_millis(1500),
            ..Settings::default()
        },
        ..Options::default()
    }
}

async fn subscribe(s: &Stack, url: &str) -> String {
    let key = &s.local.demo_key;
    let patch = s
        .http
        .patch(s.url("/v1/merchant"))
        .header("authorization", format!("Bearer {key}"))
        .body(json!({"webhook_url": url}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 200);
    let rotated = s.post("/v1/merchant/webhook-secret", key).await;
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    let secret = rotated.body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let me = s.get_path("/v1/merchant", key).await;
    assert_eq!(me.body["webhook_url"], url);
    assert_eq!(me.body["webhook_secret_set"], true);
    assert!(
        me.body.get("webhook_secret").is_none(),
        "the secret is shown once only"
    );
    secret
}

async fn events_are_delivered_signed_and_in_order(s: Stack) {
    let (rx, url) = Receiver::serve(0).await;
    let secret = subscribe(&s, &url).await;
    let p = s.paid("notify", 15_000_000).await;
    let events = rx.wait_for(3).await;
    let mine: Vec<&Value> = events
        .iter()
        .filter(|e| e["payment_id"] == p["id"])
        .collect();
    let types: Vec<&str> = mine.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "payment.created",
            "payment.requires_action",
            "payment.succeeded"
        ]
    );
    let seqs: Vec<u64> = mine
        .iter()
        .map(|e| e["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(mine[2]["data"]["status"], "succeeded");
    assert_eq!(mine[2]["data"]["previous_status"], "requires_action");
    assert_eq!(mine[2]["data"]["merchant_reference"], "notify");
    assert_eq!(mine[2]["data"]["amount"], 15_000_000);
    for (headers, body) in rx.seen.lock().unwrap().iter() {
        assert!(
            signed_with(headers, body, &secret),
            "signature does not verify"
        );
        assert!(!signed_with(headers, body, "whsec_wrong"));
    }
}

async fn a_failing_receiver_gets_every_event_in_the_end(s: Stack) {
    let (rx, url) = Receiver::serve(3).await;
    subscribe(&s, &url).await;
    let p = s.paid("flaky", 15_000_000).await;
    let events = rx.wait_for(3).await;
    let ids: std::collections::HashSet<&str> = events
        .iter()
        .filter(|e| e["payment_id"] == p["id"])
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "all three events, each at least once");
    assert!(
        *rx.attempts.lock().unwrap() >= 6,
        "three refusals, then three deliveries"
    );
}

async fn undeliverable_events_are_dead_lettered(s: Stack) {
    let (rx, url) = Receiver::serve(u32::MAX).await;
    subscribe(&s, &url).await;
    let a = s.create("dead", &dana_order("dead")).await;
    let id = a.body["id"].as_str().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut dead = Vec::new();
    while dead.len() < 2 {
        for m in s
            .local
            .notifications_dead
            .receive(10, Duration::from_millis(500))
            .await
            .unwrap()
        {
            s.local
                .notifications_dead
                .delete(&m.receipt_handle)
                .await
                .unwrap();
            dead.push(serde_json::from_str::<Value>(&m.body).unwrap());
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing dead-lettered"
        );
    }
    let body = id.trim_start_matches("pay_");
    assert!(dead.iter().all(|j| j["event_id"]
        .as_str()
        .unwrap()
        .starts_with(&format!("evt_{body}_"))));
    assert!(
        dead.iter().all(|j| j["attempt"] == 3),
        "after the initial try and three retries"
    );
    assert!(*rx.attempts.lock().unwrap() >= 8);
}

async fn feed_redelivery_and_rotation(s: Stack) {
    let key = s.local.demo_key.clone();
    let (rx, url) = Receiver::serve(0).await;
    let old_secret = subscribe(&s, &url).await;
    let p = s.paid("feed", 15_000_000).await;
    rx.wait_for(3).await;
    // Delivered at once, but in the feed only once settled (a cursor must never pass an
    // event that another writer has yet to make visible).
    let fresh = s.get_path("/v1/events", &key).await;
    assert!(
        fresh.body["data"].as_array().unwrap().len() < 3,
        "the last event is still within the settle window"
    );
    assert_eq!(fresh.body["has_more"], true);
    tokio::time::sleep(Duration::from_millis(1600)).await;

    let all = s.get_path("/v1/events", &key).await;
    assert_eq!(all.status, 200);
    let data = all.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    let first_cursor = {
        let page = s.get_path("/v1/events?limit=1", &key).await;
        assert_eq!(page.body["has_more"], true);
        page.body["next_cursor"].as_str().unwrap().to_string()
    };
    let rest = s
        .get_path(&format!("/v1/events?after={first_cursor}"), &key)
        .await;
    let rest_ids: Vec<&str> = rest.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        rest_ids,
        data[1..]
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect::<Vec<_>>()
    );
    // Nothing new: the cursor stays where it was.
    let end = rest.body["next_cursor"].as_str().unwrap().to_string();
    let none = s.get_path(&format!("/v1/events?after={end}"), &key).await;
    assert_eq!(none.body["data"].as_array().unwrap().len(), 0);
    assert_eq!(none.body["next_cursor"], end.as_str());
    let bad = s.get_path("/v1/events?after=nonsense", &key).await;
    assert_eq!(
        (bad.status, bad.body["error"]["field"].as_str()),
        (400, Some("after"))
    );

    // Rotate: deliveries now carry both signatures for a day.
    let rotated = s.post("/v1/merchant/webhook-secret", &key).await;
    let new_secret = rotated.body["secret"].as_str().unwrap().to_string();
    let succeeded = data
        .iter()
        .find(|e| e["type"] == "payment.succeeded")
        .unwrap();
    let event_id = succeeded["id"].as_str().unwrap();
    let again = s
        .post(&format!("/v1/events/{event_id}/redeliver"), &key)
        .await;
    assert_eq!(again.status, 202);
    let events = rx.wait_for(4).await;
    assert_eq!(
        events[3]["id"], event_id,
        "the same event, with its stable id"
    );
    let (headers, body) = rx.seen.lock().unwrap()[3].clone();
    assert!(signed_with(&headers, &body, &new_secret));
    assert!(signed_with(&headers, &body, &old_secret));
    // Another shop cannot redeliver or see it.
    let other = s.other_merchant().await;
    assert_eq!(
        s.post(&format!("/v1/events/{event_id}/redeliver"), &other)
            .await
            .status,
        404
    );
    assert_eq!(
        s.get_path("/v1/events", &other).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let _ = p;
}

async fn only_stored_changes_are_announced(s: Stack) {
    use walletpay_domain::PaymentEvent;
    let (rx, url) = Receiver::serve(0).await;
    subscribe(&s, &url).await;
    let a = s.create("race", &dana_order("race")).await;
    rx.wait_for(2).await;
    let id = walletpay_domain::PaymentId::parse(a.body["id"].as_str().unwrap()).unwrap();
    let app = &s.local.app;
    let read = app.store.get_payment(&id).await.unwrap().unwrap();
    // Two writers read the same version and decide differently; each queues its event
    // before writing, as every writer does. Only one write can land.
    let change = |event: PaymentEvent, name: &str| {
        let mut p = read.clone();
        let from = p.status;
        p.apply(&event, walletpay_tests::now());
        let entry = walletpay_ports::HistoryEntry {
            payment_id: p.id.clone(),
            merchant_id: p.merchant_id.clone(),
            seq: p.version,
            at: p.updated_at,
            event: name.into(),
            from: Some(from),
            to: p.status,
            source: "api".into(),
            detail: None,
        };
        (p, entry)
    };
    let (lost, lost_entry) = change(PaymentEvent::Canceled, "canceled");
    let (won, won_entry) = change(PaymentEvent::Expired, "expired");
    walletpay_app::notifications::announce(app, &lost_entry, &lost)
        .await
        .unwrap();
    walletpay_app::notifications::announce(app, &won_entry, &won)
        .await
        .unwrap();
    app.store.update_payment(&won, &won_entry).await.unwrap();
    assert!(matches!(
        app.store.update_payment(&lost, &lost_entry).await,
        Err(walletpay_ports::StoreError::Conflict)
    ));
    let events = rx.wait_for(3).await;
    assert_eq!(events[2]["type"], "payment.expired");
    assert_eq!(events[2]["payment_id"], id.as_str());
    // Give the losing job every chance to be (wrongly) delivered.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let all = rx.events();
    assert_eq!(
        all.len(),
        3,
        "the change that was never stored is never announced"
    );
    assert!(all.iter().all(|e| e["type"] != "payment.canceled"));
}

/// Cancels a payment whose charge the provider cannot cancel: canceled here, watched there.
async fn cancel(s: &Stack, id: &str) {
    let c = s
        .post(&format!("/v1/payments/{id}/cancel"), &s.local.demo_key)
        .await;
    assert_eq!(
        (c.status, c.body["status"].as_str()),
        (200, Some("canceled")),
        "{}",
        c.body
    );
}

async fn late_success_is_refunded_when_the_shop_asks(s: Stack) {
    let key = s.local.demo_key.clone();
    let patch = s
        .http
        .patch(s.url("/v1/merchant"))
        .header("authorization", format!("Bearer {key}"))
        .body(json!({"refund_late_successes": true}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 200);
    let a = s.create("late-refund", &dana_order("late-refund")).await;
    let id = a.body["id"].as_str().unwrap().to_string();
    // The shop gives up on the order (canceled at Xendit too), and the customer's wallet,
    // which had already taken the money, captures it anyway (a capture already under way when the cancel went through).
    cancel(&s, &id).await;
    let late = s
        .http
        .post(s.url(&format!(
            "/sandbox/xendit/simulate/{}",
            a.body["provider_reference"].as_str().unwrap()
        )))
        .body(json!({"outcome": "success", "late": true}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 200);
    let p = s.wait_for(&id, "refunded").await;
    assert_eq!(p["late_success"], true);
    assert_eq!(p["amount_refunded"], 15_000_000);
    let refunds = s
        .get_path(&format!("/v1/payments/{id}/refunds"), &key)
        .await;
    let list = refunds.body["data"].as_array().unwrap();
    assert_eq!(
        list.len(),
        1,
        "one automatic refund, whatever told us of the success"
    );
    assert_eq!(list[0]["merchant_reference"], "late_success");
    assert_eq!(list[0]["reason"], "other");
}

/// A writer records a late success and dies before reserving its automatic refund: the
/// refund job it queued first makes the refund anyway.
async fn a_late_success_is_refunded_even_if_its_writer_dies(s: Stack) {
    use walletpay_domain::PaymentEvent;
    let key = s.local.demo_key.clone();
    let patch = s
        .http
        .patch(s.url("/v1/merchant"))
        .header("authorization", format!("Bearer {key}"))
        .body(json!({"refund_late_successes": true}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 200);
    let a = s.create("late-crash", &dana_order("late-crash")).await;
    let id = a.body["id"].as_str().unwrap().to_string();
    cancel(&s, &id).await;
    // The customer paid anyway, the capture racing the cancel (the provider's webhook is
    // what the writer was handling).
    s.local
        .xendit
        .settle(
            a.body["provider_reference"].as_str().unwrap(),
            &walletpay_wallet_adapter::xendit::sandbox::SimulateBody {
                send_callback: false,
                late: true,
                ..walletpay_wallet_adapter::xendit::sandbox::SimulateBody::plain(
                    walletpay_wallet_adapter::xendit::sandbox::Outcome::Success,
                )
            },
        )
        .await
        .unwrap();
    // What the dying writer did: queue the refund job, write the late success, and stop.
    let app = &s.local.app;
    let pid = walletpay_domain::PaymentId::parse(&id).unwrap();
    let mut p = app.store.get_payment(&pid).await.unwrap().unwrap();
    let from = p.status;
    p.apply(&PaymentEvent::Succeeded, walletpay_tests::now());
    assert!(p.late_success);
    let job = walletpay_app::refunds::late_success_job(app, &p)
        .await
        .unwrap()
        .expect("the shop asked for late successes to be refunded");
    walletpay_app::refunds::queue_late_success_refund(app, &job)
        .await
        .unwrap();
    let entry = walletpay_ports::HistoryEntry {
        payment_id: p.id.clone(),
        merchant_id: p.merchant_id.clone(),
        seq: p.version,
        at: p.updated_at,
        event: "succeeded".into(),
        from: Some(from),
        to: p.status,
        source: "webhook".into(),
        detail: Some("late_success".into()),
    };
    app.store.update_payment(&p, &entry).await.unwrap();
    let after = s.wait_for(&id, "refunded").await;
    assert_eq!(after["amount_refunded"], 15_000_000);
    let refunds = s
        .get_path(&format!("/v1/payments/{id}/refunds"), &key)
        .await;
    assert_eq!(refunds.body["data"].as_array().unwrap().len(), 1);
}

/// Settings PATCHes racing secret rotations: each write is conditional on the version it
/// read, so none is lost (the version counts every one) and the secret in force is one a
/// rotation handed out.
async fn settings_changes_racing_rotations_are_all_kept(s: Stack) {
    let key = s.local.demo_key.clone();
    let merchant = s.local.demo_merchant.clone();
    let store = s.local.app.store.clone();
    let before = store.get_merchant(&merchant).await.unwrap().unwrap();
    let rotations = (0..8).map(|_| s.post("/v1/merchant/webhook-secret", &key));
    let patches = (0..8).map(|i| {
        let req = s
            .http
            .patch(s.url("/v1/merchant"))
            .header("authorization", format!("Bearer {key}"))
            .body(json!({"webhook_url": format!("https://shop-{i}.example/hooks")}).to_string());
        async move { req.send().await.unwrap().status().as_u16() }
    });
    let (rotated, patched) = futures::join!(
        futures::future::join_all(rotations),
        futures::future::join_all(patches)
    );
    let secrets: Vec<String> = rotated
        .iter()
        .map(|a| {
            assert_eq!(a.status, 201, "{}", a.body);
            a.body["secret"].as_str().unwrap().to_string()
        })
        .collect();
    assert!(patched.iter().all(|s| *s == 200), "{patched:?}");
    let after = store.get_merchant(&merchant).await.unwrap().unwrap();
    assert_eq!(
        after.version,
        before.version + 16,
        "every one of the 16 writes is a version of its own"
    );
    let current = after.webhook_secret.as_ref().unwrap().expose().to_string();
    let previous = after
        .previous_webhook_secret
        .as_ref()
        .unwrap()
        .expose()
        .to_string();
    assert!(secrets.contains(&current) && secrets.contains(&previous));
    assert_ne!(current, previous);
}

macro_rules! scenarios {
    ($module:ident, $backend:expr) => {
        mod $module {
            use super::*;
            macro_rules! scenario {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let Some(s) = start_with($backend, fast()).await else {
                            return;
                        };
                        super::$name(s).await;
                    }
                };
            }
            scenario!(events_are_delivered_signed_and_in_order);
            scenario!(a_failing_receiver_gets_every_event_in_the_end);
            scenario!(undeliverable_events_are_dead_lettered);
            scenario!(feed_redelivery_and_rotation);
            scenario!(only_stored_changes_are_announced);
            scenario!(late_success_is_refunded_when_the_shop_asks);
            scenario!(a_late_success_is_refunded_even_if_its_writer_dies);
            scenario!(settings_changes_racing_rotations_are_all_kept);
        }
    };
}

scenarios!(embedded, Backend::Embedded);
scenarios!(aws, Backend::Aws);

/// Captures what a subscriber writes, as the Lambda's stdout would.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The JSON logs of a whole payment life (create, approve, a refund, every notification
/// delivered signed), at debug level: they hold no provider credential, no API key or
/// webhook secret, no access token or authorization header, and no full phone number.
#[tokio::test(flavor = "current_thread")]
async fn the_logs_of_a_payment_life_hold_no_secret_or_phone_number() {
    use tracing_subscriber::prelude::*;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::DEBUG)
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_writer(captured.clone()),
        );
    // A current-thread runtime: every task of the stack runs under this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);
    let s = start_with(Backend::Embedded, fast()).await.unwrap();
    // First a URL nobody answers at, carrying a token of the shop's own in its query: the
    // failed deliveries are logged, the URL with them never.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let shop_token = "shoptoken7f3a9c2e41d8b6";
    let webhook_secret = subscribe(
        &s,
        &format!("http://127.0.0.1:{closed}/hooks?token={shop_token}"),
    )
    .await;
    // Each provider's error paths: a create whose answer is a 500 (magic 1102) and a forged
    // webhook, through every adapter.
    let key = s.local.demo_key.clone();
    let mut phones = Vec::new();
    for (country, currency, wallet, provider, minor) in [
        ("ID", "IDR", "dana", "adyen", 110_200),
        ("ID", "IDR", "dana", "dana", 110_200),
        ("ID", "IDR", "gopay", "midtrans", 110_200),
        ("TH", "THB", "promptpay", "stripe", 110_200),
        ("TH", "THB", "promptpay", "promptpay", 110_200),
        ("BR", "BRL", "pix", "pix", 110_200),
        ("ID", "IDR", "dana", "xendit", 1_010_200),
    ] {
        let choice = s
            .http
            .patch(s.url("/v1/merchant"))
            .header("authorization", format!("Bearer {key}"))
            .body(
                json!({"wallet_providers": {format!("{country}:{wallet}"): [provider]}})
                    .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(choice.status(), 200);
        let reference = format!("logs-{provider}");
        let buyer = walletpay_tests::buyer(country, &reference);
        phones.push(
            buyer["phone"]
                .as_str()
                .unwrap()
                .trim_start_matches('+')
                .to_string(),
        );
        let order = json!({
            "merchant_reference": reference, "amount": minor, "currency": currency,
            "country": country, "wallet": wallet, "return_url": "https://shop.example/thanks",
            "customer": buyer
        });
        let a = s.create(&reference, &order).await;
        assert_eq!(a.status, 201, "{provider}: {}", a.body);
        let forged = s
            .http
            .post(s.url(&format!("/v1/webhooks/{provider}")))
            .header("x-callback-token", "forged")
            .header("stripe-signature", "t=1,v1=00")
            .header("x-bank-signature", "t=1,v1=00")
            .body("{\"forged\": true}")
            .send()
            .await
            .unwrap();
        assert!(
            forged.status().is_client_error() || provider == "pix",
            "{provider}"
        );
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (receiver, url) = Receiver::serve(1).await;
    let patch = s
        .http
        .patch(s.url("/v1/merchant"))
        .header("authorization", format!("Bearer {key}"))
        .body(json!({"webhook_url": url, "wallet_providers": {"ID:dana": null}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 200);
    let a = s.create("logs", &dana_order("logs")).await;
    let id = a.body["id"].as_str().unwrap().to_string();
    s.simulate(a.body["provider_reference"].as_str().unwrap(), "success")
        .await;
    s.wait_for(&id, "succeeded").await;
    let r = s
        .post_json(
            &format!("/v1/payments/{id}/refunds"),
            &s.local.demo_key,
            "logs-refund",
            &json!({"amount": 5_000_000}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    s.wait_for_refund(&id, r.body["id"].as_str().unwrap(), "succeeded")
        .await;
    receiver.wait_for(5).await;
    drop(_guard);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains(&id),
        "the logs were captured: {} bytes",
        logs.len()
    );
    let api_secret = s.local.demo_key.rsplit('_').next().unwrap().to_string();
    assert!(
        logs.contains("notification not delivered"),
        "the failed deliveries were logged"
    );
    let mut never: Vec<(String, String)> = vec![
        ("the shop's own URL token".into(), shop_token.into()),
        ("the API key".into(), s.local.demo_key.clone()),
        ("the API key's secret part".into(), api_secret),
        ("the webhook secret".into(), webhook_secret.clone()),
        (
            "the webhook secret's body".into(),
            webhook_secret["whsec_".len()..].to_string(),
        ),
        ("an authorization header".into(), "Basic ".into()),
        ("an authorization header".into(), "Bearer ".into()),
    ];
    for phone in phones {
        never.push(("a full phone number".into(), phone));
    }
    for (name, value) in walletpay_local::sandbox_secrets() {
        let v: serde_json::Value = serde_json::from_str(&value).unwrap();
        for (field, secret) in v.as_object().unwrap() {
            let secret = secret.as_str().unwrap_or("");
            // Identifiers that are not secrets (merchant account, ids, names, Pix key).
            let public = [
                "merchant_account",
                "merchant_id",
                "partner_id",
                "channel_id",
                "biller_id",
                "client_id",
                "pix_key",
                "merchant_name",
                "merchant_city",
                "certificate",
                "ca",
                "dana_public_key",
            ];
            if public.contains(&field.as_str()) || secret.len() < 8 {
                continue;
            }
            let probe = secret
                .lines()
                .find(|l| l.len() > 20 && !l.starts_with("-----"))
                .unwrap_or(secret);
            never.push((format!("{name} {field}"), probe.to_string()));
        }
    }
    for (what, value) in &never {
        assert!(!logs.contains(value.as_str()), "the logs show {what}");
    }
}
