//! Risk control through the API, on the embedded store and on DynamoDB Local with the SQS
//! stand-in: each rule kind blocks, reviews or scores as configured; a shadow rule changes
//! nothing and is reported; review approval, decline and the window's end; allow lists beat
//! velocity; list import (JSON and CSV) and deletion; the audit; fraud reports; tenancy; and
//! the backtest on a seeded history, with the counts that history must give.

use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use walletpay_app::Settings;
use walletpay_domain::risk::{Assessment, Dimension, Figures, RiskDecision, Snapshot, Window};
use walletpay_domain::{FraudReport, PaymentId, PaymentStatus, Timestamp};
use walletpay_local::{Backend, Options};
use walletpay_ports::HistoryEntry;
use walletpay_tests::stack::{dana_order, start_with, Answer, Stack};

async fn stack(backend: Backend) -> Option<Stack> {
    start_with(
        backend,
        Options {
            settings: Settings {
                status_check_delays: vec![Duration::from_secs(600)],
                ..Settings::default()
            },
            reconcile_schedule: false,
            ..Options::default()
        },
    )
    .await
}

async fn call(
    s: &Stack,
    key: &str,
    method: Method,
    path: &str,
    content_type: &str,
    body: Option<String>,
) -> Answer {
    let mut req = s
        .http
        .request(method, s.url(path))
        .header("authorization", format!("Bearer {key}"));
    if let Some(b) = body {
        req = req.header("content-type", content_type).body(b);
    }
    Stack::answer(req.send().await.unwrap()).await
}

async fn as_json(s: &Stack, key: &str, method: Method, path: &str, body: Value) -> Answer {
    call(
        s,
        key,
        method,
        path,
        "application/json",
        Some(body.to_string()),
    )
    .await
}

/// A DANA order of `amount` IDR minor units by `buyer` (a reference standing for one
/// customer), with its own device unless one is given.
fn order(reference: &str, buyer: &str, amount: i64) -> Value {
    let mut o = dana_order(buyer);
    o["merchant_reference"] = json!(reference);
    o["amount"] = json!(amount);
    o["customer"]["device_id"] = json!(format!("dev-{reference}"));
    let h = reference
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    o["customer"]["ip"] = json!(format!("192.0.2.{}", h % 250 + 1));
    o
}

