//! The payment life cycle against the local stack, on both backends: unknown outcomes,
//! status checks, expiry, cancel and late successes. Waits are shortened through the
//! settings; the rules are the production ones. A payment past its expiry ends only on the
//! provider's word: the charge lapsing there, a cancel it accepted, or its having made
//! nothing; silence never expires a payment.

use serde_json::json;
use std::time::Duration;
use walletpay_app::Settings;
use walletpay_local::{Backend, Options};
use walletpay_tests::stack::{dana_order, start_with, Stack};

/// Status checks every few hundred milliseconds, payments that expire after 3 s (and
/// charges that lapse at providers that cannot be told so after 3 s too), a 1 s provider
/// timeout and a sandbox that answers its slow magic amount after 2 s.
fn fast() -> Options {
    Options {
        settings: Settings {
            payment_ttl: Duration::from_secs(3),
            status_check_delays: vec![
                Duration::from_millis(300),
                Duration::from_millis(600),
                Duration::from_secs(1),
            ],
            status_check_horizon: Duration::from_secs(30),
            ..Settings::default()
        },
        provider_timeout: Duration::from_secs(1),
        sandbox_slow_response: Duration::from_secs(2),
        sandbox_charge_lifetime: Some(Duration::from_secs(3)),
        ..Options::default()
    }
}

/// As `fast`, with charges at the providers lapsing only after 7 s: the payments' own
/// expiry (3 s) passes first.
fn long_lived_charges() -> Options {
    Options {
        sandbox_charge_lifetime: Some(Duration::from_secs(7)),
        ..fast()
    }
}

/// As `fast`, with the first status check only after the create has timed out (1 s) and
/// room for its work before the call: the check recovers a create whose answer was lost by
/// sending it again, and one that came earlier could reach the provider before the
/// create's own request on a loaded machine, which would then be answered at once and not
/// time out. Payments live 10 s, so the recovered one is still waiting when it is paid.
fn checks_after_the_create() -> Options {
    let mut o = fast();
    o.settings.payment_ttl = Duration::from_secs(10);
    o.settings.status_check_delays = vec![Duration::from_millis(2500), Duration::from_millis(600)];
    o.sandbox_charge_lifetime = Some(Duration::from_secs(10));
    o
}

/// As `fast`, with payments that expire only after 30 s and charges at the providers that
/// lapse after 2 s: the provider's expiry comes first.
fn lapsing_charges() -> Options {
    let mut o = fast();
    o.settings.payment_ttl = Duration::from_secs(30);
    o.sandbox_charge_lifetime = Some(Duration::from_secs(2));
    o
}

async fn events_of(s: &Stack, id: &str) -> Vec<String> {
    s.history(id).await.into_iter().map(|h| h.event).collect()
}

/// A PromptPay order (Stripe: no expiry can be set on it, but it can be canceled).
fn promptpay_order(reference: &str) -> serde_json::Value {
    json!({
        "merchant_reference": reference, "amount": 30000, "currency": "THB", "country": "TH",
        "wallet": "promptpay", "customer": {"email": "buyer@example.com"},
        "return_url": "https://shop.example/thanks"
    })
}

/// Checks so far apart that none runs during a test.
fn no_checks() -> Options {
    Options {
        settings: Settings {
            status_check_delays: vec![Duration::from_secs(600)],
            ..Settings::default()
        },
        ..Options::default()
    }
}

fn amount_order(reference: &str, rupiah: i64) -> serde_json::Value {
    let mut o = dana_order(reference);
    o["amount"] = json!(rupiah * 100);
    o
}

async fn sources(s: &Stack, id: &str) -> Vec<(String, String)> {
    s.history(id)
        .await
        .into_iter()
        .map(|h| (h.event, h.source))
        .collect()
}

