//! Which provider takes a payment, and failing over to the next.
//!
//! The candidates are the shop's enabled providers for the wallet in its order of priority
//! (`wallet_providers`), else every provider the catalog lists, in its order; only those
//! configured here and taking the wallet count. A provider whose circuit is open (at least
//! `MIN_ATTEMPTS` attempts for that wallet in the last `WINDOW_MINUTES` minutes, half or
//! more of them provider-side errors) goes to the back of the line.
//!
//! A create fails over to the next candidate only when the provider refused before the
//! customer was involved and nothing can have been charged: the wallet unavailable at the
//! provider, a connection that never opened, our credentials refused, the request refused
//! as invalid. An unknown outcome (timeout, 5xx) never fails over: the first provider may
//! have charged the customer.
//!
//! Health is kept as sharded per-minute counters in the store; each process adds its
//! counts in batches (`Settings::health_flush`) and reads the sums through a short cache
//! (`Settings::health_cache`).

use crate::app::App;
use crate::error::{ApiError, Reply};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use walletpay_domain::{catalog, Country, FailureCode, MerchantId, Provider, WalletId};
use walletpay_ports::HealthCounts;
use walletpay_wallet_adapter::{AdapterError, WalletAdapter};

pub const WINDOW_MINUTES: i64 = 5;
pub const MIN_ATTEMPTS: u64 = 5;

fn key(provider: Provider, country: Country, wallet: WalletId) -> String {
    format!("{provider}#{country}#{wallet}")
}

fn open(c: HealthCounts) -> bool {
    c.attempts >= MIN_ATTEMPTS && c.errors * 2 >= c.attempts
}

/// Counts not yet written, by (key, minute), and when the last write was.
type Pending = (Option<Instant>, HashMap<(String, i64), HealthCounts>);

/// What a process has counted but not yet written, and what it last read.
#[derive(Default)]
pub struct HealthBook {
    pending: Mutex<Pending>,
    read: Mutex<HashMap<String, (Instant, HealthCounts)>>,
}

/// Whether a create's outcome was the provider's fault (it counts against its health).
pub fn provider_side(outcome: &Result<(), &AdapterError>) -> bool {
    match outcome {
        Ok(()) => false,
        Err(AdapterError::Declined(f)) => matches!(
            f.code,
            FailureCode::WalletUnavailable | FailureCode::WalletUnreachable
        ),
        Err(_) => true,
    }
}

/// Whether a create that ended so may go to the next provider: refused before the customer
/// was involved, nothing charged.
pub fn may_fail_over(e: &AdapterError) -> bool {
    match e {
        AdapterError::Declined(f) => matches!(
            f.code,
            FailureCode::WalletUnavailable | FailureCode::WalletUnreachable
        ),
        AdapterError::Config(_) | AdapterError::Unsupported(_) => true,
        AdapterError::Unknown(_) | AdapterError::NotFound => false,
    }
}

/// Counts one create at `provider` and writes the counts when due.
pub async fn record(
    app: &App,
    provider: Provider,
    country: Country,
    wallet: WalletId,
    provider_error: bool,
) {
    let minute = app.clock.now().unix_seconds().div_euclid(60);
    let due = {
        let mut p = app.health.pending.lock().unwrap_or_else(|e| e.into_inner());
        let c =
            p.1.entry((key(provider, country, wallet), minute))
                .or_default();
        c.attempts += 1;
        c.errors += u64::from(provider_error);
        let due =
            p.0.is_none_or(|at| at.elapsed() >= app.settings.health_flush);
        if due {
            p.0 = Some(Instant::now());
            std::mem::take(&mut p.1)
        } else {
            HashMap::new()
        }
    };
    for ((k, m), c) in due {
        let shard = rand::random::<u32>() % 4;
        if let Err(e) = app.store.add_health(&k, m, shard, c).await {
            tracing::warn!(key = %k, error = %e, "health counters not written");
        }
    }
}

/// The counts of the last `WINDOW_MINUTES` minutes, through the process's cache.
pub async fn counts(
    app: &App,
    provider: Provider,
    country: Country,
    wallet: WalletId,
) -> HealthCounts {
    let k = key(provider, country, wallet);
    if let Some((at, c)) = app
        .health
        .read
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&k)
    {
        if at.elapsed() < app.settings.health_cache {
            return *c;
        }
    }
    let since = app.clock.now().unix_seconds().div_euclid(60) - WINDOW_MINUTES + 1;
    let c = match app.store.health_since(&k, since).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(key = %k, error = %e, "health counters not read; taken as healthy");
            HealthCounts::default()
        }
    };
    app.health
        .read
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(k, (Instant::now(), c));
    c
}