fn codes(p: &Value, field: &str) -> Vec<String> {
    p["risk"][field]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["code"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn id_of(p: &Value) -> String {
    p["id"].as_str().unwrap().to_string()
}

const POLICY: &str = r#"{
    "strictness": {"review_at": 90, "block_at": 99},
    "review_window_minutes": 30,
    "rules": [
        {"id": "blocklist", "kind": "block_list", "action": {"type": "block"}},
        {"id": "big", "kind": "amount_per_payment", "max_minor": 50000000, "action": {"type": "block"}},
        {"id": "phone-burst", "kind": "velocity", "dimension": "phone", "window": "hour", "max_count": 2, "action": {"type": "review"}},
        {"id": "device-fail", "kind": "failed_attempts", "dimension": "device", "window": "hour", "max": 1, "action": {"type": "block"}},
        {"id": "foreign", "kind": "phone_country_mismatch", "action": {"type": "score", "points": 30}},
        {"id": "new-device", "kind": "new_device_high_amount", "min_minor": 20000000, "action": {"type": "review"}, "mode": "shadow"},
        {"id": "customer-day", "kind": "amount_per_customer_day", "max_minor": 40000000, "action": {"type": "review"}}
    ]
}"#;

async fn risk_control(backend: Backend) {
    let Some(s) = stack(backend).await else {
        return;
    };
    let key = s.local.demo_key.clone();
    let operator = s.local.demo_operator_key.clone();

    // --- Configuration, its refusals and its audit.
    let fresh = as_json(&s, &key, Method::GET, "/v1/risk/config", Value::Null).await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert_eq!(fresh.body["version"], 0);
    assert_eq!(
        fresh.body["effective"]["ID"]["strictness"],
        json!({"review_at": 70, "block_at": 90}),
        "balanced until set"
    );
    assert_eq!(
        fresh.body["effective"]["ID"]["rules"]
            .as_array()
            .unwrap()
            .len(),
        walletpay_domain::risk::policy::builtin(walletpay_domain::Country::ID).len()
    );
    let bad = call(
        &s,
        &key,
        Method::PUT,
        "/v1/risk/config",
        "application/json",
        Some(r#"{"strictness": {"review_at": 90, "block_at": 80}}"#.into()),
    )
    .await;
    assert_eq!(
        (bad.status, bad.body["error"]["code"].as_str()),
        (422, Some("invalid_policy")),
        "{}",
        bad.body
    );
    assert_eq!(bad.body["error"]["field"], "strictness");
    let malformed = call(
        &s,
        &key,
        Method::PUT,
        "/v1/risk/config",
        "application/json",
        Some("{\"rules\": [".into()),
    )
    .await;
    assert_eq!(malformed.status, 400);
    let put = call(
        &s,
        &key,
        Method::PUT,
        "/v1/risk/config",
        "application/json",
        Some(POLICY.into()),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["version"], 1);
    assert_eq!(put.body["effective"]["ID"]["review_window_minutes"], 30);
    // The platform's own policy, with an operator key; the merchant's own still wins.
    let platform = as_json(
        &s,
        &operator,
        Method::PUT,
        "/v1/risk/config",
        json!({"strictness": {"preset": "max_protection"}}),
    )
    .await;
    assert_eq!(platform.status, 200, "{}", platform.body);
    assert_eq!(platform.body["scope"], "platform");
    let mine = as_json(&s, &key, Method::GET, "/v1/risk/config", Value::Null).await;
    assert_eq!(mine.body["version"], 1);
    assert_eq!(
        mine.body["effective"]["TH"]["strictness"],
        json!({"review_at": 90, "block_at": 99})
    );
    let other = s.other_merchant().await;
    let theirs = as_json(&s, &other, Method::GET, "/v1/risk/config", Value::Null).await;
    assert_eq!(
        theirs.body["effective"]["ID"]["strictness"],
        json!({"review_at": 50, "block_at": 75}),
        "another shop gets the platform's strictness, not this shop's"
    );
    let peek = as_json(
        &s,
        &other,
        Method::GET,
        &format!("/v1/risk/config?merchant={}", s.local.demo_merchant),
        Value::Null,
    )
    .await;
    assert_eq!(peek.status, 403);
    let audit = as_json(&s, &key, Method::GET, "/v1/risk/audit", Value::Null).await;
    assert_eq!(audit.status, 200);
    let entries = audit.body["data"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        1,
        "the refused writes left nothing: {entries:?}"
    );
    assert_eq!(entries[0]["action"], "policy.put");
    assert!(entries[0]["actor"].as_str().unwrap().starts_with("key_"));
    assert_eq!(entries[0]["before"], Value::Null);
    assert_eq!(entries[0]["after"]["rules"].as_array().unwrap().len(), 7);
    let op_audit = as_json(&s, &operator, Method::GET, "/v1/risk/audit", Value::Null).await;
    assert!(op_audit.body["data"][0]["actor"]
        .as_str()
        .unwrap()
        .starts_with("operator:"));

    // --- An amount limit blocks: failed, risk_rejected, nothing sent to a provider, and the
    // customer is not told why.
    let big = s
        .create("big", &order("big", "buyer-big", 60_000_000))
        .await;
    assert_eq!(big.status, 201, "{}", big.body);
    assert_eq!(big.body["status"], "failed");
    assert_eq!(big.body["failure"]["category"], "risk_rejected");
    assert_eq!(big.body["risk"]["decision"], "block");
    // Over the payment limit, and (alone) over the customer's day too.
    assert_eq!(
        codes(&big.body, "reasons"),
        ["amount.payment", "amount.customer_day"]
    );
    assert_eq!(big.body["risk"]["reasons"][0]["value"], 60_000_000);
    let message = big.body["failure"]["message"].as_str().unwrap();
    assert!(
        !message.contains("amount") && !message.contains("rule") && !message.contains("limit"),
        "{message}"
    );
    assert_eq!(s.charges_for(&id_of(&big.body)), 0);
    let h = s.history(&id_of(&big.body)).await;
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].to, PaymentStatus::Failed);
    assert!(h[0].detail.as_deref().unwrap().contains("amount.payment"));

    // --- Velocity: the phone's third payment within the hour is held for review.
    let v1 = s.create("v1", &order("v1", "buyer-v", 5_000_000)).await;
    let v2 = s.create("v2", &order("v2", "buyer-v", 5_000_000)).await;
    let v3 = s.create("v3", &order("v3", "buyer-v", 5_000_000)).await;
    assert_eq!(v1.body["status"], "requires_action", "{}", v1.body);
    assert_eq!(v2.body["status"], "requires_action", "{}", v2.body);
    assert_eq!(v3.body["status"], "requires_review", "{}", v3.body);
    assert_eq!(codes(&v3.body, "reasons"), ["velocity.phone.1h.count"]);
    assert_eq!(
        (
            &v3.body["risk"]["reasons"][0]["value"],
            &v3.body["risk"]["reasons"][0]["limit"]
        ),
        (&json!(3), &json!(2))
    );
    assert!(v3.body["risk"]["review_until"].is_string());
    assert_eq!(
        s.charges_for(&id_of(&v3.body)),
        0,
        "nothing sent while held"
    );
    // Only the shop reviews its own payments.
    let not_yours = as_json(
        &s,
        &other,
        Method::POST,
        &format!("/v1/payments/{}/review", id_of(&v3.body)),
        json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(not_yours.status, 404);
    let bad_choice = as_json(
        &s,
        &key,
        Method::POST,
        &format!("/v1/payments/{}/review", id_of(&v3.body)),
        json!({"decision": "maybe"}),
    )
    .await;
    assert_eq!(bad_choice.status, 400);
    // Approved: it goes to the provider as a new payment would.
    let approved = as_json(
        &s,
        &key,
        Method::POST,
        &format!("/v1/payments/{}/review", id_of(&v3.body)),
        json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.body["status"], "requires_action");
    assert_eq!(approved.body["risk"]["review"]["decision"], "approve");
    assert_eq!(s.charges_for(&id_of(&v3.body)), 1);
    let again = as_json(
        &s,
        &key,
        Method::POST,
        &format!("/v1/payments/{}/review", id_of(&v3.body)),
        json!({"decision": "decline"}),
    )
    .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.body["error"]["code"], "not_in_review");
    let events: Vec<String> = s
        .history(&id_of(&v3.body))
        .await
        .into_iter()
        .map(|h| h.event)
        .collect();
    assert_eq!(events, ["created", "review_approved", "accepted"]);
    // Declined: failed, nothing sent.
    let v4 = s.create("v4", &order("v4", "buyer-v", 5_000_000)).await;
    assert_eq!(v4.body["status"], "requires_review");
    let declined = as_json(
        &s,
        &key,
        Method::POST,
        &format!("/v1/payments/{}/review", id_of(&v4.body)),
        json!({"decision": "decline"}),
    )
    .await;
    assert_eq!(declined.status, 200, "{}", declined.body);
    assert_eq!(declined.body["status"], "failed");
    assert_eq!(declined.body["failure"]["code"], "risk_rejected");
    assert_eq!(s.charges_for(&id_of(&v4.body)), 0);

    // --- An allow-list entry beats the velocity rule.
    let phone = walletpay_tests::buyer("ID", "buyer-v")["phone"]
        .as_str()
        .unwrap()
        .to_string();
    let allow = as_json(
        &s,
        &key,
        Method::POST,
        "/v1/risk/lists/allow",
        json!({"entries": [{"kind": "phone", "value": phone}]}),
    )
    .await;
    assert_eq!(allow.status, 200, "{}", allow.body);
    assert_eq!(allow.body["added"], 1);
    let v5 = s.create("v5", &order("v5", "buyer-v", 5_000_000)).await;
    assert_eq!(v5.body["status"], "requires_action", "{}", v5.body);
    assert!(codes(&v5.body, "reasons").is_empty());

    // --- Block lists, imported as CSV; a bad row refuses the whole import.
    let refused = call(
        &s,
        &key,
        Method::POST,
        "/v1/risk/lists/block",
        "text/csv",
        Some("kind,value\nemail_domain,fraud.example\nphone,12345\n".into()),
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("line 3"));
    let listed = as_json(&s, &key, Method::GET, "/v1/risk/lists/block", Value::Null).await;
    assert_eq!(
        listed.body["data"],
        json!([]),
        "nothing of the refused import"
    );
    let csv = "kind,value\r\nemail_domain,Fraud.Example\r\ncidr,198.51.100.7/24\r\n";
    let imported = call(
        &s,
        &key,
        Method::POST,
        "/v1/risk/lists/block",
        "text/csv",
        Some(csv.into()),
    )
    .await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    assert_eq!(imported.body["added"], 2);
    let mut by_email = order("bl-email", "buyer-bl1", 1_000_000);
    by_email["customer"]["email"] = json!("someone@fraud.example");
    let e = s.create("bl-email", &by_email).await;
    assert_eq!(e.body["status"], "failed", "{}", e.body);
    assert_eq!(codes(&e.body, "reasons"), ["list.block.email_domain"]);
    let mut by_ip = order("bl-ip", "buyer-bl2", 1_000_000);
    by_ip["customer"]["ip"] = json!("::ffff:198.51.100.200"); // an IPv4 address written as IPv6
    let i = s.create("bl-ip", &by_ip).await;
    assert_eq!(codes(&i.body, "reasons"), ["list.block.cidr"], "{}", i.body);
    let page = as_json(&s, &key, Method::GET, "/v1/risk/lists/block", Value::Null).await;
    let values: Vec<&str> = page.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    let mut sorted = values.clone();
    sorted.sort();
    assert_eq!(sorted, ["198.51.100.0/24", "fraud.example"]);
    // Another shop's lists are its own.
    let theirs = as_json(&s, &other, Method::GET, "/v1/risk/lists/block", Value::Null).await;
    assert_eq!(theirs.body["data"], json!([]));
    let deleted = call(
        &s,
        &key,
        Method::DELETE,
        "/v1/risk/lists/block?kind=cidr&value=198.51.100.0/24",
        "application/json",
        None,
    )
    .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let mut by_ip = order("bl-ip2", "buyer-bl3", 1_000_000);
    by_ip["customer"]["ip"] = json!("198.51.100.200");
    let i2 = s.create("bl-ip2", &by_ip).await;
    assert_eq!(i2.body["status"], "requires_action", "{}", i2.body);
    let actions: Vec<String> = as_json(&s, &key, Method::GET, "/v1/risk/audit", Value::Null)
        .await
        .body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        actions,
        ["list.delete", "list.add", "list.add", "policy.put"],
        "newest first; the refused import wrote nothing"
    );

    // --- Failed attempts from one device: after two, the device is blocked.
    let device = "dev-tester";
    for n in 0..2 {
        let mut o = order(&format!("wt{n}"), &format!("buyer-wt{n}"), 1_000_000);
        o["customer"]["device_id"] = json!(device);
        let a = s.create(&format!("wt{n}"), &o).await;
        assert_eq!(a.body["status"], "requires_action", "{}", a.body);
        let sim = s
            .simulate(
                a.body["provider_reference"].as_str().unwrap(),
                "insufficient_balance",
            )
            .await;
        assert_eq!(sim.status, 200, "{}", sim.body);
        s.wait_for(&id_of(&a.body), "failed").await;
    }
    let mut o = order("wt2", "buyer-wt2", 1_000_000);
    o["customer"]["device_id"] = json!(device);
    let mut blocked = s.create("wt2", &o).await;
    // The failure is counted just after it is written: give the count a moment to land.
    for n in 0..20 {
        if blocked.body["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut o = order(&format!("wt2-{n}"), &format!("buyer-wt2-{n}"), 1_000_000);
        o["customer"]["device_id"] = json!(device);
        blocked = s.create(&format!("wt2-{n}"), &o).await;
    }
    assert_eq!(
        codes(&blocked.body, "reasons"),
        ["failed.device.1h"],
        "{}",
        blocked.body
    );
    assert_eq!(blocked.body["risk"]["reasons"][0]["value"], 2);

    // --- Scores and the shadow rule: a foreign phone adds its points; a new device paying
    // much fires the shadow rule, which is reported and changes nothing.
    let mut foreign = order("foreign", "buyer-foreign", 25_000_000);
    foreign["customer"]["phone"] = json!("+6591234567");
    let f = s.create("foreign", &foreign).await;
    assert_eq!(f.status, 201, "{}", f.body);
    assert_eq!(
        codes(&f.body, "reasons"),
        ["mismatch.phone_country"],
        "{}",
        f.body
    );
    assert!(f.body["risk"]["score"].as_u64().unwrap() >= 30);
    assert_eq!(codes(&f.body, "shadow"), ["mismatch.new_device_amount"]);

    // --- A customer's day: two payments of 25,000,000 pass 40,000,000 on the second.
    let d1 = s
        .create("day1", &order("day1", "buyer-day", 25_000_000))
        .await;
    let mut second = order("day2", "buyer-day", 25_000_000);
    second["customer"]["phone"] = json!("+6281299990000");
    let d2 = s.create("day2", &second).await;
    assert_eq!(d1.body["status"], "requires_action", "{}", d1.body);
    assert_eq!(d2.body["status"], "requires_review", "{}", d2.body);
    assert_eq!(codes(&d2.body, "reasons"), ["amount.customer_day"]);
    assert_eq!(d2.body["risk"]["reasons"][0]["value"], 50_000_000);

    // --- The review window's end: a payment left past it expires, on a late decision and
    // on its status check alike.
    let app = &s.local.app;
    let push_back = |id: String| async move {
        let pid = PaymentId::parse(&id).unwrap();
        let mut p = app.store.get_payment(&pid).await.unwrap().unwrap();
        let past = Timestamp(walletpay_tests::now().millis() - 1_000);
        p.risk.as_mut().unwrap().review_until = Some(past);
        p.expires_at = past;
        p.version += 1;
        let entry = HistoryEntry {
            payment_id: p.id.clone(),
            merchant_id: p.merchant_id.clone(),
            seq: p.version,
            at: p.updated_at,
            event: "test_window_moved".into(),
            from: Some(p.status),
            to: p.status,
            source: "test".into(),
            detail: None,
        };
        app.store.update_payment(&p, &entry).await.unwrap();
    };
    push_back(id_of(&d2.body)).await;
    let late = as_json(
        &s,
        &key,
        Method::POST,
        &format!("/v1/payments/{}/review", id_of(&d2.body)),
        json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(late.status, 409, "{}", late.body);
    assert_eq!(late.body["error"]["code"], "review_window_over");
    s.wait_for(&id_of(&d2.body), "expired").await;
    assert_eq!(s.charges_for(&id_of(&d2.body)), 0);
    let held = s.create("v6", &order("v6", "buyer-v6", 5_000_000)).await;
    let mut held = held;
    for n in 0..3 {
        if held.body["status"] == "requires_review" {
            break;
        }
        held = s
            .create(
                &format!("v6-{n}"),
                &order(&format!("v6-{n}"), "buyer-v6", 5_000_000),
            )
            .await;
    }
    assert_eq!(held.body["status"], "requires_review", "{}", held.body);
    push_back(id_of(&held.body)).await;
    let check =
        json!({"payment_id": id_of(&held.body), "attempt": 0, "due_at": walletpay_tests::now()});
    let done = walletpay_app::status::run_check(app, &check.to_string())
        .await
        .unwrap();
    assert_eq!(
        done,
        walletpay_app::status::Checked::Done(PaymentStatus::Expired)
    );

    // --- A fraud report labels a paid payment, once.
    let sim = s
        .simulate(v1.body["provider_reference"].as_str().unwrap(), "success")
        .await;
    assert_eq!(sim.status, 200);
    s.wait_for(&id_of(&v1.body), "succeeded").await;
    let report = as_json(
        &s,
        &key,
        Method::POST,
        &format!("/v1/payments/{}/fraud-report", id_of(&v1.body)),
        json!({"reason": "chargeback from the wallet"}),
    )
    .await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.body["status"], "succeeded");
    assert!(report.body["fraud_report"]["at"].is_string());
    let versions = s.history(&id_of(&v1.body)).await.len();
    let twice = as_json(
        &s,
        &key,
        Method::POST,
        &format!("/v1/payments/{}/fraud-report", id_of(&v1.body)),
        json!({}),
    )
    .await;
    assert_eq!(twice.status, 200);
    assert_eq!(s.history(&id_of(&v1.body)).await.len(), versions);
    let stranger = as_json(
        &s,
        &other,
        Method::POST,
        &format!("/v1/payments/{}/fraud-report", id_of(&v1.body)),
        json!({}),
    )
    .await;
    assert_eq!(stranger.status, 404);

    // --- Shadow results over the period: the one shadow rule, fired once.
    let since = "2020-01-01T00:00:00Z";
    let until = "2099-01-01T00:00:00Z";
    let shadow = as_json(
        &s,
        &key,
        Method::GET,
        &format!("/v1/risk/shadow?from={since}&to={until}"),
        Value::Null,
    )
    .await;
    assert_eq!(shadow.status, 200, "{}", shadow.body);
    let rules = shadow.body["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{rules:?}");
    // A new device paying 20,000,000 or more: big, foreign, day1 and day2.
    assert_eq!(rules[0]["rule"], "new-device");
    assert_eq!(rules[0]["fired"], 4, "{rules:?}");
    assert_eq!(
        rules[0]["outcomes"]["stopped"], 2,
        "big (blocked) and day2 (expired in review)"
    );

    // --- The platform's block list blocks whatever a shop's rules say, even for a shop
    // with no block-list rule and no thresholds.
    let bare = as_json(
        &s,
        &key,
        Method::PUT,
        "/v1/risk/config",
        json!({"rules": [], "strictness": {"review_at": 101, "block_at": 101}}),
    )
    .await;
    assert_eq!(bare.status, 200, "{}", bare.body);
    let listed_phone = "+6281377770001";
    let platform_entry = as_json(
        &s,
        &operator,
        Method::POST,
        "/v1/risk/lists/block",
        json!({"entries": [{"kind": "phone", "value": listed_phone}]}),
    )
    .await;
    assert_eq!(platform_entry.status, 200, "{}", platform_entry.body);
    let mut o = order("pl", "buyer-pl", 1_000_000);
    o["customer"]["phone"] = json!(listed_phone);
    let pl = s.create("pl", &o).await;
    assert_eq!(pl.body["status"], "failed", "{}", pl.body);
    assert_eq!(pl.body["risk"]["reasons"][0]["rule"], "platform-block-list");
    assert_eq!(s.charges_for(&id_of(&pl.body)), 0);
    // The platform's entries are not in the shop's list; another shop sees none of this
    // one's changes and cannot backtest its payments.
    let mine = as_json(&s, &key, Method::GET, "/v1/risk/lists/block", Value::Null).await;
    assert!(!mine.body["data"].as_array().unwrap().is_empty());
    assert!(mine.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["value"] != listed_phone));
    let theirs_audit = as_json(&s, &other, Method::GET, "/v1/risk/audit", Value::Null).await;
    assert_eq!(theirs_audit.status, 200);
    assert_eq!(theirs_audit.body["data"], json!([]));
    let theirs_backtest = as_json(
        &s,
        &other,
        Method::POST,
        &format!("/v1/risk/backtest?merchant={}", s.local.demo_merchant),
        json!({"from": since, "to": until}),
    )
    .await;
    assert_eq!(theirs_backtest.status, 403);
}

