//! End to end over HTTP against the local stack: the real routers, the real Xendit adapter
//! talking to the Xendit sandbox over HTTP, signed callbacks into the webhook route, the
//! queue and the consumer. Each scenario runs on the embedded backend and, under
//! `tests/run`, on DynamoDB Local + SQS + Secrets Manager.

use serde_json::{json, Value};
use std::time::Duration;
use walletpay_local::Backend;
use walletpay_tests::stack::{dana_order, start, Stack};

async fn pays_dana_end_to_end(s: Stack) {
    let a = s.create("order-1001", &dana_order("order-1001")).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let p = &a.body;
    assert_eq!(p["status"], "requires_action");
    assert_eq!(p["amount"], 15000000);
    assert_eq!(p["currency"], "IDR");
    assert_eq!(p["wallet"], "dana");
    assert_eq!(p["provider"], "xendit");
    assert_eq!(p["merchant_reference"], "order-1001");
    assert!(p["failure"].is_null());
    assert_eq!(p["next_action"]["type"], "redirect");
    let id = p["id"].as_str().unwrap();
    let reference = p["provider_reference"].as_str().unwrap();
    assert!(
        reference.starts_with("pr-"),
        "a v3 payment request: {reference}"
    );

    // The sandbox got whole rupiah, our payment id as reference_id, and the return URL.
    let request = s.local.xendit.payment_request(reference).unwrap();
    assert_eq!(request.request_amount.get(), "150000");
    assert_eq!(request.reference_id, id);
    assert_eq!(
        (request.country.as_str(), request.channel_code.as_str()),
        ("ID", "DANA")
    );
    assert_eq!(request.kind, "PAY");
    assert_eq!(request.capture_method.as_deref(), Some("AUTOMATIC"));
    assert_eq!(
        request
            .channel_properties
            .unwrap()
            .success_return_url
            .as_deref(),
        Some("https://shop.example/thanks")
    );

    // A person can open the checkout page.
    let page = s
        .http
        .get(p["next_action"]["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Approve payment"));

    let sim = s.simulate(reference, "success").await;
    assert_eq!(sim.status, 200);
    assert_eq!(
        sim.body["callback_status"], 200,
        "our webhook accepted the signed callback"
    );
    let done = s.wait_for(id, "succeeded").await;
    assert!(done["next_action"].is_null());
    let events: Vec<String> = s.history(id).await.into_iter().map(|h| h.event).collect();
    assert_eq!(events, ["created", "accepted", "succeeded"]);
}

async fn each_failure_outcome_lands_in_its_category(s: Stack) {
    for (outcome, category, code) in [
        (
            "insufficient_balance",
            "insufficient_balance",
            "insufficient_balance",
        ),
        ("user_cancelled", "user_cancelled", "user_declined"),
        ("expired", "expired", "authorization_timeout"),
        ("risk_rejected", "risk_rejected", "account_blocked"),
        ("timeout", "network_error", "provider_timeout"),
    ] {
        let a = s
            .create(
                &format!("fail-{outcome}"),
                &dana_order(&format!("fail-{outcome}")),
            )
            .await;
        assert_eq!(a.status, 201);
        let id = a.body["id"].as_str().unwrap();
        let sim = s
            .simulate(a.body["provider_reference"].as_str().unwrap(), outcome)
            .await;
        assert_eq!(sim.body["callback_status"], 200);
        let p = s.wait_for(id, "failed").await;
        assert_eq!(p["failure"]["category"], category, "{outcome}");
        assert_eq!(p["failure"]["code"], code, "{outcome}");
        assert!(p["failure"]["message"].as_str().unwrap().len() > 10);
        assert!(p["failure"]["recovery"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "switch_wallet"));
        let retryable = p["failure"]["retryable"].as_bool().unwrap();
        assert_eq!(retryable, outcome != "risk_rejected", "{outcome}");
    }
}

