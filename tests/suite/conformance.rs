//! One conformance suite for every adapter: the same scenarios run against every (provider,
//! wallet) pair through that provider's sandbox over HTTP, on the local stack. A new
//! provider gets them by being added to `PROVIDERS`.
//!
//! Scenarios: success; each failure category (the customer's, and the wallet unavailable at
//! create); a create that times out, resolved by a status check (or, where the provider
//! has no way to find a charge it never named, by its webhook); duplicate and out-of-order
//! webhooks; forged and replayed webhooks rejected; a full refund; two partial refunds; a
//! refund the provider refuses.

use serde_json::{json, Value};
use std::time::Duration;
use walletpay_app::Settings;
use walletpay_local::{Backend, Options};
use walletpay_tests::stack::{start_with, Answer, Stack};
use walletpay_wallet_adapter::sandbox_kit::{magic, Outcome};

/// A provider under test: its wallets, and the sandbox's magic amounts (whole units).
struct ProviderCase {
    name: &'static str,
    /// (country, wallet) pairs this provider serves.
    wallets: &'static [(&'static str, &'static str)],
    /// Create is refused: the wallet is unavailable (where the provider has such an answer).
    unavailable: Option<i64>,
    /// The failure outcomes the provider can tell apart.
    outcomes: &'static [Outcome],
    /// Create makes the charge and answers after the client gave up.
    slow: i64,
    /// Whether the provider can name a charge whose create timed out (an idempotent replay
    /// or a lookup by our reference); if not, its webhook resolves the payment.
    recovers_unknown_create: bool,
    /// Whether the provider can be asked where a charge stands; if not (Adyen), outcomes
    /// come by webhook only, which it retries until accepted.
    status_query: bool,
    /// Whether its webhooks carry a signature (API Pix's do not: they are only hints).
    signed_webhooks: bool,
}

const PROVIDERS: &[ProviderCase] = &[
    ProviderCase {
        name: "xendit",
        wallets: &[
            ("ID", "dana"),
            ("ID", "ovo"),
            ("ID", "shopeepay"),
            ("ID", "linkaja"),
            ("ID", "qris"),
            ("PH", "gcash"),
            ("PH", "maya"),
            ("PH", "grabpay"),
            ("PH", "qrph"),
            ("VN", "momo"),
            ("VN", "zalopay"),
            ("TH", "truemoney"),
            ("TH", "rabbit_line_pay"),
            ("TH", "shopeepay"),
        ],
        unavailable: Some(10101),
        outcomes: &ALL_FAILURES,
        slow: 10999,
        recovers_unknown_create: true,
        status_query: true,
        signed_webhooks: true,
    },
    ProviderCase {
        name: "stripe",
        wallets: &[
            ("TH", "promptpay"),
            ("BR", "pix"),
            ("MY", "grabpay"),
            ("SG", "grabpay"),
        ],
        unavailable: Some(magic::UNAVAILABLE),
        outcomes: &ALL_FAILURES,
        slow: magic::SLOW,
        recovers_unknown_create: true,
        status_query: true,
        signed_webhooks: true,
    },
    ProviderCase {
        name: "adyen",
        wallets: &[
            ("ID", "dana"),
            ("ID", "gopay"),
            ("PH", "gcash"),
            ("VN", "momo"),
            ("MY", "touch_n_go"),
            ("MY", "grabpay"),
            ("TH", "truemoney"),
            ("BR", "pix"),
        ],
        unavailable: Some(magic::UNAVAILABLE),
        outcomes: &ALL_FAILURES,
        slow: magic::SLOW,
        recovers_unknown_create: true,
        status_query: false,
        signed_webhooks: true,
    },
    ProviderCase {
        name: "midtrans",
        wallets: &[("ID", "gopay"), ("ID", "shopeepay"), ("ID", "qris")],
        unavailable: None,
        // Midtrans reports declines only as deny, cancel or expire.
        outcomes: &[
            Outcome::UserCancelled,
            Outcome::Expired,
            Outcome::RiskRejected,
        ],
        slow: magic::SLOW,
        recovers_unknown_create: true,
        status_query: true,
        signed_webhooks: true,
    },
    ProviderCase {
        name: "pix",
        wallets: &[("BR", "pix")],
        unavailable: None,
        // A Pix is paid or not: an unpaid charge expires, nothing is declined.
        outcomes: &[],
        slow: magic::SLOW,
        recovers_unknown_create: true,
        status_query: true,
        signed_webhooks: false,
    },
    ProviderCase {
        name: "dana",
        wallets: &[("ID", "dana")],
        unavailable: None,
        outcomes: &ALL_FAILURES,
        slow: magic::SLOW,
        recovers_unknown_create: true,
        status_query: true,
        signed_webhooks: true,
    },
    ProviderCase {
        name: "promptpay",
        wallets: &[("TH", "promptpay")],
        unavailable: None,
        // A PromptPay transfer is made or not: an unpaid bill expires, nothing is declined.
        outcomes: &[],
        slow: magic::SLOW,
        recovers_unknown_create: true,
        status_query: true,
        signed_webhooks: true,
    },
];

const ALL_FAILURES: [Outcome; 7] = [
    Outcome::InsufficientBalance,
    Outcome::UserCancelled,
    Outcome::Expired,
    Outcome::RiskRejected,
    Outcome::LimitExceeded,
    Outcome::InvalidAccount,
    Outcome::Timeout,
];

/// Every payment in the suite is for this many whole units (above every refund magic value,
/// within every wallet's limits).
const AMOUNT_MAJOR: i64 = 3000;

fn currency_of(country: &str) -> (&'static str, u32) {
    match country {
        "ID" => ("IDR", 2),
        "TH" => ("THB", 2),
        "MY" => ("MYR", 2),
        "PH" => ("PHP", 2),
        "VN" => ("VND", 0),
        "BR" => ("BRL", 2),
        "SG" => ("SGD", 2),
        other => panic!("no currency for {other}"),
    }
}

fn minor(country: &str, major: i64) -> i64 {
    major * 10i64.pow(currency_of(country).1)
}

fn order(country: &str, wallet: &str, major: i64, reference: &str) -> Value {
    json!({
        "merchant_reference": reference,
        "amount": minor(country, major),
        "currency": currency_of(country).0,
        "country": country,
        "wallet": wallet,
        "customer": walletpay_tests::buyer(country, reference),
        "return_url": "https://shop.example/thanks",
        "description": "Conformance"
    })
}

async fn stack() -> Stack {
    stack_with_checks(vec![Duration::from_millis(300), Duration::from_millis(500)]).await
}

/// The stack a scenario runs on. A timed-out create is only a timed-out create if the
/// provider's answer is still on its way when our client gives up; the first status check
/// (which recovers a create whose answer was lost by sending it again) must then come
/// after that, or on a loaded machine it can reach the provider first, leave the create's
/// own request to find the charge made, and answer at once. The first check there waits
/// past the provider timeout (700 ms) with room for the create's work before its call.
async fn stack_for(scenario: &str) -> Stack {
    match scenario {
        "timeout_then_resolution" => {
            stack_with_checks(vec![
                Duration::from_millis(2000),
                Duration::from_millis(500),
            ])
            .await
        }
        _ => stack().await,
    }
}

async fn stack_with_checks(status_check_delays: Vec<Duration>) -> Stack {
    let opts = Options {
        settings: Settings {
            status_check_delays,
            refund_retry_delays: vec![Duration::from_millis(200)],
            ..Settings::default()
        },
        provider_timeout: Duration::from_millis(700),
        sandbox_slow_response: Duration::from_millis(1500),
        ..Options::default()
    };
    start_with(Backend::Embedded, opts)
        .await
        .expect("the embedded stack needs nothing")
}

