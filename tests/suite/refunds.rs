//! Refunds against the local stack, on both backends: full and partial refunds, the
//! reservation under concurrency, refusals, provider failures, pending refunds and unknown
//! outcomes retried with the provider's idempotency key.

use serde_json::json;
use std::time::Duration;
use walletpay_app::Settings;
use walletpay_local::{Backend, Options};
use walletpay_tests::stack::{dana_order, start_with, Stack};

fn fast() -> Options {
    Options {
        settings: Settings {
            refund_retry_delays: vec![Duration::from_millis(200), Duration::from_millis(400)],
            ..Settings::default()
        },
        ..Options::default()
    }
}

async fn refund(
    s: &Stack,
    payment_id: &str,
    idem: &str,
    body: serde_json::Value,
) -> walletpay_tests::stack::Answer {
    s.post_json(
        &format!("/v1/payments/{payment_id}/refunds"),
        &s.local.demo_key,
        idem,
        &body,
    )
    .await
}

async fn full_refund(s: Stack) {
    let p = s.paid("full", 15_000_000).await;
    let id = p["id"].as_str().unwrap();
    assert_eq!(p["amount_refundable"], 15_000_000);
    let r = refund(
        &s,
        id,
        "r-full",
        json!({"reason": "requested_by_customer", "merchant_reference": "rma-1"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body["amount"], 15_000_000,
        "no amount means the whole refundable rest"
    );
    assert_eq!(r.body["currency"], "IDR");
    assert_eq!(r.body["payment_id"], id);
    assert_eq!(r.body["merchant_reference"], "rma-1");
    let rid = r.body["id"].as_str().unwrap();
    assert!(rid.starts_with("ref_"));
    s.wait_for_refund(id, rid, "succeeded").await;
    let after = s.wait_for(id, "refunded").await;
    assert_eq!(after["amount_refunded"], 15_000_000);
    assert_eq!(after["amount_refundable"], 0);
    // The provider got whole rupiah, our refund id as its idempotency key, once.
    let at_provider: Vec<_> = s
        .local
        .xendit
        .refunds()
        .into_iter()
        .filter(|x| x.payment_request_id.as_deref() == p["provider_reference"].as_str())
        .collect();
    assert_eq!(at_provider.len(), 1);
    assert_eq!(at_provider[0].amount.get(), "150000");
    assert_eq!(
        at_provider[0].reference_id.as_deref(),
        Some(rid),
        "our refund id as its reference"
    );
    assert_eq!(at_provider[0].reason, "REQUESTED_BY_CUSTOMER");
    let list = s
        .get_path(&format!("/v1/payments/{id}/refunds"), &s.local.demo_key)
        .await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    assert!(list.body["next_cursor"].is_null());
    // Nothing is left to refund.
    let more = refund(&s, id, "r-more", json!({"amount": 100})).await;
    assert_eq!(
        (more.status, more.body["error"]["code"].as_str()),
        (422, Some("refund_exceeds_refundable"))
    );
    let events: Vec<String> = s.history(id).await.into_iter().map(|h| h.event).collect();
    assert_eq!(
        events,
        [
            "created",
            "accepted",
            "succeeded",
            "refund_requested",
            // Xendit takes a refund PENDING and names it, then makes it.
            "refund_submitted",
            "refund_succeeded"
        ]
    );
}

async fn two_partial_refunds(s: Stack) {
    let p = s.paid("partial", 15_000_000).await;
    let id = p["id"].as_str().unwrap();
    let a = refund(&s, id, "r-a", json!({"amount": 5_000_000})).await;
    assert_eq!(a.status, 201, "{}", a.body);
    s.wait_for_refund(id, a.body["id"].as_str().unwrap(), "succeeded")
        .await;
    let mid = s.wait_for(id, "partially_refunded").await;
    assert_eq!(mid["amount_refunded"], 5_000_000);
    assert_eq!(mid["amount_refundable"], 10_000_000);
    let too_much = refund(&s, id, "r-b-big", json!({"amount": 10_000_100})).await;
    assert_eq!(
        (too_much.status, too_much.body["error"]["code"].as_str()),
        (422, Some("refund_exceeds_refundable"))
    );
    let b = refund(&s, id, "r-b", json!({"amount": 10_000_000})).await;
    assert_eq!(b.status, 201);
    s.wait_for_refund(id, b.body["id"].as_str().unwrap(), "succeeded")
        .await;
    let done = s.wait_for(id, "refunded").await;
    assert_eq!(done["amount_refunded"], 15_000_000);
}

async fn concurrent_refunds_never_over_refund(s: Stack) {
    let p = s.paid("burst", 15_000_000).await;
    let id = p["id"].as_str().unwrap().to_string();
    let s = std::sync::Arc::new(s);
    let mut tasks = Vec::new();
    for i in 0..25 {
        let s = s.clone();
        let id = id.clone();
        // IDR 10,000 each: fifteen fit in IDR 150,000.
        tasks.push(tokio::spawn(async move {
            refund(&s, &id, &format!("burst-{i}"), json!({"amount": 1_000_000})).await
        }));
    }
    let mut created = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let a = t.await.unwrap();
        match a.status {
            201 => created.push(a.body["id"].as_str().unwrap().to_string()),
            422 => {
                assert_eq!(a.body["error"]["code"], "refund_exceeds_refundable");
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", a.body),
        }
    }
    assert_eq!(created.len(), 15, "exactly what was paid is refundable");
    assert_eq!(refused, 10);
    for rid in &created {
        s.wait_for_refund(&id, rid, "succeeded").await;
    }
    let done = s.wait_for(&id, "refunded").await;
    assert_eq!(done["amount_refunded"], 15_000_000);
    let charge = p["provider_reference"].as_str().unwrap();
    assert_eq!(
        s.local
            .xendit
            .refunds()
            .iter()
            .filter(|r| r.payment_request_id.as_deref() == Some(charge))
            .count(),
        15
    );
}

async fn refusals_and_idempotency(s: Stack) {
    // Not paid: nothing to refund.
    let unpaid = s.create("unpaid", &dana_order("unpaid")).await;
    let uid = unpaid.body["id"].as_str().unwrap();
    let r = refund(&s, uid, "r-unpaid", json!({})).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (409, Some("payment_not_refundable"))
    );
    // Bad bodies and keys.
    let p = s.paid("idem-refund", 15_000_000).await;
    let id = p["id"].as_str().unwrap();
    for (body, code, field) in [
        (json!({"amount": 0}), "amount_invalid", "amount"),
        (json!({"amount": "100"}), "amount_invalid", "amount"),
        (json!({"reason": "changed_mind"}), "invalid_field", "reason"),
        (json!({"amount": 150}), "amount_not_payable", "amount"),
    ] {
        let a = refund(&s, id, "r-bad", body.clone()).await;
        assert_eq!(a.body["error"]["code"], code, "{body}");
        assert_eq!(a.body["error"]["field"], field, "{body}");
    }
    let no_key = s
        .post(&format!("/v1/payments/{id}/refunds"), &s.local.demo_key)
        .await;
    assert_eq!(no_key.body["error"]["code"], "idempotency_key_missing");
    // The same key and body: one refund, replayed.
    let first = refund(&s, id, "r-once", json!({"amount": 2_000_000})).await;
    let again = refund(&s, id, "r-once", json!({"amount": 2_000_000})).await;
    assert_eq!(first.status, 201);
    assert!(again.replayed);
    assert_eq!(again.body["id"], first.body["id"]);
    let other = refund(&s, id, "r-once", json!({"amount": 3_000_000})).await;
    assert_eq!(
        (other.status, other.body["error"]["code"].as_str()),
        (409, Some("idempotency_key_reused"))
    );
    s.wait_for_refund(id, first.body["id"].as_str().unwrap(), "succeeded")
        .await;
    let charge = p["provider_reference"].as_str().unwrap();
    assert_eq!(
        s.local
            .xendit
            .refunds()
            .iter()
            .filter(|r| r.payment_request_id.as_deref() == Some(charge))
            .count(),
        1
    );
    // Another merchant sees nothing.
    let other_key = s.other_merchant().await;
    let theirs = s
        .post_json(
            &format!("/v1/payments/{id}/refunds"),
            &other_key,
            "x",
            &json!({}),
        )
        .await;
    assert_eq!(theirs.status, 404);
    assert_eq!(
        s.get_path(
            &format!(
                "/v1/payments/{id}/refunds/{}",
                first.body["id"].as_str().unwrap()
            ),
            &other_key
        )
        .await
        .status,
        404
    );
    assert_eq!(
        s.get_path(
            &format!("/v1/payments/{id}/refunds/ref_nope"),
            &s.local.demo_key
        )
        .await
        .status,
        404
    );
}

async fn refund_refused_by_the_provider_releases_the_reservation(s: Stack) {
    // OVO one-time payments cannot be refunded at Xendit: refused up front, with a code of
    // its own, nothing reserved, nothing sent to Xendit; the same key can be used again.
    let mut ovo = dana_order("ovo-refund");
    ovo["wallet"] = json!("ovo");
    let a = s.create("ovo-refund", &ovo).await;
    s.simulate(a.body["provider_reference"].as_str().unwrap(), "success")
        .await;
    let id = a.body["id"].as_str().unwrap();
    s.wait_for(id, "succeeded").await;
    let at_xendit = s.local.xendit.refunds().len();
    for _ in 0..2 {
        let r = refund(&s, id, "r-ovo", json!({})).await;
        assert_eq!(
            (r.status, r.body["error"]["code"].as_str()),
            (422, Some("refund_not_supported")),
            "{}",
            r.body
        );
    }
    let p = s.get(id, &s.local.demo_key).await.body;
    assert_eq!(
        (p["status"].as_str(), p["amount_refundable"].as_i64()),
        (Some("succeeded"), Some(15_000_000))
    );
    assert_eq!(
        s.local.xendit.refunds().len(),
        at_xendit,
        "nothing went to Xendit"
    );

    // A refund the provider takes and then fails (magic IDR 2,222).
    let q = s.paid("fails", 15_000_000).await;
    let qid = q["id"].as_str().unwrap();
    let r = refund(&s, qid, "r-2222", json!({"amount": 222_200})).await;
    let failed = s
        .wait_for_refund(qid, r.body["id"].as_str().unwrap(), "failed")
        .await;
    assert_eq!(failed["failure"]["provider_code"], "INSUFFICIENT_BALANCE");
    let message = failed["failure"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("The refund could not be made"),
        "{message}"
    );
    assert_eq!(
        s.get(qid, &s.local.demo_key).await.body["amount_refundable"],
        15_000_000
    );
}

async fn pending_refund_is_followed_up(s: Stack) {
    let p = s.paid("pending", 15_000_000).await;
    let id = p["id"].as_str().unwrap();
    // Magic IDR 1,111: the provider keeps the refund PENDING.
    let r = refund(&s, id, "r-1111", json!({"amount": 111_100})).await;
    let rid = r.body["id"].as_str().unwrap();
    // Wait for the worker to have asked the provider (the job travels through the queue).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let at_provider = loop {
        if let Some(r) = s
            .local
            .xendit
            .refunds()
            .into_iter()
            .find(|x| x.amount.get() == "1111")
        {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the refund never reached the provider"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(at_provider.status, "PENDING");
    // The worker keeps looking while the provider says pending.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let ours = s
        .get_path(
            &format!("/v1/payments/{id}/refunds/{rid}"),
            &s.local.demo_key,
        )
        .await;
    assert_eq!(ours.body["status"], "pending");
    s.local
        .xendit
        .settle_refund(&at_provider.id, true)
        .await
        .unwrap();
    s.wait_for_refund(id, rid, "succeeded").await;
    assert_eq!(
        s.wait_for(id, "partially_refunded").await["amount_refunded"],
        111_100
    );
}

async fn unknown_refund_outcome_is_retried_without_refunding_twice(s: Stack) {
    let p = s.paid("unknown", 15_000_000).await;
    let id = p["id"].as_str().unwrap();
    // Magic IDR 3,333: the refund is made but the answer is a 500.
    let r = refund(&s, id, "r-3333", json!({"amount": 333_300})).await;
    s.wait_for_refund(id, r.body["id"].as_str().unwrap(), "succeeded")
        .await;
    let charge = p["provider_reference"].as_str().unwrap();
    assert_eq!(
        s.local
            .xendit
            .refunds()
            .iter()
            .filter(|x| x.payment_request_id.as_deref() == Some(charge))
            .count(),
        1,
        "the retry found the same refund"
    );
    assert_eq!(
        s.wait_for(id, "partially_refunded").await["amount_refunded"],
        333_300
    );
}

/// Routes `<country>:<wallet>` to `provider` alone for the demo merchant.
async fn only(s: &Stack, key: &str, provider: &str) {
    let r = s
        .http
        .patch(s.url("/v1/merchant"))
        .header("authorization", format!("Bearer {}", s.local.demo_key))
        .body(json!({"wallet_providers": {key: [provider]}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn post_sandbox(s: &Stack, path: &str, body: serde_json::Value) {
    let r = s
        .http
        .post(s.url(path))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "{path}: {}",
        r.text().await.unwrap()
    );
}

async fn history(s: &Stack, id: &str) -> Vec<String> {
    s.history(id).await.into_iter().map(|h| h.event).collect()
}

/// Adyen reports a refund made (REFUND), then undone by the shopper's bank
/// (REFUNDED_REVERSED): the refund is `reversed`, its amount refundable again, the payment
/// back to `succeeded`; nothing of it is dropped as stale.
async fn a_refund_the_provider_reverses_is_refundable_again(s: Stack) {
    only(&s, "ID:dana", "adyen").await;
    let a = s.create("rev", &dana_order("rev")).await;
    let id = a.body["id"].as_str().unwrap().to_string();
    let psp = a.body["provider_reference"].as_str().unwrap().to_string();
    post_sandbox(
        &s,
        &format!("/sandbox/adyen/simulate/{psp}"),
        json!({"outcome": "success"}),
    )
    .await;
    s.wait_for(&id, "succeeded").await;
    let r = refund(&s, &id, "r-rev", json!({"amount": 5_000_000})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let rid = r.body["id"].as_str().unwrap().to_string();
    s.wait_for_refund(&id, &rid, "succeeded").await;
    assert_eq!(
        s.wait_for(&id, "partially_refunded").await["amount_refundable"],
        10_000_000
    );
    let at_adyen = s
        .local
        .adyen
        .refunds()
        .into_iter()
        .find(|r| r.reference.ends_with(&rid))
        .expect("the refund at Adyen");
    post_sandbox(
        &s,
        &format!("/sandbox/adyen/simulate-refund/{}", at_adyen.psp_reference),
        json!({"outcome": "reversed"}),
    )
    .await;
    let reversed = s.wait_for_refund(&id, &rid, "reversed").await;
    assert!(reversed["failure"].is_object(), "{reversed}");
    let p = s.wait_for(&id, "succeeded").await;
    assert_eq!(
        (
            p["amount_refunded"].as_i64(),
            p["amount_refundable"].as_i64()
        ),
        (Some(0), Some(15_000_000))
    );
    assert_eq!(
        history(&s, &id).await.last().map(String::as_str),
        Some("refund_reversed")
    );
    // The same notification again (Adyen retries until one is accepted) changes nothing.
    let before = history(&s, &id).await;
    assert!(
        s.local
            .adyen
            .resend_refund_notification(&at_adyen.psp_reference)
            .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(history(&s, &id).await, before);
    assert_eq!(
        s.get(&id, &s.local.demo_key).await.body["amount_refundable"],
        15_000_000
    );
}

/// The acquiring bank takes a refund as `pending` (it waits, never fails for that), settles
/// it, and later reports it reversed by the payer's bank (a signed `refund.reversed`).
async fn a_bank_refund_waits_while_pending_and_its_reversal_is_recorded(s: Stack) {
    only(&s, "TH:promptpay", "promptpay").await;
    let order = json!({
        "merchant_reference": "bank-rev", "amount": 300_000, "currency": "THB", "country": "TH",
        "wallet": "promptpay", "customer": {"email": "buyer@example.com"}
    });
    let a = s.create("bank-rev", &order).await;
    assert_eq!(a.body["provider"], "promptpay", "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    let reference = a.body["provider_reference"].as_str().unwrap().to_string();
    post_sandbox(
        &s,
        &format!("/sandbox/promptpay/simulate/{reference}"),
        json!({"outcome": "success"}),
    )
    .await;
    s.wait_for(&id, "succeeded").await;
    // Magic THB 1,111: the bank answers `pending`.
    let r = refund(&s, &id, "r-bank", json!({"amount": 111_100})).await;
    let rid = r.body["id"].as_str().unwrap().to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let at_bank = loop {
        if let Some(r) = s
            .local
            .bank
            .refunds()
            .into_iter()
            .find(|x| x.reference == rid)
        {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the refund never reached the bank"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(at_bank.status, "pending");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let ours = s
        .get_path(
            &format!("/v1/payments/{id}/refunds/{rid}"),
            &s.local.demo_key,
        )
        .await;
    assert_eq!(
        ours.body["status"], "pending",
        "a pending answer waits: {}",
        ours.body
    );
    post_sandbox(
        &s,
        &format!("/sandbox/promptpay/simulate-refund/{}", at_bank.refund_id),
        json!({"outcome": "success"}),
    )
    .await;
    s.wait_for_refund(&id, &rid, "succeeded").await;
    assert_eq!(
        s.wait_for(&id, "partially_refunded").await["amount_refunded"],
        111_100
    );
    post_sandbox(
        &s,
        &format!("/sandbox/promptpay/simulate-refund/{}", at_bank.refund_id),
        json!({"outcome": "reversed"}),
    )
    .await;
    s.wait_for_refund(&id, &rid, "reversed").await;
    let p = s.wait_for(&id, "succeeded").await;
    assert_eq!(p["amount_refundable"], 300_000);
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
            scenario!(full_refund);
            scenario!(two_partial_refunds);
            scenario!(concurrent_refunds_never_over_refund);
            scenario!(refusals_and_idempotency);
            scenario!(refund_refused_by_the_provider_releases_the_reservation);
            scenario!(pending_refund_is_followed_up);
            scenario!(unknown_refund_outcome_is_retried_without_refunding_twice);
            scenario!(a_refund_the_provider_reverses_is_refundable_again);
            scenario!(a_bank_refund_waits_while_pending_and_its_reversal_is_recorded);
        }
    };
}

scenarios!(embedded, Backend::Embedded);
scenarios!(aws, Backend::Aws);
