//! Every parser of outside input, fuzzed on the stable toolchain: the API's request bodies
//! and query strings (cursors among them), each provider's webhook bodies and headers, the
//! EMV QR readers and each file-based settlement statement. Inputs are the kept corpus
//! (`tests/fuzz/<target>/`, every file replayed) and generated ones: arbitrary bytes from
//! proptest, and structure-aware mutations of genuine inputs (a field replaced by another
//! type, an extreme number, a long or strange string, a key dropped or added; webhooks signed
//! again after the mutation so that what follows the signature check is reached). Nothing
//! may panic; every refusal is a 4xx with a stable code, or a typed error.
//!
//! An input that fails is printed (hex) with the path to keep it under; kept, it is replayed
//! by every later run.

use axum::body::Body;
use http::{Method, Request};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::path::PathBuf;
use tower::ServiceExt;
use walletpay_domain::emv;
use walletpay_local::Backend;
use walletpay_tests::stack::{dana_order, start, Stack};

/// Generated inputs per target and route (on top of the corpus).
const GENERATED: usize = 96;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "corpus {} is empty", dir.display());
    out
}

/// `n` values of a strategy, the same for the same seed.
fn generated<S: Strategy>(s: S, n: usize, seed: u8) -> Vec<S::Value> {
    let mut runner = TestRunner::new_with_rng(
        RunnerConfig::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    );
    (0..n)
        .map(|_| s.new_tree(&mut runner).expect("a value").current())
        .collect()
}

fn arbitrary_bytes(n: usize, seed: u8) -> Vec<Vec<u8>> {
    generated(proptest::collection::vec(any::<u8>(), 0..600), n, seed)
}

/// A strange JSON value.
fn strange(rng: &mut StdRng) -> Value {
    match rng.random_range(0..16) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(i64::MAX),
        3 => json!(i64::MIN),
        4 => json!(-1),
        5 => json!(0),
        6 => json!(1.5),
        7 => json!(1e300),
        8 => json!(""),
        9 => json!("x".repeat(rng.random_range(200..70_000))),
        10 => json!("\u{0}\u{202e}\u{fffd}😀\r\n'\";--"),
        11 => json!([]),
        12 => json!({}),
        13 => json!(u64::MAX),
        14 => json!("18446744073709551616"),
        _ => json!([[[[[[[[[[[[[[[[{"a": [null]}]]]]]]]]]]]]]]]]),
    }
}

/// Every path into a value (object keys and array indexes).
fn paths(v: &Value, at: Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let mut p = at.clone();
                p.push(json!(k));
                paths(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let mut p = at.clone();
                p.push(json!(i));
                paths(x, p, out);
            }
        }
        _ => {}
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
    path.iter().fold(v, |v, step| match step {
        Value::String(k) => &mut v[k.as_str()],
        Value::Number(i) => &mut v[i.as_u64().unwrap() as usize],
        _ => v,
    })
}

/// `base` with one to three mutations, decided by `seed`.
fn mutate(base: &Value, seed: u64) -> Value {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut v = base.clone();
    for _ in 0..rng.random_range(1..=3) {
        let mut all = Vec::new();
        paths(&v, Vec::new(), &mut all);
        let path = all[rng.random_range(0..all.len())].clone();
        match rng.random_range(0..4) {
            0 => *at_mut(&mut v, &path) = strange(&mut rng),
            1 => {
                if let Some((last, parent)) = path.split_last() {
                    if let (Value::String(k), Value::Object(m)) = (last, at_mut(&mut v, parent)) {
                        m.remove(k);
                    }
                }
            }
            2 => {
                if let Value::Object(m) = at_mut(&mut v, &path) {
                    m.insert("unexpected_field".into(), strange(&mut rng));
                }
            }
            _ => {
                let target = at_mut(&mut v, &path);
                *target = match target.take() {
                    Value::String(s) => json!(s.len()),
                    Value::Number(n) => json!(n.to_string()),
                    Value::Bool(b) => json!(b.to_string()),
                    other => json!([other]),
                };
            }
        }
    }
    v
}