/// Routes `country:wallet` to `provider` for the demo merchant.
async fn choose(s: &Stack, provider: &str, country: &str, wallet: &str) {
    let resp = s
        .http
        .patch(s.url("/v1/merchant"))
        .header("authorization", format!("Bearer {}", s.local.demo_key))
        .body(json!({"wallet_providers": {format!("{country}:{wallet}"): provider}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}

async fn simulate(s: &Stack, provider: &str, reference: &str, body: Value) -> Answer {
    let resp = s
        .http
        .post(s.url(&format!("/sandbox/{provider}/simulate/{reference}")))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let a = Stack::answer(resp).await;
    assert_eq!(a.status, 200, "simulate at {provider}: {}", a.body);
    a
}

/// Creates a payment of `major` units and checks it waits for the customer.
async fn create(
    s: &Stack,
    p: &ProviderCase,
    country: &str,
    wallet: &str,
    major: i64,
    tag: &str,
) -> Value {
    let reference = format!("{}-{country}-{wallet}-{tag}", p.name);
    let a = s
        .create(&reference, &order(country, wallet, major, &reference))
        .await;
    assert_eq!(a.status, 201, "{reference}: {}", a.body);
    if a.body["next_action"]["type"] == "qr" {
        let data = a.body["next_action"]["data"].as_str().unwrap();
        assert_qr_is_valid(data, minor(country, major), country);
    }
    a.body
}

/// A QR payload shown to a customer: valid down to every nested field, and, read by its
/// scheme's own parser, for the payment's amount.
fn assert_qr_is_valid(data: &str, amount_minor: i64, country: &str) {
    use walletpay_domain::emv;
    if let Err(e) = emv::parse_strict(data) {
        panic!("{country}: an invalid EMV payload {data:?}: {e}");
    }
    let amount = match country {
        "BR" => emv::BrCode::parse(data).map(|c| c.amount),
        "TH" => emv::PromptPayBill::parse(data).map(|c| Some(c.amount)),
        "ID" => emv::Qris::parse(data).map(|c| c.amount),
        "PH" => emv::QrPh::parse(data).map(|c| c.amount),
        other => panic!("no QR scheme for {other}"),
    }
    .unwrap_or_else(|e| panic!("{country}: {data:?}: {e}"));
    assert_eq!(amount.map(|a| a.minor), Some(amount_minor), "{data}");
}

async fn paid(s: &Stack, p: &ProviderCase, country: &str, wallet: &str, tag: &str) -> Value {
    let a = create(s, p, country, wallet, AMOUNT_MAJOR, tag).await;
    assert_eq!(a["status"], "requires_action", "{a}");
    let reference = a["provider_reference"].as_str().unwrap();
    simulate(s, p.name, reference, json!({"outcome": "success"})).await;
    s.wait_for(a["id"].as_str().unwrap(), "succeeded").await
}

async fn events(s: &Stack, id: &str) -> Vec<String> {
    s.history(id).await.into_iter().map(|h| h.event).collect()
}

/// Runs `scenario` for every wallet of every provider, each on the provider it names.
macro_rules! conformance {
    ($($scenario:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $scenario() {
            let s = stack_for(stringify!($scenario)).await;
            for p in PROVIDERS {
                for (country, wallet) in p.wallets {
                    choose(&s, p.name, country, wallet).await;
                    scenarios::$scenario(&s, p, country, wallet).await;
                }
            }
        }
    )*};
}

conformance!(
    success,
    each_failure_category,
    wallet_unavailable_at_create,
    timeout_then_resolution,
    duplicate_and_reordered_webhooks,
    forged_and_replayed_webhooks_rejected,
    full_refund,
    two_partial_refunds,
    refund_refused_by_the_provider,
);

mod scenarios {
    use super::*;

    pub async fn success(s: &Stack, p: &ProviderCase, country: &str, wallet: &str) {
        let a = create(s, p, country, wallet, AMOUNT_MAJOR, "ok").await;
        assert_eq!(a["status"], "requires_action", "{a}");
        assert!(a["next_action"]["type"].is_string(), "{a}");
        let id = a["id"].as_str().unwrap();
        simulate(
            s,
            p.name,
            a["provider_reference"].as_str().unwrap(),
            json!({"outcome": "success"}),
        )
        .await;
        let done = s.wait_for(id, "succeeded").await;
        assert_eq!(done["amount"], minor(country, AMOUNT_MAJOR));
        assert_eq!(events(s, id).await, ["created", "accepted", "succeeded"]);
    }

    pub async fn each_failure_category(s: &Stack, p: &ProviderCase, country: &str, wallet: &str) {
        for outcome in p.outcomes {
            let a = create(s, p, country, wallet, AMOUNT_MAJOR, outcome.name()).await;
            let id = a["id"].as_str().unwrap();
            simulate(
                s,
                p.name,
                a["provider_reference"].as_str().unwrap(),
                json!({"outcome": outcome.name()}),
            )
            .await;
            let failed = s.wait_for(id, "failed").await;
            assert_eq!(
                failed["failure"]["category"],
                outcome.category().unwrap(),
                "{} {country} {wallet} {}: {failed}",
                p.name,
                outcome.name()
            );
        }
    }

    pub async fn wallet_unavailable_at_create(
        s: &Stack,
        p: &ProviderCase,
        country: &str,
        wallet: &str,
    ) {
        let Some(magic) = p.unavailable else {
            return;
        };
        let a = create(s, p, country, wallet, magic, "unavailable").await;
        assert_eq!(a["status"], "failed", "{a}");
        assert_eq!(a["failure"]["category"], "wallet_unavailable", "{a}");
    }

    pub async fn timeout_then_resolution(s: &Stack, p: &ProviderCase, country: &str, wallet: &str) {
        let a = create(s, p, country, wallet, p.slow, "slow").await;
        assert_eq!(a["status"], "processing", "a timeout is not a failure: {a}");
        let id = a["id"].as_str().unwrap();
        if p.recovers_unknown_create {
            // The status check finds the charge the timed-out create made...
            let found = s.wait_for(id, "requires_action").await;
            let reference = found["provider_reference"]
                .as_str()
                .expect("recovered reference");
            if p.status_query {
                // ...and, with the webhook lost, finds it paid.
                let lost = json!({"outcome": "success", "send_callback": false});
                simulate(s, p.name, reference, lost).await;
                s.wait_for(id, "succeeded").await;
                let h = s.history(id).await;
                assert_eq!(h.last().unwrap().source, "status_check", "{h:?}");
            } else {
                // ...whose outcome then comes by webhook (the provider cannot be asked).
                simulate(s, p.name, reference, json!({"outcome": "success"})).await;
                s.wait_for(id, "succeeded").await;
            }
        } else {
            // The provider cannot be asked about a charge it never named to us: its webhook
            // (which carries our payment id) settles the payment.
            let reference = sandbox_reference(s, p, id).expect("the sandbox made the charge");
            simulate(s, p.name, &reference, json!({"outcome": "success"})).await;
            s.wait_for(id, "succeeded").await;
        }
        assert_eq!(sandbox_charges(s, p, id), 1, "one charge, never two");
    }

    pub async fn duplicate_and_reordered_webhooks(
        s: &Stack,
        p: &ProviderCase,
        country: &str,
        wallet: &str,
    ) {
        let a = create(s, p, country, wallet, AMOUNT_MAJOR, "dup").await;
        let id = a["id"].as_str().unwrap();
        simulate(
            s,
            p.name,
            a["provider_reference"].as_str().unwrap(),
            json!({"outcome": "success", "duplicate": true, "stale_after": true}),
        )
        .await;
        s.wait_for(id, "succeeded").await;
        // The stale webhook (sent last) changes nothing, and the duplicate adds nothing.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            s.get(id, &s.local.demo_key).await.body["status"],
            "succeeded"
        );
        assert_eq!(events(s, id).await, ["created", "accepted", "succeeded"]);
    }

    pub async fn forged_and_replayed_webhooks_rejected(
        s: &Stack,
        p: &ProviderCase,
        country: &str,
        wallet: &str,
    ) {
        let a = create(s, p, country, wallet, AMOUNT_MAJOR, "forged").await;
        let id = a["id"].as_str().unwrap().to_string();
        let reference = a["provider_reference"].as_str().unwrap().to_string();
        let forged = webhooks::forged_success(p.name, &a);
        let answer = post_webhook(s, p.name, forged).await;
        if p.signed_webhooks {
            assert_eq!(answer, 401, "{} forged webhook", p.name);
        } else {
            // Unsigned by the standard: taken as a hint, which the provider then denies.
            assert_eq!(answer, 200, "{} hint", p.name);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            s.get(&id, &s.local.demo_key).await.body["status"],
            "requires_action"
        );
        assert_eq!(events(s, &id).await, ["created", "accepted"]);

        simulate(s, p.name, &reference, json!({"outcome": "success"})).await;
        s.wait_for(&id, "succeeded").await;
        let before = events(s, &id).await;
        // The genuine success message, captured and sent again later: refused where the
        // provider's signature covers a time; elsewhere it can add nothing.
        let (replay, timestamped) = webhooks::replayed_success(p.name, &a);
        let answer = post_webhook(s, p.name, replay).await;
        if timestamped {
            assert_eq!(answer, 401, "{} replayed webhook", p.name);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            s.get(&id, &s.local.demo_key).await.body["status"],
            "succeeded"
        );
        assert_eq!(events(s, &id).await, before);
    }

    async fn refund(s: &Stack, id: &str, amount: Option<i64>, idem: &str) -> Value {
        let body = match amount {
            Some(a) => json!({"amount": a}),
            None => json!({}),
        };
        let r = s
            .post_json(
                &format!("/v1/payments/{id}/refunds"),
                &s.local.demo_key,
                idem,
                &body,
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }

    /// Whether a provider refunds a wallet's payments, in full or (`partial`) in part.
    /// Xendit refunds neither one-off OVO payments, QR Ph, TrueMoney nor LINE Pay, and
    /// LinkAja in full only.
    fn refundable(p: &ProviderCase, wallet: &str, partial: bool) -> bool {
        match (p.name, wallet) {
            ("xendit", "ovo" | "qrph" | "truemoney" | "rabbit_line_pay") => false,
            ("xendit", "linkaja") => !partial,
            _ => true,
        }
    }

    pub async fn full_refund(s: &Stack, p: &ProviderCase, country: &str, wallet: &str) {
        let paid = paid(s, p, country, wallet, "full").await;
        let id = paid["id"].as_str().unwrap();
        if !refundable(p, wallet, false) {
            // Refused up front, with its own code: nothing reserved, nothing sent.
            let r = s
                .post_json(
                    &format!("/v1/payments/{id}/refunds"),
                    &s.local.demo_key,
                    &format!("{id}-r"),
                    &json!({}),
                )
                .await;
            assert_eq!(
                (r.status, r.body["error"]["code"].as_str()),
                (422, Some("refund_not_supported")),
                "{}",
                r.body
            );
            let after = s.get(id, &s.local.demo_key).await;
            assert_eq!(
                after.body["amount_refundable"],
                minor(country, AMOUNT_MAJOR)
            );
            let listed = s
                .get_path(&format!("/v1/payments/{id}/refunds"), &s.local.demo_key)
                .await;
            assert_eq!(listed.body["data"], json!([]));
            return;
        }
        let r = refund(s, id, None, &format!("{id}-r")).await;
        assert_eq!(r["amount"], minor(country, AMOUNT_MAJOR));
        s.wait_for_refund(id, r["id"].as_str().unwrap(), "succeeded")
            .await;
        s.wait_for(id, "refunded").await;
    }

    pub async fn two_partial_refunds(s: &Stack, p: &ProviderCase, country: &str, wallet: &str) {
        if !refundable(p, wallet, false) {
            return;
        }
        let paid = paid(s, p, country, wallet, "partial").await;
        let id = paid["id"].as_str().unwrap();
        let third = minor(country, AMOUNT_MAJOR / 3);
        if !refundable(p, wallet, true) {
            // In full only: a partial refund is refused up front, nothing reserved.
            let r = s
                .post_json(
                    &format!("/v1/payments/{id}/refunds"),
                    &s.local.demo_key,
                    &format!("{id}-r1"),
                    &json!({"amount": third}),
                )
                .await;
            assert_eq!(
                (r.status, r.body["error"]["code"].as_str()),
                (422, Some("refund_not_supported")),
                "{}",
                r.body
            );
            let after = s.get(id, &s.local.demo_key).await;
            assert_eq!(
                after.body["amount_refundable"],
                minor(country, AMOUNT_MAJOR)
            );
            return;
        }
        let r1 = refund(s, id, Some(third), &format!("{id}-r1")).await;
        let r2 = refund(s, id, Some(third), &format!("{id}-r2")).await;
        s.wait_for_refund(id, r1["id"].as_str().unwrap(), "succeeded")
            .await;
        s.wait_for_refund(id, r2["id"].as_str().unwrap(), "succeeded")
            .await;
        let after = s.wait_for(id, "partially_refunded").await;
        assert_eq!(
            after["amount_refundable"],
            minor(country, AMOUNT_MAJOR) - 2 * third,
            "{after}"
        );
    }

    pub async fn refund_refused_by_the_provider(
        s: &Stack,
        p: &ProviderCase,
        country: &str,
        wallet: &str,
    ) {
        if !refundable(p, wallet, true) {
            // Refused before the provider is asked (see `full_refund`, `two_partial_refunds`).
            return;
        }
        let paid = paid(s, p, country, wallet, "refused").await;
        let id = paid["id"].as_str().unwrap();
        let r = refund(
            s,
            id,
            Some(minor(country, magic::REFUND_FAILS)),
            &format!("{id}-r"),
        )
        .await;
        let failed = s
            .wait_for_refund(id, r["id"].as_str().unwrap(), "failed")
            .await;
        assert!(failed["failure"]["category"].is_string(), "{failed}");
        assert!(
            failed["failure"]["message"]
                .as_str()
                .unwrap()
                .starts_with("The refund"),
            "a refund's failure speaks of the refund: {failed}"
        );
        let after = s.wait_for(id, "succeeded").await;
        assert_eq!(
            after["amount_refundable"],
            minor(country, AMOUNT_MAJOR),
            "the reservation is given back: {after}"
        );
    }
}

/// The provider's reference for our payment, from the sandbox itself.
fn sandbox_reference(s: &Stack, p: &ProviderCase, payment_id: &str) -> Option<String> {
    match p.name {
        "xendit" => s
            .local
            .xendit
            .payment_requests()
            .into_iter()
            .find(|r| r.reference_id == payment_id)
            .map(|r| r.payment_request_id),
        "stripe" => s.local.stripe.intent_for(payment_id).map(|pi| pi.id),
        "adyen" => s
            .local
            .adyen
            .payment_for(payment_id)
            .map(|p| p.psp_reference),
        "midtrans" => s
            .local
            .midtrans
            .order(payment_id)
            .map(|_| payment_id.to_string()),
        "pix" => {
            let id = walletpay_domain::PaymentId::parse(payment_id).unwrap();
            let txid = walletpay_wallet_adapter::pix::txid(&id);
            s.local.pix.cob(&txid).map(|_| txid)
        }
        "dana" => s
            .local
            .dana
            .reference_for(payment_id)
            .map(|r| format!("{payment_id}:{r}")),
        "promptpay" => {
            let id = walletpay_domain::PaymentId::parse(payment_id).unwrap();
            let (r1, r2) = walletpay_wallet_adapter::promptpay::references(&id);
            let reference = format!("{r1}{r2}");
            s.local.bank.has_bill(&reference).then_some(reference)
        }
        other => panic!("no sandbox lookup for {other}"),
    }
}

fn sandbox_charges(s: &Stack, p: &ProviderCase, payment_id: &str) -> usize {
    match p.name {
        "xendit" => s.charges_for(payment_id),
        "stripe" => usize::from(s.local.stripe.intent_for(payment_id).is_some()),
        "adyen" => usize::from(s.local.adyen.payment_for(payment_id).is_some()),
        "midtrans" => usize::from(s.local.midtrans.order(payment_id).is_some()),
        "promptpay" | "dana" | "pix" => usize::from(sandbox_reference(s, p, payment_id).is_some()),
        other => panic!("no sandbox lookup for {other}"),
    }
}

async fn post_webhook(
    s: &Stack,
    provider: &str,
    (headers, body): (Vec<(String, String)>, String),
) -> u16 {
    let mut req = s
        .http
        .post(s.url(&format!("/v1/webhooks/{provider}")))
        .body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    req.send().await.unwrap().status().as_u16()
}

/// Webhooks as each provider would send them, signed right or wrong.
mod webhooks {
    use super::*;
    use walletpay_wallet_adapter::dana;
    use walletpay_wallet_adapter::stripe;
    use walletpay_wallet_adapter::xendit;

    type Webhook = (Vec<(String, String)>, String);

    /// A v3 `payment.capture` for the payment (Xendit's documented shape).
    fn xendit_body(payment: &Value) -> String {
        let (currency, exp) = currency_of(payment["country"].as_str().unwrap());
        let major = payment["amount"].as_i64().unwrap() / 10i64.pow(exp);
        json!({
            "event": "payment.capture",
            "business_id": "5f27a14a9bf05c73dd040bc8",
            "created": "2026-11-25T10:00:00.000Z",
            "api_version": "v3",
            "data": {
                "payment_id": "py-1402feb0-bb79-47ae-9d1e-e69394d3949c",
                "business_id": "5f27a14a9bf05c73dd040bc8",
                "reference_id": payment["id"], "payment_request_id": payment["provider_reference"],
                "type": "PAY", "country": payment["country"], "currency": currency,
                "request_amount": major, "capture_method": "AUTOMATIC", "channel_code": "DANA",
                "captures": [{"capture_id": "cptr-fa2abf5c-b5e4-4cd5-95df-f2c949eba332",
                    "capture_amount": major, "capture_timestamp": "2026-11-25T10:00:01.000Z"}],
                "status": "SUCCEEDED", "payment_details": {},
                "created": "2026-11-25T10:00:00.000Z", "updated": "2026-11-25T10:00:01.000Z"
            }
        })
        .to_string()
    }

    fn stripe_body(payment: &Value, created: i64) -> String {
        json!({
            "id": "evt_1captured", "object": "event", "type": "payment_intent.succeeded",
            "created": created, "livemode": false, "api_version": "2024-06-20",
            "data": {"object": {
                "id": payment["provider_reference"], "object": "payment_intent",
                "amount": payment["amount"], "amount_received": payment["amount"],
                "currency": payment["currency"].as_str().unwrap().to_lowercase(),
                "status": "succeeded", "created": created,
                "metadata": {"payment_id": payment["id"]}, "payment_method_types": ["promptpay"]
            }}
        })
        .to_string()
    }

    /// An AUTHORISATION success notification for the payment, signed with `hmac_key`.
    fn adyen_signed(hmac_key: &str, payment: &Value) -> Webhook {
        use walletpay_wallet_adapter::adyen::{mapping, signature};
        let currency: walletpay_domain::Currency =
            payment["currency"].as_str().unwrap().parse().unwrap();
        let amount = mapping::adyen_amount(walletpay_domain::Money {
            minor: payment["amount"].as_i64().unwrap(),
            currency,
        })
        .unwrap();
        let psp = payment["provider_reference"].as_str().unwrap();
        let reference = payment["id"].as_str().unwrap();
        let fields = signature::SignedFields {
            psp_reference: psp,
            original_reference: "",
            merchant_account_code: walletpay_wallet_adapter::adyen::SANDBOX_MERCHANT_ACCOUNT,
            merchant_reference: reference,
            value: amount.value,
            currency: currency.code(),
            event_code: "AUTHORISATION",
            success: "true",
        };
        let sig = signature::sign(hmac_key, &fields.signing_string()).unwrap();
        let body = json!({"live": "false", "notificationItems": [{"NotificationRequestItem": {
            "additionalData": {"hmacSignature": sig},
            "amount": {"currency": currency.code(), "value": amount.value},
            "eventCode": "AUTHORISATION", "eventDate": "2026-11-25T10:00:00+00:00",
            "merchantAccountCode": walletpay_wallet_adapter::adyen::SANDBOX_MERCHANT_ACCOUNT,
            "merchantReference": reference, "pspReference": psp,
            "paymentMethod": "dana", "reason": "", "success": "true"
        }}]});
        (
            vec![("content-type".into(), "application/json".into())],
            body.to_string(),
        )
    }

    /// A settlement notification for the payment, signed with `server_key`.
    fn midtrans_signed(server_key: &str, payment: &Value) -> Webhook {
        let order = payment["id"].as_str().unwrap();
        let gross = format!("{}.00", payment["amount"].as_i64().unwrap() / 100);
        let sig = walletpay_wallet_adapter::midtrans::signature::signature_key(
            order, "200", &gross, server_key,
        );
        let body = json!({
            "transaction_time": "2026-11-25 17:00:00", "transaction_status": "settlement",
            "transaction_id": "b0c0a0d0-0000-4000-8000-000000000001", "status_message": "midtrans payment notification",
            "status_code": "200", "signature_key": sig, "settlement_time": "2026-11-25 17:00:05",
            "payment_type": "gopay", "order_id": order, "merchant_id": "G141532850",
            "gross_amount": gross, "fraud_status": "accept", "currency": "IDR"
        });
        (
            vec![("content-type".into(), "application/json".into())],
            body.to_string(),
        )
    }

    /// API Pix's webhook saying the charge was paid (no signature exists to get wrong).
    fn pix_hint(payment: &Value) -> Webhook {
        let body = json!({"pix": [{
            "endToEndId": "E99999999202611251000FORGED00001",
            "txid": payment["provider_reference"],
            "valor": format!("{}.00", payment["amount"].as_i64().unwrap() / 100),
            "horario": "2026-11-25T10:00:00.000Z"
        }]})
        .to_string();
        (
            vec![("content-type".into(), "application/json".into())],
            body,
        )
    }

    /// DANA's finish notification that the payment succeeded, signed with `key` at `t`.
    fn dana_signed(key: &str, t: i64, payment: &Value) -> Webhook {
        let reference = payment["provider_reference"].as_str().unwrap();
        let (ours, theirs) = reference.split_once(':').unwrap();
        let body = json!({
            "originalPartnerReferenceNo": ours, "originalReferenceNo": theirs,
            "merchantId": dana::SANDBOX_MERCHANT_ID,
            "amount": {"value": format!("{}.00", payment["amount"].as_i64().unwrap() / 100), "currency": "IDR"},
            "latestTransactionStatus": "00", "transactionStatusDesc": "Success"
        })
        .to_string();
        let ts = dana::signature::timestamp(walletpay_domain::Timestamp(t * 1000));
        let data = dana::signature::string_to_sign("POST", dana::NOTIFY_PATH, body.as_bytes(), &ts);
        let sig = dana::signature::sign(&dana::signature::private_key(key).unwrap(), &data);
        (
            vec![
                ("content-type".into(), "application/json".into()),
                ("x-timestamp".into(), ts),
                ("x-signature".into(), sig),
            ],
            body,
        )
    }

    /// The acquiring bank's callback that the bill for the payment was paid, signed at `t`.
    fn bank_signed(secret: &str, t: i64, payment: &Value) -> Webhook {
        let id = walletpay_domain::PaymentId::parse(payment["id"].as_str().unwrap()).unwrap();
        let (ref1, ref2) = walletpay_wallet_adapter::promptpay::references(&id);
        let body = json!({"event": "bill_payment.settled", "data": {
            "transaction_id": "2026112500001", "biller_id": walletpay_wallet_adapter::promptpay::SANDBOX_BILLER_ID,
            "ref1": ref1, "ref2": ref2, "amount": format!("{}.00", payment["amount"].as_i64().unwrap() / 100),
            "currency": "THB", "status": "settled", "paid_at": "2026-11-25T10:00:00.000Z"
        }})
        .to_string();
        let header = stripe::signature::header(secret, t, body.as_bytes());
        (vec![("x-bank-signature".into(), header)], body)
    }

    fn stripe_signed(secret: &str, t: i64, body: String) -> Webhook {
        let header = stripe::signature::header(secret, t, body.as_bytes());
        (vec![("stripe-signature".into(), header)], body)
    }

    /// A success message signed with the placeholder the template seeds for the provider.
    pub fn signed_with_placeholder(provider: &str, payment: &Value, now: i64) -> Webhook {
        let placeholder = "set-after-deploy";
        match provider {
            "xendit" => (
                vec![("x-callback-token".into(), placeholder.into())],
                xendit_body(payment),
            ),
            "stripe" => stripe_signed(placeholder, now, stripe_body(payment, now)),
            // The one-byte key the template seeds.
            "adyen" => adyen_signed("00", payment),
            "midtrans" => midtrans_signed(placeholder, payment),
            "promptpay" => bank_signed(placeholder, now, payment),
            "pix" => pix_hint(payment),
            // No DANA key is seeded: anyone's key would have to do.
            "dana" => dana_signed(dana::SANDBOX_MERCHANT_PRIVATE_KEY, now, payment),
            other => panic!("no placeholder webhook for {other}"),
        }
    }

    /// A success message for the payment, signed with a key that is not the account's.
    pub fn forged_success(provider: &str, payment: &Value) -> Webhook {
        let now = walletpay_tests::now().unix_seconds();
        match provider {
            "xendit" => (
                vec![("x-callback-token".into(), "not-the-token".into())],
                xendit_body(payment),
            ),
            "stripe" => stripe_signed("whsec_forger", now, stripe_body(payment, now)),
            "adyen" => adyen_signed(&"AB".repeat(32), payment),
            "midtrans" => midtrans_signed("SB-Mid-server-forged", payment),
            "promptpay" => bank_signed("bank_whsec_forged", now, payment),
            "pix" => pix_hint(payment),
            // Signed with our own key instead of DANA's.
            "dana" => dana_signed(dana::SANDBOX_MERCHANT_PRIVATE_KEY, now, payment),
            other => panic!("no forger for {other}"),
        }
    }

    /// The genuine success message as it was sent a while ago; and whether the provider's
    /// signature covers a time (so the replay itself is refused).
    pub fn replayed_success(provider: &str, payment: &Value) -> (Webhook, bool) {
        let then = walletpay_tests::now().unix_seconds() - 600;
        match provider {
            "xendit" => (
                (
                    vec![(
                        "x-callback-token".into(),
                        xendit::SANDBOX_CALLBACK_TOKEN.into(),
                    )],
                    xendit_body(payment),
                ),
                false,
            ),
            "stripe" => (
                stripe_signed(
                    stripe::SANDBOX_WEBHOOK_SECRET,
                    then,
                    stripe_body(payment, then),
                ),
                true,
            ),
            "adyen" => (
                adyen_signed(walletpay_wallet_adapter::adyen::SANDBOX_HMAC_KEY, payment),
                false,
            ),
            "midtrans" => (
                midtrans_signed(
                    walletpay_wallet_adapter::midtrans::SANDBOX_SERVER_KEY,
                    payment,
                ),
                false,
            ),
            "dana" => (
                dana_signed(dana::SANDBOX_DANA_PRIVATE_KEY, then, payment),
                true,
            ),
            "pix" => (pix_hint(payment), false),
            "promptpay" => (
                bank_signed(
                    walletpay_wallet_adapter::promptpay::SANDBOX_WEBHOOK_SECRET,
                    then,
                    payment,
                ),
                true,
            ),
            other => panic!("no replay for {other}"),
        }
    }
}

/// Midtrans's notification carries no time, so even a correctly signed one is only a hint:
/// nothing changes until Midtrans itself says so when asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_midtrans_notification_only_triggers_a_status_check() {
    // No scheduled status check runs during the test: only the notification can ask.
    let s = stack_with_checks(vec![Duration::from_secs(600)]).await;
    let p = PROVIDERS.iter().find(|p| p.name == "midtrans").unwrap();
    choose(&s, "midtrans", "ID", "gopay").await;
    let a = create(&s, p, "ID", "gopay", AMOUNT_MAJOR, "hint").await;
    let id = a["id"].as_str().unwrap();
    let genuine = || webhooks::replayed_success("midtrans", &a).0;
    // Signed with the right key, but Midtrans still has the order pending.
    assert_eq!(post_webhook(&s, "midtrans", genuine()).await, 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        s.get(id, &s.local.demo_key).await.body["status"],
        "requires_action"
    );
    assert_eq!(events(&s, id).await, ["created", "accepted"]);
    // Paid at Midtrans (its own notification lost): the same message now confirms it.
    let lost = json!({"outcome": "success", "send_callback": false});
    simulate(&s, "midtrans", id, lost).await;
    assert_eq!(post_webhook(&s, "midtrans", genuine()).await, 200);
    s.wait_for(id, "succeeded").await;
    assert_eq!(s.history(id).await.last().unwrap().source, "webhook");
}

/// The Pix bank serves API Pix only over mutual TLS, to a certificate its CA signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pix_bank_requires_our_certificate() {
    use walletpay_wallet_adapter::pix::{self, Pix, PixConfig};
    use walletpay_wallet_adapter::{ChargeRequest, WalletAdapter};
    let s = stack().await;
    let p = PROVIDERS.iter().find(|p| p.name == "pix").unwrap();
    choose(&s, "pix", "BR", "pix").await;
    // Ours works (the stack's adapter).
    let a = create(&s, p, "BR", "pix", AMOUNT_MAJOR, "mtls").await;
    assert_eq!(a["status"], "requires_action", "{a}");
    let qr = a["next_action"]["data"].as_str().unwrap();
    let code = walletpay_domain::emv::BrCode::parse(qr).expect("a valid BR Code");
    assert_eq!(code.amount.unwrap().minor, minor("BR", AMOUNT_MAJOR));

    // The same adapter with a certificate the bank's CA did not sign: no charge is made.
    let creds: serde_json::Value = serde_json::from_str(
        &walletpay_local::sandbox_secrets()
            .into_iter()
            .find(|(n, _)| *n == "walletpay/pix")
            .unwrap()
            .1,
    )
    .unwrap();
    let mut stranger = creds.clone();
    stranger["certificate"] = json!(pix::SANDBOX_STRANGER_CERT);
    stranger["private_key"] = json!(pix::SANDBOX_STRANGER_KEY);
    let secrets = std::sync::Arc::new(
        walletpay_ports::StaticSecrets::new().with("walletpay/pix", &stranger.to_string()),
    );
    let adapter = Pix::new(PixConfig::new(s.local.pix_url.clone()), secrets);
    let id = walletpay_domain::PaymentId::new(walletpay_tests::now().millis(), 7);
    let customer = walletpay_domain::Customer::default();
    let req = ChargeRequest {
        payment_id: &id,
        amount: walletpay_domain::Money {
            minor: 1_000,
            currency: walletpay_domain::Currency::BRL,
        },
        country: walletpay_domain::Country::BR,
        wallet: walletpay_domain::WalletId::Pix,
        customer: &customer,
        return_url: None,
        description: None,
        expires_at: walletpay_tests::now().plus_seconds(900),
    };
    assert!(adapter.create_charge(&req).await.is_err());
    assert!(
        s.local.pix.cob(&pix::txid(&id)).is_none(),
        "no charge without our certificate"
    );
}

/// DANA's sandbox checks every request's SNAP signature: signed with a key DANA does not
/// have on file, the access token is refused (SNAP's 401) and nothing is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dana_refuses_a_request_signed_with_another_key() {
    use walletpay_wallet_adapter::dana::{self, Dana, DanaConfig};
    use walletpay_wallet_adapter::{AdapterError, ChargeRequest, WalletAdapter};
    let s = stack().await;
    let mut creds: serde_json::Value = serde_json::from_str(
        &walletpay_local::sandbox_secrets()
            .into_iter()
            .find(|(n, _)| *n == "walletpay/dana")
            .unwrap()
            .1,
    )
    .unwrap();
    creds["private_key"] = json!(dana::SANDBOX_DANA_PRIVATE_KEY);
    let secrets = std::sync::Arc::new(
        walletpay_ports::StaticSecrets::new().with("walletpay/dana", &creds.to_string()),
    );
    let adapter = Dana::new(
        DanaConfig::new(s.url("/sandbox/dana"), s.url(dana::NOTIFY_PATH)),
        secrets,
    );
    let id = walletpay_domain::PaymentId::new(walletpay_tests::now().millis(), 9);
    let customer = walletpay_domain::Customer::default();
    let req = ChargeRequest {
        payment_id: &id,
        amount: walletpay_domain::Money {
            minor: 15_000_000,
            currency: walletpay_domain::Currency::IDR,
        },
        country: walletpay_domain::Country::ID,
        wallet: walletpay_domain::WalletId::Dana,
        customer: &customer,
        return_url: None,
        description: None,
        expires_at: walletpay_tests::now().plus_seconds(900),
    };
    match adapter.create_charge(&req).await {
        Err(AdapterError::Config(why)) => assert!(why.contains("4017300"), "{why}"),
        other => panic!("expected SNAP's 401, got {other:?}"),
    }
    assert!(s.local.dana.reference_for(id.as_str()).is_none());
}