/// Xendit's answer to a create is lost (it answers after our timeout): the payment stays
/// `processing`, never failed, and the first status check sends the same create again under
/// the same idempotency key, which answers the payment request the first one made. One
/// request at Xendit, and the payment goes on from there.
async fn a_create_whose_answer_is_lost_is_recovered_by_resending_it(s: Stack) {
    let a = s.create("slow", &amount_order("slow", 10999)).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["status"], "processing", "a timeout is not a failure");
    assert!(a.body["failure"].is_null());
    assert!(a.body["provider_reference"].is_null());
    let id = a.body["id"].as_str().unwrap().to_string();
    let made: Vec<_> = s
        .local
        .xendit
        .payment_requests()
        .into_iter()
        .filter(|r| r.reference_id == id)
        .collect();
    assert_eq!(made.len(), 1, "the first create was made at Xendit");
    let recovered = s.wait_for(&id, "requires_action").await;
    assert_eq!(
        recovered["provider_reference"],
        made[0].payment_request_id.as_str(),
        "the resend named the request the first create made"
    );
    assert_eq!(recovered["next_action"]["type"], "redirect");
    assert_eq!(s.charges_for(&id), 1, "the resend made no second request");
    assert_eq!(
        sources(&s, &id).await.pop().unwrap(),
        ("accepted".to_string(), "status_check".to_string())
    );
    s.simulate(&made[0].payment_request_id, "success").await;
    let p = s.wait_for(&id, "succeeded").await;
    assert!(!p["late_success"].as_bool().unwrap());
}

async fn lost_callback_is_resolved_by_a_status_check(s: Stack) {
    let a = s.create("lost", &dana_order("lost")).await;
    let id = a.body["id"].as_str().unwrap().to_string();
    let reference = a.body["provider_reference"].as_str().unwrap();
    let settled = s
        .local
        .xendit
        .settle(
            reference,
            &walletpay_wallet_adapter::xendit::sandbox::SimulateBody {
                send_callback: false,
                ..walletpay_wallet_adapter::xendit::sandbox::SimulateBody::plain(
                    walletpay_wallet_adapter::xendit::sandbox::Outcome::Success,
                )
            },
        )
        .await
        .unwrap();
    assert_eq!(settled.callback_status, None, "no callback was sent");
    s.wait_for(&id, "succeeded").await;
    let last = sources(&s, &id).await.pop().unwrap();
    assert_eq!(last, ("succeeded".to_string(), "status_check".to_string()));
}

async fn lost_failure_is_resolved_by_a_status_check(s: Stack) {
    let a = s.create("lost-fail", &dana_order("lost-fail")).await;
    let id = a.body["id"].as_str().unwrap().to_string();
    let reference = a.body["provider_reference"].as_str().unwrap();
    s.local
        .xendit
        .settle(
            reference,
            &walletpay_wallet_adapter::xendit::sandbox::SimulateBody {
                send_callback: false,
                ..walletpay_wallet_adapter::xendit::sandbox::SimulateBody::plain(
                    walletpay_wallet_adapter::xendit::sandbox::Outcome::InsufficientBalance,
                )
            },
        )
        .await
        .unwrap();
    let p = s.wait_for(&id, "failed").await;
    assert_eq!(p["failure"]["category"], "insufficient_balance");
}

/// A payment request nobody pays expires at Xendit at its channel's expiry (here sooner
/// than the payment's own): Xendit says so, by its webhook or a status check, and the
/// payment is expired on Xendit's word.
async fn an_unapproved_charge_lapses_at_the_provider(s: Stack) {
    let a = s.create("idle", &dana_order("idle")).await;
    let id = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(a.body["status"], "requires_action");
    let p = s.wait_for(&id, "expired").await;
    assert!(p["next_action"].is_null());
    assert_eq!(events_of(&s, &id).await, ["created", "accepted", "expired"]);
    let reference = a.body["provider_reference"].as_str().unwrap();
    assert_eq!(
        s.local.xendit.payment_request(reference).unwrap().status,
        "EXPIRED",
        "expired by Xendit, not by us"
    );
}

