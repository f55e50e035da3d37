//! Hosted checkout sessions on both backends: the shop's API (validation, idempotency,
//! tenancy) and the buyer's attempts (one at a time while one may still succeed, a failure
//! turned into a second attempt with another wallet, a success completing the session and
//! ending its attempts, racing starts making one payment).

use reqwest::Method;
use serde_json::{json, Value};
use walletpay_app::checkout::start_attempt;
use walletpay_domain::checkout::Attempt;
use walletpay_domain::{PaymentStatus, SessionId, WalletId};
use walletpay_local::Backend;
use walletpay_tests::stack::{start, Answer, Stack};

async fn post(s: &Stack, key: &str, idem: Option<&str>, body: Value) -> Answer {
    let mut req = s
        .http
        .request(Method::POST, s.url("/v1/checkout/sessions"))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(i) = idem {
        req = req.header("idempotency-key", i);
    }
    Stack::answer(req.send().await.unwrap()).await
}

fn session(reference: &str) -> Value {
    json!({
        "amount": 15000000, "currency": "IDR", "country": "ID",
        "merchant_reference": reference,
        "customer": walletpay_tests::buyer("ID", reference),
        "return_url": "https://shop.example/thanks",
        "cancel_url": "https://shop.example/cart",
        "language": "id"
    })
}

/// Reserves a place in a session by hand, as a start that died before making its payment
/// (or before linking it) leaves one.
async fn reserve(
    app: &walletpay_app::App,
    id: &SessionId,
    created_at: walletpay_domain::Timestamp,
) -> walletpay_domain::checkout::CheckoutSession {
    let mut sess = app.store.get_session(id).await.unwrap().unwrap();
    sess.attempts.push(Attempt {
        payment_id: None,
        wallet: WalletId::Dana,
        status: PaymentStatus::Processing,
        created_at,
        incentive: None,
    });
    sess.version += 1;
    app.store.update_session(&sess).await.unwrap();
    sess
}