/// A PromptPay bank that cannot be reached refuses before anything is registered: the
/// payment is declined as wallet-unavailable (so it fails over to the wallet's next
/// provider), and so is a refund (which the refund worker keeps waiting, never failed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_promptpay_bank_declines_as_unavailable() {
    use walletpay_wallet_adapter::promptpay::{PromptPay, PromptPayConfig};
    use walletpay_wallet_adapter::{AdapterError, ChargeRequest, RefundRequest, WalletAdapter};
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let creds = walletpay_local::sandbox_secrets()
        .into_iter()
        .find(|(n, _)| *n == "walletpay/promptpay")
        .unwrap()
        .1;
    let secrets = std::sync::Arc::new(
        walletpay_ports::StaticSecrets::new().with("walletpay/promptpay", &creds),
    );
    let adapter = PromptPay::new(
        PromptPayConfig::new(format!("http://127.0.0.1:{closed}")),
        secrets,
    );
    let id = walletpay_domain::PaymentId::new(walletpay_tests::now().millis(), 11);
    let customer = walletpay_domain::Customer::default();
    let amount = walletpay_domain::Money {
        minor: 50_000,
        currency: walletpay_domain::Currency::THB,
    };
    let req = ChargeRequest {
        payment_id: &id,
        amount,
        country: walletpay_domain::Country::TH,
        wallet: walletpay_domain::WalletId::Promptpay,
        customer: &customer,
        return_url: None,
        description: None,
        expires_at: walletpay_tests::now().plus_seconds(900),
    };
    let unavailable = |got: Result<_, AdapterError>| match got {
        Err(AdapterError::Declined(f)) => {
            assert_eq!(f.code, walletpay_domain::FailureCode::WalletUnavailable);
            assert_eq!(f.provider_code.as_deref(), Some("CONNECTION_REFUSED"));
        }
        other => panic!("expected a decline, got {:?}", other.map(|_| ())),
    };
    unavailable(adapter.create_charge(&req).await.map(|_| ()));
    let (ref1, ref2) = walletpay_wallet_adapter::promptpay::references(&id);
    let refund_id = walletpay_domain::RefundId::new(walletpay_tests::now().millis(), 12);
    let refund = RefundRequest {
        refund_id: &refund_id,
        payment_id: &id,
        charge_reference: &format!("{ref1}{ref2}"),
        amount,
        reason: walletpay_domain::RefundReason::RequestedByCustomer,
    };
    unavailable(adapter.refund(&refund).await.map(|_| ()));
}

