//! Reconciliation's figures as CloudWatch embedded metric format (EMF) lines, namespace
//! `walletpay/reconciliation`, dimension `Provider`: `DiscrepanciesOpened` per run,
//! `RunsFailed`, `OpenDiscrepanciesOverADay` and `OverdueDays` from the scheduled start, and
//! `DaysNotReconciled` per week. In a Lambda function each is one JSON line on stdout (which
//! CloudWatch turns into the metric); elsewhere a log event.

use walletpay_domain::Provider;
use walletpay_ports::reconcile::RunRecord;

pub const NAMESPACE: &str = "walletpay/reconciliation";

/// One EMF line: `metrics` with the `Provider` dimension, and `extra` properties.
pub fn line(provider: Provider, metrics: &[(&str, u64)], extra: &[(&str, String)]) -> String {
    let mut root = serde_json::Map::new();
    root.insert(
        "_aws".into(),
        serde_json::json!({
            "Timestamp": std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Provider"]],
                "Metrics": metrics.iter().map(|(n, _)| serde_json::json!({"Name": n, "Unit": "Count"})).collect::<Vec<_>>(),
            }],
        }),
    );
    root.insert("Provider".into(), provider.as_str().into());
    for (n, v) in metrics {
        root.insert((*n).into(), (*v).into());
    }
    for (k, v) in extra {
        root.insert((*k).into(), v.clone().into());
    }
    serde_json::Value::Object(root).to_string()
}

fn emit(l: String) {
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        println!("{l}");
    } else {
        tracing::info!(target: "walletpay::metrics", "{l}");
    }
}

pub fn run_done(run: &RunRecord, opened: u64) {
    emit(line(
        run.provider,
        &[("DiscrepanciesOpened", opened), ("RunsFailed", 0)],
        &[("run", run.id.clone())],
    ));
}

pub fn failed(provider: Provider) {
    emit(line(provider, &[("RunsFailed", 1)], &[]));
}

pub fn week(provider: Provider, week: &str, missing: u64) {
    emit(line(
        provider,
        &[("DaysNotReconciled", missing)],
        &[("week", week.to_string())],
    ));
}

pub fn backlog(provider: Provider, open_over_a_day: u64, overdue_days: u64) {
    emit(line(
        provider,
        &[
            ("OpenDiscrepanciesOverADay", open_over_a_day),
            ("OverdueDays", overdue_days),
        ],
        &[],
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_names_its_metrics_and_dimension() {
        let v: serde_json::Value =
            serde_json::from_str(&line(Provider::Xendit, &[("DiscrepanciesOpened", 3)], &[]))
                .unwrap();
        assert_eq!(v["Provider"], "xendit");
        assert_eq!(v["DiscrepanciesOpened"], 3);
        let m = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(m["Namespace"], NAMESPACE);
        assert_eq!(m["Dimensions"][0][0], "Provider");
        assert_eq!(m["Metrics"][0]["Name"], "DiscrepanciesOpened");
    }
}
