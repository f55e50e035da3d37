//! The commands that drive a running stack: `walletpay-local reconcile` asks it to
//! reconcile a provider's day (`POST /v1/reconciliation/runs`), follows the run with a
//! progress line until it ends, and prints its summary; `walletpay-local backtest` replays a
//! merchant's payments through a risk policy (`POST /v1/risk/backtest`) and prints the
//! curve.

use serde_json::Value;
use std::io::Write;
use std::time::Duration;

pub async fn reconcile(base: &str, key: &str, provider: &str, date: &str) -> Result<(), String> {
    let http = walletpay_wallet_adapter::tls::client_builder()
        .build()
        .expect("an HTTP client");
    let base = base.trim_end_matches('/');
    let resp = http
        .post(format!("{base}/v1/reconciliation/runs"))
        .bearer_auth(key)
        .json(&serde_json::json!({"provider": provider, "date": date}))
        .send()
        .await
        .map_err(|e| format!("cannot reach {base}: {e}"))?;
    let status = resp.status();
    let body: Value = resp.json().await.map_err(|e| e.to_string())?;
    if status.as_u16() != 202 {
        return Err(format!("{status}: {}", body["error"]["message"]));
    }
    let id = body["id"]
        .as_str()
        .ok_or("the answer names no run")?
        .to_string();
    let started = std::time::Instant::now();
    let mut spin = 0usize;
    let run = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let run: Value = http
            .get(format!("{base}/v1/reconciliation/runs/{id}"))
            .bearer_auth(key)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let state = run["state"].as_str().unwrap_or("?").to_string();
        let rows = run["progress"]["rows_read"].as_u64().unwrap_or(0);
        let entries = run["progress"]["entries_read"].as_u64().unwrap_or(0);
        let width = 24;
        let filled = match state.as_str() {
            "done" | "failed" => width,
            "running" => (spin % width) + 1,
            _ => 0,
        };
        spin += 1;
        eprint!(
            "\r[{}{}] {state:<8} entries {entries:>8}  rows {rows:>8}  {:>5.1}s",
            "#".repeat(filled),
            ".".repeat(width - filled),
            started.elapsed().as_secs_f64()
        );
        let _ = std::io::stderr().flush();
        match state.as_str() {
            "done" | "failed" => break run,
            "waiting" if run["reason"].as_str() != Some("requested") => {
                eprintln!();
                println!(
                    "waiting for {provider}: {}",
                    run["reason"].as_str().unwrap_or("")
                );
                println!("the job comes back by itself; follow it with GET {base}/v1/reconciliation/runs/{id}");
                return Ok(());
            }
            _ => {}
        }
        if started.elapsed() > Duration::from_secs(900) {
            eprintln!();
            return Err("the run has not ended in 15 minutes".into());
        }
    };
    eprintln!();
    print_summary(&run);
    if run["state"] == "failed" {
        return Err(format!(
            "the run failed: {}",
            run["reason"].as_str().unwrap_or("")
        ));
    }
    Ok(())
}

fn print_summary(run: &Value) {
    println!(
        "run {}  {}  {}",
        run["id"].as_str().unwrap_or(""),
        run["state"].as_str().unwrap_or(""),
        run["source"].as_str().unwrap_or("")
    );
    let s = &run["summary"];
    if s.is_null() {
        return;
    }
    println!(
        "entries {}  rows {}  discrepancies {}  heals {}  carried {}",
        s["entries"], s["rows"], s["discrepancies"], s["heals"], s["carried"]
    );
    if let Some(counts) = s["counts"].as_object() {
        for (class, n) in counts {
            println!("  {class:<20} {n}");
        }
    }
    if let Some(totals) = s["totals"].as_object() {
        for (currency, t) in totals {
            println!(
                "  {currency}: provider charges {} refunds {} fees {} net {} payouts {}; ours charges {} refunds {}, contracted fees {}, expected payout {}",
                t["provider_charges"], t["provider_refunds"], t["provider_fees"], t["provider_net"], t["provider_payouts"],
                t["our_charges"], t["our_refunds"], t["contracted_fees"], t["expected_payout"]
            );
        }
    }
    println!("report: {}", run["report_url"].as_str().unwrap_or(""));
}

/// `walletpay-local backtest`: the backtest's totals and its curve, loose to strict.
pub async fn backtest(
    base: &str,
    key: &str,
    from: &str,
    to: &str,
    policy: Option<Value>,
) -> Result<(), String> {
    let base = base.trim_end_matches('/');
    let mut body = serde_json::json!({"from": from, "to": to});
    if let Some(p) = policy {
        body["policy"] = p;
    }
    let resp = walletpay_wallet_adapter::tls::client_builder()
        .build()
        .expect("an HTTP client")
        .post(format!("{base}/v1/risk/backtest"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("cannot reach {base}: {e}"))?;
    let status = resp.status();
    let b: Value = resp.json().await.map_err(|e| e.to_string())?;
    if status.as_u16() != 200 {
        return Err(format!("{status}: {}", b["error"]["message"]));
    }
    let o = &b["outcomes"];
    println!(
        "{} payments replayed ({} decided before risk control{}): {} good, {} fraud, {} refunded, {} failed, {} stopped, {} open; success rate {:.1}%",
        b["assessed"], b["not_assessed"],
        if b["truncated"] == true { "; the period held more, cut at the limit" } else { "" },
        o["good_paid"], o["fraud"], o["refunded"], o["failed"], o["stopped"], o["open"],
        b["success_rate"].as_f64().unwrap_or(0.0) * 100.0
    );
    println!(
        "as proposed: blocks {} (fraud {}), reviews {} (fraud {})",
        sum(&b["blocked"]),
        b["blocked"]["fraud"],
        sum(&b["reviewed"]),
        b["reviewed"]["fraud"]
    );
    println!(
        "threshold  stopped  good  fraud  refunded  failed  success rate  cost     fraud stopped"
    );
    for p in b["curve"].as_array().into_iter().flatten() {
        let st = &p["stopped"];
        println!(
            "{:>9}  {:>7}  {:>4}  {:>5}  {:>8}  {:>6}  {:>11.1}%  {:>5.1}%  {:>12.1}%",
            n(&p["threshold"]),
            sum(st),
            n(&st["good_paid"]),
            n(&st["fraud"]),
            n(&st["refunded"]),
            n(&st["failed"]),
            p["success_rate"].as_f64().unwrap_or(0.0) * 100.0,
            p["success_rate_cost"].as_f64().unwrap_or(0.0) * 100.0,
            p["fraud_stopped"].as_f64().unwrap_or(0.0) * 100.0
        );
    }
    for r in b["shadow"].as_array().into_iter().flatten() {
        println!(
            "shadow rule {}: fired {} times ({} on fraud)",
            r["rule"], r["fired"], r["outcomes"]["fraud"]
        );
    }
    Ok(())
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn sum(split: &Value) -> u64 {
    split
        .as_object()
        .map(|o| o.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0)
}