async fn forged_callback_is_rejected_and_changes_nothing(s: Stack) {
    let a = s.create("forged", &dana_order("forged")).await;
    let id = a.body["id"].as_str().unwrap().to_string();
    let reference = a.body["provider_reference"].as_str().unwrap();
    let request = s.local.xendit.payment_request(reference).unwrap();
    let payment = json!({
        "payment_id": "py-5f0c1b7e-9d4a-4c8e-b7a1-2f6d3e8c9a10", "business_id": request.business_id,
        "reference_id": request.reference_id, "payment_request_id": request.payment_request_id,
        "type": "PAY", "country": "ID", "currency": "IDR", "request_amount": 150000,
        "channel_code": "DANA", "status": "SUCCEEDED",
        "captures": [{"capture_id": "cptr-1", "capture_amount": 150000, "capture_timestamp": "2026-01-01T00:00:00Z"}],
        "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z"
    });
    let body = json!({"event": "payment.capture", "business_id": "x", "created": "2026-01-01T00:00:00Z", "data": payment}).to_string();
    for token in [Some("not-the-token"), Some(""), None] {
        let mut req = s
            .http
            .post(s.url("/v1/webhooks/xendit"))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(t) = token {
            req = req.header("x-callback-token", t);
        }
        let ans = Stack::answer(req.send().await.unwrap()).await;
        assert_eq!(ans.status, 401, "token {token:?}");
        assert_eq!(ans.body["error"]["code"], "webhook_unauthenticated");
    }
    // An unknown provider is not an endpoint.
    let other = s
        .http
        .post(s.url("/v1/webhooks/paypal"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let p = s.get(&id, &s.local.demo_key).await;
    assert_eq!(p.body["status"], "requires_action");
    assert_eq!(s.history(&id).await.len(), 2);
}

async fn duplicate_and_late_callbacks_change_nothing(s: Stack) {
    let a = s.create("dup", &dana_order("dup")).await;
    let id = a.body["id"].as_str().unwrap().to_string();
    let reference = a.body["provider_reference"].as_str().unwrap().to_string();
    s.simulate(&reference, "success").await;
    s.wait_for(&id, "succeeded").await;
    let payment = s.local.xendit.payment_of(&reference).unwrap();
    let capture = serde_json::to_value(&payment).unwrap();
    // The provider retries the same webhook.
    for _ in 0..3 {
        assert_eq!(
            s.local
                .xendit
                .send_webhook("payment.capture", capture.clone())
                .await,
            Some(200)
        );
    }
    // A late, contradicting failure for the same request.
    let mut late = payment.clone();
    late.status = "FAILED".into();
    late.failure_code = Some("INSUFFICIENT_BALANCE".into());
    late.captures.clear();
    assert_eq!(
        s.local
            .xendit
            .send_webhook("payment.failure", serde_json::to_value(&late).unwrap())
            .await,
        Some(200)
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let p = s.get(&id, &s.local.demo_key).await;
    assert_eq!(p.body["status"], "succeeded");
    assert!(p.body["failure"].is_null());
    let events: Vec<String> = s.history(&id).await.into_iter().map(|h| h.event).collect();
    assert_eq!(events, ["created", "accepted", "succeeded"]);
}

async fn idempotency_replays_and_refuses_reuse(s: Stack) {
    let body = dana_order("idem-1");
    let first = s.create("idem-key-1", &body).await;
    assert_eq!(first.status, 201);
    assert!(!first.replayed);
    let id = first.body["id"].as_str().unwrap();
    // Same key, same body (other key order and spacing): the first answer, no new charge.
    let reordered = format!(" {} ", serde_json::to_string_pretty(&body).unwrap());
    let again = s
        .create_raw(Some(&s.local.demo_key), Some("idem-key-1"), reordered)
        .await;
    assert_eq!(again.status, 201);
    assert!(again.replayed);
    assert_eq!(again.body, first.body);
    assert_eq!(s.charges_for(id), 1);
    // Same key, another body.
    let mut other = body.clone();
    other["amount"] = json!(20000000);
    let reused = s.create("idem-key-1", &other).await;
    assert_eq!(reused.status, 409);
    assert_eq!(reused.body["error"]["code"], "idempotency_key_reused");
    assert_eq!(s.charges_for(id), 1);
}

async fn hundred_concurrent_requests_one_charge(s: Stack) {
    let body = dana_order("flash-sale-1");
    let s = std::sync::Arc::new(s);
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let s = s.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(
            async move { s.create("flash-key", &body).await },
        ));
    }
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let a = t.await.unwrap();
        assert_eq!(a.status, 201, "{}", a.body);
        ids.insert(a.body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "every request answered with the same payment");
    let id = ids.into_iter().next().unwrap();
    assert_eq!(s.charges_for(&id), 1, "exactly one provider charge");
    assert_eq!(
        s.local
            .xendit
            .payment_requests()
            .iter()
            .filter(|c| c
                .metadata
                .as_ref()
                .is_some_and(|m| m["payment_id"] == id.as_str()))
            .count(),
        1
    );
}

async fn bad_input_is_refused_and_nothing_is_written(s: Stack) {
    let key = s.local.demo_key.clone();
    let charges_before = s.local.xendit.payment_requests().len();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = dana_order("bad");
        f(&mut v);
        v.to_string()
    };
    let cases: Vec<(&str, String, u16, &str, Option<&str>)> = vec![
        (
            "malformed",
            "{\"amount\": 15".into(),
            400,
            "invalid_json",
            None,
        ),
        ("not-an-object", "[1,2]".into(), 400, "invalid_json", None),
        (
            "no-reference",
            with(&|v| {
                v.as_object_mut().unwrap().remove("merchant_reference");
            }),
            400,
            "missing_field",
            Some("merchant_reference"),
        ),
        (
            "no-amount",
            with(&|v| {
                v.as_object_mut().unwrap().remove("amount");
            }),
            400,
            "missing_field",
            Some("amount"),
        ),
        (
            "zero",
            with(&|v| v["amount"] = json!(0)),
            400,
            "amount_invalid",
            Some("amount"),
        ),
        (
            "negative",
            with(&|v| v["amount"] = json!(-100)),
            400,
            "amount_invalid",
            Some("amount"),
        ),
        (
            "float",
            with(&|v| v["amount"] = json!(150000.5)),
            400,
            "amount_invalid",
            Some("amount"),
        ),
        (
            "string-amount",
            with(&|v| v["amount"] = json!("15000000")),
            400,
            "amount_invalid",
            Some("amount"),
        ),
        (
            "fractional-rupiah",
            with(&|v| v["amount"] = json!(15000050)),
            422,
            "amount_not_payable",
            Some("amount"),
        ),
        (
            "below-minimum",
            with(&|v| v["amount"] = json!(5000)),
            422,
            "amount_below_minimum",
            Some("amount"),
        ),
        (
            "above-maximum",
            with(&|v| v["amount"] = json!(900_000_000_000_i64)),
            422,
            "amount_above_maximum",
            Some("amount"),
        ),
        (
            "unknown-currency",
            with(&|v| v["currency"] = json!("XYZ")),
            422,
            "currency_unsupported",
            Some("currency"),
        ),
        (
            "wrong-currency",
            with(&|v| v["currency"] = json!("THB")),
            422,
            "currency_mismatch",
            Some("currency"),
        ),
        (
            "unknown-country",
            with(&|v| v["country"] = json!("US")),
            422,
            "country_unsupported",
            Some("country"),
        ),
        (
            "unknown-wallet",
            with(&|v| v["wallet"] = json!("applepay")),
            422,
            "wallet_unknown",
            Some("wallet"),
        ),
        (
            "wallet-elsewhere",
            with(&|v| v["wallet"] = json!("gcash")),
            422,
            "wallet_not_offered",
            Some("wallet"),
        ),
        (
            "no-provider-yet",
            with(&|v| {
                // Boost (Malaysia) is in the catalog, but no provider reaches it yet.
                v["wallet"] = json!("boost");
                v["country"] = json!("MY");
                v["currency"] = json!("MYR");
                v["amount"] = json!(10000);
            }),
            422,
            "wallet_unavailable",
            Some("wallet"),
        ),
        (
            "bad-phone",
            with(&|v| v["customer"]["phone"] = json!("0812-345")),
            400,
            "invalid_field",
            Some("customer.phone"),
        ),
        (
            "ovo-no-phone",
            with(&|v| {
                v["wallet"] = json!("ovo");
                v["customer"].as_object_mut().unwrap().remove("phone");
            }),
            422,
            "missing_field",
            Some("customer.phone"),
        ),
        (
            "no-return-url",
            with(&|v| {
                v.as_object_mut().unwrap().remove("return_url");
            }),
            422,
            "missing_field",
            Some("return_url"),
        ),
        (
            "bad-return-url",
            with(&|v| v["return_url"] = json!("javascript:alert(1)")),
            400,
            "invalid_field",
            Some("return_url"),
        ),
        (
            "long-reference",
            with(&|v| v["merchant_reference"] = json!("r".repeat(200))),
            400,
            "invalid_field",
            Some("merchant_reference"),
        ),
        (
            "customer-not-object",
            with(&|v| v["customer"] = json!("sari")),
            400,
            "invalid_field",
            Some("customer"),
        ),
        // Let through before requests were read into types: credentials in a return URL,
        // an e-mail without a domain, a phone without a country code.
        (
            "return-url-empty-credentials",
            with(&|v| v["return_url"] = json!("https://@")),
            400,
            "invalid_field",
            Some("return_url"),
        ),
        (
            "email-without-domain",
            with(&|v| v["customer"]["email"] = json!("sari@")),
            400,
            "invalid_field",
            Some("customer.email"),
        ),
        (
            "return-url-credentials",
            with(&|v| v["return_url"] = json!("https://user:pw@shop.example/thanks")),
            400,
            "invalid_field",
            Some("return_url"),
        ),
        (
            "phone-without-country-code",
            with(&|v| v["customer"]["phone"] = json!("+081234567890")),
            400,
            "invalid_field",
            Some("customer.phone"),
        ),
        // Serde's derived structs would read an array of their fields in order.
        (
            "customer-as-array",
            with(&|v| v["customer"] = json!(["c-1", "+6281234567890"])),
            400,
            "invalid_field",
            Some("customer"),
        ),
        (
            "oversized",
            format!("{{\"merchant_reference\":\"{}\"}}", "x".repeat(70 * 1024)),
            413,
            "body_too_large",
            None,
        ),
    ];
    for (name, body, status, code, field) in &cases {
        let idem = format!("bad-{name}");
        let a = s.create_raw(Some(&key), Some(&idem), body.clone()).await;
        assert_eq!(a.status, *status, "{name}: {}", a.body);
        assert_eq!(a.body["error"]["code"], *code, "{name}");
        assert_eq!(a.body["error"]["field"].as_str(), *field, "{name}");
        assert!(!a.body["error"]["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(
        s.local.xendit.payment_requests().len(),
        charges_before,
        "no bad request reached the provider"
    );
    // No key was consumed either: each can now be used for a good request.
    for (name, ..) in cases.iter().take(3) {
        let a = s.create(&format!("bad-{name}"), &dana_order(name)).await;
        assert_eq!(a.status, 201, "{name}: key was left half-used: {}", a.body);
    }

    // Missing or malformed headers.
    let missing_idem = s
        .create_raw(Some(&key), None, dana_order("x").to_string())
        .await;
    assert_eq!(
        (
            missing_idem.status,
            missing_idem.body["error"]["code"].as_str()
        ),
        (400, Some("idempotency_key_missing"))
    );
    let long_idem = s
        .create_raw(
            Some(&key),
            Some(&"k".repeat(256)),
            dana_order("x").to_string(),
        )
        .await;
    assert_eq!(
        (long_idem.status, long_idem.body["error"]["code"].as_str()),
        (400, Some("idempotency_key_invalid"))
    );
}

async fn authentication_and_tenancy(s: Stack) {
    let body = dana_order("auth").to_string();
    let no_key = s.create_raw(None, Some("auth-1"), body.clone()).await;
    assert_eq!(
        (no_key.status, no_key.body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let mut wrong = s.local.demo_key.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    let bad_key = s
        .create_raw(Some(&wrong), Some("auth-1"), body.clone())
        .await;
    assert_eq!(bad_key.status, 401);
    let garbage = s
        .create_raw(Some("sk_live_whatever"), Some("auth-1"), body.clone())
        .await;
    assert_eq!(garbage.status, 401);

    let mine = s.create("auth-1", &dana_order("auth")).await;
    assert_eq!(mine.status, 201);
    let id = mine.body["id"].as_str().unwrap();
    let other_key = s.other_merchant().await;
    let theirs = s.get(id, &other_key).await;
    assert_eq!(
        theirs.status, 404,
        "another merchant's payment does not exist for them"
    );
    assert_eq!(theirs.body["error"]["code"], "not_found");
    // Their idempotency keys are their own.
    let a = s
        .create_raw(Some(&other_key), Some("auth-1"), body.clone())
        .await;
    assert_eq!(a.status, 201);
    assert_ne!(a.body["id"], mine.body["id"]);

    assert_eq!(
        s.get("pay_doesnotexist", &s.local.demo_key).await.status,
        404
    );
    assert_eq!(
        s.get("pay_01m8ab8makqqg641md11702kgn", &s.local.demo_key)
            .await
            .status,
        404
    );
    let nowhere = s.http.get(s.url("/v2/nothing")).send().await.unwrap();
    assert_eq!(nowhere.status(), 404);
    let wrong_method = s.http.delete(s.url("/v1/payments")).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
}

async fn each_wallet_gets_its_customer_action(s: Stack) {
    let mut ovo = dana_order("ovo");
    ovo["wallet"] = json!("ovo");
    let a = s.create("ovo", &ovo).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["next_action"]["type"], "push");
    let request = s
        .local
        .xendit
        .payment_request(a.body["provider_reference"].as_str().unwrap())
        .unwrap();
    assert_eq!(request.channel_code, "OVO");
    assert!(request.actions.is_empty(), "a push: nothing to show");
    assert_eq!(
        request.channel_properties.unwrap().mobile_number.as_deref(),
        walletpay_tests::buyer("ID", "ovo")["phone"].as_str()
    );

    let mut shopee = dana_order("shopee");
    shopee["wallet"] = json!("shopeepay");
    let b = s.create("shopee", &shopee).await;
    assert_eq!(b.body["next_action"]["type"], "deeplink");

    let mut linkaja = dana_order("linkaja");
    linkaja["wallet"] = json!("linkaja");
    let c = s.create("linkaja", &linkaja).await;
    assert_eq!(c.body["next_action"]["type"], "redirect");

    // A Philippine GCash payment in pesos with centavos.
    let gcash = json!({"merchant_reference": "ph-1", "amount": 25050, "currency": "PHP", "country": "PH", "wallet": "gcash", "return_url": "https://shop.example/ph"});
    let d = s.create("gcash", &gcash).await;
    assert_eq!(d.status, 201, "{}", d.body);
    let request = s
        .local
        .xendit
        .payment_request(d.body["provider_reference"].as_str().unwrap())
        .unwrap();
    assert_eq!(request.request_amount.get(), "250.50");
    assert_eq!(
        (request.country.as_str(), request.channel_code.as_str()),
        ("PH", "GCASH")
    );
}

async fn a_person_approves_on_the_checkout_page(s: Stack) {
    let a = s.create("page", &dana_order("page")).await;
    let id = a.body["id"].as_str().unwrap().to_string();
    let page = a.body["next_action"]["url"].as_str().unwrap().to_string();
    let no_redirects = walletpay_wallet_adapter::tls::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_redirects
        .post(&page)
        .form(&[("outcome", "success")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        303,
        "the page sends the customer back to the shop"
    );
    assert_eq!(resp.headers()["location"], "https://shop.example/thanks");
    s.wait_for(&id, "succeeded").await;
    // The page now says it is paid, and offers no buttons.
    let html = s
        .http
        .get(&page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("SUCCEEDED") && !html.contains("Approve payment"));

    let b = s
        .create("page-declined", &dana_order("page-declined"))
        .await;
    let page = b.body["next_action"]["url"].as_str().unwrap();
    let resp = no_redirects
        .post(page)
        .form(&[("outcome", "insufficient_balance")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let p = s.wait_for(b.body["id"].as_str().unwrap(), "failed").await;
    assert_eq!(p["failure"]["category"], "insufficient_balance");
}

async fn lists_payments_newest_first_with_filters_and_cursors(s: Stack) {
    let key = s.local.demo_key.clone();
    let mut ids = Vec::new();
    for (i, wallet) in ["dana", "linkaja", "dana", "ovo", "linkaja", "dana"]
        .iter()
        .enumerate()
    {
        let mut o = dana_order(&format!("list-{i}"));
        o["wallet"] = json!(wallet);
        let a = s.create(&format!("list-{i}"), &o).await;
        assert_eq!(a.status, 201, "{}", a.body);
        ids.push(a.body["id"].as_str().unwrap().to_string());
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let ph = json!({"merchant_reference": "list-ph", "amount": 25000, "currency": "PHP", "country": "PH", "wallet": "gcash", "return_url": "https://shop.example/ph"});
    ids.push(
        s.create("list-ph", &ph).await.body["id"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    // Two DANA payments succeed.
    for i in [0, 2] {
        let p = s.get(&ids[i], &key).await;
        s.simulate(p.body["provider_reference"].as_str().unwrap(), "success")
            .await;
        s.wait_for(&ids[i], "succeeded").await;
    }
    // Another shop's payment is never listed.
    let other = s.other_merchant().await;
    s.create_raw(
        Some(&other),
        Some("theirs"),
        dana_order("theirs").to_string(),
    )
    .await;

    // Pages of three, newest first, following the cursor.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/payments?limit=3&cursor={c}"),
            None => "/v1/payments?limit=3".to_string(),
        };
        let page = s.get_path(&path, &key).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let data = page.body["data"].as_array().unwrap();
        assert!(data.len() <= 3);
        seen.extend(data.iter().map(|p| p["id"].as_str().unwrap().to_string()));
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);

    let count = |q: &str| {
        let s = &s;
        let key = key.clone();
        let q = q.to_string();
        async move {
            let a = s.get_path(&format!("/v1/payments?{q}"), &key).await;
            assert_eq!(a.status, 200, "{q}: {}", a.body);
            a.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        count("wallet=dana").await,
        [ids[5].clone(), ids[2].clone(), ids[0].clone()]
    );
    assert_eq!(
        count("status=succeeded").await,
        [ids[2].clone(), ids[0].clone()]
    );
    assert_eq!(
        count("wallet=dana&status=requires_action").await,
        [ids[5].clone()]
    );
    assert_eq!(count("country=PH").await, [ids[6].clone()]);
    let third = s.get(&ids[3], &key).await.body["created_at"]
        .as_str()
        .unwrap()
        .to_string();
    let after = count(&format!("created_after={third}")).await;
    assert_eq!(after, newest_first[..4].to_vec());
    let before = count(&format!("created_before={third}&limit=100")).await;
    assert_eq!(before, newest_first[3..].to_vec());

    for (q, field) in [
        ("status=paid", "status"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("cursor=zz", "cursor"),
        ("created_after=yesterday", "created_after"),
        ("wallet=applepay", "wallet"),
    ] {
        let a = s.get_path(&format!("/v1/payments?{q}"), &key).await;
        assert_eq!(
            (
                a.status,
                a.body["error"]["code"].as_str(),
                a.body["error"]["field"].as_str()
            ),
            (400, Some("invalid_parameter"), Some(field)),
            "{q}"
        );
    }

    let events = s
        .get_path(&format!("/v1/payments/{}/events", ids[0]), &key)
        .await;
    assert_eq!(events.status, 200);
    let names: Vec<&str> = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["created", "accepted", "succeeded"]);
    assert_eq!(events.body["data"][2]["from"], "requires_action");
    assert_eq!(events.body["data"][2]["source"], "webhook");
    assert_eq!(
        s.get_path(&format!("/v1/payments/{}/events", ids[0]), &other)
            .await
            .status,
        404
    );
}

async fn failures_speak_the_customers_language(s: Stack) {
    use walletpay_domain::{failure_message, FailureCategory, Lang};
    let a = s.create("lang", &dana_order("lang")).await;
    let id = a.body["id"].as_str().unwrap().to_string();
    s.simulate(
        a.body["provider_reference"].as_str().unwrap(),
        "insufficient_balance",
    )
    .await;
    let p = s.wait_for(&id, "failed").await;
    // No Accept-Language: the payment's country (Indonesia) decides.
    assert_eq!(
        p["failure"]["message"],
        failure_message(FailureCategory::InsufficientBalance, Lang::Id)
    );
    assert_eq!(
        p["failure"]["recovery"],
        json!(["retry_same_wallet", "switch_wallet", "use_card"])
    );
    // The other Indonesian wallets this shop takes for IDR 150,000, by market share.
    assert_eq!(
        p["failure"]["alternatives"],
        json!(["ovo", "gopay", "shopeepay", "linkaja", "qris"])
    );
    for (header, lang) in [
        ("th-TH,th;q=0.9", Lang::Th),
        ("fr-FR, vi;q=0.5", Lang::Vi),
        ("pt-BR", Lang::PtBr),
        ("zh-CN", Lang::Zh),
        ("ms", Lang::Ms),
        ("en-US", Lang::En),
        ("fr", Lang::Id),
    ] {
        let resp = s
            .http
            .get(s.url(&format!("/v1/payments/{id}")))
            .header("authorization", format!("Bearer {}", s.local.demo_key))
            .header("accept-language", header)
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(
            body["failure"]["message"],
            failure_message(FailureCategory::InsufficientBalance, lang),
            "{header}"
        );
    }
    // A Philippine payment speaks English.
    let ph = json!({"merchant_reference": "lang-ph", "amount": 25000, "currency": "PHP", "country": "PH", "wallet": "gcash", "return_url": "https://shop.example/ph"});
    let b = s.create("lang-ph", &ph).await;
    s.simulate(
        b.body["provider_reference"].as_str().unwrap(),
        "risk_rejected",
    )
    .await;
    let q = s.wait_for(b.body["id"].as_str().unwrap(), "failed").await;
    assert_eq!(
        q["failure"]["message"],
        failure_message(FailureCategory::RiskRejected, Lang::En)
    );
    assert_eq!(q["failure"]["retryable"], false);
    assert_eq!(
        q["failure"]["recovery"],
        json!(["switch_wallet", "use_card"])
    );
    assert_eq!(
        q["failure"]["alternatives"],
        json!(["maya", "grabpay", "qrph"])
    );
}

macro_rules! scenarios {
    ($module:ident, $backend:expr) => {
        mod $module {
            use super::*;
            macro_rules! scenario {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let Some(s) = start($backend).await else {
                            return;
                        };
                        super::$name(s).await;
                    }
                };
            }
            scenario!(pays_dana_end_to_end);
            scenario!(each_failure_outcome_lands_in_its_category);
            scenario!(forged_callback_is_rejected_and_changes_nothing);
            scenario!(duplicate_and_late_callbacks_change_nothing);
            scenario!(idempotency_replays_and_refuses_reuse);
            scenario!(hundred_concurrent_requests_one_charge);
            scenario!(bad_input_is_refused_and_nothing_is_written);
            scenario!(authentication_and_tenancy);
            scenario!(each_wallet_gets_its_customer_action);
            scenario!(a_person_approves_on_the_checkout_page);
            scenario!(lists_payments_newest_first_with_filters_and_cursors);
            scenario!(failures_speak_the_customers_language);
        }
    };
}

scenarios!(embedded, Backend::Embedded);
scenarios!(aws, Backend::Aws);

/// One shop's flood is refused once it has spent its budget (`429 rate_limited`, with
/// `Retry-After`), while another shop is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_over_its_budget_is_refused_and_others_are_not() {
    let opts = walletpay_local::Options {
        settings: walletpay_app::Settings {
            merchant_rate: walletpay_app::rate_limit::Limit {
                per_minute: 1_000,
                per_second: 5.0,
                burst: 5.0,
            },
            ..walletpay_app::Settings::default()
        },
        ..walletpay_local::Options::default()
    };
    let s = walletpay_tests::stack::start_with(Backend::Embedded, opts)
        .await
        .unwrap();
    let key = s.local.demo_key.clone();
    let mut answers = Vec::new();
    for _ in 0..8 {
        let r = s
            .http
            .get(s.url("/v1/merchant"))
            .header("authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap();
        let retry = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        answers.push((r.status().as_u16(), retry, Stack::answer(r).await.body));
    }
    assert!(
        answers[..5].iter().all(|(s, _, _)| *s == 200),
        "{answers:?}"
    );
    let (status, retry, body) = &answers[5];
    assert_eq!(*status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(retry
        .as_deref()
        .is_some_and(|r| r.parse::<u64>().unwrap() >= 1));
    let other = s.other_merchant().await;
    assert_eq!(s.get_path("/v1/merchant", &other).await.status, 200);
}