fn seeds(n: usize, seed: u8) -> Vec<u64> {
    generated(any::<u64>(), n, seed)
}

/// What an answer to bad input must be: no 5xx; a refusal names a stable code.
fn check(what: &str, input: &[u8], status: u16, body: &[u8]) {
    let keep = || {
        format!(
            "{what} with input (hex) {} -> keep it under tests/fuzz/",
            hex::encode(&input[..input.len().min(4096)])
        )
    };
    assert!(
        status < 500,
        "{status} {}: {}",
        String::from_utf8_lossy(body),
        keep()
    );
    if status >= 400 && !what.starts_with("POST /checkout") {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let code = v["error"]["code"].as_str().unwrap_or_default();
        assert!(
            !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{status} without a stable code: {}: {}",
            String::from_utf8_lossy(body),
            keep()
        );
    }
}

async fn send(
    s: &Stack,
    method: Method,
    path: &str,
    key: Option<&str>,
    headers: &http::HeaderMap,
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(key) = key {
        req = req.header("authorization", format!("Bearer {key}"));
    }
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let req = req.body(Body::from(body)).expect("a request");
    let router = walletpay_api::router(s.local.app.clone());
    let resp = router.oneshot(req).await.expect("an answer");
    let status = resp.status().as_u16();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .expect("a body");
    (status, body.to_vec())
}

fn json_headers(idem: &str) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    h.insert("content-type", "application/json".parse().unwrap());
    h.insert("idempotency-key", idem.parse().unwrap());
    h
}