async fn checkout_sessions(backend: Backend) {
    let Some(s) = start(backend).await else {
        return;
    };
    let key = s.local.demo_key.clone();
    let app = &s.local.app;

    // Refusals, each with its code and field; nothing is created.
    let no_key = post(&s, &key, None, session("cs-1")).await;
    assert_eq!(no_key.status, 400);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = session("cs-bad");
        f(&mut b);
        b
    };
    for (body, status, code, field) in [
        (
            with(&|b| b["wallets"] = json!(["gcash"])),
            422,
            "wallet_not_offered",
            "wallets[0]",
        ),
        (
            with(&|b| b["language"] = json!("fr")),
            400,
            "invalid_field",
            "language",
        ),
        (
            with(&|b| b["cancel_url"] = json!("javascript:alert(1)")),
            400,
            "invalid_field",
            "cancel_url",
        ),
        (
            with(&|b| {
                b.as_object_mut().unwrap().remove("return_url");
            }),
            400,
            "missing_field",
            "return_url",
        ),
        (
            with(&|b| b["currency"] = json!("THB")),
            422,
            "currency_mismatch",
            "currency",
        ),
        (
            with(&|b| b["expires_in_minutes"] = json!(2)),
            400,
            "invalid_field",
            "expires_in_minutes",
        ),
        (with(&|b| b["surprise"] = json!(1)), 400, "invalid_json", ""),
        (
            with(&|b| {
                b["wallets"] = json!(["ovo"]);
                b["amount"] = json!(100)
            }),
            422,
            "amount_not_payable",
            "amount",
        ),
        (
            with(&|b| {
                b["wallets"] = json!(["dana", "ovo"]);
                b["customer"] = json!({"email": "a@b.co"})
            }),
            422,
            "missing_field",
            "customer.phone",
        ),
    ] {
        let a = post(&s, &key, Some(&walletpay_tests::unique("k")), body.clone()).await;
        assert_eq!(
            (a.status, a.body["error"]["code"].as_str().unwrap_or("")),
            (status, code),
            "{body}: {}",
            a.body
        );
        if !field.is_empty() {
            assert_eq!(a.body["error"]["field"], field, "{}", a.body);
        }
    }

    // A session, replayed by its key.
    let a = post(&s, &key, Some("cs-key-1"), session("cs-1")).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("cs_"));
    assert_eq!(a.body["status"], "open");
    assert!(a.body["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/checkout/{id}")));
    assert_eq!(a.body["payments"], json!([]));
    let again = post(&s, &key, Some("cs-key-1"), session("cs-1")).await;
    assert_eq!((again.status, again.replayed), (201, true));
    assert_eq!(again.body["id"], id.as_str());
    let other = s.other_merchant().await;
    assert_eq!(
        s.get_path(&format!("/v1/checkout/sessions/{id}"), &other)
            .await
            .status,
        404
    );

    // The first attempt; a second waits until it is final.
    let sid = SessionId::parse(&id).unwrap();
    let first = start_attempt(app, &sid, WalletId::Dana, None)
        .await
        .unwrap();
    assert_eq!(first.payment.status, 201, "{}", first.payment.body);
    let p1: Value = serde_json::from_str(&first.payment.body).unwrap();
    assert_eq!(p1["status"], "requires_action");
    assert!(p1["risk"].is_object(), "risk control decided it: {p1}");
    let busy = start_attempt(app, &sid, WalletId::Ovo, None)
        .await
        .unwrap_err();
    assert_eq!((busy.status, busy.code), (409, "attempt_pending"));
    // It fails: the buyer switches wallet.
    let sim = s
        .simulate(
            p1["provider_reference"].as_str().unwrap(),
            "insufficient_balance",
        )
        .await;
    assert_eq!(sim.status, 200, "{}: {p1}", sim.body);
    s.wait_for(p1["id"].as_str().unwrap(), "failed").await;
    let second = start_attempt(app, &sid, WalletId::Ovo, None).await.unwrap();
    assert_eq!(second.payment.status, 201, "{}", second.payment.body);
    let p2: Value = serde_json::from_str(&second.payment.body).unwrap();
    assert_ne!(p2["id"], p1["id"]);
    assert_eq!(second.session.attempts.len(), 2);
    let sim = s
        .simulate(p2["provider_reference"].as_str().unwrap(), "success")
        .await;
    assert_eq!(sim.status, 200, "{}", sim.body);
    s.wait_for(p2["id"].as_str().unwrap(), "succeeded").await;
    let got = s
        .get_path(&format!("/v1/checkout/sessions/{id}"), &key)
        .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["status"], "complete");
    assert_eq!(got.body["paid_by"], p2["id"]);
    let statuses: Vec<&str> = got.body["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["failed", "succeeded"]);
    let done = start_attempt(app, &sid, WalletId::Gopay, None)
        .await
        .unwrap_err();
    assert_eq!((done.status, done.code), (409, "session_complete"));
    // The failed first attempt is paid late: the order is paid already, so the late
    // success is refunded (the merchant never asked for late successes to be).
    let p1id = walletpay_domain::PaymentId::parse(p1["id"].as_str().unwrap()).unwrap();
    let (late, _) = walletpay_app::transition(
        app,
        &p1id,
        None,
        &walletpay_domain::PaymentEvent::Succeeded,
        "webhook",
        None,
    )
    .await
    .unwrap();
    assert!(late.late_success);
    let refunds = s
        .get_path(&format!("/v1/payments/{p1id}/refunds"), &key)
        .await;
    assert_eq!(refunds.status, 200, "{}", refunds.body);
    assert_eq!(
        refunds.body["data"].as_array().unwrap().len(),
        1,
        "{}",
        refunds.body
    );
    assert_eq!(refunds.body["data"][0]["amount"], 15000000);
    let got = s
        .get_path(&format!("/v1/checkout/sessions/{id}"), &key)
        .await;
    assert_eq!(
        got.body["paid_by"], p2["id"],
        "the order's payment stays the first paid"
    );

    // A session that allows one wallet refuses another; racing starts make one payment.
    let mut only = session("cs-2");
    only["wallets"] = json!(["dana"]);
    let b = post(&s, &key, Some("cs-key-2"), only).await;
    assert_eq!(b.status, 201, "{}", b.body);
    let sid2 = SessionId::parse(b.body["id"].as_str().unwrap()).unwrap();
    let no = start_attempt(app, &sid2, WalletId::Ovo, None)
        .await
        .unwrap_err();
    assert_eq!((no.status, no.code), (422, "wallet_not_allowed"));
    let (x, y) = tokio::join!(
        start_attempt(app, &sid2, WalletId::Dana, None),
        start_attempt(app, &sid2, WalletId::Dana, None)
    );
    let ids: Vec<String> = [x, y]
        .into_iter()
        .filter_map(|r| r.ok())
        .filter(|r| r.payment.status == 201)
        .map(|r| {
            serde_json::from_str::<Value>(&r.payment.body).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|i| i == &ids[0]), "one payment: {ids:?}");
    let after = s
        .get_path(&format!("/v1/checkout/sessions/{sid2}"), &key)
        .await;
    assert_eq!(
        after.body["payments"].as_array().unwrap().len(),
        1,
        "{}",
        after.body
    );
    assert_eq!(s.charges_for(&ids[0]), 1);

    // Paid twice anyway (a second payment made for the order, past the rule): the session
    // keeps the first and the second is refunded when the session sees it.
    let first = walletpay_domain::PaymentId::parse(&ids[0]).unwrap();
    let succeed = |id: walletpay_domain::PaymentId| async move {
        walletpay_app::transition(
            app,
            &id,
            None,
            &walletpay_domain::PaymentEvent::Succeeded,
            "webhook",
            None,
        )
        .await
        .unwrap()
        .0
    };
    succeed(first.clone()).await;
    let sess = reserve(app, &sid2, walletpay_tests::now()).await;
    let extra = walletpay_app::payments::create_payment_in(
        app,
        walletpay_app::payments::Made::ByCheckout(&sid2),
        &s.local.demo_merchant,
        Some(&sess.attempt_key(1)),
        json!({
            "merchant_reference": "cs-2", "amount": 15000000, "currency": "IDR",
            "country": "ID", "wallet": "dana", "return_url": "https://shop.example/thanks"
        })
        .to_string()
        .as_bytes(),
        None,
    )
    .await
    .unwrap();
    let extra: Value = serde_json::from_str(&extra.body).unwrap();
    let extra_id = walletpay_domain::PaymentId::parse(extra["id"].as_str().unwrap()).unwrap();
    assert!(!succeed(extra_id.clone()).await.late_success);
    let twice = s
        .get_path(&format!("/v1/checkout/sessions/{sid2}"), &key)
        .await;
    assert_eq!(twice.body["paid_by"], ids[0].as_str(), "{}", twice.body);
    let refunds = s
        .get_path(&format!("/v1/payments/{extra_id}/refunds"), &key)
        .await;
    assert_eq!(
        refunds.body["data"].as_array().unwrap().len(),
        1,
        "{}",
        refunds.body
    );
    let again = s
        .get_path(&format!("/v1/checkout/sessions/{sid2}"), &key)
        .await;
    assert_eq!(again.status, 200);
    let refunds = s
        .get_path(&format!("/v1/payments/{extra_id}/refunds"), &key)
        .await;
    assert_eq!(
        refunds.body["data"].as_array().unwrap().len(),
        1,
        "one refund however often the session is read"
    );

    // Two starts with different wallets at once: one payment, the other refused.
    let c = post(&s, &key, Some("cs-key-3"), session("cs-3")).await;
    let sid3 = SessionId::parse(c.body["id"].as_str().unwrap()).unwrap();
    let (x, y) = tokio::join!(
        start_attempt(app, &sid3, WalletId::Dana, None),
        start_attempt(app, &sid3, WalletId::Ovo, None)
    );
    let (made, refused): (Vec<_>, Vec<_>) = [x, y].into_iter().partition(|r| r.is_ok());
    assert_eq!((made.len(), refused.len()), (1, 1));
    let refused = refused.into_iter().next().unwrap().unwrap_err();
    assert_eq!((refused.status, refused.code), (409, "attempt_pending"));
    let made = made.into_iter().next().unwrap().unwrap();
    assert_eq!(made.payment.status, 201, "{}", made.payment.body);
    assert_eq!(made.session.attempts.len(), 1);

    // A place reserved whose payment was made but never linked (the process died between
    // the two) is linked by the next read; one whose payment was never even claimed is
    // given up once the claim's lease has passed, and the buyer can try again.
    let d = post(&s, &key, Some("cs-key-4"), session("cs-4")).await;
    let sid4 = SessionId::parse(d.body["id"].as_str().unwrap()).unwrap();
    // A shop's own session key shaped like one of this session's attempt keys reaches
    // none of them.
    let lookalike = post(&s, &key, Some(&format!("{sid4}:0")), session("cs-look")).await;
    assert_eq!(lookalike.status, 201, "{}", lookalike.body);
    let sess = reserve(app, &sid4, walletpay_tests::now()).await;
    let body = json!({
        "merchant_reference": "cs-4", "amount": 15000000, "currency": "IDR", "country": "ID",
        "wallet": "dana", "return_url": "https://shop.example/thanks"
    });
    let orphan = walletpay_app::payments::create_payment_in(
        app,
        walletpay_app::payments::Made::ByCheckout(&sid4),
        &s.local.demo_merchant,
        Some(&sess.attempt_key(0)),
        body.to_string().as_bytes(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(orphan.status, 201, "{}", orphan.body);
    let orphan: Value = serde_json::from_str(&orphan.body).unwrap();
    assert_eq!(orphan["object"], "payment", "{orphan}");
    let read = s
        .get_path(&format!("/v1/checkout/sessions/{sid4}"), &key)
        .await;
    assert_eq!(
        read.body["payments"][0]["id"], orphan["id"],
        "{}",
        read.body
    );
    assert_eq!(read.body["payments"][0]["status"], "requires_action");
    let sim = s
        .simulate(
            orphan["provider_reference"].as_str().unwrap(),
            "user_cancelled",
        )
        .await;
    assert_eq!(sim.status, 200, "{}", sim.body);
    s.wait_for(orphan["id"].as_str().unwrap(), "failed").await;
    // Never claimed, ten minutes ago.
    reserve(
        app,
        &sid4,
        walletpay_domain::Timestamp(walletpay_tests::now().millis() - 600_000),
    )
    .await;
    let busy = start_attempt(app, &sid4, WalletId::Dana, None).await;
    let next = busy.expect("the abandoned place is given up");
    assert_eq!(next.payment.status, 201, "{}", next.payment.body);
    let statuses: Vec<String> = next
        .session
        .attempts
        .iter()
        .map(|a| a.status.as_str().to_string())
        .collect();
    assert_eq!(statuses, ["failed", "failed", "requires_action"]);
}

#[tokio::test]
async fn checkout_sessions_embedded() {
    checkout_sessions(Backend::Embedded).await;
}

#[tokio::test]
async fn checkout_sessions_on_dynamodb_and_sqs() {
    checkout_sessions(Backend::Aws).await;
}
