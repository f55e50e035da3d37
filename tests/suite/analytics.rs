//! The back office's aggregates on both backends (the embedded store's change stream; on
//! DynamoDB Local, the table's own stream read as Lambda reads it): after a seeded mix of
//! outcomes (successes in two currencies, failures of two categories, a refund), every
//! analytics route says what the payments themselves say; versions delivered again are
//! not counted twice; each route's tenancy; bad parameters refused with their codes.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use walletpay_domain::PaymentId;
use walletpay_local::Backend;
use walletpay_ports::PaymentVersion;
use walletpay_tests::stack::{dana_order, start, Stack};

fn order(reference: &str, country: &str, currency: &str, wallet: &str, amount: i64) -> Value {
    let mut o = dana_order(reference);
    o["country"] = json!(country);
    o["currency"] = json!(currency);
    o["wallet"] = json!(wallet);
    o["amount"] = json!(amount);
    o["customer"] = walletpay_tests::buyer(country, reference);
    if wallet == "promptpay" {
        o["customer"]["email"] = json!(format!("{reference}@example.com"));
    }
    o
}

async fn settle(s: &Stack, p: &Value, outcome: &str) -> Value {
    let provider = p["provider"].as_str().unwrap();
    let reference = p["provider_reference"].as_str().unwrap();
    let resp = s
        .http
        .post(s.url(&format!("/sandbox/{provider}/simulate/{reference}")))
        .header("content-type", "application/json")
        .body(json!({"outcome": outcome}).to_string())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let want = if outcome == "success" {
        "succeeded"
    } else {
        "failed"
    };
    s.wait_for(p["id"].as_str().unwrap(), want).await
}