/// The secrets `template.yaml` seeds, by the name each adapter reads them under: what a
/// stack deployed as the README says holds until a person fills them in.
fn template_seeded_secrets() -> Vec<(String, String)> {
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
            .expect("template.yaml");
    let mut out = Vec::new();
    let mut resource = "";
    for line in template.lines() {
        if line.starts_with("  ") && !line.starts_with("   ") && line.trim_end().ends_with(':') {
            resource = line.trim().trim_end_matches(':');
        }
        if let Some(v) = line.trim().strip_prefix("SecretString: '") {
            let provider = resource
                .strip_suffix("Secret")
                .expect("a secret resource is named <Provider>Secret")
                .to_lowercase();
            out.push((
                format!("walletpay/{provider}"),
                v.trim_end_matches('\'').to_string(),
            ));
        }
    }
    out
}

/// With the credentials the template seeds (placeholders, Adyen's one-byte `00` HMAC key),
/// every adapter refuses every charge before sending anything (a configuration error, so
/// routing moves on) and every webhook, even one signed with the placeholder itself (503,
/// nothing queued).
#[tokio::test]
async fn seeded_placeholder_credentials_refuse_every_charge_and_webhook() {
    use std::sync::Arc;
    use walletpay_app::{Adapters, App};
    use walletpay_embedded::{EmbeddedStore, InProcessQueue};
    use walletpay_ports::{QueueReceiver, StaticSecrets, SystemClock};
    use walletpay_wallet_adapter::{adyen, dana, midtrans, pix, promptpay, stripe, xendit};
    use walletpay_wallet_adapter::{AdapterError, ChargeRequest, WalletAdapter};

    let seeded = template_seeded_secrets();
    let names: Vec<&str> = seeded.iter().map(|(n, _)| n.as_str()).collect();
    for p in PROVIDERS {
        assert!(
            names.contains(&format!("walletpay/{}", p.name).as_str()),
            "template.yaml seeds no secret for {}",
            p.name
        );
    }
    let secrets = Arc::new(
        seeded
            .iter()
            .fold(StaticSecrets::new(), |s, (n, v)| s.with(n, v)),
    );
    // Nothing listens here: an adapter that sent anything would see the connection refused
    // (a decline), not a configuration error.
    let nowhere = "http://127.0.0.1:9";
    let adapters: Vec<Arc<dyn WalletAdapter>> = vec![
        Arc::new(xendit::Xendit::new(
            xendit::XenditConfig::new(nowhere),
            secrets.clone(),
        )),
        Arc::new(stripe::Stripe::new(
            stripe::StripeConfig::new(nowhere),
            secrets.clone(),
        )),
        Arc::new(adyen::Adyen::new(
            adyen::AdyenConfig::new(nowhere),
            secrets.clone(),
        )),
        Arc::new(midtrans::Midtrans::new(
            midtrans::MidtransConfig::new(nowhere),
            secrets.clone(),
        )),
        Arc::new(promptpay::PromptPay::new(
            promptpay::PromptPayConfig::new(nowhere),
            secrets.clone(),
        )),
        Arc::new(dana::Dana::new(
            dana::DanaConfig::new(nowhere, "https://pay.example/v1/webhooks/dana"),
            secrets.clone(),
        )),
        Arc::new(pix::Pix::new(
            pix::PixConfig::new("https://127.0.0.1:9"),
            secrets.clone(),
        )),
    ];
    let events = Arc::new(InProcessQueue::new(Duration::from_secs(30)));
    let queue = || Arc::new(InProcessQueue::new(Duration::from_secs(30)));
    let app = App {
        store: Arc::new(EmbeddedStore::in_memory()),
        payment_events: events.clone(),
        status_checks: queue(),
        refunds: queue(),
        notifications: queue(),
        notifications_dead: queue(),
        reconcile_jobs: queue(),
        webhooks: Arc::new(walletpay_api::runtime::HttpWebhookSender::new()),
        clock: Arc::new(SystemClock),
        adapters: adapters
            .iter()
            .fold(Adapters::new(), |a, x| a.with(x.clone())),
        settings: Settings::default(),
        merchants: Default::default(),
        health: Default::default(),
        limits: Default::default(),
        risk: Default::default(),
    };
    let customer = walletpay_domain::Customer {
        phone: Some("+6281234567890".into()),
        email: Some("buyer@example.com".into()),
        ..Default::default()
    };
    for p in PROVIDERS {
        let adapter = adapters
            .iter()
            .find(|a| a.provider().as_str() == p.name)
            .unwrap();
        let (country, _) = p.wallets[0];
        let country = walletpay_domain::Country::parse(country).unwrap();
        let id = walletpay_domain::PaymentId::new(walletpay_tests::now().millis(), 7);
        let charge = adapter
            .create_charge(&ChargeRequest {
                payment_id: &id,
                amount: walletpay_domain::Money {
                    minor: minor(country.as_str(), AMOUNT_MAJOR),
                    currency: country.currency(),
                },
                country,
                wallet: walletpay_domain::WalletId::parse(p.wallets[0].1).unwrap(),
                customer: &customer,
                return_url: Some("https://shop.example/thanks"),
                description: None,
                expires_at: walletpay_tests::now().plus_seconds(900),
            })
            .await;
        assert!(
            matches!(charge, Err(AdapterError::Config(_))),
            "{}: a charge with placeholder credentials must be refused as configuration, got {charge:?}",
            p.name
        );

        let payment = json!({
            "id": id.as_str(), "provider_reference": "ewc_1:ref_1", "amount": minor(country.as_str(), AMOUNT_MAJOR),
            "currency": country.currency().code(), "country": country.as_str(),
        });
        let now = walletpay_tests::now().unix_seconds();
        let (headers, body) = webhooks::signed_with_placeholder(p.name, &payment, now);
        let mut map = http::HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(&v).unwrap(),
            );
        }
        let answer =
            walletpay_app::webhooks::receive_webhook(&app, p.name, &map, body.as_bytes()).await;
        match answer {
            Err(e) => assert_eq!(e.status, 503, "{}: {e:?}", p.name),
            Ok(r) => panic!(
                "{}: a webhook was taken with placeholder credentials: {r:?}",
                p.name
            ),
        }
        let queued = events.receive(10, Duration::ZERO).await.unwrap();
        assert!(queued.is_empty(), "{}: queued {queued:?}", p.name);
    }
}

