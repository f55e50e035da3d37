//! Reconciliation end to end: payments made through the sandboxes, the sandboxes told to make
//! each discrepancy happen in their settlement data, a day run through the API, and what the
//! run found, healed and opened read back; on the embedded store and on DynamoDB Local with
//! SQS.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use walletpay_app::Settings;
use walletpay_domain::Provider;
use walletpay_local::{Backend, Options};
use walletpay_reconcile::Date;
use walletpay_tests::stack::{start_with, Answer, Stack};

async fn stack(backend: Backend) -> Option<Stack> {
    let mut settings = Settings {
        refund_retry_delays: vec![Duration::from_millis(200)],
        status_check_delays: vec![Duration::from_secs(600)],
        ..Settings::default()
    };
    settings.reconcile.waiting_delays = vec![Duration::from_millis(300)];
    start_with(
        backend,
        Options {
            settings,
            reconcile_schedule: false,
            provider_timeout: Duration::from_secs(5),
            ..Options::default()
        },
    )
    .await
}

fn today(s: &Stack, provider: Provider) -> Date {
    Date::of(
        walletpay_tests::now(),
        s.local.app.settings.reconcile.offset(provider),
    )
}

async fn as_operator(
    s: &Stack,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    call(s, &s.local.demo_operator_key, method, path, body).await
}

async fn call(
    s: &Stack,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let mut req = s
        .http
        .request(method, s.url(path))
        .header("authorization", format!("Bearer {key}"));
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    Stack::answer(req.send().await.unwrap()).await
}