/// Polls the summary until it counts `attempts` and the refund (the consumer runs
/// asynchronously, on DynamoDB behind the table's stream).
async fn summary_with(s: &Stack, key: &str, query: &str, attempts: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let a = s
            .get_path(&format!("/v1/analytics/summary?{query}"), key)
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        if a.body["current"]["attempts"] == attempts
            && a.body["current"]["refunds"]["succeeded"]["count"] == 1
        {
            return a.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the aggregates never counted {attempts} attempts: {}",
            a.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn versions_of(s: &Stack, ids: &[String]) -> Vec<PaymentVersion> {
    let mut out = Vec::new();
    for id in ids {
        let id = PaymentId::parse(id).unwrap();
        for entry in s.local.app.store.payment_history(&id).await.unwrap() {
            out.push(
                s.local
                    .app
                    .store
                    .payment_version(&id, entry.seq)
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
    }
    out
}

async fn analytics(backend: Backend) {
    let Some(s) = start(backend).await else {
        return;
    };
    let key = s.local.demo_key.clone();
    let mut ids = Vec::new();
    let mut paid: BTreeMap<&str, i64> = BTreeMap::new();
    let create = |o: Value| {
        let s = &s;
        async move {
            let a = s.create(&walletpay_tests::unique("an"), &o).await;
            assert_eq!(a.status, 201, "{}", a.body);
            a.body
        }
    };
    // Three DANA successes, two DANA insufficient balances, one OVO cancel, one PromptPay
    // success in baht.
    let mut outcomes = Vec::new();
    for (i, amount) in [15_000_000, 2_500_000, 9_900_000].into_iter().enumerate() {
        outcomes.push((
            create(order(
                &walletpay_tests::unique(&format!("ok{i}")),
                "ID",
                "IDR",
                "dana",
                amount,
            ))
            .await,
            "success",
        ));
    }
    for i in 0..2 {
        outcomes.push((
            create(order(
                &walletpay_tests::unique(&format!("nb{i}")),
                "ID",
                "IDR",
                "dana",
                3_000_000,
            ))
            .await,
            "insufficient_balance",
        ));
    }
    outcomes.push((
        create(order(
            &walletpay_tests::unique("cx"),
            "ID",
            "IDR",
            "ovo",
            4_000_000,
        ))
        .await,
        "user_cancelled",
    ));
    outcomes.push((
        create(order(
            &walletpay_tests::unique("th"),
            "TH",
            "THB",
            "promptpay",
            150_000,
        ))
        .await,
        "success",
    ));
    let mut first_paid = None;
    for (p, outcome) in &outcomes {
        let after = settle(&s, p, outcome).await;
        ids.push(after["id"].as_str().unwrap().to_string());
        if *outcome == "success" {
            *paid
                .entry(if after["currency"] == "THB" {
                    "THB"
                } else {
                    "IDR"
                })
                .or_default() += after["amount"].as_i64().unwrap();
            first_paid.get_or_insert(after["id"].as_str().unwrap().to_string());
        }
    }
    // A partial refund of the first success.
    let refunded = first_paid.unwrap();
    let r = s
        .post_json(
            &format!("/v1/payments/{refunded}/refunds"),
            &key,
            &walletpay_tests::unique("rf"),
            &json!({"amount": 1_000_000}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    s.wait_for_refund(&refunded, r.body["id"].as_str().unwrap(), "succeeded")
        .await;

    // What the payments say.
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    for id in &ids {
        let p = s.get(id, &key).await.body;
        *by_status
            .entry(p["status"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(by_status.get("failed"), Some(&3), "{by_status:?}");

    let sum = summary_with(&s, &key, "", ids.len() as u64).await;
    let cur = &sum["current"];
    assert_eq!(cur["successes"], 4, "{sum}");
    assert_eq!(cur["failures"], 3);
    assert_eq!(cur["conversion_bp"], 4 * 10_000 / 7);
    assert_eq!(cur["success_rate_bp"], 4 * 10_000 / 7);
    assert_eq!(cur["volume"], json!(paid));
    assert_eq!(cur["average_order"]["IDR"], paid["IDR"] / 3);
    assert_eq!(
        cur["refunds"]["requested"],
        json!({"count": 1, "amount": {"IDR": 1_000_000}})
    );
    assert_eq!(
        cur["refunds"]["succeeded"],
        json!({"count": 1, "amount": {"IDR": 1_000_000}})
    );
    assert_eq!(cur["risk"]["allow"], 7);
    assert_eq!(sum["previous"]["attempts"], 0);
    assert_eq!(sum["period"]["granularity"], "hour");

    // Failures by category (with what the customer read) and by wallet.
    let f = s
        .get_path("/v1/analytics/failures?group_by=category", &key)
        .await;
    assert_eq!(f.status, 200, "{}", f.body);
    let rows: BTreeMap<String, (u64, String)> = f.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["category"].as_str().unwrap().to_string(),
                (
                    r["count"].as_u64().unwrap(),
                    r["customer_message"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    assert_eq!(rows["insufficient_balance"].0, 2);
    assert_eq!(rows["user_cancelled"].0, 1);
    assert_eq!(
        rows["insufficient_balance"].1,
        walletpay_domain::FailureCategory::InsufficientBalance.message_en()
    );
    assert_eq!(f.body["data"][0]["share_bp"], 6666);
    let w = s
        .get_path("/v1/analytics/failures?group_by=wallet", &key)
        .await;
    let wallets: BTreeMap<String, u64> = w.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["wallet"].as_str().unwrap().to_string(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        wallets,
        BTreeMap::from([("dana".into(), 2), ("ovo".into(), 1)])
    );

    // Filters, series, refunds.
    let th = s.get_path("/v1/analytics/summary?country=TH", &key).await;
    assert_eq!(
        (
            th.body["current"]["attempts"].clone(),
            th.body["current"]["successes"].clone()
        ),
        (json!(1), json!(1))
    );
    assert_eq!(th.body["current"]["volume"], json!({"THB": paid["THB"]}));
    let ts = s
        .get_path(
            "/v1/analytics/timeseries?metric=attempts&interval=hour",
            &key,
        )
        .await;
    assert_eq!(ts.status, 200, "{}", ts.body);
    let points = ts.body["series"]["all"].as_array().unwrap();
    assert_eq!(points.len(), 7 * 24 + 1, "a week of hours");
    let total: i64 = points.iter().map(|p| p["value"].as_i64().unwrap()).sum();
    assert_eq!(total, ids.len() as i64);
    let vol = s
        .get_path("/v1/analytics/timeseries?metric=volume&interval=day", &key)
        .await;
    let idr: i64 = vol.body["series"]["IDR"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_i64().unwrap())
        .sum();
    assert_eq!(idr, paid["IDR"]);
    let rf = s.get_path("/v1/analytics/refunds", &key).await;
    assert_eq!(
        rf.body["by_wallet"]["dana"]["succeeded"]["count"], 1,
        "{}",
        rf.body
    );

    // Every version delivered again: nothing counted twice.
    let versions = versions_of(&s, &ids).await;
    let recounted = walletpay_app::analytics::consume(&s.local.app, &versions, None)
        .await
        .unwrap();
    assert!(recounted.is_empty(), "{recounted:?}");
    let again = s.get_path("/v1/analytics/summary", &key).await;
    assert_eq!(
        again.body["current"], sum["current"],
        "redelivered versions were counted again"
    );

    // Tenancy: another shop sees none of it and cannot ask for it; an operator sees all,
    // or one shop's.
    let other = s.other_merchant().await;
    let theirs = s.get_path("/v1/analytics/summary", &other).await;
    assert_eq!(theirs.body["current"]["attempts"], 0);
    for route in ["summary", "timeseries", "failures", "refunds"] {
        let a = s
            .get_path(
                &format!("/v1/analytics/{route}?merchant={}", s.local.demo_merchant),
                &other,
            )
            .await;
        assert_eq!(
            (a.status, a.body["error"]["code"].clone()),
            (403, json!("forbidden")),
            "{route}"
        );
        assert_eq!(
            s.get_path(
                &format!("/v1/analytics/{route}"),
                "wpk_0123456789abcdef_0123456789abcdef0123456789abcdef"
            )
            .await
            .status,
            401
        );
    }
    let op = s.local.demo_operator_key.clone();
    let all = s.get_path("/v1/analytics/summary", &op).await;
    assert!(
        all.body["current"]["attempts"].as_u64().unwrap() >= ids.len() as u64,
        "{}",
        all.body
    );
    let one = s
        .get_path(
            &format!("/v1/analytics/summary?merchant={}", s.local.demo_merchant),
            &op,
        )
        .await;
    assert_eq!(one.body["current"], sum["current"]);

    // Bad parameters.
    for (query, field) in [
        ("timeseries?interval=week", "interval"),
        ("timeseries?metric=mood", "metric"),
        (
            "summary?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z",
            "from",
        ),
        ("summary?from=yesterday", "from"),
        ("summary?country=FR", "country"),
        ("failures?group_by=mood", "group_by"),
        (
            "summary?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "from",
        ),
    ] {
        let a = s.get_path(&format!("/v1/analytics/{query}"), &key).await;
        assert_eq!(
            (a.status, a.body["error"]["field"].clone()),
            (400, json!(field)),
            "{query}: {}",
            a.body
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn aggregates_embedded() {
    analytics(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn aggregates_on_dynamodb_streams() {
    analytics(Backend::Aws).await;
}