/// Xendit's callbacks carry only the account's static token: one that says a charge
/// succeeded only makes walletpay ask Xendit, so a callback whose claim Xendit does not
/// confirm (here: sent with the genuine token while the charge still waits) changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_xendit_callback_counts_only_once_xendit_confirms_it() {
    let s = stack_with_checks(vec![Duration::from_secs(600)]).await;
    let p = PROVIDERS.iter().find(|p| p.name == "xendit").unwrap();
    let a = create(&s, p, "ID", "dana", AMOUNT_MAJOR, "confirm").await;
    let id = a["id"].as_str().unwrap().to_string();
    let (claim, _) = webhooks::replayed_success("xendit", &a);
    assert_eq!(post_webhook(&s, "xendit", claim.clone()).await, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        s.get(&id, &s.local.demo_key).await.body["status"],
        "requires_action",
        "Xendit still has the charge pending"
    );
    assert_eq!(events(&s, &id).await, ["created", "accepted"]);
    // Once the charge really succeeded at Xendit, the same callback moves the payment.
    s.local
        .xendit
        .settle(
            a["provider_reference"].as_str().unwrap(),
            &walletpay_wallet_adapter::xendit::sandbox::SimulateBody {
                send_callback: false,
                ..walletpay_wallet_adapter::xendit::sandbox::SimulateBody::plain(Outcome::Success)
            },
        )
        .await
        .unwrap();
    assert_eq!(post_webhook(&s, "xendit", claim).await, 200);
    s.wait_for(&id, "succeeded").await;
    let last = s.history(&id).await.pop().unwrap();
    assert_eq!(
        (last.event.as_str(), last.source.as_str()),
        ("succeeded", "webhook")
    );
}

