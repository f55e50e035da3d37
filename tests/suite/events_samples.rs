//! Every file in `events/` is fed to its function's handler, and `events/<function>/
//! expected.json` says what it must answer: no sample goes stale unnoticed.

use aws_lambda_events::sqs::SqsEvent;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tower::ServiceExt;
use walletpay_api::sqs::Consumer;
use walletpay_domain::{NextAction, PaymentEvent, PaymentId, PaymentStatus};
use walletpay_local::{Backend, Options};
use walletpay_ports::HistoryEntry;

const SAMPLE_KEY: &str = "wpk_0123456789abcdef_0123456789abcdefghjkmnpqrstvwxyz";
const SAMPLE_PAYMENT: &str = "pay_01m8ab8makqqg641md11702kgn";
const SAMPLE_SESSION: &str = "cs_01m8ab8makqqg641md11702kgn";
const SAMPLE_CHARGE: &str = "pr-5f0c1b7e-9d4a-4c8e-b7a1-2f6d3e8c9a10";

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// The sample files of one function and what each must produce.
fn samples(function: &str) -> Vec<(String, String, Value)> {
    let dir = events_dir().join(function);
    let expected: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json") && n != "expected.json")
        .collect();
    files.sort();
    assert_eq!(
        files,
        expected.keys().cloned().collect::<Vec<_>>(),
        "events/{function}: every sample needs an expectation and every expectation a sample"
    );
    files
        .into_iter()
        .map(|f| {
            let body = std::fs::read_to_string(dir.join(&f)).unwrap();
            let want = expected[&f].clone();
            (f, body, want)
        })
        .collect()
}

async fn call(router: axum::Router, event_json: &str) -> (u16, String) {
    let lambda_request: lambda_http::request::LambdaRequest =
        serde_json::from_str(event_json).expect("an API Gateway v2 event");
    let request: http::Request<lambda_http::Body> = lambda_request.into();
    let response = router.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = http_body_util_collect(response.into_body()).await;
    (status, body)
}