/// Xendit's request outlives the payment: at the payment's expiry the status check cancels
/// it at Xendit, and only then is the payment expired.
async fn an_unapproved_xendit_request_is_canceled_when_the_payment_expires(s: Stack) {
    let a = s.create("idle-x", &dana_order("idle-x")).await;
    let id = a.body["id"].as_str().unwrap().to_string();
    let p = s.wait_for(&id, "expired").await;
    assert!(p["next_action"].is_null());
    assert_eq!(
        sources(&s, &id).await.pop().unwrap(),
        ("expired".to_string(), "status_check".to_string())
    );
    let reference = a.body["provider_reference"].as_str().unwrap();
    assert_eq!(
        s.local.xendit.payment_request(reference).unwrap().status,
        "CANCELED",
        "expired only once Xendit canceled it"
    );
}

/// Stripe takes no expiry for a PromptPay charge but can cancel one: at the payment's
/// expiry the status check cancels it there, and only then is the payment expired.
async fn an_unapproved_payment_is_canceled_at_the_provider_when_it_expires(s: Stack) {
    let a = s.create("idle-pp", &promptpay_order("idle-pp")).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["provider"], "stripe");
    let id = a.body["id"].as_str().unwrap().to_string();
    let p = s.wait_for(&id, "expired").await;
    assert!(p["next_action"].is_null());
    assert_eq!(
        sources(&s, &id).await.pop().unwrap(),
        ("expired".to_string(), "status_check".to_string())
    );
    let intent = a.body["provider_reference"].as_str().unwrap();
    assert_eq!(
        s.local.stripe.intent(intent).unwrap().status,
        "canceled",
        "expired only once Stripe canceled it"
    );
}