async fn fault(s: &Stack, provider: &str, f: Value) {
    let r = s
        .http
        .post(s.url(&format!("/sandbox/{provider}/settlement/faults")))
        .body(f.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
}

async fn publish(s: &Stack, provider: &str, day: Date) {
    let r = s
        .http
        .post(s.url(&format!("/sandbox/{provider}/settlement/publish")))
        .header("content-type", "application/json")
        .body(json!({"date": day}).to_string())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

/// Asks for the day's run and follows it until it is done or failed.
async fn reconcile(s: &Stack, provider: &str, day: Date) -> Value {
    let a = as_operator(
        s,
        reqwest::Method::POST,
        "/v1/reconciliation/runs",
        Some(json!({"provider": provider, "date": day})),
    )
    .await;
    assert_eq!(a.status, 202, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    wait_run(s, &id, &["done", "failed"]).await
}

async fn wait_run(s: &Stack, id: &str, states: &[&str]) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let a = as_operator(
            s,
            reqwest::Method::GET,
            &format!("/v1/reconciliation/runs/{id}"),
            None,
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
        // A run asked for again is `waiting` until its job starts it.
        if states.contains(&a.body["state"].as_str().unwrap_or(""))
            && a.body["reason"] != "requested"
        {
            return a.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "run {id} stuck: {}",
            a.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn counts(run: &Value) -> BTreeMap<String, u64> {
    run["summary"]["counts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

async fn discrepancies(s: &Stack, key: &str, query: &str) -> Vec<Value> {
    let a = call(
        s,
        key,
        reqwest::Method::GET,
        &format!("/v1/reconciliation/discrepancies?{query}"),
        None,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body["data"].as_array().unwrap().clone()
}

async fn report_of(s: &Stack, run: &Value) -> String {
    let report = s
        .http
        .get(s.url(&format!(
            "/v1/reconciliation/runs/{}/report.csv",
            run["id"].as_str().unwrap()
        )))
        .header(
            "authorization",
            format!("Bearer {}", s.local.demo_operator_key),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), 200);
    assert!(report.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    report.text().await.unwrap()
}

async fn refund(s: &Stack, payment: &str, amount: i64, tag: &str) -> String {
    let r = s
        .post_json(
            &format!("/v1/payments/{payment}/refunds"),
            &s.local.demo_key,
            &format!("{payment}-{tag}"),
            &json!({"amount": amount}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    s.wait_for_refund(payment, &id, "succeeded").await;
    id
}

/// A DANA payment through Xendit, paid with its callback lost: we still show it waiting.
async fn paid_without_callback(s: &Stack, reference: &str) -> Value {
    let a = s
        .create(reference, &walletpay_tests::stack::dana_order(reference))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let r = s
        .http
        .post(s.url(&format!(
            "/sandbox/xendit/simulate/{}",
            a.body["provider_reference"].as_str().unwrap()
        )))
        .body(json!({"outcome": "success", "send_callback": false}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    a.body
}

/// Every class, produced through the Xendit sandbox's Transaction Service on one day: the
/// run's counts, the heal through the state machine, the discrepancies opened, the report;
/// a rerun gives the same and opens nothing new; resolution one by one and in bulk; the
/// weekly roll-up; and what a merchant's key may see.
async fn every_class_on_one_day(backend: Backend) {
    let Some(s) = stack(backend).await else {
        return;
    };
    let id = |p: &Value| p["id"].as_str().unwrap().to_string();
    let matched = s.paid("rc-matched", 15_000_000).await;
    let lost = paid_without_callback(&s, "rc-lost").await;
    assert_eq!(
        s.get(&id(&lost), &s.local.demo_key).await.body["status"],
        "requires_action"
    );
    let dropped = s.paid("rc-dropped", 15_000_000).await;
    let other_amount = s.paid("rc-amount", 15_000_000).await;
    let twice = s.paid("rc-twice", 15_000_000).await;
    let other_fee = s.paid("rc-fee", 15_000_000).await;
    let late = s.paid("rc-late", 15_000_000).await;
    let other_currency = s.paid("rc-currency", 15_000_000).await;
    let refunded = s.paid("rc-refunded", 15_000_000).await;
    let reversed_refund = refund(&s, &id(&refunded), 5_000_000, "r1").await;
    let day = today(&s, Provider::Xendit);

    fault(
        &s,
        "xendit",
        json!({"fault": "drop", "reference": id(&dropped)}),
    )
    .await;
    fault(&s, "xendit", json!({"fault": "other_amount", "reference": id(&other_amount), "amount_minor": 14_000_000})).await;
    fault(
        &s,
        "xendit",
        json!({"fault": "duplicate", "reference": id(&twice)}),
    )
    .await;
    fault(
        &s,
        "xendit",
        json!({"fault": "other_fee", "reference": id(&other_fee), "fee_minor": 300_000}),
    )
    .await;
    fault(
        &s,
        "xendit",
        json!({"fault": "late_payout", "reference": id(&late), "days": 5}),
    )
    .await;
    fault(
        &s,
        "xendit",
        json!({"fault": "other_currency", "reference": id(&other_currency), "currency": "PHP"}),
    )
    .await;
    fault(
        &s,
        "xendit",
        json!({"fault": "reverse_refund", "reference": reversed_refund}),
    )
    .await;
    fault(
        &s,
        "xendit",
        json!({"fault": "phantom", "date": day, "amount_minor": 9_900_000, "currency": "IDR"}),
    )
    .await;

    let run = reconcile(&s, "xendit", day).await;
    assert_eq!(run["state"], "done", "{run}");
    assert!(
        run["source"]
            .as_str()
            .unwrap()
            .contains("GET /transactions"),
        "{run}"
    );
    let c = counts(&run);
    let text = report_of(&s, &run).await;
    let expect = |class: &str| c.get(class).copied().unwrap_or(0);
    // matched: the plain payment, the first listing of the one listed twice, and the
    // refunded payment's charge.
    assert_eq!(expect("matched"), 3, "{c:?}\n{text}");
    assert_eq!(expect("healed"), 1, "{c:?}");
    assert_eq!(expect("amount_mismatch"), 1, "{c:?}");
    assert_eq!(expect("currency_mismatch"), 1, "{c:?}");
    assert_eq!(expect("fee_mismatch"), 1, "{c:?}");
    assert_eq!(expect("settlement_late"), 1, "{c:?}");
    assert_eq!(expect("status_mismatch"), 1, "{c:?}");
    assert_eq!(expect("unknown_to_us"), 1, "{c:?}");
    // the first listing matches, the second is the duplicate
    assert_eq!(expect("duplicate"), 1, "{c:?}");
    // within the grace period: carried, not yet a discrepancy
    assert_eq!(expect("missing_at_provider"), 1, "{c:?}");
    assert_eq!(run["summary"]["carried"], 1, "{run}");
    assert_eq!(run["summary"]["heals"], 1, "{run}");
    let totals = &run["summary"]["totals"]["IDR"];
    assert!(totals["provider_charges"].as_i64().unwrap() > 0, "{run}");
    let n = |k: &str| totals[k].as_i64().unwrap();
    assert_eq!(
        n("expected_payout"),
        n("our_charges") - n("contracted_fees") - n("our_refunds"),
        "{run}"
    );
    // Our side: the eight payments paid that day as we show them (the healed one is not
    // ours yet), the refund.
    assert_eq!(n("our_charges"), 8 * 15_000_000, "{run}");
    assert_eq!(n("our_refunds"), 5_000_000, "{run}");

    // The lost callback's payment is paid now, through the state machine, by reconciliation.
    let healed = s.wait_for(&id(&lost), "succeeded").await;
    assert_eq!(healed["status"], "succeeded");
    let history = s.history(&id(&lost)).await;
    let last = history.last().unwrap();
    assert_eq!(
        (last.event.as_str(), last.source.as_str()),
        ("succeeded", "reconciliation")
    );

    let open = discrepancies(
        &s,
        &s.local.demo_operator_key,
        "provider=xendit&status=open",
    )
    .await;
    let mut classes: Vec<String> = open
        .iter()
        .map(|d| d["class"].as_str().unwrap().to_string())
        .collect();
    classes.sort();
    assert_eq!(
        classes,
        [
            "amount_mismatch",
            "currency_mismatch",
            "duplicate",
            "fee_mismatch",
            "settlement_late",
            "status_mismatch",
            "unknown_to_us"
        ],
        "{open:?}"
    );
    let by_class = |c: &str| open.iter().find(|d| d["class"] == c).unwrap().clone();
    assert_eq!(by_class("amount_mismatch")["our_amount"], 15_000_000);
    assert_eq!(by_class("amount_mismatch")["provider_amount"], 14_000_000);
    assert_eq!(by_class("fee_mismatch")["provider_fee"], 300_000);
    assert_eq!(by_class("fee_mismatch")["contracted_fee"], 225_000);
    assert_eq!(
        by_class("status_mismatch")["refund_id"],
        reversed_refund.as_str()
    );
    assert!(by_class("unknown_to_us")["merchant_id"].is_null());

    // The report (read above): one line per outcome, with its class.
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("class,discrepancy,kind,payment_id"));
    let lines: Vec<&str> = lines.collect();
    assert_eq!(lines.len() as u64, c.values().sum::<u64>(), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("healed,no,charge,") && l.contains(&id(&lost))),
        "{text}"
    );

    // Run again: the same classes, nothing healed twice, no discrepancy opened twice.
    let again = reconcile(&s, "xendit", day).await;
    assert_eq!(again["state"], "done");
    assert_eq!(
        again["attempt"].as_u64().unwrap(),
        run["attempt"].as_u64().unwrap() + 1
    );
    let c2 = counts(&again);
    assert_eq!(c2, c, "a rerun classes the same");
    assert_eq!(
        again["summary"]["heals"], 0,
        "nothing is healed twice: {again}"
    );
    let successes = s
        .history(&id(&lost))
        .await
        .iter()
        .filter(|h| h.event == "succeeded")
        .count();
    assert_eq!(successes, 1);
    let open_again = discrepancies(
        &s,
        &s.local.demo_operator_key,
        "provider=xendit&status=open",
    )
    .await;
    assert_eq!(open_again.len(), open.len(), "{open_again:?}");

    // The dropped success becomes a discrepancy once the grace period is over (here: none).
    let mut contract = as_operator(
        &s,
        reqwest::Method::GET,
        "/v1/reconciliation/contracts/xendit",
        None,
    )
    .await;
    assert_eq!(contract.status, 200, "{}", contract.body);
    contract.body["contract"]["grace_days"] = json!(0);
    let put = as_operator(
        &s,
        reqwest::Method::PUT,
        "/v1/reconciliation/contracts/xendit",
        Some(contract.body["contract"].clone()),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let third = reconcile(&s, "xendit", day).await;
    assert_eq!(third["summary"]["carried"], 0, "{third}");
    let missing = discrepancies(
        &s,
        &s.local.demo_operator_key,
        "provider=xendit&class=missing_at_provider",
    )
    .await;
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!(missing[0]["payment_id"], id(&dropped).as_str());

    // What a merchant sees: only its own payments' discrepancies, nothing else.
    let merchant = s.local.demo_key.clone();
    let mine = discrepancies(&s, &merchant, "provider=xendit").await;
    assert_eq!(
        mine.len(),
        open.len() - 1 + 1 - 2,
        "all but the phantom and those about the provider's terms, and the missing one: {mine:?}"
    );
    assert!(
        mine.iter()
            .all(|d| d["class"] != "fee_mismatch" && d["class"] != "settlement_late"),
        "{mine:?}"
    );
    assert!(mine
        .iter()
        .all(|d| d["merchant_id"] == s.local.demo_merchant.as_str()));
    let other = s.other_merchant().await;
    assert!(discrepancies(&s, &other, "provider=xendit")
        .await
        .is_empty());
    let phantom = by_class("unknown_to_us")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mine_id = by_class("amount_mismatch")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let get = |key: String, d: String| {
        let s = &s;
        async move {
            call(
                s,
                &key,
                reqwest::Method::GET,
                &format!("/v1/reconciliation/discrepancies/{d}"),
                None,
            )
            .await
            .status
        }
    };
    assert_eq!(get(merchant.clone(), mine_id.clone()).await, 200);
    let seen = call(
        &s,
        &merchant,
        reqwest::Method::GET,
        &format!("/v1/reconciliation/discrepancies/{mine_id}"),
        None,
    )
    .await;
    for private in ["provider_fee", "contracted_fee", "run_id"] {
        assert!(
            seen.body.get(private).is_none(),
            "a merchant sees no {private}: {}",
            seen.body
        );
    }
    assert_eq!(seen.body["provider_amount"], 14_000_000);
    assert_eq!(get(other.clone(), mine_id.clone()).await, 404);
    assert_eq!(get(merchant.clone(), phantom.clone()).await, 404);
    let terms = by_class("fee_mismatch")["id"].as_str().unwrap().to_string();
    assert_eq!(
        get(merchant.clone(), terms).await,
        404,
        "the provider's terms are not the shop's"
    );
    let run_id = run["id"].as_str().unwrap();
    let week = day.iso_week().to_string();
    for (method, path, body) in [
        (
            reqwest::Method::GET,
            "/v1/reconciliation/runs?provider=xendit".to_string(),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/v1/reconciliation/runs/{run_id}"),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/v1/reconciliation/runs/{run_id}/report.csv"),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/v1/reconciliation/weeks/xendit/{week}"),
            None,
        ),
        (
            reqwest::Method::POST,
            "/v1/reconciliation/runs".to_string(),
            Some(json!({"provider": "xendit", "date": day})),
        ),
        (
            reqwest::Method::POST,
            format!("/v1/reconciliation/discrepancies/{mine_id}/resolve"),
            Some(json!({"resolution": "accepted", "note": "mine"})),
        ),
        (
            reqwest::Method::POST,
            "/v1/reconciliation/discrepancies/resolve".to_string(),
            Some(json!({"ids": [mine_id], "resolution": "accepted", "note": "mine"})),
        ),
        (
            reqwest::Method::GET,
            "/v1/reconciliation/contracts/xendit".to_string(),
            None,
        ),
        (
            reqwest::Method::PUT,
            "/v1/reconciliation/contracts/xendit".to_string(),
            Some(contract.body["contract"].clone()),
        ),
    ] {
        let a = call(&s, &merchant, method.clone(), &path, body.clone()).await;
        assert_eq!(
            (a.status, a.body["error"]["code"].as_str()),
            (403, Some("operator_only")),
            "{method} {path}"
        );
        let anon = s
            .http
            .request(method.clone(), s.url(&path))
            .send()
            .await
            .unwrap();
        assert_eq!(anon.status(), 401, "{method} {path}");
    }

    // Resolution: one, then in bulk by filter and by ids.
    let r = as_operator(
        &s,
        reqwest::Method::POST,
        &format!("/v1/reconciliation/discrepancies/{mine_id}/resolve"),
        Some(json!({"resolution": "adjusted", "note": "refunded the difference to the buyer"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "resolved");
    assert_eq!(r.body["resolution"]["resolution"], "adjusted");
    assert_eq!(r.body["resolution"]["by"], "demo operator");
    assert!(r.body["resolution"]["at"].is_string());
    let again = as_operator(
        &s,
        reqwest::Method::POST,
        &format!("/v1/reconciliation/discrepancies/{mine_id}/resolve"),
        Some(json!({"resolution": "accepted", "note": "twice"})),
    )
    .await;
    assert_eq!(
        (again.status, again.body["error"]["code"].as_str()),
        (409, Some("already_resolved"))
    );
    let bad = as_operator(
        &s,
        reqwest::Method::POST,
        &format!("/v1/reconciliation/discrepancies/{phantom}/resolve"),
        Some(json!({"resolution": "forgiven", "note": "x"})),
    )
    .await;
    assert_eq!(
        (bad.status, bad.body["error"]["field"].as_str()),
        (400, Some("resolution"))
    );
    let bulk = as_operator(
        &s,
        reqwest::Method::POST,
        "/v1/reconciliation/discrepancies/resolve",
        Some(json!({"filter": {"provider": "xendit", "class": "fee_mismatch"}, "resolution": "accepted", "note": "new rate card"})),
    )
    .await;
    assert_eq!(bulk.status, 200, "{}", bulk.body);
    assert_eq!(
        bulk.body["resolved"].as_array().unwrap().len(),
        1,
        "{}",
        bulk.body
    );
    let ids = [
        phantom.clone(),
        mine_id.clone(),
        "dsc_000000000000000000000000".to_string(),
    ];
    let bulk = as_operator(
        &s,
        reqwest::Method::POST,
        "/v1/reconciliation/discrepancies/resolve",
        Some(json!({"ids": ids, "resolution": "written_off", "note": "not ours to chase"})),
    )
    .await;
    assert_eq!(bulk.status, 200, "{}", bulk.body);
    assert_eq!(bulk.body["resolved"], json!([phantom]));
    assert_eq!(bulk.body["already_resolved"], json!([mine_id]));
    assert_eq!(
        bulk.body["not_found"],
        json!(["dsc_000000000000000000000000"])
    );
    let resolved = discrepancies(
        &s,
        &s.local.demo_operator_key,
        "provider=xendit&status=resolved",
    )
    .await;
    assert_eq!(resolved.len(), 3, "{resolved:?}");

    // The week: the day's run, its totals, discrepancies opened, resolved and still open.
    let w = as_operator(
        &s,
        reqwest::Method::GET,
        &format!("/v1/reconciliation/weeks/xendit/{week}"),
        None,
    )
    .await;
    assert_eq!(w.status, 200, "{}", w.body);
    let days = w.body["days"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    let that_day = days.iter().find(|d| d["date"] == day.to_string()).unwrap();
    assert_eq!(that_day["run"]["state"], "done");
    let opened = open.len() as u64 + 1;
    assert_eq!(w.body["discrepancies"]["opened"], opened, "{}", w.body);
    assert_eq!(w.body["discrepancies"]["resolved"], 3, "{}", w.body);
    assert_eq!(
        w.body["discrepancies"]["still_open"],
        opened - 3,
        "{}",
        w.body
    );
    assert_eq!(w.body["counts"]["healed"], 1, "{}", w.body);
    // Days of the week before today without a run are not reconciled.
    let earlier = w.body["days_not_reconciled"].as_array().unwrap();
    let monday = day.iso_week().monday();
    let before: Vec<String> = (0..day.days_since(monday))
        .map(|n| monday.plus_days(n).to_string())
        .collect();
    assert_eq!(
        earlier
            .iter()
            .map(|d| d.as_str().unwrap().to_string())
            .collect::<Vec<_>>(),
        before,
        "{}",
        w.body
    );
    let _ = matched;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_class_on_one_day_embedded() {
    every_class_on_one_day(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_class_on_one_day_on_dynamodb_and_sqs() {
    every_class_on_one_day(Backend::Aws).await;
}

/// A merchant's own contracted terms (its onboarding with the provider) are what its
/// payments are held to: agreed at 1.00% while Xendit takes the account's 1.50%, the payment
/// is a fee mismatch naming the merchant's fee; with its terms raised to 1.50%, the day's
/// rerun matches it.
async fn a_merchants_own_terms_are_checked(backend: Backend) {
    let s = stack(backend).await.unwrap();
    let path = format!("/v1/onboarding/{}/xendit", s.local.demo_merchant);
    let terms = |bps: u32| json!({"state": "live", "terms": {"fee_bps": bps}});
    let put = as_operator(&s, reqwest::Method::PUT, &path, Some(terms(100))).await;
    assert_eq!(put.status, 200, "{}", put.body);
    let day = today(&s, Provider::Xendit);
    let reference = walletpay_tests::unique("terms");
    let a = s
        .create(&reference, &walletpay_tests::stack::dana_order(&reference))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    let amount = a.body["amount"].as_i64().unwrap();
    let sim = s
        .simulate(a.body["provider_reference"].as_str().unwrap(), "success")
        .await;
    assert_eq!(sim.status, 200, "{}", sim.body);
    s.wait_for(&id, "succeeded").await;
    publish(&s, "xendit", day).await;

    let run = reconcile(&s, "xendit", day).await;
    assert_eq!(run["state"], "done", "{run}");
    assert_eq!(counts(&run).get("fee_mismatch"), Some(&1), "{run}");
    let found = discrepancies(
        &s,
        &s.local.demo_operator_key,
        "provider=xendit&class=fee_mismatch",
    )
    .await;
    let d = found
        .iter()
        .find(|d| d["payment_id"] == id.as_str())
        .unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(d["contracted_fee"], amount / 100, "{d}");
    assert_eq!(d["provider_fee"], amount * 150 / 10_000, "{d}");

    let put = as_operator(&s, reqwest::Method::PUT, &path, Some(terms(150))).await;
    assert_eq!(put.status, 200, "{}", put.body);
    let again = reconcile(&s, "xendit", day).await;
    assert_eq!(again["state"], "done", "{again}");
    let c = counts(&again);
    assert_eq!(c.get("fee_mismatch"), None, "{again}");
    assert_eq!(c.get("matched"), Some(&1), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchants_own_terms_are_checked_embedded() {
    a_merchants_own_terms_are_checked(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchants_own_terms_are_checked_on_dynamodb() {
    a_merchants_own_terms_are_checked(Backend::Aws).await;
}

/// Routes the demo merchant's `country:wallet` to `provider`.
async fn route(s: &Stack, provider: &str, country: &str, wallet: &str) {
    let set = s
        .http
        .patch(s.url("/v1/merchant"))
        .header("authorization", format!("Bearer {}", s.local.demo_key))
        .body(json!({"wallet_providers": {format!("{country}:{wallet}"): provider}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200, "{}", set.text().await.unwrap());
}

/// A payment of `amount` in `country`'s currency with `wallet`, paid at `provider`'s sandbox
/// (its webhook delivered); the payment once it is `succeeded`.
async fn paid_at(
    s: &Stack,
    provider: &str,
    country: &str,
    wallet: &str,
    amount: i64,
    reference: &str,
) -> Value {
    let currency = match country {
        "ID" => "IDR",
        "TH" => "THB",
        "BR" => "BRL",
        c => panic!("{c}"),
    };
    let order = json!({
        "merchant_reference": reference,
        "amount": amount,
        "currency": currency,
        "country": country,
        "wallet": wallet,
        "customer": walletpay_tests::buyer(country, reference),
        "return_url": "https://shop.example/thanks",
    });
    let a = s.create(reference, &order).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let r = s
        .http
        .post(s.url(&format!(
            "/sandbox/{provider}/simulate/{}",
            a.body["provider_reference"].as_str().unwrap()
        )))
        .body(json!({"outcome": "success"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    s.wait_for(a.body["id"].as_str().unwrap(), "succeeded")
        .await
}

/// A paid payment and a refund of it, on `provider`, and a payment whose amount the
/// provider books otherwise: the provider's own settlement source, format and amounts read
/// (every row of ours matched, the other amount caught).
async fn one_provider(s: &Stack, provider: &str, country: &str, wallet: &str, amount: i64) {
    route(s, provider, country, wallet).await;
    let pay = |tag: &str| {
        let reference = format!("{provider}-{tag}");
        async move { paid_at(s, provider, country, wallet, amount, &reference).await }
    };
    let paid = pay("paid").await;
    let pid = paid["id"].as_str().unwrap().to_string();
    let refund_id = refund(s, &pid, amount / 3, "part").await;
    let off = pay("off").await;
    let oid = off["id"].as_str().unwrap().to_string();
    fault(
        s,
        provider,
        json!({"fault": "other_amount", "reference": oid, "amount_minor": amount - 10_000}),
    )
    .await;
    let p = Provider::parse(provider).unwrap();
    let day = today(s, p);
    let run = if provider == "adyen" {
        // Adyen's report exists once its batch closes and is announced.
        let waiting = reconcile_waiting(s, provider, day).await;
        assert!(
            waiting["reason"]
                .as_str()
                .unwrap()
                .contains("no settlement details report"),
            "{waiting}"
        );
        publish(s, provider, day).await;
        wait_run(s, waiting["id"].as_str().unwrap(), &["done", "failed"]).await
    } else {
        reconcile(s, provider, day).await
    };
    assert_eq!(run["state"], "done", "{provider}: {run}");
    let c = counts(&run);
    // Adyen's batch report ends in its payout line, the provider's own (matched).
    let payout = usize::from(provider == "adyen") as u64;
    assert_eq!(
        c.get("matched").copied().unwrap_or(0),
        2 + payout,
        "{provider}: charge and refund: {c:?} {run}"
    );
    assert_eq!(
        c.get("amount_mismatch").copied().unwrap_or(0),
        1,
        "{provider}: {c:?}"
    );
    assert_eq!(run["summary"]["discrepancies"], 1, "{provider}: {run}");
    let open = discrepancies(
        s,
        &s.local.demo_operator_key,
        &format!("provider={provider}"),
    )
    .await;
    assert_eq!(open.len(), 1, "{provider}: {open:?}");
    assert_eq!(open[0]["payment_id"], oid.as_str());
    assert_eq!(open[0]["provider_amount"], amount - 10_000);
    let report = report_of(s, &run).await;
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("matched,no,refund,") && l.contains(&refund_id)),
        "{provider}: the refund matched:\n{report}"
    );
}

/// Asks for a day's run and waits until it waits for the provider.
async fn reconcile_waiting(s: &Stack, provider: &str, day: Date) -> Value {
    let a = as_operator(
        s,
        reqwest::Method::POST,
        "/v1/reconciliation/runs",
        Some(json!({"provider": provider, "date": day})),
    )
    .await;
    assert_eq!(a.status, 202, "{}", a.body);
    wait_run(s, a.body["id"].as_str().unwrap(), &["waiting"]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_providers_own_settlement_source_is_read() {
    let s = stack(Backend::Embedded).await.unwrap();
    one_provider(&s, "stripe", "TH", "promptpay", 300_000).await;
    one_provider(&s, "adyen", "ID", "dana", 30_000_000).await;
    one_provider(&s, "midtrans", "ID", "gopay", 30_000_000).await;
    one_provider(&s, "dana", "ID", "dana", 30_000_000).await;
    one_provider(&s, "promptpay", "TH", "promptpay", 300_000).await;
    one_provider(&s, "pix", "BR", "pix", 300_000).await;
}

/// A report published late waits (retried with backoff) and runs once it is out; a
/// provider that is down waits the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_report_and_a_provider_down_wait_and_are_retried() {
    let s = stack(Backend::Embedded).await.unwrap();
    for (provider, country, wallet, amount, words) in [
        ("stripe", "TH", "promptpay", 300_000, "data through"),
        ("xendit", "ID", "dana", 15_000_000, "could not be asked"),
    ] {
        route(&s, provider, country, wallet).await;
        paid_at(
            &s,
            provider,
            country,
            wallet,
            amount,
            &format!("late-{provider}"),
        )
        .await;
        let day = today(&s, Provider::parse(provider).unwrap());
        fault(&s, provider, json!({"fault": "late_report", "date": day})).await;
        let waiting = reconcile_waiting(&s, provider, day).await;
        assert!(
            waiting["reason"].as_str().unwrap().contains(words),
            "{provider}: {waiting}"
        );
        // Asked again with backoff, still waiting, until the data is out.
        tokio::time::sleep(Duration::from_millis(900)).await;
        let still = wait_run(&s, waiting["id"].as_str().unwrap(), &["waiting"]).await;
        assert!(
            still["attempt"].as_u64().unwrap() > waiting["attempt"].as_u64().unwrap(),
            "{provider}: retried: {still}"
        );
        publish(&s, provider, day).await;
        let done = wait_run(&s, waiting["id"].as_str().unwrap(), &["done"]).await;
        assert_eq!(counts(&done).get("matched"), Some(&1), "{provider}: {done}");
    }
}

/// A row that does not read fails the run, naming the row; nothing is opened or healed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_report_row_fails_the_run_naming_it() {
    let s = stack(Backend::Embedded).await.unwrap();
    for (provider, country, wallet, amount) in [
        ("midtrans", "ID", "gopay", 30_000_000),
        ("xendit", "ID", "dana", 15_000_000),
        ("adyen", "ID", "dana", 30_000_000),
        ("pix", "BR", "pix", 300_000),
    ] {
        route(&s, provider, country, wallet).await;
        let paid = paid_at(
            &s,
            provider,
            country,
            wallet,
            amount,
            &format!("garbled-{provider}"),
        )
        .await;
        let id = paid["id"].as_str().unwrap();
        fault(&s, provider, json!({"fault": "garble", "reference": id})).await;
        let day = today(&s, Provider::parse(provider).unwrap());
        let run = if provider == "adyen" {
            // The report's announcement starts the run.
            publish(&s, provider, day).await;
            let id = walletpay_ports::reconcile::RunRecord::id_for(Provider::Adyen, day);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            loop {
                let a = as_operator(
                    &s,
                    reqwest::Method::GET,
                    &format!("/v1/reconciliation/runs/{id}"),
                    None,
                )
                .await;
                if a.status == 200 && a.body["state"] == "failed" {
                    break a.body;
                }
                assert!(tokio::time::Instant::now() < deadline, "{}", a.body);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        } else {
            reconcile(&s, provider, day).await
        };
        assert_eq!(run["state"], "failed", "{provider}: {run}");
        let reason = run["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("row "),
            "{provider}: names the row: {reason}"
        );
        assert!(
            run["summary"].is_null(),
            "{provider}: never a partial success: {run}"
        );
        assert!(discrepancies(
            &s,
            &s.local.demo_operator_key,
            &format!("provider={provider}")
        )
        .await
        .is_empty());
    }
}

/// A worker killed part-way through a run: its record stays `running` until its lease ends,
/// then the redelivered job runs the day again, to the same result, without opening a
/// discrepancy twice; while the lease holds, a job for the day does not start it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_is_run_again_to_the_same_result() {
    use walletpay_ports::reconcile::{RunRecord, RunState};
    let s = stack(Backend::Embedded).await.unwrap();
    let lost = paid_without_callback(&s, "killed-lost").await;
    let off = s.paid("killed-off", 15_000_000).await;
    let oid = off["id"].as_str().unwrap();
    fault(
        &s,
        "xendit",
        json!({"fault": "other_amount", "reference": oid, "amount_minor": 14_000_000}),
    )
    .await;
    let day = today(&s, Provider::Xendit);
    let app = &s.local.app;
    // A first attempt that healed and opened its discrepancy, then died before its record.
    let first = walletpay_app::reconcile::run_day(app, Provider::Xendit, day, false)
        .await
        .unwrap();
    let walletpay_app::reconcile::Started::Ran(done) = first else {
        panic!("{first:?}")
    };
    let opened = discrepancies(&s, &s.local.demo_operator_key, "provider=xendit").await;
    assert_eq!(opened.len(), 1, "{done:?}");
    let mut killed = done.clone();
    killed.state = RunState::Running;
    killed.summary = None;
    killed.lease_until = Some(walletpay_tests::now().plus_seconds(3600));
    killed.version += 1;
    app.store.put_run(&killed).await.unwrap();
    // Its lease holds: a job for the day leaves it alone.
    let busy = walletpay_app::reconcile::run_day(app, Provider::Xendit, day, true)
        .await
        .unwrap();
    assert!(
        matches!(busy, walletpay_app::reconcile::Started::Busy(_)),
        "{busy:?}"
    );
    // The lease ends; the job comes again.
    let mut expired = app
        .store
        .get_run(Provider::Xendit, day)
        .await
        .unwrap()
        .unwrap();
    expired.lease_until = Some(walletpay_tests::now().plus_seconds(-1));
    expired.version += 1;
    app.store.put_run(&expired).await.unwrap();
    let job = serde_json::to_string(&walletpay_api::reconcile::job(Provider::Xendit, day)).unwrap();
    let again = walletpay_app::reconcile::process_job(app, &job)
        .await
        .unwrap();
    let walletpay_app::reconcile::Started::Ran(after) = again else {
        panic!("{again:?}")
    };
    assert_eq!(after.state, RunState::Done);
    assert_eq!(
        after.summary.as_ref().unwrap().counts,
        done.summary.as_ref().unwrap().counts
    );
    assert_eq!(
        after.summary.as_ref().unwrap().heals,
        0,
        "healed once, by the first attempt"
    );
    assert_eq!(
        discrepancies(&s, &s.local.demo_operator_key, "provider=xendit")
            .await
            .len(),
        1
    );
    let successes = s
        .history(lost["id"].as_str().unwrap())
        .await
        .iter()
        .filter(|h| h.event == "succeeded")
        .count();
    assert_eq!(successes, 1);
    assert_eq!(
        RunRecord::parse_id(&after.id),
        Some((Provider::Xendit, day))
    );
}

/// Adyen's `REPORT_AVAILABLE` notification is kept and starts the day's run by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adyens_report_notification_starts_the_days_run() {
    let s = stack(Backend::Embedded).await.unwrap();
    route(&s, "adyen", "ID", "dana").await;
    paid_at(&s, "adyen", "ID", "dana", 15_000_000, "adyen-notice").await;
    let day = today(&s, Provider::Adyen);
    publish(&s, "adyen", day).await;
    let id = walletpay_ports::reconcile::RunRecord::id_for(Provider::Adyen, day);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let run = loop {
        let a = as_operator(
            &s,
            reqwest::Method::GET,
            &format!("/v1/reconciliation/runs/{id}"),
            None,
        )
        .await;
        if a.status == 200 && a.body["state"] == "done" {
            break a.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no run started: {}",
            a.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The charge, and the batch's payout line.
    assert_eq!(counts(&run).get("matched"), Some(&2), "{run}");
    assert_eq!(
        run["summary"]["totals"]["IDR"]["provider_payouts"],
        run["summary"]["totals"]["IDR"]["expected_payout"],
        "{run}"
    );
    assert!(
        run["source"]
            .as_str()
            .unwrap()
            .contains("settlement_detail_report_batch_"),
        "{run}"
    );
    let notices = s
        .local
        .app
        .store
        .report_notices(Provider::Adyen, day.plus_days(1))
        .await
        .unwrap();
    assert_eq!(notices.len(), 1);
}

/// Bad requests get a stable code and a field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_with_a_code() {
    let s = stack(Backend::Embedded).await.unwrap();
    let day = today(&s, Provider::Xendit);
    for (method, path, body, status, code, field) in [
        (
            reqwest::Method::POST,
            "/v1/reconciliation/runs",
            Some(json!({"provider": "paypal", "date": day})),
            400,
            "invalid_parameter",
            Some("provider"),
        ),
        (
            reqwest::Method::POST,
            "/v1/reconciliation/runs",
            Some(json!({"provider": "xendit", "date": "01-12-2026"})),
            400,
            "invalid_parameter",
            Some("date"),
        ),
        (
            reqwest::Method::POST,
            "/v1/reconciliation/runs",
            Some(json!({"provider": "xendit", "date": day.plus_days(2)})),
            400,
            "invalid_parameter",
            Some("date"),
        ),
        (
            reqwest::Method::POST,
            "/v1/reconciliation/runs",
            Some(json!({"provider": "xendit"})),
            400,
            "invalid_json",
            None,
        ),
        (
            reqwest::Method::GET,
            "/v1/reconciliation/runs/rcn_xendit_19990101",
            None,
            404,
            "not_found",
            None,
        ),
        (
            reqwest::Method::GET,
            "/v1/reconciliation/runs/nonsense/report.csv",
            None,
            404,
            "not_found",
            None,
        ),
        (
            reqwest::Method::GET,
            "/v1/reconciliation/weeks/xendit/2026-53",
            None,
            400,
            "invalid_parameter",
            Some("week"),
        ),
        (
            reqwest::Method::GET,
            "/v1/reconciliation/discrepancies",
            None,
            400,
            "invalid_parameter",
            Some("provider"),
        ),
        (
            reqwest::Method::GET,
            "/v1/reconciliation/discrepancies?provider=xendit&class=weird",
            None,
            400,
            "invalid_parameter",
            Some("class"),
        ),
        (
            reqwest::Method::GET,
            "/v1/reconciliation/discrepancies?provider=xendit&status=closed",
            None,
            400,
            "invalid_parameter",
            Some("status"),
        ),
        (
            reqwest::Method::PUT,
            "/v1/reconciliation/contracts/xendit",
            Some(
                json!({"fees": [{"percent_bps": 20000}], "settlement": {"days": 1, "basis": "working"}}),
            ),
            400,
            "invalid_contract",
            None,
        ),
        (
            reqwest::Method::PUT,
            "/v1/reconciliation/contracts/xendit",
            Some(json!({"fees": 1})),
            400,
            "invalid_json",
            None,
        ),
        (
            reqwest::Method::POST,
            "/v1/reconciliation/discrepancies/resolve",
            Some(json!({"resolution": "accepted", "note": "x"})),
            400,
            "invalid_parameter",
            Some("ids"),
        ),
        (
            reqwest::Method::POST,
            "/v1/reconciliation/discrepancies/resolve",
            Some(json!({"ids": ["dsc_1"], "resolution": "accepted", "note": " "})),
            400,
            "invalid_parameter",
            Some("note"),
        ),
    ] {
        let a = as_operator(&s, method.clone(), path, body).await;
        assert_eq!(a.status, status, "{method} {path}: {}", a.body);
        assert_eq!(a.body["error"]["code"], code, "{method} {path}: {}", a.body);
        assert_eq!(
            a.body["error"]["field"].as_str(),
            field,
            "{method} {path}: {}",
            a.body
        );
    }
}
