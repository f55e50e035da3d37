//! One conformance suite for the Store port, run against every implementation: the
//! embedded store and DynamoDB (Amazon's DynamoDB Local).

use std::sync::Arc;
use walletpay_domain::{
    Failure, FailureCode, NextAction, Payment, PaymentEvent, PaymentStatus, Timestamp,
};
use walletpay_ports::{
    ApiKeyRecord, Begin, HistoryEntry, IdempotencyRecord, IdempotencyState, Merchant, PaymentStore,
    Store, StoreError,
};
use walletpay_tests::{merchant_id, now, rand_u128, sample_payment};

fn created_entry(p: &Payment) -> HistoryEntry {
    HistoryEntry {
        payment_id: p.id.clone(),
        merchant_id: p.merchant_id.clone(),
        seq: 1,
        at: p.created_at,
        event: "created".into(),
        from: None,
        to: p.status,
        source: "api".into(),
        detail: None,
    }
}

fn next_entry(p: &Payment, from: PaymentStatus, event: &str) -> HistoryEntry {
    HistoryEntry {
        payment_id: p.id.clone(),
        merchant_id: p.merchant_id.clone(),
        seq: p.version,
        at: p.updated_at,
        event: event.into(),
        from: Some(from),
        to: p.status,
        source: "webhook".into(),
        detail: None,
    }
}

fn idem(merchant: &walletpay_domain::MerchantId, key: &str, at: Timestamp) -> IdempotencyRecord {
    IdempotencyRecord {
        merchant_id: merchant.clone(),
        key: key.into(),
        request_hash: "hash-a".into(),
        payment_id: walletpay_domain::PaymentId::new(at.millis(), rand_u128()),
        refund_id: None,
        state: IdempotencyState::InProgress,
        lease_until: at.plus_seconds(60),
        expires_at: at.plus_seconds(86_400),
    }
}

