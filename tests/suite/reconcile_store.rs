//! The reconciliation part of the Store port, against every implementation: the ledger index
//! of money movements (sharded, paged, time-bounded), runs and their chunks, discrepancies,
//! contracts, report notices, markers and operator keys.

use std::sync::Arc;
use walletpay_domain::{Currency, PaymentEvent, PaymentId, Provider, RefundId, Timestamp};
use walletpay_ports::reconcile::{
    ChunkKind, ContractRecord, Discrepancy, DiscrepancyQuery, DiscrepancyStatus, LedgerItem,
    LedgerQuery, Marker, OperatorKeyRecord, Progress, ReportNotice, RunRecord, RunState,
    LEDGER_SHARDS,
};
use walletpay_ports::{HistoryEntry, ReconcileStore, Store, StoreError};
use walletpay_reconcile::{Class, Contract, Date};
use walletpay_tests::{merchant_id, rand_u128, sample_payment};

fn entry(p: &walletpay_domain::Payment, event: &str, detail: Option<String>) -> HistoryEntry {
    HistoryEntry {
        payment_id: p.id.clone(),
        merchant_id: p.merchant_id.clone(),
        seq: p.version,
        at: p.updated_at,
        event: event.into(),
        from: None,
        to: p.status,
        source: "webhook".into(),
        detail,
    }
}

