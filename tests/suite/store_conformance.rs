//! One conformance suite for the Store port, run against every implementation: the
//! embedded store and DynamoDB (Amazon's DynamoDB Local).

use std::sync::Arc;
use walletpay_domain::{
    Failure, FailureCode, NextAction, Payment, PaymentEvent, PaymentStatus, Timestamp,
};
use walletpay_ports::{
    ApiKeyRecord, Begin, HistoryEntry, IdempotencyRecord, IdempotencyState, Merchant, PaymentStore,
    Store, StoreError, StoredSecret,
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
    m.webhook_secret = Some(StoredSecret::new("whsec_abc"));
    m.previous_webhook_secret = Some(StoredSecret::new("whsec_old"));
    m.previous_secret_until = Some(now().plus_seconds(60));
    m.refund_late_successes = true;
    store.put_merchant(&m).await.unwrap();
    assert_eq!(store.get_merchant(&m.id).await.unwrap(), Some(m.clone()));
    assert_eq!(store.get_merchant(&merchant_id()).await.unwrap(), None);
    assert!(
        !format!("{m:?}").contains("whsec_"),
        "a merchant's Debug output shows no secret"
    );

    // Every write names the version it follows: of two writers that read version 1, one
    // writes version 2 and the other is refused, so neither change is lost silently.
    let mut first = m.clone();
    first.version = 2;
    first.refund_late_successes = false;
    let mut second = m.clone();
    second.version = 2;
    second.webhook_secret = Some(StoredSecret::new("whsec_rotated"));
    store.put_merchant(&first).await.unwrap();
    assert!(matches!(
        store.put_merchant(&second).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.get_merchant(&m.id).await.unwrap(),
        Some(first.clone())
    );
    second.version = 4;
    assert!(
        matches!(store.put_merchant(&second).await, Err(StoreError::Conflict)),
        "a version that skips one is refused too"
    );
    let mut again = Merchant::new(m.id.clone(), "Toko Batik", now());
    again.version = 1;
    assert!(
        matches!(store.put_merchant(&again).await, Err(StoreError::Conflict)),
        "version 1 cannot overwrite a merchant that exists"
    );

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
            let at = now().plus_millis(i);
            if i % 2 == 0 {
                mine.apply(&PaymentEvent::Succeeded, at);
            } else {
                mine.apply(&PaymentEvent::Expired, at);
            }
            // Each writer's entry names it, so no two writes are the same write (two tasks
            // scheduled out of order can read the clock to the same `at`: their writes
            // would then be one, and both rightly told they won).
            let mut entry = next_entry(&mine, PaymentStatus::Processing, "race");
            entry.detail = Some(format!("writer {i}"));
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
    // A writer told of a conflict that was in fact its own landed write (the SDK retried a
    // put whose answer was lost) is told it won.
    let stored = store.get_payment(&p.id).await.unwrap().unwrap();
    let history = store.payment_history(&p.id).await.unwrap();
    store
        .update_payment(&stored, history.last().unwrap())
        .await
        .unwrap_or_else(|e| panic!("the same write again is not a conflict: {e}"));
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

pub async fn refunds_ride_on_payment_versions(store: Arc<dyn Store>) {
    use walletpay_domain::{RefundReason, RefundState};
    let mut p = sample_payment(&merchant_id());
    store.insert_payment(&p, &created_entry(&p)).await.unwrap();
    p.apply(&PaymentEvent::Succeeded, now());
    store
        .update_payment(&p, &next_entry(&p, PaymentStatus::Processing, "succeeded"))
        .await
        .unwrap();
    let stale = p.clone();

    // A reservation, with every detail of its refund, is one version of the payment.
    p.apply(
        &PaymentEvent::RefundRequested {
            refund_id: "ref_1".into(),
            amount_minor: 5_000_000,
        },
        now(),
    );
    let line = p.refund_line_mut("ref_1").unwrap();
    line.reason = RefundReason::Duplicate;
    line.merchant_reference = Some("rma-7".into());
    line.provider_reference = Some("rfd_9".into());
    line.failure = Some(Failure::new(FailureCode::Unknown, Some("X".into())));
    store
        .update_payment(
            &p,
            &next_entry(&p, PaymentStatus::Succeeded, "refund_requested"),
        )
        .await
        .unwrap();
    assert_eq!(store.get_payment(&p.id).await.unwrap(), Some(p.clone()));

    // A second reservation decided on the stale payment is refused and writes nothing.
    let mut s2 = stale.clone();
    s2.apply(
        &PaymentEvent::RefundRequested {
            refund_id: "ref_2".into(),
            amount_minor: 15_000_000,
        },
        now(),
    );
    assert!(matches!(
        store
            .update_payment(
                &s2,
                &next_entry(&s2, PaymentStatus::Succeeded, "refund_requested")
            )
            .await,
        Err(StoreError::Conflict)
    ));
    let stored = store.get_payment(&p.id).await.unwrap().unwrap();
    assert_eq!(stored.refunds.len(), 1);
    assert_eq!(stored.refund_reserved_minor(), 5_000_000);

    // Settling moves the ledger and the payment together.
    p.apply(
        &PaymentEvent::RefundSucceeded {
            refund_id: "ref_1".into(),
        },
        now(),
    );
    store
        .update_payment(
            &p,
            &next_entry(&p, PaymentStatus::Succeeded, "refund_succeeded"),
        )
        .await
        .unwrap();
    let stored = store.get_payment(&p.id).await.unwrap().unwrap();
    assert_eq!(stored.status, PaymentStatus::PartiallyRefunded);
    assert_eq!(stored.refunds[0].state, RefundState::Succeeded);
    assert_eq!(stored.refunded_minor(), 5_000_000);
}

pub async fn versions_and_feed(store: Arc<dyn Store>) {
    let merchant = merchant_id();
    let mut p = sample_payment(&merchant);
    let v1 = p.clone();
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

    // Each version keeps the payment as it was after that change.
    let first = store.payment_version(&p.id, 1).await.unwrap().unwrap();
    assert_eq!(first.payment, v1);
    assert_eq!(first.entry, created_entry(&v1));
    let second = store.payment_version(&p.id, 2).await.unwrap().unwrap();
    assert_eq!(second.payment, p);
    assert_eq!(second.entry.event, "succeeded");
    assert_eq!(store.payment_version(&p.id, 9).await.unwrap(), None);

    // The feed: this merchant's events only, in order, paged, each with its version.
    let (page, more) = store.merchant_events(&merchant, None, 1).await.unwrap();
    assert_eq!(page, vec![first.clone()]);
    assert!(more);
    let cursor = walletpay_ports::feed_key(&page[0].entry);
    let (rest, more) = store
        .merchant_events(&merchant, Some(&cursor), 10)
        .await
        .unwrap();
    assert_eq!(rest, vec![second]);
    assert!(!more);
}

pub async fn listing_shows_latest_versions(store: Arc<dyn Store>) {
    use walletpay_ports::PaymentQuery;
    let merchant = merchant_id();
    let mut ids = Vec::new();
    for i in 0..3i64 {
        let mut p = sample_payment(&merchant);
        p.created_at = p.created_at.plus_millis(i);
        store.insert_payment(&p, &created_entry(&p)).await.unwrap();
        if i == 1 {
            p.apply(&PaymentEvent::Succeeded, now());
            store
                .update_payment(&p, &next_entry(&p, PaymentStatus::Processing, "succeeded"))
                .await
                .unwrap();
        }
        ids.push(p.id);
    }
    let list = |q: PaymentQuery| {
        let store = store.clone();
        let merchant = merchant.clone();
        async move {
            let (ps, more) = store.list_payments(&merchant, &q).await.unwrap();
            (
                ps.into_iter().map(|p| (p.id, p.status)).collect::<Vec<_>>(),
                more,
            )
        }
    };
    let all = PaymentQuery {
        limit: 10,
        ..Default::default()
    };
    let (newest_first, more) = list(all.clone()).await;
    assert_eq!(more, None);
    assert_eq!(
        newest_first,
        vec![
            (ids[2].clone(), PaymentStatus::Processing),
            (ids[1].clone(), PaymentStatus::Succeeded),
            (ids[0].clone(), PaymentStatus::Processing),
        ]
    );
    // The status filter looks at each payment as it is now, not as it was created.
    let (succeeded, _) = list(PaymentQuery {
        status: Some(PaymentStatus::Succeeded),
        ..all.clone()
    })
    .await;
    assert_eq!(succeeded, vec![(ids[1].clone(), PaymentStatus::Succeeded)]);
    let (processing, _) = list(PaymentQuery {
        status: Some(PaymentStatus::Processing),
        ..all.clone()
    })
    .await;
    assert_eq!(processing.len(), 2);
    // Pages of one, each continued from the cursor the last one gave, to the end.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = list(PaymentQuery {
            limit: 1,
            after_key: after.clone(),
            ..all.clone()
        })
        .await;
        seen.extend(page.into_iter().map(|(id, _)| id));
        match next {
            Some(k) => after = Some(k),
            None => break,
        }
    }
    assert_eq!(seen, vec![ids[2].clone(), ids[1].clone(), ids[0].clone()]);
    // With a filter too: the two processing payments, one page each.
    let (first, next) = list(PaymentQuery {
        limit: 1,
        status: Some(PaymentStatus::Processing),
        ..all.clone()
    })
    .await;
    assert_eq!(first[0].0, ids[2]);
    let (second, _) = list(PaymentQuery {
        limit: 1,
        status: Some(PaymentStatus::Processing),
        after_key: next,
        ..all.clone()
    })
    .await;
    assert_eq!(second[0].0, ids[0]);
}

