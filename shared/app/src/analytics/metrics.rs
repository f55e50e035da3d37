//! The same counts as CloudWatch metrics, in the Embedded Metric Format: one JSON line per
//! market × wallet × provider of a counted batch (`Attempts`, `Successes`, `Failures`, by
//! market and wallet and by provider too), and one per failure category. Written to
//! standard output by the stream consumer on Lambda, where CloudWatch Logs turns them into
//! metrics of the `walletpay` namespace; the template's dashboard and per-wallet alarms
//! read them.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use walletpay_domain::analytics::Counts;
use walletpay_domain::{Country, Provider, Timestamp, WalletId};
use walletpay_ports::Counted;

pub const NAMESPACE: &str = "walletpay";

/// The EMF documents of a batch of counted versions, stamped `at`.
pub fn emf_lines(counted: &[Counted], at: Timestamp) -> Vec<String> {
    let mut by: BTreeMap<(Country, WalletId, Provider), Counts> = BTreeMap::new();
    for c in counted {
        by.entry((c.bucket.country, c.bucket.wallet, c.bucket.provider))
            .or_default()
            .add(&c.counts);
    }
    let mut out = Vec::new();
    for ((country, wallet, provider), c) in by {
        let ended = c.successes + c.failed();
        if c.attempts == 0 && ended == 0 {
            continue;
        }
        let doc = json!({
            "_aws": {
                "Timestamp": at.millis(),
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Market", "Wallet", "Provider"], ["Market", "Wallet"]],
                    "Metrics": [
                        {"Name": "Attempts", "Unit": "Count"},
                        {"Name": "Successes", "Unit": "Count"},
                        {"Name": "Failures", "Unit": "Count"},
                    ],
                }],
            },
            "Market": country.as_str(),
            "Wallet": wallet.as_str(),
            "Provider": provider.as_str(),
            // A failover's move shows as one attempt off the provider it left.
            "Attempts": c.attempts as i64 - c.rerouted as i64,
            "Successes": c.successes,
            "Failures": c.failed(),
        });
        out.push(doc.to_string());
        for (category, n) in &c.failures {
            let doc: Value = json!({
                "_aws": {
                    "Timestamp": at.millis(),
                    "CloudWatchMetrics": [{
                        "Namespace": NAMESPACE,
                        "Dimensions": [["Market", "Wallet", "Provider", "Category"], ["Market", "Wallet", "Category"]],
                        "Metrics": [{"Name": "FailuresByCategory", "Unit": "Count"}],
                    }],
                },
                "Market": country.as_str(),
                "Wallet": wallet.as_str(),
                "Provider": provider.as_str(),
                "Category": category.as_str(),
                "FailuresByCategory": n,
            });
            out.push(doc.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use walletpay_domain::analytics::Bucket;
    use walletpay_domain::{FailureCategory, MerchantId, PaymentId};

    fn counted(wallet: WalletId, counts: Counts) -> Counted {
        Counted {
            payment_id: PaymentId::new(1, 1),
            seq: 1,
            part: 0,
            bucket: Bucket {
                merchant: MerchantId::new(1, 1),
                country: Country::ID,
                wallet,
                provider: Provider::Xendit,
                hour: 1,
            },
            counts,
        }
    }

    /// Each document names every dimension and metric it declares, at the top level, with
    /// numbers for metrics and strings for dimensions (the format's own rules).
    #[test]
    fn documents_follow_the_embedded_metric_format() {
        let mut failed = Counts::default();
        failed
            .failures
            .insert(FailureCategory::InsufficientBalance, 1);
        let batch = [
            counted(
                WalletId::Dana,
                Counts {
                    attempts: 1,
                    ..Counts::default()
                },
            ),
            counted(
                WalletId::Dana,
                Counts {
                    successes: 1,
                    volume: 5,
                    ..Counts::default()
                },
            ),
            counted(WalletId::Dana, failed),
            counted(WalletId::Ovo, Counts::default()),
        ];
        let lines = emf_lines(&batch, Timestamp(1_000));
        assert_eq!(lines.len(), 2, "{lines:?}");
        for line in &lines {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["_aws"]["Timestamp"], 1_000);
            let directive = &v["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(directive["Namespace"], NAMESPACE);
            for set in directive["Dimensions"].as_array().unwrap() {
                let set = set.as_array().unwrap();
                assert!(set.len() <= 9);
                for d in set {
                    assert!(v[d.as_str().unwrap()].is_string(), "{d} in {line}");
                }
            }
            for m in directive["Metrics"].as_array().unwrap() {
                assert!(v[m["Name"].as_str().unwrap()].is_number(), "{line}");
            }
        }
        let first: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(
            (
                first["Attempts"].clone(),
                first["Successes"].clone(),
                first["Failures"].clone()
            ),
            (json!(1), json!(1), json!(1))
        );
        let second: Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(second["Category"], "insufficient_balance");
    }
}
