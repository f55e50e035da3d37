//! The back office in a real headless Chromium, on both backends: signing in with the
//! merchant's key (a session cookie, never the key), the overview's figures equal to the
//! analytics API's, its chart drawn, the failure reasons' table with what customers read,
//! a payment's timeline, another shop's payment not found, and a payment held for review
//! approved from the page (its CSRF token checked). Screenshots of each page; no console
//! errors.

use fantoccini::Locator;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use walletpay_local::Backend;
use walletpay_tests::browser::Browser;
use walletpay_tests::stack::{dana_order, start};

/// The cells of the row `css` picks.
async fn cells(b: &Browser, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for td in b
        .client
        .find_all(Locator::Css(&format!("{css} td")))
        .await
        .unwrap()
    {
        out.push(td.text().await.unwrap());
    }
    assert!(!out.is_empty(), "no row {css}");
    out
}

async fn text(b: &Browser, css: &str) -> String {
    b.client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Every table the current page offers as CSV downloads, with the session's cookie, as the
/// table it exports: the table's columns, one line per row of it, each line's first cell in
/// its row.
async fn exports_match(b: &Browser, s: &walletpay_tests::stack::Stack, cookie: &str) -> usize {
    let links = b.client.find_all(Locator::Css("a.export")).await.unwrap();
    assert!(!links.is_empty(), "the page offers no export");
    for link in &links {
        let table = link.attr("data-export").await.unwrap().unwrap();
        let href = link.attr("href").await.unwrap().unwrap();
        let r = s
            .http
            .get(s.url(&href))
            .header("cookie", format!("wp_dash={cookie}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{href}");
        assert_eq!(
            r.headers()["content-type"],
            "text/csv; charset=utf-8",
            "{href}"
        );
        let disposition = r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            disposition.starts_with("attachment; filename=") && disposition.ends_with(".csv\""),
            "{disposition}"
        );
        let body = r.text().await.unwrap();
        let mut lines = body.lines();
        let columns = lines.next().unwrap_or_default().split(',').count();
        let heads = b
            .client
            .find_all(Locator::Css(&format!("#{table} thead th")))
            .await
            .unwrap()
            .len();
        let rows = b
            .client
            .find_all(Locator::Css(&format!("#{table} tbody tr")))
            .await
            .unwrap();
        let lines: Vec<&str> = lines.collect();
        assert_eq!(lines.len(), rows.len(), "{table}: {body}");
        // The page may add a column of its own (a checkbox, buttons); the CSV never drops one.
        assert!(columns + 1 >= heads && columns > 1, "{table}: {body}");
        for (line, row) in lines.iter().zip(&rows) {
            let first = line.split(',').next().unwrap().trim_matches('"');
            assert!(row.text().await.unwrap().contains(first), "{table}: {line}");
        }
    }
    let nowhere = s
        .http
        .get(s.url(&format!(
            "{}?export=no_such",
            b.client.current_url().await.unwrap().path()
        )))
        .header("cookie", format!("wp_dash={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(nowhere.status(), 404, "{}", nowhere.url());
    links.len()
}

async fn dashboard(backend: Backend) {
    let Some(s) = start(backend).await else {
        return;
    };
    let key = s.local.demo_key.clone();
    // Two DANA payments paid, one refused for insufficient balance.
    let mut ids = Vec::new();
    for (i, outcome) in ["success", "success", "insufficient_balance"]
        .into_iter()
        .enumerate()
    {
        let reference = walletpay_tests::unique(&format!("dash{i}"));
        let a = s.create(&reference, &dana_order(&reference)).await;
        assert_eq!(a.status, 201, "{}", a.body);
        let sim = s
            .simulate(a.body["provider_reference"].as_str().unwrap(), outcome)
            .await;
        assert_eq!(sim.status, 200, "{}", sim.body);
        let want = if outcome == "success" {
            "succeeded"
        } else {
            "failed"
        };
        s.wait_for(a.body["id"].as_str().unwrap(), want).await;
        ids.push(a.body["id"].as_str().unwrap().to_string());
    }
    // A refund the provider keeps pending (the sandbox's magic IDR 1,111).
    let pending = s
        .post_json(
            &format!("/v1/payments/{}/refunds", ids[0]),
            &key,
            "dash-refund",
            &json!({"amount": 111_100}),
        )
        .await;
    assert_eq!(pending.status, 201, "{}", pending.body);
    let pending_id = pending.body["id"].as_str().unwrap().to_string();
    // Then one held for review.
    let put = s
        .http
        .request(Method::PUT, s.url("/v1/risk/config"))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(json!({"rules": [{"id": "all", "kind": "amount_per_payment", "max_minor": 1, "action": {"type": "review"}}]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    // A domain the shop blocks (no payment of this test uses it).
    let listed = s
        .post_json(
            "/v1/risk/lists/block",
            &key,
            "dash-block",
            &json!({"entries": [{"kind": "email_domain", "value": "mailinator.com"}]}),
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let held = s
        .create("dash-held", &dana_order(&walletpay_tests::unique("held")))
        .await;
    assert_eq!(held.body["status"], "requires_review", "{}", held.body);
    let held_id = held.body["id"].as_str().unwrap().to_string();
    // The figures settle (the consumer counts behind the writes).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let summary = loop {
        let a = s.get_path("/v1/analytics/summary", &key).await;
        if a.body["current"]["attempts"] == 4
            && a.body["current"]["successes"] == 2
            && a.body["current"]["failures"] == 1
        {
            break a.body;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", a.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let Some(mut b) = Browser::start(&format!("dashboard-{backend:?}"), 1280, 1000, "en").await
    else {
        return;
    };
    b.client.goto(&s.url("/dashboard")).await.unwrap();
    b.wait_for("#key", 10).await.send_keys(&key).await.unwrap();
    b.shot("sign-in").await;
    b.client
        .find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for(".cards", 10).await;
    // The key is not kept: the browser holds a session cookie only.
    let cookies = b.client.get_all_cookies().await.unwrap();
    let dash = cookies
        .iter()
        .find(|c| c.name() == "wp_dash")
        .expect("a session cookie");
    assert!(dash.http_only().unwrap_or(false) && dash.secure().unwrap_or(false));
    assert_ne!(dash.value(), key);
    for (figure, api) in [
        ("attempts", summary["current"]["attempts"].to_string()),
        ("successes", summary["current"]["successes"].to_string()),
    ] {
        assert_eq!(
            text(&b, &format!("[data-figure={figure}] .value")).await,
            api,
            "{figure}"
        );
    }
    let rate = summary["current"]["success_rate_bp"].as_i64().unwrap();
    assert_eq!(
        text(&b, "[data-figure=success_rate] .value").await,
        format!("{}.{:02}%", rate / 100, rate % 100)
    );
    b.wait_for("#chart canvas", 10).await;
    b.shot("overview").await;
    b.assert_clean_console("/dashboard").await;

    // A row per wallet and provider: DANA through Xendit, its figures the API's.
    b.client.goto(&s.url("/dashboard/wallets")).await.unwrap();
    let dana = b
        .wait_for("#wallets tr[data-wallet=dana][data-provider=xendit]", 10)
        .await
        .text()
        .await
        .unwrap();
    assert!(dana.starts_with("ID dana xendit 4 2 66.66%"), "{dana}");
    assert!(dana.ends_with("insufficient_balance (1)"), "{dana}");
    b.shot("wallets").await;
    assert_eq!(exports_match(&b, &s, dash.value()).await, 1);
    // The same table as CSV, with the session's cookie.
    let csv = s
        .http
        .get(s.url("/dashboard/wallets?export=wallets"))
        .header("cookie", format!("wp_dash={}", dash.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("country,wallet,provider,attempts,successes,success_rate,volume,top_failures")
    );
    assert!(
        csv.contains("ID,dana,xendit,4,2,66.66%,IDR 300000.00,insufficient_balance (1)"),
        "{csv}"
    );
    b.client.goto(&s.url("/dashboard/providers")).await.unwrap();
    b.wait_for("#health tbody tr", 10).await;
    let xendit = b
        .wait_for("#onboarding tr[data-provider=xendit]", 10)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        xendit.contains("no record (live)") && xendit.contains("yes"),
        "{xendit}"
    );
    assert_eq!(exports_match(&b, &s, dash.value()).await, 2);
    b.shot("providers").await;
    b.assert_clean_console("/dashboard").await;

    // Refunds: by stage, and the pending one, oldest first.
    b.client.goto(&s.url("/dashboard/refunds")).await.unwrap();
    let requested = b
        .wait_for("#stages tr[data-stage=requested]", 10)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        requested.starts_with("requested 1 IDR 1111.00"),
        "{requested}"
    );
    let waiting = b
        .wait_for(&format!("#pending tr[data-refund={pending_id}]"), 10)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        waiting.contains(&ids[0]) && waiting.contains("IDR 1111.00"),
        "{waiting}"
    );
    assert_eq!(exports_match(&b, &s, dash.value()).await, 2);
    b.shot("refunds").await;
    // Risk control: the shop's rules, and the backtest's curve drawn.
    b.client.goto(&s.url("/dashboard/risk")).await.unwrap();
    let rule = b
        .wait_for("#rules tr[data-rule=all]", 10)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(rule, "all amount_per_payment review active");
    b.wait_for("#curve canvas", 10).await;
    // The curve is the backtest's (the API's answer for the same 30 days), thresholds
    // ascending. The shop's "review everything" rule stops every payment at every
    // threshold, so no good payment is paid anywhere on it.
    let series: serde_json::Value = serde_json::from_str(
        &b.client
            .find(Locator::Css("#curve"))
            .await
            .unwrap()
            .attr("data-series")
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    let at = |ms: i64| serde_json::to_value(walletpay_tests::now().plus_millis(ms)).unwrap();
    let bt = s
        .http
        .post(s.url("/v1/risk/backtest"))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(json!({"from": at(-30 * 86_400_000), "to": at(60_000)}).to_string())
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let mut curve = bt["curve"].as_array().unwrap().clone();
    curve.sort_by_key(|p| p["threshold"].as_u64().unwrap());
    let thresholds: Vec<serde_json::Value> = curve.iter().map(|p| p["threshold"].clone()).collect();
    assert_eq!(series["x"].as_array().unwrap(), &thresholds);
    let paid: Vec<f64> = curve
        .iter()
        .map(|p| (p["success_rate"].as_f64().unwrap() * 10_000.0).round() / 100.0)
        .collect();
    let drawn: Vec<f64> = series["series"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(drawn, paid);
    assert!(drawn.iter().all(|v| *v == 0.0), "{series}");
    // The period's decisions are the analytics API's: one payment held for review.
    let held_row = b
        .wait_for("#decisions tbody tr:nth-child(2)", 10)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        held_row,
        format!("held for review {}", summary["current"]["risk"]["review"])
    );
    assert!(held_row.ends_with(" 1"), "{held_row}");
    // The shop's block list, as the API holds it.
    let entry = b
        .wait_for("#entries tr[data-list=block]", 10)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        entry.starts_with("block email_domain mailinator.com"),
        "{entry}"
    );
    assert_eq!(exports_match(&b, &s, dash.value()).await, 4);
    b.shot("risk").await;
    b.assert_clean_console("/dashboard").await;

    b.client.goto(&s.url("/dashboard/failures")).await.unwrap();
    let row = b
        .wait_for("#failures tbody tr", 10)
        .await
        .text()
        .await
        .unwrap();
    assert!(row.starts_with("insufficient_balance 1 100.00%"), "{row}");
    assert!(
        row.contains(walletpay_domain::FailureCategory::InsufficientBalance.message_en()),
        "{row}"
    );
    let by_wallet = text(&b, "#by_wallet tr[data-wallet=dana]").await;
    assert_eq!(by_wallet, "dana 1 100.00% insufficient_balance (1)");
    assert_eq!(exports_match(&b, &s, dash.value()).await, 3);
    b.shot("failures").await;
    b.assert_clean_console("/dashboard").await;

    // A payment's timeline; another shop's payment is not found.
    b.client
        .goto(&s.url(&format!("/dashboard/payments?q={}", ids[1])))
        .await
        .unwrap();
    b.wait_for("#timeline", 10).await;
    let events: Vec<String> = {
        let mut out = Vec::new();
        for r in b
            .client
            .find_all(Locator::Css("#timeline tbody tr td:nth-child(3)"))
            .await
            .unwrap()
        {
            out.push(r.text().await.unwrap());
        }
        out
    };
    assert_eq!(events, ["created", "accepted", "succeeded"]);
    assert_eq!(exports_match(&b, &s, dash.value()).await, 1);
    b.shot("payment").await;
    // Search: the failed one by status, then by its reference.
    b.client
        .goto(&s.url("/dashboard/payments?list=1&status=failed"))
        .await
        .unwrap();
    let found = b.wait_for("#found tbody tr", 10).await;
    assert_eq!(
        found.attr("data-payment").await.unwrap().as_deref(),
        Some(ids[2].as_str())
    );
    assert_eq!(
        b.client
            .find_all(Locator::Css("#found tbody tr"))
            .await
            .unwrap()
            .len(),
        1
    );
    let reference = s.get(&ids[1], &key).await.body["merchant_reference"]
        .as_str()
        .unwrap()
        .to_string();
    b.client
        .goto(&s.url(&format!("/dashboard/payments?list=1&reference={reference}")))
        .await
        .unwrap();
    let rows = b
        .client
        .find_all(Locator::Css("#found tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].attr("data-payment").await.unwrap().as_deref(),
        Some(ids[1].as_str())
    );
    assert_eq!(exports_match(&b, &s, dash.value()).await, 1);
    b.shot("search").await;
    let other = s.other_merchant().await;
    let theirs = s
        .create_raw(
            Some(&other),
            Some("theirs-1"),
            dana_order(&walletpay_tests::unique("theirs")).to_string(),
        )
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.body);
    b.client
        .goto(&s.url(&format!(
            "/dashboard/payments?q={}",
            theirs.body["id"].as_str().unwrap()
        )))
        .await
        .unwrap();
    assert_eq!(
        text(&b, ".notice").await,
        "No payment of yours has that id."
    );
    assert!(b.client.find(Locator::Css("#timeline")).await.is_err());
    // The page answers 404, which the console notes: that, and nothing else.
    for entry in b.console().await {
        let m = entry["message"].as_str().unwrap_or("");
        assert!(
            m.contains("/dashboard/payments?q=") && m.contains("404"),
            "{entry}"
        );
    }

    // The review queue: approve from the page.
    b.client.goto(&s.url("/dashboard/reviews")).await.unwrap();
    let row = b.wait_for(&format!("tr[data-payment={held_id}]"), 10).await;
    assert_eq!(exports_match(&b, &s, dash.value()).await, 1);
    b.shot("reviews").await;
    row.find(Locator::Css("button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let notice = b.wait_for(".notice", 10).await.text().await.unwrap();
    assert_eq!(notice, format!("{held_id}: approved."));
    let p = s.get(&held_id, &key).await;
    assert_eq!(
        p.body["risk"]["review"]["decision"], "approve",
        "{}",
        p.body
    );
    assert!(b
        .client
        .find(Locator::Css(&format!("tr[data-payment={held_id}]")))
        .await
        .is_err());
    b.shot("review-approved").await;
    b.assert_clean_console("/dashboard").await;

    // A form without its session's token is refused.
    let forged = s
        .http
        .post(s.url(&format!("/dashboard/reviews/{held_id}")))
        .header("cookie", format!("wp_dash={}", dash.value()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("csrf=not-it&decision=decline")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    // An operator resolves two open discrepancies at once, with a note.
    let mut opened = Vec::new();
    for n in 0..2u64 {
        let d = walletpay_ports::reconcile::Discrepancy {
            id: format!(
                "dsc_{:024x}",
                rand::random::<u64>() as u128 * 1_000 + n as u128
            ),
            provider: walletpay_domain::Provider::Xendit,
            class: walletpay_reconcile::Class::AmountMismatch,
            day: walletpay_reconcile::Date::parse("2026-11-30").unwrap(),
            run_id: "rcn_xendit_20261130".into(),
            status: walletpay_ports::reconcile::DiscrepancyStatus::Open,
            payment_id: None,
            refund_id: None,
            merchant_id: Some(s.local.demo_merchant.clone()),
            provider_reference: Some(format!("pr-dash-{n}")),
            currency: Some(walletpay_domain::Currency::IDR),
            our_amount: Some(15_000_000),
            provider_amount: Some(14_900_000),
            provider_fee: None,
            contracted_fee: None,
            due_on: None,
            detail: "the provider booked another amount".into(),
            opened_at: walletpay_tests::now(),
            resolution: None,
            version: 1,
        };
        assert!(s.local.app.store.insert_discrepancy(&d).await.unwrap());
        opened.push(d.id);
    }
    b.client
        .goto(&s.url("/dashboard/reconciliation"))
        .await
        .unwrap();
    // Signed in as the merchant: its own discrepancies, read only; no runs, no roll-ups
    // (the platform's), on the page or as exports.
    for id in &opened {
        b.wait_for(&format!("tr[data-discrepancy={id}]"), 10).await;
    }
    assert!(b.client.find(Locator::Css("#note")).await.is_err());
    assert!(b.client.find(Locator::Css("#runs")).await.is_err());
    assert!(b.client.find(Locator::Css("#weeks")).await.is_err());
    for table in ["runs", "weeks"] {
        let r = s
            .http
            .get(s.url(&format!(
                "/dashboard/reconciliation?provider=xendit&export={table}"
            )))
            .header("cookie", format!("wp_dash={}", dash.value()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{table}");
    }
    assert_eq!(exports_match(&b, &s, dash.value()).await, 1);
    b.client
        .find(Locator::Css("header button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for("#key", 10)
        .await
        .send_keys(&s.local.demo_operator_key)
        .await
        .unwrap();
    b.client
        .find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for(".cards", 10).await;
    let operator_cookie = b
        .client
        .get_all_cookies()
        .await
        .unwrap()
        .iter()
        .find(|c| c.name() == "wp_dash")
        .expect("the operator's session cookie")
        .value()
        .to_string();
    // Today's Xendit day reconciled: its batch published, its run asked for and done.
    let offset = s
        .local
        .app
        .settings
        .reconcile
        .offset(walletpay_domain::Provider::Xendit);
    let today = walletpay_reconcile::Date::of(walletpay_tests::now(), offset);
    let published = s
        .http
        .post(s.url("/sandbox/xendit/settlement/publish"))
        .header("content-type", "application/json")
        .body(json!({"date": today}).to_string())
        .send()
        .await
        .unwrap();
    assert!(
        published.status().is_success(),
        "{}",
        published.text().await.unwrap()
    );
    let operator_key = s.local.demo_operator_key.clone();
    let asked = s
        .post_json(
            "/v1/reconciliation/runs",
            &operator_key,
            "dash-run",
            &json!({"provider": "xendit", "date": today}),
        )
        .await;
    assert_eq!(asked.status, 202, "{}", asked.body);
    let run_id = asked.body["id"].as_str().unwrap().to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let run = loop {
        let r = s
            .get_path(&format!("/v1/reconciliation/runs/{run_id}"), &operator_key)
            .await;
        if r.body["state"] == "done" {
            break r.body;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", r.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    b.client
        .goto(&s.url("/dashboard/reconciliation?provider=xendit"))
        .await
        .unwrap();
    // The run as the API has it, and the week's roll-up counting it and the two open.
    let day_row = cells(&b, &format!("#runs tr[data-day=\"{today}\"]")).await;
    let api = |v: &serde_json::Value| match v {
        serde_json::Value::Null => String::new(),
        v => v.to_string(),
    };
    assert_eq!(
        day_row[..6],
        [
            today.to_string(),
            "done".into(),
            "1".into(),
            api(&run["summary"]["rows"]),
            api(&run["summary"]["entries"]),
            api(&run["summary"]["counts"]["matched"]),
        ],
        "{run}"
    );
    assert!(run["summary"]["rows"].as_u64().unwrap() >= 2, "{run}");
    let week = today.iso_week().to_string();
    let week_row = format!("#weeks tr[data-week=\"{week}\"]");
    let before = cells(&b, &week_row).await;
    // Week, days reconciled, days not, opened, resolved, still open, carried over, ...
    assert_eq!(before[0], week);
    assert!(before[1].starts_with("1 of "), "{before:?}");
    let n = |c: &[String], i: usize| c[i].parse::<u64>().unwrap();
    assert!(n(&before, 5) >= 2, "the two opened this week: {before:?}");
    assert_eq!(exports_match(&b, &s, &operator_cookie).await, 3);
    for id in &opened {
        b.wait_for(
            &format!("tr[data-discrepancy={id}] input[type=checkbox]"),
            10,
        )
        .await
        .click()
        .await
        .unwrap();
    }
    b.client
        .find(Locator::Css("#note"))
        .await
        .unwrap()
        .send_keys("Checked with Xendit support")
        .await
        .unwrap();
    b.shot("reconciliation").await;
    b.client
        .find(Locator::Css("fieldset button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        b.wait_for(".notice", 10).await.text().await.unwrap(),
        "Resolved 2 as accepted."
    );
    for id in &opened {
        assert!(b
            .client
            .find(Locator::Css(&format!("tr[data-discrepancy={id}]")))
            .await
            .is_err());
        let d = s
            .local
            .app
            .store
            .get_discrepancy(id)
            .await
            .unwrap()
            .unwrap();
        let r = d.resolution.expect("resolved");
        assert_eq!(r.note, "Checked with Xendit support");
        // Recorded under the operator who signed in.
        assert_eq!(r.by, "demo operator");
    }
    // The week's roll-up: two more resolved, two fewer open, as many opened.
    let after = cells(&b, &week_row).await;
    assert_eq!(n(&after, 3), n(&before, 3), "{before:?} {after:?}");
    assert_eq!(n(&after, 4), n(&before, 4) + 2, "{before:?} {after:?}");
    assert_eq!(n(&after, 5), n(&before, 5) - 2, "{before:?} {after:?}");
    b.shot("reconciliation-resolved").await;
    b.assert_clean_console("/dashboard").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dashboard_embedded() {
    dashboard(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dashboard_aws() {
    dashboard(Backend::Aws).await;
}