pub async fn merchants_and_keys(store: Arc<dyn Store>) {
    let mut m = Merchant::new(merchant_id(), "Toko Batik", now());
    m.webhook_url = Some("https://toko.example/hooks".into());
    m.webhook_secret = Some("whsec_abc".into());
    m.previous_webhook_secret = Some("whsec_old".into());
    m.previous_secret_until = Some(now().plus_seconds(60));
    m.refund_late_successes = true;
    store.put_merchant(&m).await.unwrap();
    assert_eq!(store.get_merchant(&m.id).await.unwrap(), Some(m.clone()));
    assert_eq!(store.get_merchant(&merchant_id()).await.unwrap(), None);

    let key = ApiKeyRecord {
        key_id: format!("k{}", rand_u128() % 1_000_000_000_000),
        merchant_id: m.id.clone(),
        secret_sha256: "ab".repeat(32),
        created_at: now(),
    };
    store.insert_api_key(&key).await.unwrap();
    assert_eq!(
        store.get_api_key(&key.key_id).await.unwrap(),
        Some(key.clone())
    );
    let other = ApiKeyRecord {
        merchant_id: merchant_id(),
        ..key.clone()
    };
    assert!(matches!(
        store.insert_api_key(&other).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(
        store
            .get_api_key(&key.key_id)
            .await
            .unwrap()
            .unwrap()
            .merchant_id,
        m.id,
        "the first key stays"
    );
    assert_eq!(store.get_api_key("nope").await.unwrap(), None);
}

pub async fn payment_round_trips_every_field(store: Arc<dyn Store>) {
    let mut p = sample_payment(&merchant_id());
    store.insert_payment(&p, &created_entry(&p)).await.unwrap();
    assert_eq!(store.get_payment(&p.id).await.unwrap(), Some(p.clone()));

    // Fill every optional field and move it along, then read it back.
    p.apply(
        &PaymentEvent::Accepted {
            provider_reference: "ewc_1".into(),
            next_action: Some(NextAction::Qr {
                data: "000201...6304ABCD".into(),
            }),
        },
        now(),
    );
    store
        .update_payment(&p, &next_entry(&p, PaymentStatus::Processing, "accepted"))
        .await
        .unwrap();
    p.apply(
        &PaymentEvent::Failed {
            failure: Failure::new(
                FailureCode::InsufficientBalance,
                Some("INSUFFICIENT_BALANCE".into()),
            ),
        },
        now(),
    );
    store
        .update_payment(&p, &next_entry(&p, PaymentStatus::RequiresAction, "failed"))
        .await
        .unwrap();
    p.apply(&PaymentEvent::Succeeded, now());
    assert!(p.late_success);
    store
        .update_payment(&p, &next_entry(&p, PaymentStatus::Failed, "succeeded"))
        .await
        .unwrap();
    assert_eq!(store.get_payment(&p.id).await.unwrap(), Some(p.clone()));
    let h = store.payment_history(&p.id).await.unwrap();
    assert_eq!(h.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(h[3].to, PaymentStatus::Succeeded);
    assert_eq!(h[3].from, Some(PaymentStatus::Failed));
}

pub async fn insert_refuses_an_existing_id(store: Arc<dyn Store>) {
    let p = sample_payment(&merchant_id());
    store.insert_payment(&p, &created_entry(&p)).await.unwrap();
    let mut other = p.clone();
    other.merchant_reference = "someone else".into();
    assert!(matches!(
        store.insert_payment(&other, &created_entry(&other)).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(
        store
            .get_payment(&p.id)
            .await
            .unwrap()
            .unwrap()
            .merchant_reference,
        "order-1001"
    );
    assert_eq!(store.payment_history(&p.id).await.unwrap().len(), 1);
}

pub async fn stale_update_is_refused_and_writes_nothing(store: Arc<dyn Store>) {
    let p = sample_payment(&merchant_id());
    store.insert_payment(&p, &created_entry(&p)).await.unwrap();
    let mut a = p.clone();
    a.apply(&PaymentEvent::Succeeded, now());
    store
        .update_payment(&a, &next_entry(&a, PaymentStatus::Processing, "succeeded"))
        .await
        .unwrap();
    // A writer that read version 1 too, and decided differently.
    let mut b = p.clone();
    b.apply(
        &PaymentEvent::Failed {
            failure: Failure::new(FailureCode::Unknown, None),
        },
        now(),
    );
    assert!(matches!(
        store
            .update_payment(&b, &next_entry(&b, PaymentStatus::Processing, "failed"))
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.get_payment(&p.id).await.unwrap().unwrap().status,
        PaymentStatus::Succeeded
    );
    let h = store.payment_history(&p.id).await.unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[1].event, "succeeded");
}

pub async fn concurrent_writers_cannot_both_win(store: Arc<dyn Store>) {
    let p = sample_payment(&merchant_id());
    store.insert_payment(&p, &created_entry(&p)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        let mut mine = p.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                mine.apply(&PaymentEvent::Succeeded, now());
            } else {
                mine.apply(&PaymentEvent::Expired, now());
            }
            let entry = next_entry(&mine, PaymentStatus::Processing, "race");
            store.update_payment(&mine, &entry).await
        }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(won, 1, "exactly one of the racing writers wins");
    assert_eq!(store.payment_history(&p.id).await.unwrap().len(), 2);
    assert_eq!(store.get_payment(&p.id).await.unwrap().unwrap().version, 2);
}

pub async fn history_is_ordered_past_nine(store: Arc<dyn Store>) {
    let mut p = sample_payment(&merchant_id());
    store.insert_payment(&p, &created_entry(&p)).await.unwrap();
    // Bump the version twelve times with no-op moves written directly.
    for _ in 0..12 {
        let from = p.status;
        p.version += 1;
        store
            .update_payment(&p, &next_entry(&p, from, "touch"))
            .await
            .unwrap();
    }
    let seqs: Vec<u64> = store
        .payment_history(&p.id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, (1..=13).collect::<Vec<_>>());
}

pub async fn idempotency_claims_once(store: Arc<dyn Store>) {
    let m = merchant_id();
    let t = now();
    let r = idem(&m, "payments:k1", t);
    assert_eq!(store.begin_idempotent(&r, t).await.unwrap(), Begin::Started);
    let again = IdempotencyRecord {
        request_hash: "hash-b".into(),
        ..idem(&m, "payments:k1", t)
    };
    match store.begin_idempotent(&again, t).await.unwrap() {
        Begin::Existing(e) => assert_eq!(e, r, "the first claim is returned unchanged"),
        Begin::Started => panic!("a live key was claimed twice"),
    }
    // The same key for another merchant is another key.
    assert_eq!(
        store
            .begin_idempotent(&idem(&merchant_id(), "payments:k1", t), t)
            .await
            .unwrap(),
        Begin::Started
    );

    store
        .complete_idempotent(&m, "payments:k1", 201, "{\"id\":1}")
        .await
        .unwrap();
    let done = store
        .get_idempotent(&m, "payments:k1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        done.state,
        IdempotencyState::Completed {
            status: 201,
            body: "{\"id\":1}".into()
        }
    );
    assert!(matches!(
        store.complete_idempotent(&m, "payments:k1", 500, "x").await,
        Err(StoreError::Conflict)
    ));
    // Release never removes a completed record.
    store.release_idempotent(&m, "payments:k1").await.unwrap();
    assert!(store
        .get_idempotent(&m, "payments:k1")
        .await
        .unwrap()
        .is_some());
}

pub async fn idempotency_expired_record_counts_as_absent(store: Arc<dyn Store>) {
    let m = merchant_id();
    let t = now();
    let mut r = idem(&m, "payments:old", t);
    r.expires_at = t.plus_seconds(10);
    assert_eq!(store.begin_idempotent(&r, t).await.unwrap(), Begin::Started);
    let later = t.plus_seconds(11);
    let fresh = idem(&m, "payments:old", later);
    assert_eq!(
        store.begin_idempotent(&fresh, later).await.unwrap(),
        Begin::Started
    );
    assert_eq!(
        store
            .get_idempotent(&m, "payments:old")
            .await
            .unwrap()
            .unwrap()
            .payment_id,
        fresh.payment_id
    );
}

pub async fn idempotency_take_over_and_release(store: Arc<dyn Store>) {
    let m = merchant_id();
    let t = now();
    let r = idem(&m, "payments:lease", t);
    store.begin_idempotent(&r, t).await.unwrap();
    let renewed = IdempotencyRecord {
        lease_until: t.plus_seconds(120),
        ..r.clone()
    };
    assert!(
        matches!(
            store
                .take_over_idempotent(&renewed, t.plus_seconds(5))
                .await,
            Err(StoreError::Conflict)
        ),
        "wrong previous lease"
    );
    store
        .take_over_idempotent(&renewed, r.lease_until)
        .await
        .unwrap();
    assert!(
        matches!(
            store.take_over_idempotent(&renewed, r.lease_until).await,
            Err(StoreError::Conflict)
        ),
        "only one taker"
    );
    assert_eq!(
        store
            .get_idempotent(&m, "payments:lease")
            .await
            .unwrap()
            .unwrap()
            .lease_until,
        renewed.lease_until
    );
    store
        .release_idempotent(&m, "payments:lease")
        .await
        .unwrap();
    assert!(store
        .get_idempotent(&m, "payments:lease")
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.begin_idempotent(&r, t).await.unwrap(), Begin::Started);
}

pub async fn idempotency_race_has_one_winner(store: Arc<dyn Store>) {
    let m = merchant_id();
    let t = now();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        let r = idem(&m, "payments:race", t);
        tasks.push(tokio::spawn(async move {
            store.begin_idempotent(&r, t).await.unwrap()
        }));
    }
    let mut started = 0;
    for task in tasks {
        if task.await.unwrap() == Begin::Started {
            started += 1;
        }
    }
    assert_eq!(started, 1);
}

pub async fn webhook_dedup(store: Arc<dyn Store>) {
    let t = now();
    let key = format!("xendit:ewallet.capture:ewc_{}:SUCCEEDED", rand_u128());
    assert!(!store.webhook_seen(&key, t).await.unwrap());
    assert!(store
        .record_webhook(&key, t, t.plus_seconds(60))
        .await
        .unwrap());
    assert!(!store
        .record_webhook(&key, t, t.plus_seconds(60))
        .await
        .unwrap());
    assert!(store.webhook_seen(&key, t).await.unwrap());
    // After its TTL the record counts as absent even if the store has not deleted it.
    let later = t.plus_seconds(61);
    assert!(!store.webhook_seen(&key, later).await.unwrap());
    assert!(store
        .record_webhook(&key, later, later.plus_seconds(60))
        .await
        .unwrap());

    let racing = format!("race:{}", rand_u128());
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let store = store.clone();
        let k = racing.clone();
        tasks.push(tokio::spawn(async move {
            store
                .record_webhook(&k, t, t.plus_seconds(60))
                .await
                .unwrap()
        }));
    }
    let mut firsts = 0;
    for task in tasks {
        firsts += task.await.unwrap() as u32;
    }
    assert_eq!(firsts, 1);
}

pub async fn refunds_reserve_and_settle_atomically(store: Arc<dyn Store>) {
    use walletpay_domain::{Refund, RefundId, RefundReason, RefundStatus};
    let mut p = sample_payment(&merchant_id());
    store.insert_payment(&p, &created_entry(&p)).await.unwrap();
    p.apply(&PaymentEvent::Succeeded, now());
    store
        .update_payment(&p, &next_entry(&p, PaymentStatus::Processing, "succeeded"))
        .await
        .unwrap();
    let stale = p.clone();

    let (pid, mid, currency) = (p.id.clone(), p.merchant_id.clone(), p.amount.currency);
    let refund = |n: u128, amount: i64| Refund {
        id: RefundId::new(now().millis(), n),
        payment_id: pid.clone(),
        merchant_id: mid.clone(),
        amount: walletpay_domain::Money {
            minor: amount,
            currency,
        },
        reason: RefundReason::RequestedByCustomer,
        merchant_reference: None,
        status: RefundStatus::Pending,
        failure: None,
        provider_reference: None,
        attempts: 0,
        created_at: now(),
        updated_at: now(),
        version: 1,
    };
    let r1 = refund(1, 5_000_000);
    let ev = PaymentEvent::RefundRequested {
        refund_id: r1.id.to_string(),
        amount_minor: 5_000_000,
    };
    p.apply(&ev, now());
    store
        .create_refund(
            &p,
            &next_entry(&p, PaymentStatus::Succeeded, "refund_requested"),
            &r1,
        )
        .await
        .unwrap();

    // A second reservation decided on the stale payment is refused, and writes nothing.
    let r2 = refund(2, 15_000_000);
    let mut s2 = stale.clone();
    s2.apply(
        &PaymentEvent::RefundRequested {
            refund_id: r2.id.to_string(),
            amount_minor: 15_000_000,
        },
        now(),
    );
    assert!(matches!(
        store
            .create_refund(
                &s2,
                &next_entry(&s2, PaymentStatus::Succeeded, "refund_requested"),
                &r2
            )
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.get_refund(&p.id, &r2.id).await.unwrap(), None);
    assert_eq!(store.list_refunds(&p.id).await.unwrap(), vec![r1.clone()]);
    assert_eq!(
        store
            .get_payment(&p.id)
            .await
            .unwrap()
            .unwrap()
            .refund_reserved_minor(),
        5_000_000
    );

    // Settling the refund and the payment together.
    let mut done = r1.clone();
    assert!(done.settle(RefundStatus::Succeeded, None, now()));
    p.apply(
        &PaymentEvent::RefundSucceeded {
            refund_id: r1.id.to_string(),
        },
        now(),
    );
    let entry = next_entry(&p, PaymentStatus::Succeeded, "refund_succeeded");
    store
        .update_refund(&done, Some((&p, &entry)))
        .await
        .unwrap();
    let stored = store.get_payment(&p.id).await.unwrap().unwrap();
    assert_eq!(stored.status, PaymentStatus::PartiallyRefunded);
    assert_eq!(stored.refunded_minor(), 5_000_000);
    assert_eq!(
        store
            .get_refund(&p.id, &r1.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        RefundStatus::Succeeded
    );

    // A stale refund write changes neither the refund nor the payment.
    let mut stale_refund = r1.clone();
    stale_refund.settle(RefundStatus::Failed, None, now());
    let mut p2 = stored.clone();
    p2.version += 1;
    let e2 = next_entry(&p2, PaymentStatus::PartiallyRefunded, "touch");
    assert!(matches!(
        store.update_refund(&stale_refund, Some((&p2, &e2))).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.get_payment(&p.id).await.unwrap().unwrap().version,
        stored.version
    );
    assert_eq!(
        store
            .get_refund(&p.id, &r1.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        RefundStatus::Succeeded
    );
    // A refund-only update (attempt counter) works on its own.
    let mut counted = store.get_refund(&p.id, &r1.id).await.unwrap().unwrap();
    counted.attempts += 1;
    counted.version += 1;
    store.update_refund(&counted, None).await.unwrap();
    assert_eq!(
        store
            .get_refund(&p.id, &r1.id)
            .await
            .unwrap()
            .unwrap()
            .attempts,
        1
    );
}

pub async fn outbox_and_feed(store: Arc<dyn Store>) {
    let merchant = merchant_id();
    let mut p = sample_payment(&merchant);
    store.insert_payment(&p, &created_entry(&p)).await.unwrap();
    p.apply(&PaymentEvent::Succeeded, now());
    store
        .update_payment(&p, &next_entry(&p, PaymentStatus::Processing, "succeeded"))
        .await
        .unwrap();
    let other = sample_payment(&merchant_id());
    store
        .insert_payment(&other, &created_entry(&other))
        .await
        .unwrap();

    // Both of this payment's entries are in the outbox until cleared.
    let later = now().plus_seconds(1);
    let pending: Vec<(String, u64)> = store
        .outbox_before(later, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|h| h.payment_id == p.id)
        .map(|h| (h.event, h.seq))
        .collect();
    assert_eq!(
        pending,
        [("created".to_string(), 1), ("succeeded".to_string(), 2)]
    );
    store.clear_outbox(&p.id, 1).await.unwrap();
    store.clear_outbox(&p.id, 1).await.unwrap();
    let left: Vec<u64> = store
        .outbox_before(later, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|h| h.payment_id == p.id)
        .map(|h| h.seq)
        .collect();
    assert_eq!(left, [2]);
    // Entries written after `before` are not due yet.
    assert!(store
        .outbox_before(p.created_at, 1000)
        .await
        .unwrap()
        .iter()
        .all(|h| h.payment_id != p.id));

    // The feed: this merchant's events only, in order, paged.
    let (first, more) = store.merchant_events(&merchant, None, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(more);
    assert_eq!(first[0].seq, 1);
    let cursor = walletpay_ports::feed_key(&first[0]);
    let (rest, more) = store
        .merchant_events(&merchant, Some(&cursor), 10)
        .await
        .unwrap();
    assert_eq!(rest.iter().map(|h| h.seq).collect::<Vec<_>>(), [2]);
    assert!(!more);
    assert_eq!(
        store.history_entry(&p.id, 2).await.unwrap().unwrap().event,
        "succeeded"
    );
    assert_eq!(store.history_entry(&p.id, 9).await.unwrap(), None);
}

macro_rules! suite {
    ($module:ident, $make:expr) => {
        mod $module {
            use super::*;
            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $name() {
                        let make = $make;
                        let Some(store) = make().await else { return };
                        super::$name(store).await;
                    }
                };
            }
            case!(merchants_and_keys);
            case!(payment_round_trips_every_field);
            case!(insert_refuses_an_existing_id);
            case!(stale_update_is_refused_and_writes_nothing);
            case!(concurrent_writers_cannot_both_win);
            case!(history_is_ordered_past_nine);
            case!(idempotency_claims_once);
            case!(idempotency_expired_record_counts_as_absent);
            case!(idempotency_take_over_and_release);
            case!(idempotency_race_has_one_winner);
            case!(webhook_dedup);
            case!(refunds_reserve_and_settle_atomically);
            case!(outbox_and_feed);
        }
    };
}

suite!(embedded, || async {
    Some(Arc::new(walletpay_embedded::EmbeddedStore::in_memory()) as Arc<dyn Store>)
});

suite!(dynamodb, || async {
    walletpay_tests::dynamodb_store()
        .await
        .map(|s| Arc::new(s) as Arc<dyn Store>)
});

/// The embedded store keeps what it was told across a restart when given a folder.
#[tokio::test]
async fn embedded_store_persists_in_its_folder() {
    let dir = std::env::temp_dir().join(walletpay_tests::unique("wp-store"));
    let p = sample_payment(&merchant_id());
    {
        let store = walletpay_embedded::EmbeddedStore::open(&dir).unwrap();
        store.insert_payment(&p, &created_entry(&p)).await.unwrap();
    }
    let reopened = walletpay_embedded::EmbeddedStore::open(&dir).unwrap();
    assert_eq!(reopened.get_payment(&p.id).await.unwrap(), Some(p.clone()));
    assert_eq!(reopened.payment_history(&p.id).await.unwrap().len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