/// A merchant's feed and listing, spread over shards by the DynamoDB store (the embedded
/// store keeps one of each): payments chosen to fill every shard, their events interleaved in
/// time and some at the same millisecond, come back each once and in order, paged, filtered
/// and bounded in time.
pub async fn feed_and_listing_merge_their_shards_in_order(store: Arc<dyn Store>) {
    use walletpay_aws::shards::{feed_shard, listing_shard, FEED_SHARDS, LISTING_SHARDS};
    use walletpay_ports::{feed_key, listing_key, PaymentQuery, PaymentVersion};
    let merchant = merchant_id();
    let base = now();
    let mut feed_hits = vec![0; FEED_SHARDS as usize];
    let mut listing_hits = vec![0; LISTING_SHARDS as usize];
    let mut versions: Vec<PaymentVersion> = Vec::new();
    let mut latest: Vec<Payment> = Vec::new();
    let mut n = 0i64;
    // More payments a listing shard than its first page holds (10), so the merge reads on.
    while feed_hits.iter().any(|&c| c < 3) || listing_hits.iter().any(|&c| c < 12) {
        assert!(
            n < 400,
            "no spread over the shards: {feed_hits:?} {listing_hits:?}"
        );
        let mut p = sample_payment(&merchant);
        if n % 9 == 0 {
            p.wallet = walletpay_domain::WalletId::Ovo;
        }
        // Two payments a millisecond: ties are ordered by payment id.
        p.created_at = base.plus_millis(n / 2);
        p.updated_at = p.created_at;
        store.insert_payment(&p, &created_entry(&p)).await.unwrap();
        versions.push(PaymentVersion {
            payment: p.clone(),
            entry: created_entry(&p),
        });
        feed_hits[feed_shard(&p.id) as usize] += 1;
        listing_hits[listing_shard(&p.id) as usize] += 1;
        if n % 3 != 0 {
            // A success some payments later: after other payments' first events.
            p.apply(&PaymentEvent::Succeeded, base.plus_millis(n / 2 + 5));
            let entry = next_entry(&p, PaymentStatus::Processing, "succeeded");
            store.update_payment(&p, &entry).await.unwrap();
            versions.push(PaymentVersion {
                payment: p.clone(),
                entry,
            });
        }
        latest.push(p);
        n += 1;
    }
    versions.sort_by_key(|v| feed_key(&v.entry));

    // The feed, in pages of 7, then whole.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for round in 0.. {
        assert!(round <= versions.len(), "the feed does not end");
        let (page, more) = store
            .merchant_events(&merchant, after.as_deref(), 7)
            .await
            .unwrap();
        assert!(page.len() <= 7);
        if let Some(last) = page.last() {
            after = Some(feed_key(&last.entry));
        }
        seen.extend(page);
        if !more {
            break;
        }
    }
    let keys = |vs: &[PaymentVersion]| vs.iter().map(|v| feed_key(&v.entry)).collect::<Vec<_>>();
    assert_eq!(
        keys(&seen),
        keys(&versions),
        "the feed, paged: every event once, in order"
    );
    assert!(seen == versions, "each event with its version");
    let (whole, more) = store.merchant_events(&merchant, None, 200).await.unwrap();
    assert!(!more);
    assert_eq!(keys(&whole), keys(&versions));

    // The listing, newest first, in pages of 4.
    latest.sort_by_key(|p| std::cmp::Reverse(listing_key(p)));
    let page_through = |q: PaymentQuery| {
        let store = store.clone();
        let merchant = merchant.clone();
        async move {
            let mut out = Vec::new();
            let mut after = None;
            for round in 0.. {
                assert!(round < 1_000, "the listing does not end");
                let (page, next) = store
                    .list_payments(
                        &merchant,
                        &PaymentQuery {
                            after_key: after.clone(),
                            ..q.clone()
                        },
                    )
                    .await
                    .unwrap();
                out.extend(page);
                match next {
                    Some(k) => after = Some(k),
                    None => break,
                }
            }
            out
        }
    };
    let all = PaymentQuery {
        limit: 4,
        ..Default::default()
    };
    let ids = |ps: &[Payment]| ps.iter().map(|p| p.id.clone()).collect::<Vec<_>>();
    let listed = page_through(all.clone()).await;
    assert_eq!(
        ids(&listed),
        ids(&latest),
        "the listing, paged: newest first, once each"
    );
    assert!(listed == latest, "each payment as it is now");
    let succeeded: Vec<Payment> = latest
        .iter()
        .filter(|p| p.status == PaymentStatus::Succeeded)
        .cloned()
        .collect();
    let listed = page_through(PaymentQuery {
        status: Some(PaymentStatus::Succeeded),
        limit: 3,
        ..Default::default()
    })
    .await;
    assert_eq!(ids(&listed), ids(&succeeded), "the filtered listing, paged");
    // A filter few match, in pages of 2: the merge reads each shard's later pages.
    let ovo: Vec<Payment> = latest
        .iter()
        .filter(|p| p.wallet == walletpay_domain::WalletId::Ovo)
        .cloned()
        .collect();
    assert!(ovo.len() >= 5);
    let listed = page_through(PaymentQuery {
        wallet: Some(walletpay_domain::WalletId::Ovo),
        limit: 2,
        ..Default::default()
    })
    .await;
    assert_eq!(ids(&listed), ids(&ovo), "a rare match, paged");
    // Bounded in time: the payments made from the 4th to the 9th millisecond.
    let (from, to) = (base.plus_millis(4), base.plus_millis(9));
    let bounded: Vec<Payment> = latest
        .iter()
        .filter(|p| p.created_at >= from && p.created_at <= to)
        .cloned()
        .collect();
    assert_eq!(bounded.len(), 12);
    let listed = page_through(PaymentQuery {
        created_after: Some(from),
        created_before: Some(to),
        ..all.clone()
    })
    .await;
    assert_eq!(
        ids(&listed),
        ids(&bounded),
        "the listing bounded in time, paged"
    );
}