/// The acquiring bank reports a transfer for the bill of another amount than the bill's:
/// neither its signed callback nor its inquiry makes that a success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promptpay_transfer_of_another_amount_is_not_a_success() {
    let s = stack().await;
    let p = PROVIDERS.iter().find(|p| p.name == "promptpay").unwrap();
    choose(&s, "promptpay", "TH", "promptpay").await;
    let a = create(&s, p, "TH", "promptpay", AMOUNT_MAJOR, "short").await;
    let id = a["id"].as_str().unwrap().to_string();
    let reference = a["provider_reference"].as_str().unwrap();
    let paid = s
        .http
        .post(s.url(&format!("/sandbox/promptpay/simulate/{reference}")))
        .body(json!({"outcome": "success", "amount": "1.00"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    // The callback has come and the status checks (every few hundred ms) have asked.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let now = s.get(&id, &s.local.demo_key).await;
    assert_eq!(now.body["status"], "requires_action", "{}", now.body);
    assert_eq!(events(&s, &id).await, ["created", "accepted"]);
}

/// Every QR payload a sandbox hands out, whether or not it reaches a customer (Xendit's
/// ShopeePay charges carry a QRIS code beside their app link), is valid to the last nested
/// field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_qr_a_sandbox_emits_is_valid() {
    let s = stack().await;
    let xendit = PROVIDERS.iter().find(|p| p.name == "xendit").unwrap();
    let a = create(&s, xendit, "ID", "shopeepay", AMOUNT_MAJOR, "qris").await;
    let request = s
        .local
        .xendit
        .payment_request(a["provider_reference"].as_str().unwrap())
        .unwrap();
    let qris = request
        .actions
        .iter()
        .find(|a| a.descriptor == "QR_STRING")
        .map(|a| a.value.clone())
        .expect("a QRIS code");
    assert_qr_is_valid(&qris, minor("ID", AMOUNT_MAJOR), "ID");
    for p in PROVIDERS {
        for (country, wallet) in p.wallets {
            if walletpay_domain::catalog::wallet_spec(
                walletpay_domain::Country::parse(country).unwrap(),
                walletpay_domain::WalletId::parse(wallet).unwrap(),
            )
            .unwrap()
            .action
                != walletpay_domain::ActionKind::Qr
            {
                continue;
            }
            choose(&s, p.name, country, wallet).await;
            let a = create(&s, p, country, wallet, AMOUNT_MAJOR, "qr").await;
            assert_eq!(
                a["next_action"]["type"], "qr",
                "{} {country} {wallet}: {a}",
                p.name
            );
        }
    }
}

/// No provider's credentials show a secret when formatted for a log line or an error.
#[test]
fn formatted_credentials_show_no_secret() {
    use walletpay_wallet_adapter::{adyen, dana, midtrans, pix, promptpay, stripe, xendit};
    fn shown<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
        format!("{:?}", serde_json::from_str::<T>(json).unwrap())
    }
    for (name, json) in walletpay_local::sandbox_secrets() {
        let debug = match name {
            "walletpay/xendit" => shown::<xendit::XenditCredentials>(&json),
            "walletpay/stripe" => shown::<stripe::StripeCredentials>(&json),
            "walletpay/adyen" => shown::<adyen::AdyenCredentials>(&json),
            "walletpay/midtrans" => shown::<midtrans::MidtransCredentials>(&json),
            "walletpay/promptpay" => shown::<promptpay::PromptPayCredentials>(&json),
            "walletpay/dana" => shown::<dana::DanaCredentials>(&json),
            "walletpay/pix" => shown::<pix::PixCredentials>(&json),
            other => panic!("no credentials type for {other}"),
        };
        let v: Value = serde_json::from_str(&json).unwrap();
        for field in [
            "secret_key",
            "callback_token",
            "webhook_secret",
            "api_key",
            "hmac_key",
            "server_key",
            "client_secret",
            "private_key",
        ] {
            if let Some(secret) = v[field].as_str() {
                let probe = secret
                    .lines()
                    .find(|l| l.len() > 20 && !l.starts_with("-----"))
                    .unwrap_or(secret);
                assert!(!debug.contains(probe), "{name}: {field} shows in {debug}");
            }
        }
    }
}

