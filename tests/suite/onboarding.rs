//! Provider onboarding on both backends: an operator records a merchant's application
//! with a provider as it moves (refusing moves an application does not make), every change
//! kept with who made it; routing sends the merchant's payments only to providers live for
//! it (DANA goes to Adyen while Xendit is under review, to Xendit again once live); a
//! merchant reads its own and changes nothing; another merchant's is not found.

use serde_json::{json, Value};
use walletpay_local::Backend;
use walletpay_tests::stack::{dana_order, start, Stack};

async fn put(
    s: &Stack,
    key: &str,
    merchant: &str,
    provider: &str,
    body: Value,
) -> walletpay_tests::stack::Answer {
    let resp = s
        .http
        .put(s.url(&format!("/v1/onboarding/{merchant}/{provider}")))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    Stack::answer(resp).await
}

fn entry<'a>(v: &'a Value, provider: &str) -> &'a Value {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["provider"] == provider)
        .unwrap()
}

async fn onboarding(backend: Backend) {
    let Some(s) = start(backend).await else {
        return;
    };
    let key = s.local.demo_key.clone();
    let op = s.local.demo_operator_key.clone();
    let m = s.local.demo_merchant.to_string();

    // Nothing recorded: every provider takes the merchant's payments.
    let own = s.get_path(&format!("/v1/onboarding/{m}"), &key).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(entry(&own.body, "xendit")["routable"], true);
    assert_eq!(entry(&own.body, "xendit")["state"], Value::Null);

    // Only an operator changes it; bad input is refused naming the field.
    let by_merchant = put(&s, &key, &m, "xendit", json!({"state": "submitted"})).await;
    assert_eq!(
        (
            by_merchant.status,
            by_merchant.body["error"]["code"].clone()
        ),
        (403, json!("forbidden"))
    );
    let bad = put(&s, &op, &m, "xendit", json!({"state": "approved"})).await;
    assert_eq!(
        (bad.status, bad.body["error"]["field"].clone()),
        (400, json!("state"))
    );
    assert_eq!(
        put(&s, &op, &m, "nobody", json!({"state": "submitted"}))
            .await
            .status,
        404
    );
    let terms = put(
        &s,
        &op,
        &m,
        "xendit",
        json!({"state": "submitted", "terms": {"fee_bps": 20000}}),
    )
    .await;
    assert_eq!(
        (terms.status, terms.body["error"]["field"].clone()),
        (400, json!("terms.fee_bps"))
    );

    // Submitted, then under review: DANA's payments go to Adyen meanwhile.
    let a = put(
        &s,
        &op,
        &m,
        "xendit",
        json!({"state": "submitted", "note": "KYB documents sent"}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let skip = put(&s, &op, &m, "xendit", json!({"state": "live"})).await;
    assert_eq!(
        (skip.status, skip.body["error"]["code"].clone()),
        (409, json!("onboarding_transition"))
    );
    let review = put(&s, &op, &m, "xendit", json!({"state": "under_review"})).await;
    assert_eq!(review.status, 200);
    assert_eq!(entry(&review.body, "xendit")["routable"], false);
    let p = s.create("onb-1", &dana_order("onb-1")).await;
    assert_eq!(p.status, 201, "{}", p.body);
    assert_eq!(p.body["provider"], "adyen", "{}", p.body);
    assert!(p.body["route"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["provider"] != "xendit"));
    let wallets = s.get_path("/v1/wallets?country=ID", &key).await;
    let dana = wallets.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["wallet"] == "dana")
        .unwrap()
        .clone();
    assert_eq!(dana["provider"], "adyen");
    // OVO has no provider but Xendit: not offered while Xendit is not live.
    assert!(wallets.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w["wallet"] != "ovo"));

    // Live, with its contracted terms: Xendit takes DANA again.
    let live = put(
        &s,
        &op,
        &m,
        "xendit",
        json!({"state": "live", "terms": {"fee_bps": 150, "settlement_days": 2}}),
    )
    .await;
    assert_eq!(live.status, 200, "{}", live.body);
    let x = entry(&live.body, "xendit");
    assert_eq!(
        (x["state"].clone(), x["routable"].clone()),
        (json!("live"), json!(true))
    );
    assert_eq!(x["terms"], json!({"fee_bps": 150, "settlement_days": 2}));
    assert_eq!(x["note"], "KYB documents sent");
    let history: Vec<&str> = x["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["submitted", "under_review", "live"]);
    assert!(x["history"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["by"].as_str().is_some_and(|b| !b.is_empty())));
    let p = s.create("onb-2", &dana_order("onb-2")).await;
    assert_eq!(p.body["provider"], "xendit", "{}", p.body);

    // The merchant reads its own; another merchant's is not found.
    let seen = s.get_path(&format!("/v1/onboarding/{m}"), &key).await;
    assert_eq!(entry(&seen.body, "xendit")["state"], "live");
    let other = s.other_merchant().await;
    assert_eq!(
        s.get_path(&format!("/v1/onboarding/{m}"), &other)
            .await
            .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn onboarding_embedded() {
    onboarding(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn onboarding_on_dynamodb() {
    onboarding(Backend::Aws).await;
}