/// Everything read from the ledger between two instants, every shard and page.
async fn ledger(store: &dyn Store, from: Timestamp, to: Timestamp) -> Vec<LedgerItem> {
    let mut out = Vec::new();
    for q in LedgerQuery::covering(Provider::Xendit, from, to) {
        let mut after: Option<String> = None;
        loop {
            let (page, next) = store.ledger_page(&q, after.as_deref(), 1).await.unwrap();
            assert!(page.len() <= 1);
            out.extend(page);
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
    }
    out.sort_by_key(|i| (i.at, i.payment_id.clone()));
    out
}

/// A payment's life (created, accepted, succeeded, a refund requested and made), at a moment
/// of its own far from other tests'.
pub async fn the_ledger_holds_each_money_movement_once(store: Arc<dyn Store>) {
    // Somewhere in 2031, so no other payment shares the window.
    let base = Timestamp(1_925_000_000_000 + (rand_u128() % 1_000_000_000) as i64);
    let merchant = merchant_id();
    let mut items = Vec::new();
    let mut ids = Vec::new();
    for k in 0..12i64 {
        let mut p = sample_payment(&merchant);
        p.id = PaymentId::new(base.millis() + k, rand_u128());
        p.created_at = base.plus_millis(k);
        p.updated_at = p.created_at;
        store
            .insert_payment(&p, &entry(&p, "created", None))
            .await
            .unwrap();
        p.apply(
            &PaymentEvent::Accepted {
                provider_reference: format!("pr-{k}"),
                next_action: None,
            },
            p.updated_at,
        );
        p.version = 2;
        store
            .update_payment(&p, &entry(&p, "accepted", None))
            .await
            .unwrap();
        p.updated_at = base.plus_seconds(60 + k);
        p.apply(&PaymentEvent::Succeeded, p.updated_at);
        p.version = 3;
        store
            .update_payment(&p, &entry(&p, "succeeded", None))
            .await
            .unwrap();
        items.push((p.id.clone(), None::<RefundId>, p.updated_at));
        if k % 3 == 0 {
            let refund = RefundId::new(base.millis(), rand_u128());
            p.updated_at = base.plus_seconds(120 + k);
            p.apply(
                &PaymentEvent::RefundRequested {
                    refund_id: refund.to_string(),
                    amount_minor: 5_000_000,
                },
                p.updated_at,
            );
            p.version = 4;
            store
                .update_payment(&p, &entry(&p, "refund_requested", Some(refund.to_string())))
                .await
                .unwrap();
            p.updated_at = base.plus_seconds(180 + k);
            p.apply(
                &PaymentEvent::RefundSucceeded {
                    refund_id: refund.to_string(),
                },
                p.updated_at,
            );
            p.version = 5;
            store
                .update_payment(&p, &entry(&p, "refund_succeeded", Some(refund.to_string())))
                .await
                .unwrap();
            items.push((p.id.clone(), Some(refund), base.plus_seconds(120 + k)));
        }
        ids.push(p.id.clone());
    }
    let found = ledger(store.as_ref(), base, base.plus_seconds(3600)).await;
    let mut got: Vec<(PaymentId, Option<RefundId>, Timestamp)> = found
        .iter()
        .map(|i| (i.payment_id.clone(), i.refund_id.clone(), i.at))
        .collect();
    got.sort_by_key(|(p, r, at)| (*at, p.clone(), r.clone()));
    items.sort_by_key(|(p, r, at)| (*at, p.clone(), r.clone()));
    assert_eq!(
        got, items,
        "a success and a refund request each, nothing else"
    );
    let charge = found.iter().find(|i| i.refund_id.is_none()).unwrap();
    assert_eq!(charge.amount, 15_000_000);
    assert_eq!(charge.currency, Currency::IDR);
    assert_eq!(charge.merchant_id, merchant);
    assert!(charge
        .provider_reference
        .as_deref()
        .unwrap()
        .starts_with("pr-"));
    let refund = found.iter().find(|i| i.refund_id.is_some()).unwrap();
    assert_eq!(refund.amount, 5_000_000);
    // The successes came a minute in: a window that ends before them holds none.
    assert!(ledger(store.as_ref(), base, base.plus_seconds(60))
        .await
        .is_empty());
    // They are spread over the shards.
    let shards: std::collections::BTreeSet<u32> = found.iter().map(|i| i.shard()).collect();
    assert!(shards.len() > 1, "{shards:?}");
    assert!(shards.iter().all(|s| *s < LEDGER_SHARDS));
}

fn run(provider: Provider, day: Date, version: u64) -> RunRecord {
    RunRecord {
        id: RunRecord::id_for(provider, day),
        provider,
        day,
        state: RunState::Running,
        reason: None,
        attempt: 1,
        completed_attempt: None,
        requested_at: walletpay_tests::now(),
        started_at: None,
        finished_at: None,
        lease_until: None,
        progress: Progress::default(),
        source: None,
        summary: None,
        report_chunks: 0,
        carried_chunks: 0,
        version,
    }
}

pub async fn runs_are_versioned_and_listed_by_day(store: Arc<dyn Store>) {
    let d = |s: &str| Date::parse(s).unwrap();
    let first = run(Provider::Stripe, d("2026-11-30"), 1);
    store.put_run(&first).await.unwrap();
    // The same write again lands once; a second first version does not.
    store.put_run(&first).await.unwrap();
    let mut other = first.clone();
    other.attempt = 9;
    assert!(matches!(
        store.put_run(&other).await,
        Err(StoreError::Conflict)
    ));
    let mut done = first.clone();
    done.version = 2;
    done.state = RunState::Done;
    store.put_run(&done).await.unwrap();
    let mut stale = first.clone();
    stale.version = 2;
    stale.state = RunState::Failed;
    assert!(matches!(
        store.put_run(&stale).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store
            .get_run(Provider::Stripe, d("2026-11-30"))
            .await
            .unwrap(),
        Some(done.clone())
    );
    store
        .put_run(&run(Provider::Stripe, d("2026-12-01"), 1))
        .await
        .unwrap();
    store
        .put_run(&run(Provider::Stripe, d("2026-12-03"), 1))
        .await
        .unwrap();
    store
        .put_run(&run(Provider::Adyen, d("2026-12-01"), 1))
        .await
        .unwrap();
    let listed: Vec<String> = store
        .list_runs(Provider::Stripe, d("2026-11-30"), d("2026-12-02"))
        .await
        .unwrap()
        .iter()
        .map(|r| r.day.to_string())
        .collect();
    assert_eq!(listed, ["2026-11-30", "2026-12-01"]);
    assert_eq!(
        RunRecord::parse_id(&done.id),
        Some((Provider::Stripe, d("2026-11-30")))
    );
    // Chunks: a large one comes back whole; another attempt's are its own.
    let big: Vec<u8> = (0..300_000u32)
        .map(|i| b"matched,no,charge,\n"[(i % 19) as usize])
        .collect();
    store
        .put_chunk(&done.id, 2, ChunkKind::Report, 0, &big)
        .await
        .unwrap();
    store
        .put_chunk(&done.id, 2, ChunkKind::Carried, 0, b"{}\n")
        .await
        .unwrap();
    assert_eq!(
        store
            .get_chunk(&done.id, 2, ChunkKind::Report, 0)
            .await
            .unwrap(),
        Some(big)
    );
    assert_eq!(
        store
            .get_chunk(&done.id, 2, ChunkKind::Carried, 0)
            .await
            .unwrap(),
        Some(b"{}\n".to_vec())
    );
    assert_eq!(
        store
            .get_chunk(&done.id, 1, ChunkKind::Report, 0)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .get_chunk(&done.id, 2, ChunkKind::Report, 1)
            .await
            .unwrap(),
        None
    );
}

fn discrepancy(
    n: u64,
    provider: Provider,
    merchant: Option<walletpay_domain::MerchantId>,
) -> Discrepancy {
    Discrepancy {
        id: format!("dsc_{:024x}", rand_u128() >> 32),
        provider,
        class: Class::AmountMismatch,
        day: Date::parse("2026-12-01").unwrap(),
        run_id: "rcn_xendit_20261201".into(),
        status: DiscrepancyStatus::Open,
        payment_id: None,
        refund_id: None,
        merchant_id: merchant,
        provider_reference: Some(format!("pr-{n}")),
        currency: Some(Currency::IDR),
        our_amount: Some(100),
        provider_amount: Some(90),
        provider_fee: None,
        contracted_fee: None,
        due_on: None,
        detail: "the provider booked another amount".into(),
        opened_at: Timestamp(1_925_000_000_000 + n as i64),
        resolution: None,
        version: 1,
    }
}

pub async fn discrepancies_open_once_and_list_by_provider_and_merchant(store: Arc<dyn Store>) {
    let mine = merchant_id();
    let theirs = merchant_id();
    let mut opened = Vec::new();
    for n in 0..5 {
        let d = discrepancy(
            n,
            Provider::Xendit,
            Some(if n % 2 == 0 {
                mine.clone()
            } else {
                theirs.clone()
            }),
        );
        assert!(store.insert_discrepancy(&d).await.unwrap());
        assert!(!store.insert_discrepancy(&d).await.unwrap(), "opened once");
        opened.push(d);
    }
    let phantom = discrepancy(9, Provider::Xendit, None);
    store.insert_discrepancy(&phantom).await.unwrap();
    store
        .insert_discrepancy(&discrepancy(10, Provider::Stripe, Some(mine.clone())))
        .await
        .unwrap();
    let query = |provider: Option<Provider>,
                 merchant: Option<walletpay_domain::MerchantId>,
                 after: Option<String>| DiscrepancyQuery {
        provider,
        merchant,
        status: DiscrepancyStatus::Open,
        opened_from: None,
        opened_before: None,
        after,
        limit: 2,
    };
    // The provider's, in the order opened, two at a time.
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = store
            .list_discrepancies(&query(Some(Provider::Xendit), None, after))
            .await
            .unwrap();
        all.extend(page);
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let ids: Vec<&str> = all.iter().map(|d| d.id.as_str()).collect();
    let mut want: Vec<&str> = opened.iter().map(|d| d.id.as_str()).collect();
    want.push(&phantom.id);
    assert_eq!(ids, want);
    // A merchant's own only, of every provider.
    let (page, _) = store
        .list_discrepancies(&DiscrepancyQuery {
            limit: 10,
            ..query(None, Some(mine.clone()), None)
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 4, "three of Xendit and one of Stripe");
    assert!(page.iter().all(|d| d.merchant_id.as_ref() == Some(&mine)));
    // Resolving moves it to the resolved listing; a stale write is refused.
    let mut resolved = opened[0].clone();
    resolved.status = DiscrepancyStatus::Resolved;
    resolved.version = 2;
    store.update_discrepancy(&resolved).await.unwrap();
    let mut stale = opened[0].clone();
    stale.version = 2;
    stale.detail = "other".into();
    assert!(matches!(
        store.update_discrepancy(&stale).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.get_discrepancy(&resolved.id).await.unwrap(),
        Some(resolved.clone())
    );
    let (open_mine, _) = store
        .list_discrepancies(&DiscrepancyQuery {
            limit: 10,
            ..query(Some(Provider::Xendit), Some(mine.clone()), None)
        })
        .await
        .unwrap();
    assert_eq!(open_mine.len(), 2);
    let (done, _) = store
        .list_discrepancies(&DiscrepancyQuery {
            status: DiscrepancyStatus::Resolved,
            limit: 10,
            ..query(Some(Provider::Xendit), None, None)
        })
        .await
        .unwrap();
    assert_eq!(done, [resolved]);
    // Opened in a time range.
    let (early, _) = store
        .list_discrepancies(&DiscrepancyQuery {
            opened_before: Some(Timestamp(1_925_000_000_003)),
            limit: 10,
            ..query(Some(Provider::Xendit), None, None)
        })
        .await
        .unwrap();
    assert_eq!(early.len(), 2, "1 and 2 (0 is resolved)");
}

pub async fn contracts_notices_markers_and_operator_keys(store: Arc<dyn Store>) {
    let contract: Contract = serde_json::from_value(serde_json::json!({
        "fees": [{"wallet": "dana", "percent_bps": 150}],
        "settlement": {"days": 2, "basis": "working"}
    }))
    .unwrap();
    let c = ContractRecord {
        provider: Provider::Midtrans,
        contract,
        updated_at: walletpay_tests::now(),
        updated_by: "finance".into(),
        version: 1,
    };
    store.put_contract(&c).await.unwrap();
    assert!(matches!(
        store
            .put_contract(&ContractRecord {
                updated_by: "x".into(),
                ..c.clone()
            })
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.get_contract(Provider::Midtrans).await.unwrap(),
        Some(c.clone())
    );
    assert_eq!(store.get_contract(Provider::Dana).await.unwrap(), None);

    let day = Date::parse("2026-12-02").unwrap();
    for file in [
        "settlement_detail_report_batch_7.csv",
        "settlement_detail_report_batch_8.csv",
    ] {
        store
            .put_report_notice(&ReportNotice {
                provider: Provider::Adyen,
                file: file.into(),
                url: format!("https://ca-test.adyen.com/reports/download/MerchantAccount/M/{file}"),
                announced_at: walletpay_tests::now(),
                announced_on: day,
            })
            .await
            .unwrap();
    }
    let mut files: Vec<String> = store
        .report_notices(Provider::Adyen, day)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.file)
        .collect();
    files.sort();
    assert_eq!(files.len(), 2);
    assert!(store
        .report_notices(Provider::Adyen, day.plus_days(1))
        .await
        .unwrap()
        .is_empty());

    let p = PaymentId::new(1_764_000_000_000, rand_u128());
    let key = Marker::movement_key(&p, None);
    let first = Marker {
        provider: Provider::Xendit,
        movement: key.clone(),
        day,
        class: Class::Healed,
    };
    assert_eq!(store.put_marker(&first).await.unwrap(), first);
    let later = Marker {
        day: day.plus_days(1),
        class: Class::Matched,
        ..first.clone()
    };
    assert_eq!(
        store.put_marker(&later).await.unwrap(),
        first,
        "the first marker stands"
    );
    let other = Marker::movement_key(&p, Some(&RefundId::new(1, 2)));
    assert_eq!(
        store
            .get_markers(Provider::Xendit, &[key.clone(), other])
            .await
            .unwrap(),
        [first]
    );
    assert!(store
        .get_markers(Provider::Stripe, &[key])
        .await
        .unwrap()
        .is_empty());

    let k = OperatorKeyRecord {
        key_id: format!("k{:015x}", rand_u128() >> 68),
        name: "finance".into(),
        secret_sha256: "ab".repeat(32),
        created_at: walletpay_tests::now(),
    };
    store.insert_operator_key(&k).await.unwrap();
    assert!(matches!(
        store.insert_operator_key(&k).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(store.get_operator_key(&k.key_id).await.unwrap(), Some(k));
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
            case!(the_ledger_holds_each_money_movement_once);
            case!(runs_are_versioned_and_listed_by_day);
            case!(discrepancies_open_once_and_list_by_provider_and_merchant);
            case!(contracts_notices_markers_and_operator_keys);
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

/// The embedded store keeps reconciliation's records across a restart.
#[tokio::test]
async fn embedded_store_persists_runs_and_discrepancies() {
    let dir = std::env::temp_dir().join(walletpay_tests::unique("wp-recon"));
    let day = Date::parse("2026-12-01").unwrap();
    let d = discrepancy(1, Provider::Pix, None);
    {
        let store = walletpay_embedded::EmbeddedStore::open(&dir).unwrap();
        store.put_run(&run(Provider::Pix, day, 1)).await.unwrap();
        store.insert_discrepancy(&d).await.unwrap();
    }
    let reopened = walletpay_embedded::EmbeddedStore::open(&dir).unwrap();
    assert!(reopened
        .get_run(Provider::Pix, day)
        .await
        .unwrap()
        .is_some());
    assert_eq!(reopened.get_discrepancy(&d.id).await.unwrap(), Some(d));
    std::fs::remove_dir_all(&dir).unwrap();
}