/// Every sandbox's own controls behave alike: the checkout page offers a button per outcome
/// the charge can have while it waits (a Pix or a PromptPay transfer only succeeds); the
/// customer's decision settles it and sends them back to the shop (or to the page, which then
/// shows how it ended, without buttons); a decision the charge cannot take is answered 409
/// with the page and why; `simulate` of a settled charge is a conflict, of an unknown one a
/// 404 and with a malformed body the provider's validation error, each in the provider's own
/// error body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sandbox_has_the_same_checkout_page_and_simulate() {
    // (provider, its code for a charge in the wrong state, for an unknown one, and the
    // status and code of a body it cannot read)
    let errors = [
        (
            "xendit",
            "\"INACTIVE_PAYMENT_REQUEST\"",
            "\"DATA_NOT_FOUND\"",
            400,
            "\"API_VALIDATION_ERROR\"",
        ),
        (
            "stripe",
            "\"payment_intent_unexpected_state\"",
            "\"resource_missing\"",
            400,
            "\"param\":\"outcome\"",
        ),
        (
            "adyen",
            "\"errorCode\":\"000\"",
            "\"errorCode\":\"000\"",
            422,
            "\"errorCode\":\"702\"",
        ),
        (
            "midtrans",
            "\"status_code\":\"412\"",
            "\"status_code\":\"404\"",
            400,
            "\"status_code\":\"400\"",
        ),
        (
            "pix",
            "\"Conflito\"",
            "\"Cobranca Nao Encontrada\"",
            400,
            "\"Requisicao Invalida\"",
        ),
        ("dana", "\"4090000\"", "\"4040000\"", 400, "\"4000000\""),
        (
            "promptpay",
            "\"conflict\"",
            "\"not_found\"",
            400,
            "\"invalid_request\"",
        ),
    ];
    let s = stack().await;
    let no_redirects = walletpay_wallet_adapter::tls::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for p in PROVIDERS {
        let (_, conflict, missing, bad_status, bad) = errors
            .iter()
            .find(|e| e.0 == p.name)
            .unwrap_or_else(|| panic!("no error codes listed for {}", p.name));
        let (country, wallet) = p.wallets[0];
        choose(&s, p.name, country, wallet).await;
        let a = create(&s, p, country, wallet, AMOUNT_MAJOR, "page").await;
        let id = a["id"].as_str().unwrap().to_string();
        let reference = sandbox_reference(&s, p, &id).expect("the sandbox has the charge");
        let page_path = if p.name == "promptpay" {
            "pay"
        } else {
            "checkout"
        };
        let page = s.url(&format!("/sandbox/{}/{page_path}/{reference}", p.name));
        let transfer = matches!(p.name, "pix" | "promptpay");

        let html = s.http.get(&page).send().await.unwrap();
        assert_eq!(html.status(), 200, "{}", p.name);
        let html = html.text().await.unwrap();
        for o in Outcome::ALL {
            let offered = html.contains(&format!("value=\"{}\"", o.name()));
            let expected = !transfer || o == Outcome::Success;
            assert_eq!(
                offered,
                expected,
                "{}: {} on the page: {html}",
                p.name,
                o.name()
            );
        }
        if transfer {
            // A transfer cannot be declined: the page says so and nothing changes.
            let refused = no_redirects
                .post(&page)
                .form(&[("outcome", "insufficient_balance")])
                .send()
                .await
                .unwrap();
            assert_eq!(refused.status(), 409, "{}", p.name);
            let text = refused.text().await.unwrap();
            assert!(
                text.contains("role=\"alert\"") && text.contains("value=\"success\""),
                "{}: {text}",
                p.name
            );
            assert_eq!(
                s.get(&id, &s.local.demo_key).await.body["status"],
                "requires_action"
            );
        }
        let decided = no_redirects
            .post(&page)
            .form(&[("outcome", "success")])
            .send()
            .await
            .unwrap();
        assert_eq!(decided.status(), 303, "{}", p.name);
        let location = decided.headers()["location"].to_str().unwrap().to_string();
        if transfer {
            // Paid in the payer's banking app, with no shop to go back to: the page again,
            // now showing the outcome.
            let back = reqwest::Url::parse(&page).unwrap().join(&location).unwrap();
            assert_eq!(back.as_str(), page, "{}", p.name);
        } else {
            assert_eq!(location, "https://shop.example/thanks", "{}", p.name);
        }
        s.wait_for(&id, "succeeded").await;
        let after = s
            .http
            .get(&page)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            after.contains("This payment is") && !after.contains("<button"),
            "{}: {after}",
            p.name
        );
        // Too late to decide again: 409, the page as it stands.
        let late = no_redirects
            .post(&page)
            .form(&[("outcome", "user_cancelled")])
            .send()
            .await
            .unwrap();
        assert_eq!(late.status(), 409, "{}", p.name);

        let control = |path: String, body: &str| {
            s.http
                .post(s.url(&format!("/sandbox/{}/{path}", p.name)))
                .body(body.to_string())
                .send()
        };
        let again = control(format!("simulate/{reference}"), r#"{"outcome":"success"}"#)
            .await
            .unwrap();
        assert_eq!(again.status(), 409, "{}: a settled charge", p.name);
        let text = again.text().await.unwrap();
        assert!(text.contains(conflict), "{}: {text}", p.name);
        let unknown = control("simulate/nothing-here".into(), r#"{"outcome":"success"}"#)
            .await
            .unwrap();
        assert_eq!(unknown.status(), 404, "{}", p.name);
        let text = unknown.text().await.unwrap();
        assert!(text.contains(missing), "{}: {text}", p.name);
        let malformed = control(format!("simulate/{reference}"), r#"{"outcome":"maybe"}"#)
            .await
            .unwrap();
        assert_eq!(malformed.status().as_u16(), *bad_status, "{}", p.name);
        let text = malformed.text().await.unwrap();
        assert!(text.contains(bad), "{}: {text}", p.name);
        let missing_page = s
            .http
            .get(s.url(&format!("/sandbox/{}/{page_path}/nothing-here", p.name)))
            .send()
            .await
            .unwrap();
        assert_eq!(missing_page.status(), 404, "{}", p.name);
    }
}

/// The three lists of who serves what agree: the wallet catalog's providers per wallet, each
/// adapter's `supports()`, and the pairs this suite runs for each provider. (A catalog entry
/// an adapter does not take would be dropped from routing without a word.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_the_adapters_and_this_suite_agree() {
    use walletpay_domain::catalog::CATALOG;
    use walletpay_domain::{Country, Provider, WalletId};
    let s = stack().await;
    for p in PROVIDERS {
        assert!(
            Provider::parse(p.name).is_some(),
            "{} is no provider",
            p.name
        );
    }
    for provider in Provider::ALL {
        let adapter = s
            .local
            .app
            .adapters
            .get(*provider)
            .unwrap_or_else(|| panic!("the local stack has no adapter for {provider}"));
        let mut catalog: Vec<String> = CATALOG
            .iter()
            .filter(|w| w.providers.contains(provider))
            .map(|w| format!("{}:{}", w.country, w.wallet))
            .collect();
        catalog.sort();
        let mut supported: Vec<String> = Country::ALL
            .iter()
            .flat_map(|c| WalletId::ALL.iter().map(move |w| (*c, *w)))
            .filter(|(c, w)| adapter.supports(*c, *w))
            .map(|(c, w)| format!("{c}:{w}"))
            .collect();
        supported.sort();
        assert_eq!(
            catalog, supported,
            "{provider}: the catalog against supports()"
        );
        let case = PROVIDERS
            .iter()
            .find(|p| p.name == provider.as_str())
            .unwrap_or_else(|| panic!("{provider} is not in the conformance suite"));
        let mut suite: Vec<String> = case
            .wallets
            .iter()
            .map(|(c, w)| format!("{c}:{w}"))
            .collect();
        suite.sort();
        assert_eq!(
            catalog, suite,
            "{provider}: the catalog against the suite's pairs"
        );
    }
}