async fn http_body_util_collect(body: axum::body::Body) -> String {
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Feeds a queue consumer's sample batches to it and checks which messages it reports failed.
async fn check_sqs_samples(app: &walletpay_app::App, function: &str, consumer: Consumer) {
    for (file, event, want) in samples(function) {
        let sqs: SqsEvent = serde_json::from_str(&event).expect("an SQS event");
        let resp = walletpay_api::sqs::handle(app, consumer, sqs, None).await;
        let failed: Vec<String> = resp
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        let want: Vec<String> =
            serde_json::from_value(want["batch_item_failures"].clone()).unwrap();
        assert_eq!(failed, want, "{function}/{file}");
    }
}

#[test]
fn every_function_has_samples_and_every_sample_folder_a_function() {
    let mut folders: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    folders.sort();
    let functions_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
    let mut functions: Vec<String> = std::fs::read_dir(functions_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    functions.sort();
    assert_eq!(folders, functions);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_event_gets_its_expected_answer() {
    let stack = walletpay_local::start(Options {
        port: 0,
        backend: Backend::Embedded,
        demo_key: Some(SAMPLE_KEY.into()),
        reconcile_schedule: false,
        ..Options::default()
    })
    .await
    .unwrap();
    let app = stack.app.clone();

    // The payment the GET, webhook and SQS samples refer to, waiting for the customer.
    let mut p = walletpay_tests::sample_payment(&stack.demo_merchant);
    p.id = PaymentId::parse(SAMPLE_PAYMENT).unwrap();
    let created = HistoryEntry {
        payment_id: p.id.clone(),
        merchant_id: p.merchant_id.clone(),
        seq: 1,
        at: p.created_at,
        event: "created".into(),
        from: None,
        to: PaymentStatus::Processing,
        source: "api".into(),
        detail: None,
    };
    app.store.insert_payment(&p, &created).await.unwrap();
    walletpay_app::transition(
        &app,
        &p.id,
        None,
        &PaymentEvent::Accepted {
            provider_reference: SAMPLE_CHARGE.into(),
            next_action: Some(NextAction::Redirect {
                url: "https://example.test".into(),
            }),
        },
        "provider_response",
        Some(SAMPLE_CHARGE),
    )
    .await
    .unwrap();

    for (file, event, want) in samples("create-payment") {
        let (status, body) = call(walletpay_api::payments_router(app.clone()), &event).await;
        assert_eq!(
            Some(status as u64),
            want.as_u64(),
            "create-payment/{file}: {body}"
        );
    }

    // The checkout page's samples: a session waiting for its buyer.
    let now = walletpay_tests::now();
    let session = walletpay_domain::checkout::CheckoutSession {
        id: walletpay_domain::SessionId::parse(SAMPLE_SESSION).unwrap(),
        merchant_id: stack.demo_merchant.clone(),
        merchant_reference: "order-sample".into(),
        amount: walletpay_domain::Money::positive(15_000_000, walletpay_domain::Currency::IDR)
            .unwrap(),
        country: walletpay_domain::Country::ID,
        customer: walletpay_domain::Customer {
            id: Some("cus_sample".into()),
            phone: Some("+6281200000001".into()),
            ..Default::default()
        },
        return_url: "https://shop.example/thanks".into(),
        cancel_url: "https://shop.example/cart".into(),
        card_fallback_url: None,
        wallets: None,
        lang: None,
        created_at: now,
        expires_at: now.plus_millis(30 * 60_000),
        attempts: Vec::new(),
        paid_by: None,
        grants_settled: false,
        settled_paid_by: None,
        version: 1,
    };
    app.store.insert_session(&session).await.unwrap();
    for (file, event, want) in samples("checkout") {
        let (status, body) = call(walletpay_api::checkout_router(app.clone()), &event).await;
        assert_eq!(
            Some(status as u64),
            want.as_u64(),
            "checkout/{file}: {body}"
        );
    }
    for (file, event, want) in samples("dashboard") {
        let (status, body) = call(walletpay_api::dashboard_router(app.clone()), &event).await;
        assert_eq!(
            Some(status as u64),
            want.as_u64(),
            "dashboard/{file}: {body}"
        );
    }

    // The same-site choice started one attempt; the cross-site one none.
    let after = app.store.get_session(&session.id).await.unwrap().unwrap();
    assert_eq!(after.attempts.len(), 1, "{after:?}");

    // The change stream's samples (records read off DynamoDB Local's stream): a version
    // counted, one that does not read handed back at its sequence number.
    for (file, event, want) in samples("payment-analytics") {
        let stream: aws_lambda_events::event::dynamodb::Event =
            serde_json::from_str(&event).expect("a DynamoDB stream event");
        let resp = walletpay_api::streams::handle(&app, stream, None, false).await;
        let failed: Vec<String> = resp
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier.unwrap_or_default())
            .collect();
        let want: Vec<String> =
            serde_json::from_value(want["batch_item_failures"].clone()).unwrap();
        assert_eq!(failed, want, "payment-analytics/{file}");
    }
    // The sample's merchant is the one the recorded version names.
    let sample: aws_lambda_events::event::dynamodb::Event = serde_json::from_str(
        &std::fs::read_to_string(events_dir().join("payment-analytics/stream-batch.json")).unwrap(),
    )
    .unwrap();
    let image: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
        sample.records[0].change.new_image.clone().into();
    let recorded = walletpay_aws::version_from_image(&image).unwrap().unwrap();
    let counted = app
        .store
        .hours(
            walletpay_ports::AggScope::Merchant(&recorded.payment.merchant_id),
            0,
            i64::MAX / 2,
        )
        .await
        .unwrap();
    let attempts: u64 = counted.iter().map(|(_, c)| c.attempts).sum();
    assert_eq!(
        attempts, 1,
        "the sample batch's created version counted once: {counted:?}"
    );

    check_sqs_samples(&app, "payment-events", Consumer::PaymentEvents).await;
    let after = app.store.get_payment(&p.id).await.unwrap().unwrap();
    assert_eq!(
        after.status,
        PaymentStatus::Succeeded,
        "the SQS sample applied its event"
    );

    check_sqs_samples(&app, "status-checks", Consumer::StatusChecks).await;

    for (file, event, want) in samples("refund") {
        let (status, body) = call(walletpay_api::refunds_router(app.clone()), &event).await;
        assert_eq!(Some(status as u64), want.as_u64(), "refund/{file}: {body}");
    }

    check_sqs_samples(&app, "refund-worker", Consumer::Refunds).await;

    check_sqs_samples(&app, "notifier", Consumer::Notifications).await;

    // The reconcile function: its scheduled starts fan out jobs, its queue's jobs run days.
    // The queue's batch first: the weekly start's jobs, run in the background, cover the
    // sample's day too.
    let mut reconcile = samples("reconcile");
    reconcile.sort_by_key(|(file, _, _)| !file.starts_with("sqs-"));
    for (file, event, want) in reconcile {
        if file.starts_with("sqs-") {
            let sqs: SqsEvent = serde_json::from_str(&event).expect("an SQS event");
            let resp = walletpay_api::sqs::handle(&app, Consumer::Reconcile, sqs, None).await;
            let failed: Vec<String> = resp
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect();
            let want: Vec<String> =
                serde_json::from_value(want["batch_item_failures"].clone()).unwrap();
            assert_eq!(failed, want, "reconcile/{file}");
            continue;
        }
        let start: walletpay_api::reconcile::Scheduled =
            serde_json::from_str(&event).expect("a scheduled start");
        let answer = walletpay_api::reconcile::scheduled(&app, &start)
            .await
            .unwrap();
        let providers: Vec<String> = answer["enqueued"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["provider"].as_str().unwrap().to_string())
            .collect();
        let want: Vec<String> = serde_json::from_value(want["enqueued_providers"].clone()).unwrap();
        assert_eq!(providers, want, "reconcile/{file}: {answer}");
    }
    let sample_day = walletpay_reconcile::Date::parse("2026-11-24").unwrap();
    let ran = app
        .store
        .get_run(walletpay_domain::Provider::Xendit, sample_day)
        .await
        .unwrap()
        .expect("the SQS sample ran its day");
    assert_eq!(
        ran.state,
        walletpay_ports::reconcile::RunState::Done,
        "{ran:?}"
    );

    for (file, event, want) in samples("wallet-webhook") {
        let (status, body) = call(walletpay_api::webhooks_router(app.clone()), &event).await;
        assert_eq!(
            Some(status as u64),
            want.as_u64(),
            "wallet-webhook/{file}: {body}"
        );
    }
}