/// The API's request bodies: each route that reads one, with the corpus, arbitrary bytes and
/// mutations of a valid body.
#[tokio::test]
async fn request_bodies_are_refused_cleanly() {
    let Some(s) = start(Backend::Embedded).await else {
        return;
    };
    let key = s.local.demo_key.clone();
    let operator = s.local.demo_operator_key.clone();
    let paid = s.paid("fuzz-paid", 30_000_000).await;
    let paid = paid["id"].as_str().unwrap().to_string();
    let merchant = s.local.demo_merchant.to_string();
    let routes: Vec<(Method, String, &str, Value)> = vec![
        (
            Method::POST,
            "/v1/payments".into(),
            &key,
            dana_order("fuzz-order"),
        ),
        (
            Method::POST,
            format!("/v1/payments/{paid}/refunds"),
            &key,
            json!({"amount": 100000, "reason": "requested_by_customer", "merchant_reference": "r1"}),
        ),
        (
            Method::POST,
            "/v1/checkout/sessions".into(),
            &key,
            json!({"amount": 15000000, "currency": "IDR", "country": "ID", "merchant_reference": "cs-1",
                "customer": {"id": "cus_1", "phone": "+6281234567890"}, "return_url": "https://shop.example/a",
                "cancel_url": "https://shop.example/b", "wallets": ["dana", "ovo"], "language": "id", "expires_in_minutes": 30}),
        ),
        (
            Method::POST,
            "/v1/incentives".into(),
            &key,
            json!({"country": "ID", "wallet": "dana", "discount": {"type": "percent", "basis_points": 1000, "cap": 1000000},
                "budget": 50000000, "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2027-01-01T00:00:00Z"}),
        ),
        (
            Method::PATCH,
            "/v1/merchant".into(),
            &key,
            json!({"webhook_url": "https://shop.example/hooks", "refund_late_successes": true,
                "wallet_providers": {"ID:dana": ["xendit", "adyen"]}}),
        ),
        (
            Method::POST,
            format!("/v1/payments/{paid}/fraud-report"),
            &key,
            json!({"reason": "chargeback"}),
        ),
        (
            Method::POST,
            format!("/v1/payments/{paid}/review"),
            &key,
            json!({"decision": "approve"}),
        ),
        (
            Method::POST,
            "/v1/reconciliation/runs".into(),
            &operator,
            json!({"provider": "xendit", "date": "2026-11-30"}),
        ),
        (
            Method::POST,
            "/v1/reconciliation/discrepancies/resolve".into(),
            &operator,
            json!({"filter": {"provider": "xendit", "class": "missing_at_provider", "date": "2026-11-30"},
                "resolution": "accepted", "note": "checked"}),
        ),
        (
            Method::PUT,
            "/v1/reconciliation/contracts/xendit".into(),
            &operator,
            json!({"fees": [{"wallet": "dana", "currency": "IDR", "percent_bps": 150, "fixed_minor": 0}],
                "settlement": {"days": 2, "basis": "working"}, "calendar": {"weekend": ["sat", "sun"], "holidays": ["2026-12-25"]}}),
        ),
        (
            Method::PUT,
            format!("/v1/onboarding/{merchant}/xendit"),
            &operator,
            json!({"state": "live", "note": "ok", "terms": {"percent_bps": 150, "fixed_fee": 0, "currency": "IDR", "settlement_days": 2}}),
        ),
    ];
    let kept = corpus("bodies");
    let bytes = arbitrary_bytes(GENERATED / 2, 1);
    let mut n = 0usize;
    for (method, path, key, valid) in &routes {
        let what = format!("{method} {path}");
        let mutations = seeds(GENERATED, 2)
            .into_iter()
            .map(|seed| mutate(valid, seed).to_string().into_bytes());
        let inputs = kept
            .iter()
            .map(|(_, b)| b.clone())
            .chain(bytes.iter().cloned())
            .chain(mutations);
        for input in inputs {
            n += 1;
            let (status, body) = send(
                &s,
                method.clone(),
                path,
                Some(key),
                &json_headers(&format!("fuzz-{n}")),
                input.clone(),
            )
            .await;
            check(&what, &input, status, &body);
        }
    }
    // The checkout page's wallet form: HTML answers, never a 5xx.
    let session = s
        .post_json("/v1/checkout/sessions", &key, "fuzz-session", &routes[2].3)
        .await;
    assert_eq!(session.status, 201, "{}", session.body);
    let page = format!("/checkout/{}/pay", session.body["id"].as_str().unwrap());
    let mut form = http::HeaderMap::new();
    form.insert(
        "content-type",
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    form.insert("sec-fetch-site", "same-origin".parse().unwrap());
    for input in kept
        .iter()
        .map(|(_, b)| b.clone())
        .chain(bytes.iter().cloned())
    {
        let (status, body) = send(&s, Method::POST, &page, None, &form, input.clone()).await;
        check(&format!("POST {page}"), &input, status, &body);
    }
}

/// Query strings and cursors of every listing.
#[tokio::test]
async fn query_strings_and_cursors_are_refused_cleanly() {
    let Some(s) = start(Backend::Embedded).await else {
        return;
    };
    let key = s.local.demo_key.clone();
    let operator = s.local.demo_operator_key.clone();
    let paid = s.paid("fuzz-query", 30_000_000).await;
    let paid = paid["id"].as_str().unwrap().to_string();
    // A real cursor, to mutate.
    for i in 0..3 {
        let a = s
            .create(&format!("fuzz-q{i}"), &dana_order(&format!("fuzz-q{i}")))
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    let page = s.get_path("/v1/payments?limit=1", &key).await;
    let cursor = page.body["next_cursor"].as_str().unwrap_or("x").to_string();
    let routes: Vec<(String, &str)> = vec![
        ("/v1/payments".into(), &key),
        ("/v1/events".into(), &key),
        ("/v1/wallets".into(), &key),
        (format!("/v1/payments/{paid}/events"), &key),
        (format!("/v1/payments/{paid}/refunds"), &key),
        ("/v1/incentives".into(), &key),
        ("/v1/analytics/summary".into(), &key),
        ("/v1/analytics/timeseries".into(), &key),
        ("/v1/analytics/failures".into(), &key),
        ("/v1/risk/audit".into(), &key),
        ("/v1/reconciliation/runs".into(), &operator),
        ("/v1/reconciliation/discrepancies".into(), &operator),
    ];
    let names = [
        "limit",
        "cursor",
        "after",
        "status",
        "wallet",
        "country",
        "amount",
        "currency",
        "created_after",
        "created_before",
        "from",
        "to",
        "period",
        "provider",
        "merchant",
        "class",
        "granularity",
    ];
    let values = generated(
        proptest::collection::vec(
            (
                0..names.len(),
                prop_oneof![
                    "[ -~]{0,40}",
                    Just(cursor.clone()),
                    any::<u8>().prop_map(|b| format!("{}{}", b, "9".repeat(30))),
                    proptest::collection::vec(any::<u8>(), 0..60).prop_map(hex::encode),
                ],
            ),
            1..5,
        ),
        GENERATED,
        3,
    );
    let mut queries: Vec<String> = corpus("queries")
        .into_iter()
        .map(|(_, b)| {
            String::from_utf8_lossy(&b)
                .trim_end_matches('\n')
                .to_string()
        })
        .collect();
    for pairs in values {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            let value = if value == cursor {
                // A real cursor with one character changed.
                let mut c = cursor.clone().into_bytes();
                let i = value.len() / 2;
                if let Some(b) = c.get_mut(i) {
                    *b = if *b == b'A' { b'B' } else { b'A' };
                }
                String::from_utf8_lossy(&c).into_owned()
            } else {
                value
            };
            q.append_pair(names[name], &value);
        }
        queries.push(q.finish());
    }
    for (path, key) in &routes {
        for q in &queries {
            let uri = format!("{path}?{q}");
            let Ok(uri) = uri.parse::<http::Uri>() else {
                continue;
            };
            let (status, body) = send(
                &s,
                Method::GET,
                &uri.to_string(),
                Some(key),
                &http::HeaderMap::new(),
                Vec::new(),
            )
            .await;
            check(&format!("GET {path}"), q.as_bytes(), status, &body);
        }
    }
}

/// Each provider's webhook: arbitrary bodies and headers unsigned, and mutations of a
/// genuine one signed as the provider signs.
#[tokio::test]
async fn provider_webhooks_are_refused_cleanly() {
    let Some(s) = start(Backend::Embedded).await else {
        return;
    };
    let paid = s.paid("fuzz-hook", 30_000_000).await;
    let payment = paid["id"].as_str().unwrap().to_string();
    let kept = corpus("webhooks");
    let bytes = arbitrary_bytes(GENERATED, 4);
    let header_sets = generated(
        proptest::collection::vec(
            (
                prop_oneof![
                    Just("x-callback-token"),
                    Just("stripe-signature"),
                    Just("x-signature"),
                    Just("x-timestamp"),
                    Just("x-partner-id"),
                    Just("x-external-id"),
                    Just("content-type"),
                ],
                "[ -~]{0,80}",
            ),
            0..4,
        ),
        GENERATED,
        5,
    );
    for provider in [
        "xendit",
        "stripe",
        "adyen",
        "midtrans",
        "dana",
        "pix",
        "promptpay",
    ] {
        let path = format!("/v1/webhooks/{provider}");
        for (i, input) in kept
            .iter()
            .map(|(_, b)| b.clone())
            .chain(bytes.iter().cloned())
            .enumerate()
        {
            let mut h = http::HeaderMap::new();
            for (k, v) in &header_sets[i % header_sets.len()] {
                if let Ok(v) = http::HeaderValue::from_str(v) {
                    h.insert(*k, v);
                }
            }
            let (status, body) = send(&s, Method::POST, &path, None, &h, input.clone()).await;
            check(&format!("POST {path}"), &input, status, &body);
        }
    }
    for provider in walletpay_tests::webhooks::PROVIDERS {
        let genuine = walletpay_tests::webhooks::success(provider, &payment);
        let path = format!("/v1/webhooks/{provider}");
        for seed in seeds(GENERATED, 6) {
            let (h, input) = walletpay_tests::webhooks::signed(provider, &mutate(&genuine, seed));
            let (status, body) = send(&s, Method::POST, &path, None, &h, input.clone()).await;
            check(&format!("POST {path} (signed)"), &input, status, &body);
        }
    }
    // The payment the genuine webhooks named is still what its provider said.
    let after = s.get(&payment, &s.local.demo_key).await;
    assert_eq!(after.body["status"], "succeeded", "{}", after.body);
}

/// The EMV readers (QRIS, QR Ph, BR Code, Thai bill payment): arbitrary text and mutations
/// of valid payloads, each read strictly: an error, never a panic; what reads must encode
/// back to a payload that reads the same.
#[test]
fn emv_payloads_are_read_strictly() {
    let kept = corpus("emv");
    let text = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .trim_end_matches('\n')
            .to_string()
    };
    // The published codes (`vector-*`) each read with one of the readers.
    let vectors: Vec<String> = kept
        .iter()
        .filter(|(name, _)| name.starts_with("vector-"))
        .map(|(_, b)| text(b))
        .collect();
    for v in &vectors {
        assert!(
            emv::Qris::parse(v).is_ok()
                || emv::QrPh::parse(v).is_ok()
                || emv::BrCode::parse(v).is_ok()
                || emv::PromptPayBill::parse(v).is_ok()
                || emv::parse_strict(v).is_ok(),
            "a published code does not read: {v}"
        );
    }
    let mut inputs: Vec<String> = kept.iter().map(|(_, b)| text(b)).collect();
    inputs.extend(generated("[0-9A-Za-z .*/:-]{0,300}", 2_000, 7));
    let valid: Vec<String> = inputs
        .iter()
        .filter(|p| emv::validate(p).is_ok())
        .cloned()
        .collect();
    let mut rng = StdRng::seed_from_u64(8);
    for base in &valid {
        for _ in 0..200 {
            let mut b = base.clone().into_bytes();
            match rng.random_range(0..3) {
                0 => {
                    let i = rng.random_range(0..b.len());
                    b[i] = b"0123456789AZ"[rng.random_range(0..12)];
                }
                1 => b.truncate(rng.random_range(0..b.len())),
                _ => {
                    let i = rng.random_range(0..b.len());
                    b.insert(i, b"09"[rng.random_range(0..2)]);
                }
            }
            let s = String::from_utf8_lossy(&b).into_owned();
            // With its CRC made right again, so the fields behind it are read too.
            let body = s.get(..s.len().saturating_sub(4)).unwrap_or("");
            inputs.push(format!("{body}{:04X}", emv::crc16(body.as_bytes())));
            inputs.push(s);
        }
    }
    let mut read = 0;
    for p in &inputs {
        if let Ok(q) = emv::Qris::parse(p) {
            read += 1;
            assert_eq!(emv::Qris::parse(&q.payload().unwrap()).unwrap(), q, "{p}");
        }
        if let Ok(q) = emv::QrPh::parse(p) {
            read += 1;
            assert_eq!(emv::QrPh::parse(&q.payload().unwrap()).unwrap(), q, "{p}");
        }
        if let Ok(q) = emv::BrCode::parse(p) {
            read += 1;
            assert_eq!(emv::BrCode::parse(&q.payload().unwrap()).unwrap(), q, "{p}");
        }
        if let Ok(q) = emv::PromptPayBill::parse(p) {
            read += 1;
            assert_eq!(
                emv::PromptPayBill::parse(&q.payload().unwrap()).unwrap(),
                q,
                "{p}"
            );
        }
    }
    // Mutations with their CRC made right reach the readers' fields: some still read.
    assert!(
        read > vectors.len(),
        "{read} read, {} published",
        vectors.len()
    );
}