/// Xendit's payment requests, straight at the sandbox's v3 API: an `idempotency-key` sent
/// again with the same body answers the first request's answer (one request made), with
/// another body `409 DUPLICATE_ERROR`; an `api-version` other than Xendit's is refused; and
/// Xendit's own test-mode `simulate` pays a request, its `payment.capture` webhook moving
/// the payment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xendit_v3_idempotency_versions_and_test_mode_payments() {
    use walletpay_wallet_adapter::xendit;
    let s = stack().await;
    let base = s.url("/sandbox/xendit");
    let post = |path: &str, key: Option<&str>, version: &str, body: Value| {
        let mut req = s
            .http
            .post(format!("{base}{path}"))
            .basic_auth(xendit::SANDBOX_SECRET_KEY, Some(""))
            .header("api-version", version)
            .json(&body);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        req.send()
    };
    let body = json!({
        "reference_id": "order-idem-1", "type": "PAY", "country": "ID", "currency": "IDR",
        "request_amount": 15000, "capture_method": "AUTOMATIC", "channel_code": "DANA",
        "channel_properties": {"success_return_url": "https://shop.example/thanks"}
    });
    let first = Stack::answer(
        post(
            "/v3/payment_requests",
            Some("k-1"),
            xendit::API_VERSION,
            body.clone(),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["status"], "REQUIRES_ACTION");
    assert_eq!(first.body["actions"][0]["descriptor"], "WEB_URL");
    let again = Stack::answer(
        post(
            "/v3/payment_requests",
            Some("k-1"),
            xendit::API_VERSION,
            body.clone(),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(again.status, 201);
    assert_eq!(
        again.body["payment_request_id"],
        first.body["payment_request_id"]
    );
    let mut other = body.clone();
    other["request_amount"] = json!(16000);
    let clash = Stack::answer(
        post(
            "/v3/payment_requests",
            Some("k-1"),
            xendit::API_VERSION,
            other,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (clash.status, clash.body["error_code"].as_str()),
        (409, Some("DUPLICATE_ERROR"))
    );
    assert_eq!(
        s.local
            .xendit
            .payment_requests()
            .iter()
            .filter(|r| r.reference_id == "order-idem-1")
            .count(),
        1
    );
    let old = Stack::answer(
        post(
            "/v3/payment_requests",
            Some("k-2"),
            "2022-07-31",
            body.clone(),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (old.status, old.body["error_code"].as_str()),
        (400, Some("API_VALIDATION_ERROR"))
    );
    let string_amount = {
        let mut b = body.clone();
        b["request_amount"] = json!("15000");
        Stack::answer(
            post("/v3/payment_requests", Some("k-3"), xendit::API_VERSION, b)
                .await
                .unwrap(),
        )
        .await
    };
    assert_eq!(
        string_amount.status, 400,
        "an amount is a JSON number: {}",
        string_amount.body
    );
    let too_small = {
        let mut b = body.clone();
        b["request_amount"] = json!(50);
        Stack::answer(
            post("/v3/payment_requests", Some("k-4"), xendit::API_VERSION, b)
                .await
                .unwrap(),
        )
        .await
    };
    assert_eq!(
        (too_small.status, too_small.body["error_code"].as_str()),
        (400, Some("INVALID_VALUE_ERROR")),
        "DANA takes at least IDR 100"
    );

    // Xendit's own test mode pays a request of ours; its webhook moves the payment.
    let p = PROVIDERS.iter().find(|p| p.name == "xendit").unwrap();
    choose(&s, "xendit", "ID", "dana").await;
    let a = create(&s, p, "ID", "dana", AMOUNT_MAJOR, "test-mode").await;
    let pr = a["provider_reference"].as_str().unwrap();
    let wrong = Stack::answer(
        post(
            &format!("/v3/payment_requests/{pr}/simulate"),
            None,
            xendit::API_VERSION,
            json!({"amount": 1}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(wrong.status, 400, "only the request's own amount");
    let paid = Stack::answer(
        post(
            &format!("/v3/payment_requests/{pr}/simulate"),
            None,
            xendit::API_VERSION,
            json!({"amount": AMOUNT_MAJOR}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (paid.status, paid.body["status"].as_str()),
        (200, Some("PENDING"))
    );
    let done = s.wait_for(a["id"].as_str().unwrap(), "succeeded").await;
    assert_eq!(done["provider_reference"], pr);
    let payment = s.local.xendit.payment_of(pr).unwrap();
    assert_eq!(payment.captures.len(), 1);
    assert_eq!(
        s.local
            .xendit
            .payment_request(pr)
            .unwrap()
            .latest_payment_id
            .as_deref(),
        Some(payment.payment_id.as_str())
    );
}

/// A QRIS refund depends on the wallet or bank that paid the code (Xendit's QRIS issuer
/// table; Midtrans's refund windows): one the issuer cannot take is refused up front with
/// `refund_not_supported`, nothing reserved or sent; one it can is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qris_refunds_follow_the_issuer_that_paid() {
    let s = stack().await;
    let xendit = PROVIDERS.iter().find(|p| p.name == "xendit").unwrap();
    choose(&s, "xendit", "ID", "qris").await;
    let pay_with = |tag: &'static str, issuer: &'static str| {
        let s = &s;
        async move {
            let a = create(s, xendit, "ID", "qris", AMOUNT_MAJOR, tag).await;
            assert_eq!(a["next_action"]["type"], "qr", "{a}");
            let reference = a["provider_reference"].as_str().unwrap().to_string();
            simulate(
                s,
                "xendit",
                &reference,
                json!({"outcome": "success", "issuer": issuer}),
            )
            .await;
            s.wait_for(a["id"].as_str().unwrap(), "succeeded").await;
            a["id"].as_str().unwrap().to_string()
        }
    };
    let refund = |id: String, idem: &'static str, body: Value| {
        let s = &s;
        async move {
            s.post_json(
                &format!("/v1/payments/{id}/refunds"),
                &s.local.demo_key,
                idem,
                &body,
            )
            .await
        }
    };
    let requests_before = s.local.xendit.refunds().len();
    // The sandbox refuses such a refund itself, as Xendit documents, whatever a client does.
    let direct = |request_id: String, body: Value| {
        let s = &s;
        async move {
            let resp = s
                .http
                .post(s.url("/sandbox/xendit/refunds"))
                .basic_auth(walletpay_wallet_adapter::xendit::SANDBOX_SECRET_KEY, Some(""))
                .json(&json!({"payment_request_id": request_id, "reason": "OTHERS", "amount": body["amount"]}))
                .send()
                .await
                .unwrap();
            Stack::answer(resp).await
        }
    };
    // A bank outside Xendit's table: no refund at all.
    let other = pay_with("qris-xyz", "BANK XYZ").await;
    let r = refund(other.clone(), "qris-xyz-r", json!({})).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (422, Some("refund_not_supported")),
        "{}",
        r.body
    );
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("BANK XYZ"));
    let after = s.get(&other, &s.local.demo_key).await;
    assert_eq!(after.body["amount_refundable"], minor("ID", AMOUNT_MAJOR));
    let at_xendit = direct(
        after.body["provider_reference"]
            .as_str()
            .unwrap()
            .to_string(),
        json!({"amount": AMOUNT_MAJOR}),
    )
    .await;
    assert_eq!(
        (at_xendit.status, at_xendit.body["error_code"].as_str()),
        (403, Some("REFUND_NOT_SUPPORTED")),
        "{}",
        at_xendit.body
    );
    // CIMB: no full refund within a day of the payment, a partial one is made.
    let cimb = pay_with("qris-cimb", "CIMB").await;
    let full = refund(cimb.clone(), "qris-cimb-full", json!({})).await;
    assert_eq!(
        (full.status, full.body["error"]["code"].as_str()),
        (422, Some("refund_not_supported"))
    );
    assert_eq!(
        s.local.xendit.refunds().len(),
        requests_before,
        "nothing reached Xendit"
    );
    let part = refund(
        cimb.clone(),
        "qris-cimb-part",
        json!({"amount": minor("ID", 1000)}),
    )
    .await;
    assert_eq!(part.status, 201, "{}", part.body);
    s.wait_for_refund(&cimb, part.body["id"].as_str().unwrap(), "succeeded")
        .await;
    // DANA's wallet paid: refunded in full.
    let dana = pay_with("qris-dana", "DANA").await;
    let whole = refund(dana.clone(), "qris-dana-r", json!({})).await;
    assert_eq!(whole.status, 201, "{}", whole.body);
    s.wait_for_refund(&dana, whole.body["id"].as_str().unwrap(), "succeeded")
        .await;
    s.wait_for(&dana, "refunded").await;
    // Midtrans: a QRIS code paid with GoPay itself (on-us) is refunded.
    let midtrans = PROVIDERS.iter().find(|p| p.name == "midtrans").unwrap();
    choose(&s, "midtrans", "ID", "qris").await;
    let m = create(&s, midtrans, "ID", "qris", AMOUNT_MAJOR, "qris-mt").await;
    assert_eq!(m["next_action"]["type"], "qr");
    simulate(
        &s,
        "midtrans",
        m["provider_reference"].as_str().unwrap(),
        json!({"outcome": "success"}),
    )
    .await;
    let mid = m["id"].as_str().unwrap().to_string();
    s.wait_for(&mid, "succeeded").await;
    let mr = refund(mid.clone(), "qris-mt-r", json!({})).await;
    assert_eq!(mr.status, 201, "{}", mr.body);
    s.wait_for_refund(&mid, mr.body["id"].as_str().unwrap(), "succeeded")
        .await;
}
