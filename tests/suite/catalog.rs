//! `GET /v1/wallets`: the wallets a shop can offer for one order, filtered by country and
//! amount, best first, on the local stack.

use serde_json::{json, Value};
use walletpay_local::Backend;
use walletpay_tests::stack::{start, Stack};

async fn wallets(s: &Stack, query: &str, lang: Option<&str>) -> (u16, Value) {
    let mut req = s
        .http
        .get(s.url(&format!("/v1/wallets?{query}")))
        .header("authorization", format!("Bearer {}", s.local.demo_key));
    if let Some(l) = lang {
        req = req.header("accept-language", l);
    }
    let a = Stack::answer(req.send().await.unwrap()).await;
    (a.status, a.body)
}

fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["wallet"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallets_for_an_order() {
    let s = start(Backend::Embedded).await.unwrap();
    // Indonesia, IDR 150,000: every wallet, in order of market share, the national QR last.
    let (status, body) = wallets(&s, "country=ID&amount=15000000&currency=IDR", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        ids(&body),
        ["dana", "ovo", "gopay", "shopeepay", "linkaja", "qris"]
    );
    let qris = &body["data"][5];
    assert_eq!(
        (qris["name"].as_str(), qris["action"].as_str()),
        (Some("QRIS"), Some("qr"))
    );
    assert_eq!(qris["provider"], "xendit");
    // The Philippines: QR Ph among the wallets, up to PHP 50,000.
    let (_, ph) = wallets(&s, "country=PH&amount=2000000", None).await;
    assert_eq!(ids(&ph), ["gcash", "maya", "grabpay", "qrph"]);
    let (_, ph_big) = wallets(&s, "country=PH&amount=6000000", None).await;
    assert_eq!(
        ids(&ph_big),
        ["gcash", "maya", "grabpay"],
        "QR Ph takes at most PHP 50,000"
    );
    let dana = &body["data"][0];
    assert_eq!(dana["name"], "DANA");
    assert_eq!(dana["logo"], "id/dana");
    assert_eq!(dana["action"], "redirect");
    assert_eq!(dana["provider"], "xendit");
    assert_eq!(body["next_cursor"], Value::Null);

    // Malaysia, MYR 6,000: over GrabPay's and Boost's limit, so Touch 'n Go only (Boost has no
    // provider at any amount).
    let (_, my) = wallets(&s, "country=MY&amount=600000", None).await;
    assert_eq!(ids(&my), ["touch_n_go"]);
    let (_, small) = wallets(&s, "country=MY&amount=1000", None).await;
    assert_eq!(ids(&small), ["touch_n_go", "grabpay"]);
    // Below every wallet's minimum.
    let (_, tiny) = wallets(&s, "country=VN&amount=500", None).await;
    assert_eq!(ids(&tiny), Vec::<String>::new());

    // Names in the shopper's language, from Accept-Language or else the country.
    let (_, vn) = wallets(&s, "country=VN", None).await;
    assert_eq!(vn["data"][0]["name"], "Ví MoMo");
    let (_, vn_en) = wallets(&s, "country=VN", Some("en-US")).await;
    assert_eq!(vn_en["data"][0]["name"], "MoMo");

    // The shop's choice of provider shows.
    let patch = s
        .http
        .patch(s.url("/v1/merchant"))
        .header("authorization", format!("Bearer {}", s.local.demo_key))
        .body(json!({"wallet_providers": {"ID:dana": "adyen"}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 200);
    let (_, id) = wallets(&s, "country=ID", None).await;
    assert_eq!(id["data"][0]["provider"], "adyen");

    // Bad requests.
    assert_eq!(wallets(&s, "amount=100", None).await.0, 400);
    assert_eq!(wallets(&s, "country=XX", None).await.0, 400);
    assert_eq!(wallets(&s, "country=ID&amount=-5", None).await.0, 400);
    let (status, wrong) = wallets(&s, "country=ID&currency=THB", None).await;
    assert_eq!(status, 422);
    assert_eq!(wrong["error"]["code"], "currency_mismatch");
}

/// Every wallet of the catalog has its success-rate alarm in the template, on its own
/// market's and wallet's metrics, and the dashboard draws it.
#[test]
fn every_wallet_has_its_success_rate_alarm_and_dashboard_line() {
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    for spec in walletpay_domain::catalog::CATALOG {
        let (c, w) = (spec.country.as_str(), spec.wallet.as_str());
        let name = format!(
            "  SuccessRate{}{}Alarm:\n",
            c[..1].to_string() + &c[1..].to_ascii_lowercase(),
            w.split('_')
                .map(|p| p[..1].to_ascii_uppercase() + &p[1..])
                .collect::<String>()
        );
        let start = template
            .find(&name)
            .unwrap_or_else(|| panic!("no alarm {name:?}"));
        // The resource's lines: up to the next one indented as a resource name.
        let alarm: String = template[start + name.len()..]
            .lines()
            .take_while(|l| l.is_empty() || l.starts_with("   "))
            .map(|l| format!("{l}\n"))
            .collect();
        for metric in ["Successes", "Failures"] {
            assert!(alarm.contains(&format!("MetricName: {metric}")), "{name}");
        }
        assert!(
            alarm.contains(&format!("Value: {c}\n")) && alarm.contains(&format!("Value: {w}\n")),
            "{name} is not on {c}/{w}'s metrics"
        );
        assert!(alarm.contains("Threshold: !Ref SuccessRateAlarmPercent"));
        assert!(
            template.contains(&format!(
                r#"["walletpay","Successes","Market","{c}","Wallet","{w}""#
            )),
            "the dashboard has no success rate for {c}/{w}"
        );
    }
}