/// Adyen cannot be asked about a payment: past its expiry the payment waits for Adyen's
/// word (here its OFFER_CLOSED, when the offer lapses), however many checks run.
async fn a_provider_that_cannot_be_asked_never_expires_a_payment_by_silence(s: Stack) {
    let only_adyen = s
        .http
        .patch(s.url("/v1/merchant"))
        .header("authorization", format!("Bearer {}", s.local.demo_key))
        .body(json!({"wallet_providers": {"ID:dana": ["adyen"]}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(only_adyen.status(), 200);
    let a = s.create("adyen-idle", &dana_order("adyen-idle")).await;
    assert_eq!(a.body["provider"], "adyen", "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    // Past the payment's expiry (3 s), several checks later, it still waits.
    tokio::time::sleep(Duration::from_millis(5000)).await;
    let waiting = s.get(&id, &s.local.demo_key).await;
    assert_eq!(
        waiting.body["status"], "requires_action",
        "{}",
        waiting.body
    );
    assert!(!events_of(&s, &id).await.contains(&"expired".to_string()));
    // Then the offer closes at Adyen (7 s) and Adyen says so.
    let p = s.wait_for(&id, "failed").await;
    assert_eq!(p["failure"]["category"], "expired");
}

/// A wallet that settles after Xendit expired the request (the race Xendit's webhook page
/// warns of): the success is recorded, late.
async fn a_success_after_the_provider_gave_up_is_recorded(s: Stack) {
    let a = s.create("late", &dana_order("late")).await;
    let id = a.body["id"].as_str().unwrap().to_string();
    s.wait_for(&id, "expired").await;
    let reference = a.body["provider_reference"].as_str().unwrap();
    let late = s
        .http
        .post(s.url(&format!("/sandbox/xendit/simulate/{reference}")))
        .body(json!({"outcome": "success", "late": true}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 200);
    let p = s.wait_for(&id, "succeeded").await;
    assert_eq!(p["late_success"], true);
    assert_eq!(
        events_of(&s, &id).await,
        ["created", "accepted", "expired", "succeeded"]
    );
    assert_eq!(
        s.history(&id).await.last().unwrap().detail.as_deref(),
        Some("late_success")
    );
}

/// Cancel of a charge the customer already paid (the callback lost): the provider refuses,
/// and walletpay records the success and says so; it never calls the payment canceled.
async fn canceling_a_paid_charge_records_the_success(s: Stack) {
    let a = s
        .create("paid-cancel", &promptpay_order("paid-cancel"))
        .await;
    let id = a.body["id"].as_str().unwrap().to_string();
    let intent = a.body["provider_reference"].as_str().unwrap();
    let paid = s
        .http
        .post(s.url(&format!("/sandbox/stripe/simulate/{intent}")))
        .body(json!({"outcome": "success", "send_callback": false}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    let c = s
        .post(&format!("/v1/payments/{id}/cancel"), &s.local.demo_key)
        .await;
    assert_eq!(
        (c.status, c.body["error"]["code"].as_str()),
        (409, Some("payment_already_succeeded")),
        "{}",
        c.body
    );
    assert_eq!(c.body["payment"]["status"], "succeeded");
    let p = s.get(&id, &s.local.demo_key).await;
    assert_eq!(p.body["status"], "succeeded");
    assert!(!events_of(&s, &id).await.contains(&"canceled".to_string()));
}

async fn late_success_seen_by_status_check_after_cancel(s: Stack) {
    let a = s.create("cancel-late", &dana_order("cancel-late")).await;
    let id = a.body["id"].as_str().unwrap().to_string();
    let c = s
        .post(&format!("/v1/payments/{id}/cancel"), &s.local.demo_key)
        .await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["status"], "canceled");
    assert!(c.body["next_action"].is_null());
    // Canceling again answers the same.
    let again = s
        .post(&format!("/v1/payments/{id}/cancel"), &s.local.demo_key)
        .await;
    assert_eq!(
        (again.status, again.body["status"].as_str()),
        (200, Some("canceled"))
    );
    let reference = a.body["provider_reference"].as_str().unwrap();
    assert_eq!(
        s.local.xendit.payment_request(reference).unwrap().status,
        "CANCELED",
        "canceled at Xendit too"
    );
    // The customer's wallet had already taken the money: its capture races the cancel, and
    // its webhook is lost. The status checks still find it.
    s.local
        .xendit
        .settle(
            reference,
            &walletpay_wallet_adapter::xendit::sandbox::SimulateBody {
                send_callback: false,
                late: true,
                ..walletpay_wallet_adapter::xendit::sandbox::SimulateBody::plain(
                    walletpay_wallet_adapter::xendit::sandbox::Outcome::Success,
                )
            },
        )
        .await
        .unwrap();
    let p = s.wait_for(&id, "succeeded").await;
    assert_eq!(p["late_success"], true);
    // A succeeded payment cannot be canceled: the customer paid, refund it instead.
    let no = s
        .post(&format!("/v1/payments/{id}/cancel"), &s.local.demo_key)
        .await;
    assert_eq!(
        (no.status, no.body["error"]["code"].as_str()),
        (409, Some("payment_already_succeeded"))
    );
    // Nor can another merchant's.
    let other = s.other_merchant().await;
    assert_eq!(
        s.post(&format!("/v1/payments/{id}/cancel"), &other)
            .await
            .status,
        404
    );
}

async fn provider_errors_on_create(s: Stack) {
    // Xendit alone (with another provider enabled, the payment would fail over to it).
    let only_xendit = s
        .http
        .patch(s.url("/v1/merchant"))
        .header("authorization", format!("Bearer {}", s.local.demo_key))
        .body(json!({"wallet_providers": {"ID:dana": ["xendit"]}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(only_xendit.status(), 200);
    // 403 INVALID_MERCHANT_SETTINGS (the channel is not activated) and 503
    // CHANNEL_UNAVAILABLE: declined, nothing charged.
    for (rupiah, code) in [
        (10100, "INVALID_MERCHANT_SETTINGS"),
        (10101, "CHANNEL_UNAVAILABLE"),
    ] {
        let a = s
            .create(&format!("err-{rupiah}"), &amount_order("err", rupiah))
            .await;
        assert_eq!(a.status, 201);
        assert_eq!(a.body["status"], "failed", "{code}");
        assert_eq!(a.body["failure"]["category"], "wallet_unavailable");
        assert_eq!(a.body["failure"]["provider_code"], code);
        assert!(a.body["failure"]["recovery"]
            .as_array()
            .unwrap()
            .contains(&json!("switch_wallet")));
    }
    // 500: the outcome is unknown, so the payment waits. Xendit's e-wallet API cannot say
    // whether it made a charge it never named, so no amount of silence expires it: its
    // callback, or reconciliation, will tell.
    let a = s.create("err-500", &amount_order("err", 10102)).await;
    assert_eq!(a.body["status"], "processing");
    let id = a.body["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(
        s.get(&id, &s.local.demo_key).await.body["status"],
        "processing",
        "past its expiry and several checks later"
    );
    assert_eq!(events_of(&s, &id).await, ["created"]);
}

async fn refresh_asks_the_provider_now(s: Stack) {
    let a = s.create("refresh", &dana_order("refresh")).await;
    let id = a.body["id"].as_str().unwrap().to_string();
    s.local
        .xendit
        .settle(
            a.body["provider_reference"].as_str().unwrap(),
            &walletpay_wallet_adapter::xendit::sandbox::SimulateBody {
                send_callback: false,
                ..walletpay_wallet_adapter::xendit::sandbox::SimulateBody::plain(
                    walletpay_wallet_adapter::xendit::sandbox::Outcome::Success,
                )
            },
        )
        .await
        .unwrap();
    let stale = s.get(&id, &s.local.demo_key).await;
    assert_eq!(
        stale.body["status"], "requires_action",
        "no callback, no check yet"
    );
    let fresh = s
        .get_path(
            &format!("/v1/payments/{id}?refresh=true"),
            &s.local.demo_key,
        )
        .await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.body["status"], "succeeded");
    assert_eq!(
        sources(&s, &id).await.pop().unwrap(),
        ("succeeded".to_string(), "refresh".to_string())
    );
    let bad = s
        .get_path(&format!("/v1/payments/{id}?refresh=yes"), &s.local.demo_key)
        .await;
    assert_eq!(
        (bad.status, bad.body["error"]["code"].as_str()),
        (400, Some("invalid_parameter"))
    );
}

macro_rules! scenarios {
    ($module:ident, $backend:expr) => {
        mod $module {
            use super::*;
            macro_rules! scenario {
                ($name:ident, $opts:expr) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let Some(s) = start_with($backend, $opts).await else {
                            return;
                        };
                        super::$name(s).await;
                    }
                };
            }
            scenario!(
                a_create_whose_answer_is_lost_is_recovered_by_resending_it,
                checks_after_the_create()
            );
            scenario!(lost_callback_is_resolved_by_a_status_check, fast());
            scenario!(lost_failure_is_resolved_by_a_status_check, fast());
            scenario!(
                an_unapproved_charge_lapses_at_the_provider,
                lapsing_charges()
            );
            scenario!(
                an_unapproved_xendit_request_is_canceled_when_the_payment_expires,
                long_lived_charges()
            );
            scenario!(
                an_unapproved_payment_is_canceled_at_the_provider_when_it_expires,
                fast()
            );
            scenario!(
                a_provider_that_cannot_be_asked_never_expires_a_payment_by_silence,
                long_lived_charges()
            );
            scenario!(a_success_after_the_provider_gave_up_is_recorded, fast());
            scenario!(canceling_a_paid_charge_records_the_success, fast());
            scenario!(late_success_seen_by_status_check_after_cancel, fast());
            scenario!(provider_errors_on_create, fast());
            scenario!(refresh_asks_the_provider_now, no_checks());
        }
    };
}

scenarios!(embedded, Backend::Embedded);
scenarios!(aws, Backend::Aws);
