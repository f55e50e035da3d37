//! The hosted checkout page in a real headless Chromium, on both backends: the wallets of
//! Indonesia in the catalog's order with their marks and Indonesian text; a QR wallet paid
//! and the buyer landing on the shop's return URL; an insufficient balance declined on the
//! wallet's own (sandbox) page, its Indonesian reason, a switch to another wallet, paid; a
//! QR code that disappears when it expires; the app button first at a phone's width and
//! the code first at a computer's. Every step is saved as a screenshot under the test
//! output folder, and no step may log a console error (a CSP violation among them).

use fantoccini::Locator;
use serde_json::{json, Value};
use std::time::Duration;
use walletpay_local::{Backend, Options};
use walletpay_tests::browser::Browser;
use walletpay_tests::stack::{start, start_with, Stack};

/// The shop, as a real one is: on https (Xendit takes only https return URLs). Nothing
/// answers there; a buyer sent back is seen at its URL.
const SHOP: &str = "https://shop.example";

/// A session of `amount` in `country`; `language` None leaves it to the browser.
async fn session(
    s: &Stack,
    country: &str,
    currency: &str,
    amount: i64,
    language: Option<&str>,
) -> Value {
    let reference = walletpay_tests::unique("page");
    let mut body = json!({
        "amount": amount, "currency": currency, "country": country,
        "merchant_reference": reference,
        "customer": walletpay_tests::buyer(country, &reference),
        "return_url": format!("{SHOP}/thanks"),
        "cancel_url": format!("{SHOP}/cart"),
        "card_fallback_url": format!("{SHOP}/card"),
    });
    if let Some(l) = language {
        body["language"] = json!(l);
    }
    let a = s
        .post_json(
            "/v1/checkout/sessions",
            &s.local.demo_key,
            &walletpay_tests::unique("cs"),
            &body,
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    a.body
}

/// The payment of the session's latest attempt, once it has one.
async fn latest_payment(s: &Stack, session_id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let a = s
            .get_path(
                &format!("/v1/checkout/sessions/{session_id}"),
                &s.local.demo_key,
            )
            .await;
        let mut last = Value::Null;
        if let Some(id) = a.body["payments"]
            .as_array()
            .and_then(|p| p.last())
            .and_then(|p| p["id"].as_str())
        {
            let p = s.get(id, &s.local.demo_key).await;
            if p.body["provider_reference"].is_string() {
                return p.body;
            }
            last = p.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no payment at a provider: {} {last}",
            a.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The buyer pays in their wallet: the provider's sandbox settles the charge.
async fn wallet_pays(s: &Stack, payment: &Value) {
    let provider = payment["provider"].as_str().unwrap();
    let reference = payment["provider_reference"].as_str().unwrap();
    let resp = s
        .http
        .post(s.url(&format!("/sandbox/{provider}/simulate/{reference}")))
        .header("content-type", "application/json")
        .body(json!({"outcome": "success"}).to_string())
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success(),
        "{provider} simulate: {}",
        resp.text().await.unwrap()
    );
}

async fn texts(b: &Browser, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in b.client.find_all(Locator::Css(css)).await.unwrap() {
        out.push(e.text().await.unwrap());
    }
    out
}

async fn attr(e: &fantoccini::elements::Element, name: &str) -> String {
    e.attr(name).await.unwrap().unwrap_or_default()
}

/// Indonesia: the wallets in the catalog's order with their marks, in Indonesian from the
/// browser's `Accept-Language`; DANA declined for insufficient balance on its own page, the
/// reason in Indonesian, the recoveries offered, OVO chosen instead and paid.
async fn indonesian_buyer_recovers(backend: Backend) {
    let Some(s) = start(backend).await else {
        return;
    };
    let Some(mut b) = Browser::start(
        &format!("checkout-page-id-{backend:?}"),
        1280,
        900,
        "id-ID,id",
    )
    .await
    else {
        return;
    };
    // The shop's first-purchase incentive with DANA.
    let at = |ms: i64| serde_json::to_value(walletpay_tests::now().plus_millis(ms)).unwrap();
    let inc = s
        .post_json(
            "/v1/incentives",
            &s.local.demo_key,
            &walletpay_tests::unique("inc"),
            &json!({"country": "ID", "wallet": "dana", "discount": {"type": "fixed", "amount": 500000},
                    "budget": 100000000, "valid_from": at(-60_000), "valid_until": at(3_600_000)}),
        )
        .await;
    assert_eq!(inc.status, 201, "{}", inc.body);
    let cs = session(&s, "ID", "IDR", 15_000_000, None).await;
    let page = cs["url"].as_str().unwrap().to_string();
    b.client.goto(&page).await.unwrap();
    b.wait_for("#choose", 10).await;
    assert_eq!(
        texts(&b, "button[data-wallet=dana] .incentive").await,
        ["Hemat Rp 5.000 untuk pembayaran DANA pertama Anda"]
    );
    assert!(texts(&b, "button[data-wallet=ovo] .incentive")
        .await
        .is_empty());
    assert_eq!(texts(&b, "#choose").await, ["Pilih dompet Anda"]);
    let mut order = Vec::new();
    for e in b
        .client
        .find_all(Locator::Css("button.wallet"))
        .await
        .unwrap()
    {
        order.push(attr(&e, "data-wallet").await);
    }
    assert_eq!(
        order[..5],
        ["dana", "ovo", "gopay", "shopeepay", "linkaja"],
        "{order:?}"
    );
    assert_eq!(
        texts(&b, "button.wallet .name").await[..5],
        ["DANA", "OVO", "GoPay", "ShopeePay", "LinkAja"]
    );
    for line in texts(&b, "button.wallet .tagline").await {
        assert_eq!(line, "Bayar dengan dompet yang sudah Anda pakai");
    }
    // Every mark loaded (an SVG of our own, drawn at its size).
    let loaded = b
        .client
        .execute(
            "return [...document.querySelectorAll('button.wallet img')].map(i => i.complete && i.naturalWidth > 0 && new URL(i.src).pathname.startsWith('/checkout/assets/logos/'))",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        loaded.as_array().unwrap().iter().all(|v| v == true),
        "{loaded}"
    );
    assert_eq!(texts(&b, ".total strong").await, ["Rp 150.000"]);
    b.shot("wallets").await;
    b.assert_clean_console("/checkout/").await;

    // DANA: its page opens beside the checkout, which keeps watching the payment.
    b.client
        .find(Locator::Css("button[data-wallet=dana]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let open = b.wait_for("#open-wallet", 15).await;
    assert_eq!(open.text().await.unwrap(), "Lanjutkan ke DANA");
    assert_eq!(attr(&open, "target").await, "_blank");
    assert_eq!(
        texts(&b, ".panel .incentive").await,
        ["Potongan Rp 5.000 sudah diterapkan: Anda membayar Rp 145.000"]
    );
    b.shot("dana-waiting").await;
    let checkout_window = b.client.window().await.unwrap();
    open.click().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let wallet_window = loop {
        let windows = b.client.windows().await.unwrap();
        if let Some(w) = windows.into_iter().find(|w| *w != checkout_window) {
            break w;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the wallet's page did not open"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    b.client.switch_to_window(wallet_window).await.unwrap();
    let decline = b.wait_for("button[value=insufficient_balance]", 10).await;
    b.shot("dana-wallet-page").await;
    decline.click().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.client.close_window().await.unwrap();
    b.client.switch_to_window(checkout_window).await.unwrap();

    // The reason in Indonesian, and the ways on in the category's order: the same wallet
    // again, another wallet (DANA not among them), the shop's card page.
    let reason = b.wait_for("#reason", 20).await;
    assert_eq!(
        reason.text().await.unwrap(),
        walletpay_domain::failure_message(
            walletpay_domain::FailureCategory::InsufficientBalance,
            walletpay_domain::Lang::Id
        )
    );
    assert_eq!(texts(&b, "#retry").await, ["Coba lagi dengan DANA"]);
    assert_eq!(texts(&b, "#choose").await, ["Bayar dengan dompet lain"]);
    let mut others = Vec::new();
    for e in b
        .client
        .find_all(Locator::Css("button.wallet"))
        .await
        .unwrap()
    {
        others.push(attr(&e, "data-wallet").await);
    }
    assert_eq!(
        others[..4],
        ["ovo", "gopay", "shopeepay", "linkaja"],
        "{others:?}"
    );
    let card = b.client.find(Locator::Css("#card")).await.unwrap();
    assert_eq!(card.text().await.unwrap(), "Bayar dengan kartu");
    assert_eq!(attr(&card, "href").await, format!("{SHOP}/card"));
    b.shot("dana-declined").await;
    b.assert_clean_console("/checkout/").await;

    // OVO: a push to the buyer's phone; they approve it; the page takes them to the shop.
    b.client
        .find(Locator::Css("button[data-wallet=ovo]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let push = b.wait_for(".push", 15).await;
    assert_eq!(
        push.text().await.unwrap(),
        "Buka aplikasi OVO di ponsel Anda dan setujui pembayarannya."
    );
    b.shot("ovo-push").await;
    b.assert_clean_console("/checkout/").await;
    let ovo = latest_payment(&s, cs["id"].as_str().unwrap()).await;
    assert_eq!(ovo["wallet"], "ovo");
    wallet_pays(&s, &ovo).await;
    let landed = b.wait_for_url(&format!("{SHOP}/thanks"), 20).await;
    assert_eq!(
        landed
            .query_pairs()
            .find(|(k, _)| k == "checkout_session")
            .map(|(_, v)| v.to_string()),
        Some(cs["id"].as_str().unwrap().to_string())
    );
    // One order, one payment taken: DANA's failed, OVO's succeeded.
    let done = s
        .get_path(
            &format!("/v1/checkout/sessions/{}", cs["id"].as_str().unwrap()),
            &s.local.demo_key,
        )
        .await;
    assert_eq!(done.body["status"], "complete");
    let statuses: Vec<&str> = done.body["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["failed", "succeeded"]);
    b.close().await;
}

/// Thailand: PromptPay's code with its amount and countdown, paid from a banking app, and
/// the buyer back at the shop.
async fn qr_wallet_pays(backend: Backend) {
    let Some(s) = start(backend).await else {
        return;
    };
    let Some(mut b) = Browser::start(
        &format!("checkout-page-qr-{backend:?}"),
        1280,
        900,
        "en-US,en",
    )
    .await
    else {
        return;
    };
    let cs = session(&s, "TH", "THB", 150_000, Some("th")).await;
    b.client.goto(cs["url"].as_str().unwrap()).await.unwrap();
    b.wait_for("button[data-wallet=promptpay]", 10)
        .await
        .click()
        .await
        .unwrap();
    let qr = b.wait_for("#qr svg.qr", 15).await;
    assert_eq!(attr(&qr, "role").await, "img");
    let block = texts(&b, "#qr").await.join(" ");
    assert!(block.contains("฿1,500.00"), "{block}");
    let countdown = texts(&b, "#qr .countdown").await[0].clone();
    assert!(countdown.contains(':'), "{countdown}");
    b.shot("promptpay-qr").await;
    b.assert_clean_console("/checkout/").await;
    let payment = latest_payment(&s, cs["id"].as_str().unwrap()).await;
    // The code on the page is the one the provider issued for this payment.
    assert_eq!(payment["next_action"]["type"], "qr", "{payment}");
    let drawn = attr(
        &b.client
            .find(Locator::Css("#qr svg.qr path"))
            .await
            .unwrap(),
        "d",
    )
    .await;
    let issued =
        walletpay_checkout_page::qr_svg(payment["next_action"]["data"].as_str().unwrap(), "")
            .unwrap();
    assert!(
        issued.contains(&format!("d=\"{drawn}\"")),
        "the page's code is not the payment's"
    );
    wallet_pays(&s, &payment).await;
    let landed = b
        .wait_for_url(&format!("{SHOP}/thanks?checkout_session="), 20)
        .await;
    assert!(
        landed.as_str().ends_with(cs["id"].as_str().unwrap()),
        "{landed}"
    );
    b.close().await;
}

/// A code shown until its payment expires, then gone (the countdown hides it; the page
/// then says the payment was not approved in time).
async fn expired_qr_disappears(backend: Backend) {
    let mut opts = Options::default();
    opts.settings.payment_ttl = Duration::from_secs(8);
    opts.settings.status_check_delays = vec![Duration::from_secs(2)];
    let Some(s) = start_with(backend, opts).await else {
        return;
    };
    let Some(mut b) = Browser::start(
        &format!("checkout-page-expiry-{backend:?}"),
        1280,
        900,
        "id",
    )
    .await
    else {
        return;
    };
    let cs = session(&s, "TH", "THB", 150_000, Some("th")).await;
    b.client.goto(cs["url"].as_str().unwrap()).await.unwrap();
    b.wait_for("button[data-wallet=promptpay]", 10)
        .await
        .click()
        .await
        .unwrap();
    b.wait_for("#qr svg.qr", 15).await;
    b.shot("qr-counting-down").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let shown = match b.client.find(Locator::Css("#qr")).await {
            Ok(e) => e.is_displayed().await.unwrap_or(false),
            Err(_) => false,
        };
        if !shown {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the expired code is still shown"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    b.shot("qr-gone").await;
    // Then the payment's own end: not approved in time, try again.
    let reason = b.wait_for("#reason", 30).await;
    assert_eq!(
        reason.text().await.unwrap(),
        walletpay_domain::failure_message(
            walletpay_domain::FailureCategory::Expired,
            walletpay_domain::Lang::Th
        )
    );
    assert!(b.client.find(Locator::Css("#qr")).await.is_err());
    b.shot("expired-try-again").await;
    b.assert_clean_console("/checkout/").await;
    b.close().await;
}

/// ShopeePay (an app link and a code): at a phone's width the app button comes first, at a
/// computer's the code does.
async fn phone_shows_the_app_first(backend: Backend) {
    let Some(s) = start(backend).await else {
        return;
    };
    for (name, width, height, app_first) in
        [("phone", 390, 844, true), ("desktop", 1280, 900, false)]
    {
        let Some(mut b) = Browser::start(
            &format!("checkout-page-{name}-{backend:?}"),
            width,
            height,
            "id",
        )
        .await
        else {
            return;
        };
        let cs = session(&s, "ID", "IDR", 15_000_000, Some("id")).await;
        b.client.goto(cs["url"].as_str().unwrap()).await.unwrap();
        b.wait_for("button[data-wallet=shopeepay]", 10)
            .await
            .click()
            .await
            .unwrap();
        let open = b.wait_for("#open-wallet", 15).await;
        assert_eq!(open.text().await.unwrap(), "Buka ShopeePay");
        b.wait_for("#qr svg.qr", 5).await;
        let (button, code) = (b.top_of("#open-wallet").await, b.top_of("#qr").await);
        assert_eq!(
            button < code,
            app_first,
            "{name}: button at {button}, code at {code}"
        );
        // Nothing wider than the screen.
        let overflow = b
            .client
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(overflow, json!(false), "{name}: the page scrolls sideways");
        b.shot(&format!("shopeepay-{name}")).await;
        b.assert_clean_console("/checkout/").await;
        b.close().await;
    }
}

/// With JavaScript off the wallet choice still works (a form post), a waiting page refreshes
/// itself, and every answer carries the CSP, sets no cookie and is never cached.
async fn works_without_javascript(backend: Backend) {
    let Some(s) = start(backend).await else {
        return;
    };
    let cs = session(&s, "ID", "IDR", 15_000_000, Some("id")).await;
    let page = cs["url"].as_str().unwrap().to_string();
    let resp = s.http.get(&page).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self';"));
    assert_eq!(h["cache-control"], "no-store");
    assert!(h.get("set-cookie").is_none());
    let html = resp.text().await.unwrap();
    assert!(
        !html.contains("<script>") && !html.contains(" style="),
        "inline script or style"
    );

    let Some(mut b) = Browser::start_with(
        &format!("checkout-page-nojs-{backend:?}"),
        390,
        844,
        "id",
        &["--blink-settings=scriptEnabled=false"],
    )
    .await
    else {
        return;
    };
    b.client.goto(&page).await.unwrap();
    b.wait_for("button[data-wallet=dana]", 10)
        .await
        .click()
        .await
        .unwrap();
    let open = b.wait_for("#open-wallet", 15).await;
    assert_eq!(open.text().await.unwrap(), "Lanjutkan ke DANA");
    // No script: the page refreshes itself while it waits, and says how to check again.
    let refresh = b
        .client
        .execute("return document.querySelector('noscript') !== null", vec![])
        .await
        .unwrap();
    assert_eq!(refresh, json!(true));
    assert_eq!(texts(&b, ".panel a.secondary").await, ["Periksa lagi"]);
    b.shot("dana-without-javascript").await;
    b.assert_clean_console("/checkout/").await;
    // Paid: the page sends the buyer on to the shop by itself.
    wallet_pays(&s, &latest_payment(&s, cs["id"].as_str().unwrap()).await).await;
    b.client.refresh().await.unwrap();
    b.wait_for_url(&format!("{SHOP}/thanks?checkout_session="), 20)
        .await;
    b.close().await;

    // A form posted from elsewhere starts nothing.
    let fresh = session(&s, "ID", "IDR", 15_000_000, Some("id")).await;
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "https://shop-lookalike.example"),
    ] {
        let resp = s
            .http
            .post(format!("{}/pay", fresh["url"].as_str().unwrap()))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(name, value)
            .body("wallet=dana")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{name}: {value}");
    }
    let untouched = s
        .get_path(
            &format!("/v1/checkout/sessions/{}", fresh["id"].as_str().unwrap()),
            &s.local.demo_key,
        )
        .await;
    assert_eq!(untouched.body["payments"], json!([]));
    // A browser that names only the origin (no Sec-Fetch-Site), this page's: accepted.
    let resp = walletpay_wallet_adapter::tls::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/pay", fresh["url"].as_str().unwrap()))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", s.local.base_url.clone())
        .body("wallet=dana")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
}

#[tokio::test(flavor = "multi_thread")]
async fn works_without_javascript_embedded() {
    works_without_javascript(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn works_without_javascript_aws() {
    works_without_javascript(Backend::Aws).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn indonesian_buyer_recovers_embedded() {
    indonesian_buyer_recovers(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn indonesian_buyer_recovers_aws() {
    indonesian_buyer_recovers(Backend::Aws).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn qr_wallet_pays_embedded() {
    qr_wallet_pays(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn qr_wallet_pays_aws() {
    qr_wallet_pays(Backend::Aws).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_qr_disappears_embedded() {
    expired_qr_disappears(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_qr_disappears_aws() {
    expired_qr_disappears(Backend::Aws).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn phone_shows_the_app_first_embedded() {
    phone_shows_the_app_first(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn phone_shows_the_app_first_aws() {
    phone_shows_the_app_first(Backend::Aws).await;
}