/// The plan for a merchant's payment: its enabled providers for the wallet (its
/// `wallet_providers`, else the catalog's), then `plan`.
pub async fn plan_for(
    app: &App,
    merchant: &MerchantId,
    country: Country,
    wallet: WalletId,
) -> Result<Vec<(Arc<dyn WalletAdapter>, String)>, walletpay_ports::StoreError> {
    let m = crate::merchant::cached(app, merchant).await?;
    let enabled = m.as_ref().and_then(|m| {
        m.wallet_providers
            .get(&format!("{country}:{wallet}"))
            .cloned()
    });
    let mut planned = plan(app, enabled.as_deref(), country, wallet).await;
    // Only providers that are live for this merchant (or that it has no record with).
    if let Some(m) = &m {
        planned.retain(|(a, _)| live_for(m, a.provider()));
    }
    Ok(planned)
}

/// Whether `provider` may take `m`'s payments: live for it, or no application recorded
/// (the merchants that took payments before onboarding was recorded).
pub fn live_for(m: &walletpay_ports::Merchant, provider: Provider) -> bool {
    m.onboarding.get(&provider).is_none_or(|o| o.is_live())
}

/// The providers to offer a payment to, in order, each with why it is there.
pub async fn plan(
    app: &App,
    enabled: Option<&[Provider]>,
    country: Country,
    wallet: WalletId,
) -> Vec<(Arc<dyn WalletAdapter>, String)> {
    let ordered = app.adapters.candidates(country, wallet, enabled);
    let mut healthy = Vec::new();
    let mut tripped = Vec::new();
    for (rank, adapter) in ordered.into_iter().enumerate() {
        let c = counts(app, adapter.provider(), country, wallet).await;
        if open(c) {
            tripped.push((adapter, rank + 1, c));
        } else {
            healthy.push((adapter, rank + 1));
        }
    }
    let skipped: Vec<String> = tripped
        .iter()
        .map(|(a, _, c)| {
            format!(
                "{} (circuit open: {} errors in {} attempts)",
                a.provider(),
                c.errors,
                c.attempts
            )
        })
        .collect();
    let mut out: Vec<(Arc<dyn WalletAdapter>, String)> = healthy
        .into_iter()
        .map(|(a, rank)| {
            let why = if skipped.is_empty() {
                format!("priority {rank}")
            } else {
                format!("priority {rank}; skipped {}", skipped.join(", "))
            };
            (a, why)
        })
        .collect();
    // Every circuit open: still try them, in order, rather than refuse the payment.
    out.extend(
        tripped
            .into_iter()
            .map(|(a, rank, _)| (a, format!("priority {rank}, circuit open"))),
    );
    out
}

/// Moves a payment no provider has taken yet to the next provider (one version of the
/// payment, `rerouted`, with the reason on its route).
pub async fn reroute(
    app: &App,
    mut p: walletpay_domain::Payment,
    to: Provider,
    reason: String,
) -> Result<walletpay_domain::Payment, crate::transition::TransitionError> {
    let now = app.clock.now();
    p.provider = to;
    p.route.push(walletpay_domain::RouteStep {
        provider: to,
        reason,
    });
    p.version += 1;
    p.updated_at = now;
    let entry = walletpay_ports::HistoryEntry {
        payment_id: p.id.clone(),
        merchant_id: p.merchant_id.clone(),
        seq: p.version,
        at: now,
        event: "rerouted".into(),
        from: Some(p.status),
        to: p.status,
        source: "router".into(),
        detail: Some(to.as_str().into()),
    };
    crate::notifications::announce(app, &entry, &p).await?;
    match app.store.update_payment(&p, &entry).await {
        Ok(()) => Ok(p),
        // Nothing else writes a payment no provider has named: a conflict is a bug.
        Err(walletpay_ports::StoreError::Conflict) => {
            Err(crate::transition::TransitionError::Contention(p.id.clone()))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /v1/providers/health`: every configured provider for every wallet it serves, with
/// its counts over the window and whether its circuit is open.
pub async fn health(app: &App, _merchant: &MerchantId) -> Result<Reply, ApiError> {
    let mut data: Vec<Value> = Vec::new();
    for spec in catalog::CATALOG {
        for adapter in app.adapters.candidates(spec.country, spec.wallet, None) {
            let c = counts(app, adapter.provider(), spec.country, spec.wallet).await;
            let rate = |n: u64| {
                (c.attempts > 0).then(|| (n as f64 / c.attempts as f64 * 1000.0).round() / 1000.0)
            };
            data.push(json!({
                "provider": adapter.provider().as_str(),
                "country": spec.country.as_str(),
                "wallet": spec.wallet.as_str(),
                "window_minutes": WINDOW_MINUTES,
                "attempts": c.attempts,
                "provider_errors": c.errors,
                "error_rate": rate(c.errors),
                "success_rate": rate(c.attempts - c.errors),
                "circuit": if open(c) { "open" } else { "closed" },
            }));
        }
    }
    Ok(Reply::json(
        200,
        json!({"data": data, "next_cursor": null}).to_string(),
    ))
}