pub async fn health_counters_sum_shards_and_minutes(store: Arc<dyn Store>) {
    use walletpay_ports::HealthCounts;
    let key = format!("xendit#ID#dana#{}", rand_u128());
    let c = |attempts, errors| HealthCounts { attempts, errors };
    store.add_health(&key, 1000, 0, c(3, 1)).await.unwrap();
    store.add_health(&key, 1000, 2, c(2, 2)).await.unwrap();
    store.add_health(&key, 1000, 0, c(1, 0)).await.unwrap();
    store.add_health(&key, 1003, 1, c(4, 0)).await.unwrap();
    store.add_health(&key, 990, 1, c(9, 9)).await.unwrap();
    assert_eq!(store.health_since(&key, 1000).await.unwrap(), c(10, 3));
    assert_eq!(store.health_since(&key, 1001).await.unwrap(), c(4, 0));
    assert_eq!(store.health_since(&key, 990).await.unwrap(), c(19, 12));
    assert_eq!(
        store.health_since("nobody#ID#dana", 0).await.unwrap(),
        c(0, 0)
    );
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
            case!(refunds_ride_on_payment_versions);
            case!(versions_and_feed);
            case!(listing_shows_latest_versions);
            case!(feed_and_listing_merge_their_shards_in_order);
            case!(health_counters_sum_shards_and_minutes);
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
    // The feed and the listing are indexes of the payments, rebuilt on opening.
    let (feed, more) = reopened
        .merchant_events(&p.merchant_id, None, 10)
        .await
        .unwrap();
    assert_eq!((feed.len(), more), (1, false));
    assert_eq!(feed[0].payment, p);
    let (listed, _) = reopened
        .list_payments(
            &p.merchant_id,
            &walletpay_ports::PaymentQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(listed, vec![p.clone()]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What the DynamoDB store wrote before a merchant's feed, listing and first-purchase grants
/// were sharded (one partition each) is still read: a payment moved back to the unsharded
/// keys is in the feed and the listing, and a grant moved back still stops a second one and
/// is released where it is.
#[tokio::test]
async fn dynamodb_reads_what_was_written_before_the_shards() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use walletpay_domain::incentive::{Discount, Incentive};
    use walletpay_domain::{IncentiveId, SessionId};
    use walletpay_ports::{Grant, IncentiveStore, PaymentQuery};
    let Some(store) = walletpay_tests::dynamodb_store().await else {
        return;
    };
    let s = |v: String| AttributeValue::S(v);
    let merchant = merchant_id();
    let old = sample_payment(&merchant);
    store
        .insert_payment(&old, &created_entry(&old))
        .await
        .unwrap();
    let mut new = sample_payment(&merchant);
    new.created_at = old.created_at.plus_millis(1);
    store
        .insert_payment(&new, &created_entry(&new))
        .await
        .unwrap();
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("pk", s(format!("PAYMENT#{}", old.id)))
        .key("sk", s("V#0000000001".into()))
        .update_expression("SET gsi1pk = :e, gsi2pk = :p")
        .expression_attribute_values(":e", s(format!("MERCHANT#{merchant}#EVENTS")))
        .expression_attribute_values(":p", s(format!("MERCHANT#{merchant}#PAYMENTS")))
        .send()
        .await
        .unwrap();
    let (feed, more) = store.merchant_events(&merchant, None, 10).await.unwrap();
    let ids: Vec<_> = feed.iter().map(|v| v.payment.id.clone()).collect();
    assert_eq!((ids, more), (vec![old.id.clone(), new.id.clone()], false));
    let (listed, _) = store
        .list_payments(
            &merchant,
            &PaymentQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ids: Vec<_> = listed.iter().map(|p| p.id.clone()).collect();
    assert_eq!(ids, vec![new.id.clone(), old.id.clone()]);

    let at = now();
    let incentive = Incentive {
        id: IncentiveId::new(at.millis(), rand_u128()),
        merchant_id: merchant.clone(),
        country: walletpay_domain::Country::ID,
        wallet: walletpay_domain::WalletId::Dana,
        discount: Discount::Fixed { amount: 500_000 },
        budget: 5_000_000,
        valid_from: at,
        valid_until: at.plus_seconds(3_600),
        active: true,
        created_at: at,
    };
    store.insert_incentive(&incentive).await.unwrap();
    let buyer = vec![format!("id:buyer-{}", rand_u128())];
    let first = SessionId::new(at.millis(), rand_u128());
    let g = store
        .grant(&incentive, &buyer, 500_000, &first, 1)
        .await
        .unwrap();
    assert_eq!(g, Grant::Granted);
    // Move the grant to the partition grants were kept in before the shards.
    let scope = incentive.first_purchase_scope();
    let sk = format!("BUYER#{}", buyer[0]);
    let mut moved = None;
    for shard in 0..16 {
        let pk = format!("FIRSTPAY#{scope}#{shard}");
        let got = store
            .client()
            .get_item()
            .table_name(store.table())
            .key("pk", s(pk.clone()))
            .key("sk", s(sk.clone()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        if let Some(mut item) = got.item {
            store
                .client()
                .delete_item()
                .table_name(store.table())
                .key("pk", s(pk))
                .key("sk", s(sk.clone()))
                .send()
                .await
                .unwrap();
            item.insert("pk".into(), s(format!("FIRSTPAY#{scope}")));
            store
                .client()
                .put_item()
                .table_name(store.table())
                .set_item(Some(item))
                .send()
                .await
                .unwrap();
            moved = Some(shard);
        }
    }
    assert!(moved.is_some(), "the grant is in one of the 16 shards");
    let second = SessionId::new(at.millis(), rand_u128());
    assert_eq!(
        store
            .grant(&incentive, &buyer, 500_000, &second, 1)
            .await
            .unwrap(),
        Grant::AlreadyUsed,
        "a grant from before the shards still counts"
    );
    store
        .release_grant(&incentive, &buyer, 500_000, &first, 2)
        .await
        .unwrap();
    let standing = store
        .get_incentive(&merchant, &incentive.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((standing.remaining, standing.grants), (5_000_000, 0));
    assert_eq!(
        store
            .grant(&incentive, &buyer, 500_000, &second, 3)
            .await
            .unwrap(),
        Grant::Granted,
        "released where it was, the buyer's first purchase is open again"
    );
}

/// A merchant's aggregates counted before their shard moved into the partition key (one
/// partition a day or block, the shard in the sort key) are summed with those counted after.
#[tokio::test]
async fn dynamodb_sums_aggregates_counted_before_the_shards() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use walletpay_domain::analytics::{Bucket, Counts};
    use walletpay_ports::{AggScope, AnalyticsStore, Counted};
    let Some(store) = walletpay_tests::dynamodb_store().await else {
        return;
    };
    let merchant = merchant_id();
    let hour = now().millis().div_euclid(3_600_000);
    let bucket = Bucket {
        merchant: merchant.clone(),
        country: walletpay_domain::Country::ID,
        wallet: walletpay_domain::WalletId::Dana,
        provider: walletpay_domain::Provider::Xendit,
        hour,
    };
    let counted = Counted {
        payment_id: walletpay_domain::PaymentId::new(now().millis(), rand_u128()),
        seq: 1,
        part: 0,
        bucket: bucket.clone(),
        counts: Counts {
            attempts: 2,
            successes: 1,
            volume: 15_000_000,
            ..Counts::default()
        },
    };
    store.add_counted(&[counted]).await.unwrap();
    // The same bucket as the store wrote it before the shards: hour and day.
    let n = |v: i64| AttributeValue::N(v.to_string());
    let s = |v: String| AttributeValue::S(v);
    let day = bucket.day();
    // A day bucket's `hour` is its day's first hour, as the store writes it.
    for (pk, sk, at) in [
        (
            format!("AGG#{merchant}#H{day}"),
            format!("{hour:012}#3#ID#dana#xendit"),
            hour,
        ),
        (
            format!("AGG#{merchant}#D{}", day.div_euclid(32)),
            format!("{day:08}#5#ID#dana#xendit"),
            day * 24,
        ),
    ] {
        store
            .client()
            .put_item()
            .table_name(store.table())
            .item("pk", s(pk))
            .item("sk", s(sk))
            .item("merchant", s(merchant.to_string()))
            .item("country", s("ID".into()))
            .item("wallet", s("dana".into()))
            .item("provider", s("xendit".into()))
            .item("hour", n(at))
            .item("attempts", n(5))
            .item("successes", n(4))
            .item("volume", n(60_000_000))
            .send()
            .await
            .unwrap();
    }
    let hours = store
        .hours(AggScope::Merchant(&merchant), hour, hour + 1)
        .await
        .unwrap();
    assert_eq!(hours.len(), 1, "{hours:?}");
    let c = &hours[0].1;
    assert_eq!((c.attempts, c.successes, c.volume), (7, 5, 75_000_000));
    let days = store
        .days(AggScope::Merchant(&merchant), day, day + 1)
        .await
        .unwrap();
    assert_eq!(days.len(), 1, "{days:?}");
    let c = &days[0].1;
    assert_eq!((c.attempts, c.successes, c.volume), (7, 5, 75_000_000));
}
