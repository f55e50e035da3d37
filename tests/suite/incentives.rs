//! First-purchase incentives on both backends: the shop's API (validation, tenancy,
//! disabling), the page's line beside the wallet, the discounted payment carrying the
//! incentive and the original amount, once per buyer by customer id and by phone, the same
//! order's retry keeping its grant at no further cost, and a budget that racing buyers
//! never overspend.

use futures::future::join_all;
use serde_json::{json, Value};
use walletpay_app::checkout::start_attempt;
use walletpay_domain::{SessionId, WalletId};
use walletpay_local::Backend;
use walletpay_tests::stack::{start, Stack};

fn rfc3339(offset_ms: i64) -> String {
    let at = walletpay_tests::now().plus_millis(offset_ms);
    serde_json::to_value(at)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

async fn session(s: &Stack, customer: Value) -> SessionId {
    let body = json!({
        "amount": 15000000, "currency": "IDR", "country": "ID",
        "merchant_reference": walletpay_tests::unique("inc"),
        "customer": customer,
        "return_url": "https://shop.example/thanks",
        "cancel_url": "https://shop.example/cart",
        "language": "id"
    });
    let a = s
        .post_json(
            "/v1/checkout/sessions",
            &s.local.demo_key,
            &walletpay_tests::unique("k"),
            &body,
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    SessionId::parse(a.body["id"].as_str().unwrap()).unwrap()
}

/// The page's line for DANA, if it has one.
async fn page_line(s: &Stack, id: &SessionId) -> Option<String> {
    let html = s
        .http
        .get(s.url(&format!("/checkout/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dana = html
        .split("data-wallet=\"dana\"")
        .nth(1)?
        .split("</button>")
        .next()?;
    let line = dana
        .split("class=\"incentive\">")
        .nth(1)?
        .split('<')
        .next()?;
    Some(line.to_string())
}

async fn pay_dana(s: &Stack, id: &SessionId) -> Value {
    let started = start_attempt(&s.local.app, id, WalletId::Dana, None)
        .await
        .unwrap();
    assert_eq!(started.payment.status, 201, "{}", started.payment.body);
    serde_json::from_str(&started.payment.body).unwrap()
}

async fn incentive(s: &Stack, id: &str) -> Value {
    let a = s
        .get_path(&format!("/v1/incentives/{id}"), &s.local.demo_key)
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body
}

async fn incentives(backend: Backend) {
    let Some(s) = start(backend).await else {
        return;
    };
    let key = s.local.demo_key.clone();
    let offer = |budget: i64| {
        json!({
            "country": "ID", "wallet": "dana",
            "discount": {"type": "fixed", "amount": 500000},
            "budget": budget,
            "valid_from": rfc3339(-3_600_000), "valid_until": rfc3339(3_600_000),
        })
    };

    // Refusals, each with its code and field.
    let mut wrong_wallet = offer(1_000_000);
    wrong_wallet["wallet"] = json!("gcash");
    let mut no_budget = offer(1_000_000);
    no_budget["budget"] = json!(0);
    let mut backwards = offer(1_000_000);
    backwards["valid_until"] = backwards["valid_from"].clone();
    let mut too_much = offer(1_000_000);
    too_much["discount"] = json!({"type": "percent", "basis_points": 20000, "cap": 1});
    for (body, status, code, field) in [
        (wrong_wallet, 422, "wallet_not_offered", "wallet"),
        (no_budget, 400, "invalid_field", "budget"),
        (backwards, 400, "invalid_field", "valid_until"),
        (too_much, 400, "invalid_field", "percent_basis_points"),
        (json!({"country": "ID"}), 400, "invalid_json", ""),
    ] {
        let a = s
            .post_json("/v1/incentives", &key, &walletpay_tests::unique("k"), &body)
            .await;
        assert_eq!(
            (a.status, a.body["error"]["code"].as_str().unwrap()),
            (status, code),
            "{}",
            a.body
        );
        if !field.is_empty() {
            assert_eq!(a.body["error"]["field"], field);
        }
    }
    assert!(s.get_path("/v1/incentives", &key).await.body["data"]
        .as_array()
        .unwrap()
        .is_empty());

    // Rp 5.000 off a first DANA payment, with budget for two.
    let made = s
        .post_json("/v1/incentives", &key, "k-inc-1", &offer(1_000_000))
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let inc = made.body["id"].as_str().unwrap().to_string();
    assert!(inc.starts_with("inc_"));
    assert_eq!(
        (
            made.body["remaining_budget"].clone(),
            made.body["grants"].clone()
        ),
        (json!(1_000_000), json!(0))
    );
    let other = s.other_merchant().await;
    assert_eq!(
        s.get_path(&format!("/v1/incentives/{inc}"), &other)
            .await
            .status,
        404
    );
    assert!(s.get_path("/v1/incentives", &other).await.body["data"]
        .as_array()
        .unwrap()
        .is_empty());

    // A buyer's first order: the line beside DANA, the discounted payment.
    let buyer = walletpay_tests::buyer("ID", &walletpay_tests::unique("buyer"));
    let first = session(&s, buyer.clone()).await;
    assert_eq!(
        page_line(&s, &first).await.as_deref(),
        Some("Hemat Rp 5.000 untuk pembayaran DANA pertama Anda")
    );
    let p1 = pay_dana(&s, &first).await;
    assert_eq!(p1["amount"], 14_500_000, "{p1}");
    assert_eq!(
        p1["incentive"],
        json!({"id": inc, "original_amount": 15_000_000, "discount": 500_000})
    );
    assert_eq!(p1["checkout_session"], first.as_str());
    let sess = s
        .get_path(&format!("/v1/checkout/sessions/{first}"), &key)
        .await;
    assert_eq!(
        sess.body["payments"][0]["incentive"]["discount"], 500_000,
        "{}",
        sess.body
    );
    let now = incentive(&s, &inc).await;
    assert_eq!(
        (now["remaining_budget"].clone(), now["grants"].clone()),
        (json!(500_000), json!(1))
    );

    // It fails; the same order's retry keeps the grant, at no further cost.
    let sim = s
        .simulate(
            p1["provider_reference"].as_str().unwrap(),
            "insufficient_balance",
        )
        .await;
    assert_eq!(sim.status, 200, "{}", sim.body);
    s.wait_for(p1["id"].as_str().unwrap(), "failed").await;
    let p2 = pay_dana(&s, &first).await;
    assert_eq!(
        (p2["amount"].clone(), p2["incentive"]["id"].clone()),
        (json!(14_500_000), json!(inc))
    );
    assert_eq!(incentive(&s, &inc).await["remaining_budget"], 500_000);

    // The same buyer's next order, by customer id or by phone: full price, no line.
    let mut same_phone = walletpay_tests::buyer("ID", &walletpay_tests::unique("other"));
    same_phone["phone"] = buyer["phone"].clone();
    let mut same_id = walletpay_tests::buyer("ID", &walletpay_tests::unique("other"));
    same_id["id"] = buyer["id"].clone();
    for customer in [same_phone, same_id] {
        let again = session(&s, customer).await;
        assert_eq!(page_line(&s, &again).await, None);
        let p = pay_dana(&s, &again).await;
        assert_eq!(p["amount"], 15_000_000, "{p}");
        assert!(p.get("incentive").is_none(), "{p}");
    }
    // A buyer the shop names neither way is offered nothing (once-per-buyer could not hold).
    let anonymous = session(&s, json!({"email": "anon@example.com"})).await;
    assert_eq!(page_line(&s, &anonymous).await, None);

    // Budget for one more grant, and eight new buyers at once: exactly one gets it.
    let mut racing = Vec::new();
    for _ in 0..8 {
        racing.push(
            session(
                &s,
                walletpay_tests::buyer("ID", &walletpay_tests::unique("race")),
            )
            .await,
        );
    }
    let paid = join_all(racing.iter().map(|id| pay_dana(&s, id))).await;
    let granted = paid.iter().filter(|p| p.get("incentive").is_some()).count();
    assert_eq!(granted, 1, "{paid:?}");
    for p in &paid {
        let expected = if p.get("incentive").is_some() {
            14_500_000
        } else {
            15_000_000
        };
        assert_eq!(p["amount"], expected);
    }
    let spent = incentive(&s, &inc).await;
    assert_eq!(
        (spent["remaining_budget"].clone(), spent["grants"].clone()),
        (json!(0), json!(2))
    );

    // An order that ends without using its grant gives it back: paid with OVO instead, or
    // never paid. The buyer's first DANA payment is then still to come.
    let topped = s
        .post_json("/v1/incentives", &key, "k-inc-3", &offer(1_000_000))
        .await;
    assert_eq!(topped.status, 201, "{}", topped.body);
    let inc3 = topped.body["id"].as_str().unwrap().to_string();
    let switcher = walletpay_tests::buyer("ID", &walletpay_tests::unique("switcher"));
    let order = session(&s, switcher.clone()).await;
    let dana = pay_dana(&s, &order).await;
    assert_eq!(dana["incentive"]["id"], inc3.as_str());
    assert_eq!(incentive(&s, &inc3).await["remaining_budget"], 500_000);
    let sim = s
        .simulate(
            dana["provider_reference"].as_str().unwrap(),
            "user_cancelled",
        )
        .await;
    assert_eq!(sim.status, 200, "{}", sim.body);
    s.wait_for(dana["id"].as_str().unwrap(), "failed").await;
    let ovo = start_attempt(&s.local.app, &order, WalletId::Ovo, None)
        .await
        .unwrap();
    let ovo: Value = serde_json::from_str(&ovo.payment.body).unwrap();
    assert!(ovo.get("incentive").is_none(), "{ovo}");
    assert_eq!(ovo["amount"], 15_000_000);
    let sim = s
        .simulate(ovo["provider_reference"].as_str().unwrap(), "success")
        .await;
    assert_eq!(sim.status, 200, "{}", sim.body);
    s.wait_for(ovo["id"].as_str().unwrap(), "succeeded").await;
    let done = s
        .get_path(&format!("/v1/checkout/sessions/{order}"), &key)
        .await;
    assert_eq!(done.body["status"], "complete");
    let back = incentive(&s, &inc3).await;
    assert_eq!(
        (back["remaining_budget"].clone(), back["grants"].clone()),
        (json!(1_000_000), json!(0)),
        "{back}"
    );
    let next = session(&s, switcher.clone()).await;
    assert_eq!(
        page_line(&s, &next).await.as_deref(),
        Some("Hemat Rp 5.000 untuk pembayaran DANA pertama Anda"),
        "the buyer's first DANA payment is still to come"
    );
    // Never paid: the session's end (its scheduled check) releases it.
    let p = pay_dana(&s, &next).await;
    assert_eq!(incentive(&s, &inc3).await["remaining_budget"], 500_000);
    let sim = s
        .simulate(
            p["provider_reference"].as_str().unwrap(),
            "insufficient_balance",
        )
        .await;
    assert_eq!(sim.status, 200, "{}", sim.body);
    s.wait_for(p["id"].as_str().unwrap(), "failed").await;
    let mut ended = s.local.app.store.get_session(&next).await.unwrap().unwrap();
    ended.expires_at = walletpay_tests::now().plus_millis(-1);
    ended.version += 1;
    s.local.app.store.update_session(&ended).await.unwrap();
    let check =
        json!({"payment_id": p["id"], "attempt": 0, "due_at": rfc3339(-1), "session_end": true});
    let checked = walletpay_app::status::run_check(&s.local.app, &check.to_string())
        .await
        .unwrap();
    assert!(
        matches!(checked, walletpay_app::status::Checked::Done(_)),
        "{checked:?}"
    );
    assert_eq!(incentive(&s, &inc3).await["remaining_budget"], 1_000_000);
    // Once: a second settlement gives nothing back twice.
    let ended = s.local.app.store.get_session(&next).await.unwrap().unwrap();
    walletpay_app::checkout::incentives::settle(&s.local.app, &ended, ended.version + 7)
        .await
        .unwrap();
    assert_eq!(incentive(&s, &inc3).await["remaining_budget"], 1_000_000);
    // Then the failed payment succeeds late: the discount was given after all, so the
    // grant is taken again (its order is settled again by the check the success schedules).
    let pid = walletpay_domain::PaymentId::parse(p["id"].as_str().unwrap()).unwrap();
    let (late, _) = walletpay_app::transition(
        &s.local.app,
        &pid,
        None,
        &walletpay_domain::PaymentEvent::Succeeded,
        "webhook",
        None,
    )
    .await
    .unwrap();
    assert!(late.late_success);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let now = incentive(&s, &inc3).await;
        if now["remaining_budget"] == 500_000 {
            assert_eq!(now["grants"], 1);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the late success's grant is not taken again: {now}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let again = session(&s, switcher.clone()).await;
    assert_eq!(
        page_line(&s, &again).await,
        None,
        "the buyer had their first DANA payment"
    );

    // Two starts at once, DANA (with its incentive) and OVO: one attempt is made, and a
    // grant made for a start that lost is undone.
    let racer = session(
        &s,
        walletpay_tests::buyer("ID", &walletpay_tests::unique("racer")),
    )
    .await;
    let before = incentive(&s, &inc3).await["remaining_budget"]
        .as_i64()
        .unwrap();
    let (a, b) = tokio::join!(
        start_attempt(&s.local.app, &racer, WalletId::Dana, None),
        start_attempt(&s.local.app, &racer, WalletId::Ovo, None)
    );
    assert_eq!(a.is_ok() as u8 + b.is_ok() as u8, 1, "one start wins");
    let made = s
        .get_path(&format!("/v1/checkout/sessions/{racer}"), &key)
        .await;
    let attempts = made.body["payments"].as_array().unwrap().clone();
    assert_eq!(attempts.len(), 1, "{}", made.body);
    let spent = if attempts[0]["wallet"] == "dana" {
        500_000
    } else {
        0
    };
    assert_eq!(
        incentive(&s, &inc3).await["remaining_budget"],
        before - spent
    );

    // A buyer's first DANA payment is one, whatever the campaign: a buyer who paid with one
    // incentive is offered no other.
    let first_campaign = s
        .post_json("/v1/incentives", &key, "k-inc-4", &offer(1_000_000))
        .await;
    assert_eq!(first_campaign.status, 201);
    let paid_buyer = walletpay_tests::buyer("ID", &walletpay_tests::unique("paid"));
    let o = session(&s, paid_buyer.clone()).await;
    let p = pay_dana(&s, &o).await;
    assert!(p["incentive"]["id"].is_string(), "{p}");
    let sim = s
        .simulate(p["provider_reference"].as_str().unwrap(), "success")
        .await;
    assert_eq!(sim.status, 200, "{}", sim.body);
    s.wait_for(p["id"].as_str().unwrap(), "succeeded").await;
    let campaign = s
        .post_json("/v1/incentives", &key, "k-inc-5", &offer(1_000_000))
        .await;
    assert_eq!(campaign.status, 201);
    let again = session(&s, paid_buyer).await;
    assert_eq!(
        page_line(&s, &again).await,
        None,
        "a second campaign is no second first payment"
    );

    // Shown, then gone before the buyer chose: no attempt at another price.
    let shown = session(
        &s,
        walletpay_tests::buyer("ID", &walletpay_tests::unique("shown")),
    )
    .await;
    assert!(page_line(&s, &shown).await.is_some());
    for st in s.get_path("/v1/incentives", &key).await.body["data"]
        .as_array()
        .unwrap()
    {
        s.post(
            &format!("/v1/incentives/{}/disable", st["id"].as_str().unwrap()),
            &key,
        )
        .await;
    }
    let refused = s
        .http
        .post(s.url(&format!("/checkout/{shown}/pay")))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body("wallet=dana&offered=dana")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Penawaran itu baru saja habis"), "{html}");
    let after = s
        .get_path(&format!("/v1/checkout/sessions/{shown}"), &key)
        .await;
    assert_eq!(after.body["payments"], json!([]), "no attempt was made");

    // Ended by the shop: a new buyer sees nothing.
    let more = s
        .post_json("/v1/incentives", &key, "k-inc-2", &offer(10_000_000))
        .await;
    let inc2 = more.body["id"].as_str().unwrap().to_string();
    let off = s
        .post(&format!("/v1/incentives/{inc2}/disable"), &key)
        .await;
    assert_eq!(
        (off.status, off.body["active"].clone()),
        (200, json!(false)),
        "{}",
        off.body
    );
    let late = session(
        &s,
        walletpay_tests::buyer("ID", &walletpay_tests::unique("late")),
    )
    .await;
    assert_eq!(page_line(&s, &late).await, None);
    assert_eq!(
        s.post(
            "/v1/incentives/inc_01m8ab8makqqg641md11702kgn/disable",
            &key
        )
        .await
        .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn incentives_embedded() {
    incentives(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn incentives_on_dynamodb() {
    incentives(Backend::Aws).await;
}