#[tokio::test]
async fn risk_control_embedded() {
    risk_control(Backend::Embedded).await;
}

#[tokio::test]
async fn risk_control_on_dynamodb_and_sqs() {
    risk_control(Backend::Aws).await;
}

/// A seeded history of 40 payments with known snapshots and outcomes, written straight to
/// the store, and what the backtest must say of it.
async fn backtest_on_a_seeded_history(backend: Backend) {
    let Some(s) = stack(backend).await else {
        return;
    };
    let app = &s.local.app;
    let merchant = s.local.demo_merchant.clone();
    // (count, model score, outcome)
    let seeded: [(usize, u8, &str); 6] = [
        (12, 10, "good"),
        (8, 85, "fraud"),
        (5, 30, "refunded"),
        (10, 55, "failed"),
        (5, 40, "open"),
        (3, 20, "stopped"),
    ];
    let now = walletpay_tests::now();
    let mut n = 0i64;
    for (count, score, outcome) in seeded {
        for _ in 0..count {
            n += 1;
            let mut p = walletpay_tests::sample_payment(&merchant);
            p.id = PaymentId::new(now.millis() - n, walletpay_tests::rand_u128());
            p.created_at = Timestamp(now.millis() - 3_600_000 + n);
            p.customer.phone = Some(format!("+628130000{n:04}"));
            // The refunded ones were large: the proposed rule below blocks them.
            if outcome == "refunded" {
                p.amount =
                    walletpay_domain::Money::positive(90_000_000, p.amount.currency).unwrap();
            }
            p.status = match outcome {
                "good" | "fraud" => PaymentStatus::Succeeded,
                "refunded" => PaymentStatus::Refunded,
                "failed" | "stopped" => PaymentStatus::Failed,
                _ => PaymentStatus::RequiresAction,
            };
            if outcome == "fraud" {
                p.fraud_report = Some(FraudReport {
                    at: now,
                    reason: None,
                });
            }
            p.risk = Some(Assessment {
                decision: if outcome == "stopped" {
                    RiskDecision::Block
                } else {
                    RiskDecision::Allow
                },
                score,
                reasons: Vec::new(),
                shadow: Vec::new(),
                snapshot: Snapshot {
                    figures: Figures {
                        velocity: vec![((Dimension::Phone, Window::Hour), 0, 0)],
                        device_known: true,
                        ..Figures::default()
                    },
                    model_score: score,
                    ..Snapshot::default()
                },
                review_until: None,
                review: None,
            });
            let entry = HistoryEntry {
                payment_id: p.id.clone(),
                merchant_id: merchant.clone(),
                seq: 1,
                at: p.created_at,
                event: "created".into(),
                from: None,
                to: p.status,
                source: "test".into(),
                detail: None,
            };
            app.store.insert_payment(&p, &entry).await.unwrap();
        }
    }
    let from = Timestamp(now.millis() - 7_200_000).to_string();
    let to = now.to_string();
    // One rule (payments over 50,000,000 blocked: the refunded ones) and review at 80.
    let proposed = json!({
        "rules": [{"id": "big", "kind": "amount_per_payment", "max_minor": 50000000, "action": {"type": "block"}}],
        "strictness": {"review_at": 80, "block_at": 95}
    });
    let a = as_json(
        &s,
        &s.local.demo_key,
        Method::POST,
        "/v1/risk/backtest",
        json!({"from": from, "to": to, "policy": proposed}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let b = &a.body;
    assert_eq!(
        (b["assessed"].as_u64(), b["not_assessed"].as_u64()),
        (Some(43), Some(0))
    );
    assert_eq!(
        b["outcomes"],
        json!({"good_paid": 12, "fraud": 8, "refunded": 5, "failed": 10, "stopped": 3, "open": 5})
    );
    // 12 good payments over the 38 that ended.
    assert!((b["success_rate"].as_f64().unwrap() - 12.0 / 38.0).abs() < 1e-9);
    let total = |v: &Value| {
        v.as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(b["reviewed"]["fraud"], 8, "score 85 is reviewed at 80");
    assert_eq!(total(&b["reviewed"]), 8);
    assert_eq!(
        b["blocked"]["refunded"], 5,
        "the rule blocks the large ones"
    );
    assert_eq!(total(&b["blocked"]), 5);
    let point = |t: u64| {
        b["curve"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["threshold"] == t)
            .unwrap()
            .clone()
    };
    assert_eq!(b["curve"].as_array().unwrap().len(), 21);
    assert_eq!(b["curve"][0]["threshold"], 100, "loose to strict");
    assert_eq!(
        point(100)["stopped"]["refunded"],
        5,
        "the rule's blocks hold at every threshold"
    );
    assert_eq!(total(&point(100)["stopped"]), 5);
    let p80 = point(80);
    assert_eq!(
        (
            p80["stopped"]["fraud"].as_u64(),
            p80["fraud_stopped"].as_f64()
        ),
        (Some(8), Some(1.0))
    );
    assert_eq!(
        p80["success_rate_cost"].as_f64(),
        Some(0.0),
        "no good payment stopped"
    );
    let p50 = point(50);
    assert_eq!(p50["stopped"]["failed"], 10);
    assert_eq!(p50["stopped"]["good_paid"], 0);
    assert_eq!(p50["stopped"]["open"], 0, "the open ones score 40");
    let p10 = point(10);
    assert_eq!(
        p10["stopped"]["good_paid"], 12,
        "at 10 every good payment is stopped"
    );
    assert!((p10["success_rate_cost"].as_f64().unwrap() - 12.0 / 38.0).abs() < 1e-9);
    assert_eq!(
        p10["stopped"]["stopped"], 3,
        "score 20: the ones blocked at the time"
    );
    assert_eq!(point(25)["stopped"]["stopped"], 0);
    // A backtest needs a merchant: the platform's key names one.
    let op = as_json(
        &s,
        &s.local.demo_operator_key,
        Method::POST,
        "/v1/risk/backtest",
        json!({"from": from, "to": to}),
    )
    .await;
    assert_eq!(op.status, 400, "{}", op.body);
    let bad = as_json(
        &s,
        &s.local.demo_key,
        Method::POST,
        "/v1/risk/backtest",
        json!({"from": to, "to": from}),
    )
    .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn backtest_embedded() {
    backtest_on_a_seeded_history(Backend::Embedded).await;
}

#[tokio::test]
async fn backtest_on_dynamodb() {
    backtest_on_a_seeded_history(Backend::Aws).await;
}

/// A block list of 100,000 phone numbers imported as one CSV: all of it listed (every page,
/// no entry twice), one of them blocks a payment, and one entry more is refused whole.
async fn a_hundred_thousand_entries_import(backend: Backend) {
    let Some(s) = stack(backend).await else {
        return;
    };
    let key = s.local.demo_key.clone();
    let phone = |n: usize| format!("+62819{n:08}");
    let mut csv = String::from("kind,value\n");
    for n in 0..100_000 {
        csv.push_str(&format!("phone,{}\n", phone(n)));
    }
    let a = call(
        &s,
        &key,
        Method::POST,
        "/v1/risk/lists/block",
        "text/csv",
        Some(csv.clone()),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["added"], 100_000);
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/risk/lists/block?limit=1000&cursor={c}"),
            None => "/v1/risk/lists/block?limit=1000".to_string(),
        };
        let page = as_json(&s, &key, Method::GET, &path, Value::Null).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let data = page.body["data"].as_array().unwrap();
        assert!(data.len() <= 1000);
        for e in data {
            assert!(
                seen.insert(e["value"].as_str().unwrap().to_string()),
                "listed twice: {e}"
            );
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 100_000);
    let mut o = order("listed", "buyer-listed", 1_000_000);
    o["customer"]["phone"] = json!(phone(77_777));
    let p = s.create("listed", &o).await;
    assert_eq!(p.body["status"], "failed", "{}", p.body);
    assert_eq!(p.body["risk"]["reasons"][0]["code"], "list.block.phone");
    csv.push_str("phone,+6281999999999\n");
    let over = call(
        &s,
        &key,
        Method::POST,
        "/v1/risk/lists/block",
        "text/csv",
        Some(csv),
    )
    .await;
    assert_eq!(over.status, 413, "{}", over.body);
    assert_eq!(over.body["error"]["code"], "too_many_entries");
}

#[tokio::test]
async fn a_hundred_thousand_entries_import_embedded() {
    a_hundred_thousand_entries_import(Backend::Embedded).await;
}

#[tokio::test]
async fn a_hundred_thousand_entries_import_on_dynamodb() {
    a_hundred_thousand_entries_import(Backend::Aws).await;
}

/// A payment held for review that nobody decides expires at the end of its window, by its
/// own status check (a one-minute window, waited out).
async fn the_review_window_ends_by_itself(backend: Backend) {
    let Some(s) = stack(backend).await else {
        return;
    };
    let key = s.local.demo_key.clone();
    let put = as_json(
        &s,
        &key,
        Method::PUT,
        "/v1/risk/config",
        json!({
            "review_window_minutes": 1,
            "rules": [{"id": "all", "kind": "amount_per_payment", "max_minor": 1, "action": {"type": "review"}}]
        }),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let a = s
        .create("held", &order("held", "buyer-held", 1_000_000))
        .await;
    assert_eq!(a.body["status"], "requires_review", "{}", a.body);
    let id = id_of(&a.body);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(100);
    loop {
        let p = s.get(&id, &key).await;
        if p.body["status"] == "expired" {
            break;
        }
        assert_eq!(p.body["status"], "requires_review", "{}", p.body);
        assert!(
            tokio::time::Instant::now() < deadline,
            "still held 100 s after a one-minute window"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let h = s.history(&id).await;
    assert_eq!(h.last().unwrap().source, "review_window");
    assert_eq!(s.charges_for(&id), 0);
}

#[tokio::test]
async fn the_review_window_ends_by_itself_embedded() {
    the_review_window_ends_by_itself(Backend::Embedded).await;
}

#[tokio::test]
async fn the_review_window_ends_by_itself_on_dynamodb_and_sqs() {
    the_review_window_ends_by_itself(Backend::Aws).await;
}
