//! Each merchant's share of the API, so one shop's flood cannot use up what the others
//! need, at no store write per request. Two limits, both per merchant:
//!
//! - a budget of requests per minute across every process: each process counts what it
//!   admitted and adds its counts to sharded per-minute counters in the store once a second
//!   (the health counters' pattern, `HealthStore`), and reads the minute's sum through a
//!   one-second cache; a shop over its budget is refused until the minute turns;
//! - a token bucket per process (rate and burst), which bounds a burst before the shared
//!   counts catch up.
//!
//! The shared sum lags by up to a second or two, so a merchant can overshoot its budget
//! by what it sends in that time; the HTTP API's stage and route throttling
//! (`template.yaml`) bounds the whole service. A refused request answers `429
//! rate_limited` with `Retry-After`.

use crate::app::App;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use walletpay_domain::MerchantId;
use walletpay_ports::HealthCounts;

/// A merchant's limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Requests per minute across all processes.
    pub per_minute: u64,
    /// Each process's token bucket: tokens per second and the burst it may spend at once.
    pub per_second: f64,
    pub burst: f64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Requests admitted and not yet counted in the store, by (merchant, minute), and when the
/// counts were last written.
type Pending = (Option<Instant>, HashMap<(MerchantId, i64), u64>);

/// What one process knows of its merchants' use.
#[derive(Default)]
pub struct RateLimits {
    buckets: Mutex<HashMap<MerchantId, Bucket>>,
    pending: Mutex<Pending>,
    /// The shared count of a merchant's minute, as last read, and when.
    read: Mutex<HashMap<MerchantId, (Instant, i64, u64)>>,
}

/// Buckets kept before idle, full ones are let go.
const KEPT: usize = 10_000;
const FLUSH: Duration = Duration::from_secs(1);
const CACHE: Duration = Duration::from_secs(1);

fn key(merchant: &MerchantId) -> String {
    format!("rate#{merchant}")
}

impl RateLimits {
    /// Takes one token of `merchant`'s bucket: `Err` with the seconds until it has one.
    pub fn take_token(&self, merchant: &MerchantId, limit: Limit, now: Instant) -> Result<(), u64> {
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= KEPT {
            map.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * limit.per_second < limit.burst
            });
        }
        let b = map.entry(merchant.clone()).or_insert(Bucket {
            tokens: limit.burst,
            at: now,
        });
        let refilled = now.duration_since(b.at).as_secs_f64() * limit.per_second;
        b.tokens = (b.tokens + refilled).min(limit.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / limit.per_second).ceil().max(1.0) as u64)
        }
    }

    fn unflushed(&self, merchant: &MerchantId, minute: i64) -> u64 {
        let p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        p.1.get(&(merchant.clone(), minute)).copied().unwrap_or(0)
    }
}

/// Admits one request of `merchant` or says how many seconds to wait.
pub async fn admit(app: &App, merchant: &MerchantId) -> Result<(), u64> {
    let limit = app.settings.merchant_rate;
    let limits = &app.limits;
    limits.take_token(merchant, limit, Instant::now())?;
    let now_s = app.clock.now().unix_seconds();
    let minute = now_s.div_euclid(60);
    let until_next_minute = (60 - now_s.rem_euclid(60)).max(1) as u64;
    let shared = shared_count(app, merchant, minute).await;
    if shared + limits.unflushed(merchant, minute) >= limit.per_minute {
        return Err(until_next_minute);
    }
    let due = {
        let mut p = limits.pending.lock().unwrap_or_else(|p| p.into_inner());
        *p.1.entry((merchant.clone(), minute)).or_default() += 1;
        let due = p.0.is_none_or(|at| at.elapsed() >= FLUSH);
        if due {
            p.0 = Some(Instant::now());
            std::mem::take(&mut p.1)
        } else {
            HashMap::new()
        }
    };
    for ((m, minute), n) in due {
        let shard = rand::random::<u32>() % 4;
        let add = HealthCounts {
            attempts: n,
            errors: 0,
        };
        if let Err(e) = app.store.add_health(&key(&m), minute, shard, add).await {
            tracing::warn!(error = %e, "request counts not written");
        }
        // Ours are in the shared sum from now on: read it afresh next time.
        limits
            .read
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&m);
    }
    Ok(())
}

/// The shared count of `merchant`'s requests in `minute`, through the process's cache. A
/// store that cannot be read counts as nothing: the limit fails open, the bucket still holds.
async fn shared_count(app: &App, merchant: &MerchantId, minute: i64) -> u64 {
    if let Some((at, m, n)) = app
        .limits
        .read
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(merchant)
    {
        if *m == minute && at.elapsed() < CACHE {
            return *n;
        }
    }
    let n = match app.store.health_since(&key(merchant), minute).await {
        Ok(c) => c.attempts,
        Err(e) => {
            tracing::warn!(error = %e, "request counts not read");
            0
        }
    };
    app.limits
        .read
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(merchant.clone(), (Instant::now(), minute, n));
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{app_with, Script};

    const LIMIT: Limit = Limit {
        per_minute: 1_000_000,
        per_second: 2.0,
        burst: 3.0,
    };

    #[test]
    fn a_merchant_spends_its_burst_then_its_rate_and_no_one_elses() {
        let limits = RateLimits::default();
        let (a, b) = (MerchantId::new(1, 1), MerchantId::new(1, 2));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limits.take_token(&a, LIMIT, t0), Ok(()));
        }
        assert_eq!(limits.take_token(&a, LIMIT, t0), Err(1));
        assert_eq!(limits.take_token(&b, LIMIT, t0), Ok(()));
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(limits.take_token(&a, LIMIT, t1), Ok(()));
        assert!(limits.take_token(&a, LIMIT, t1).is_err());
        let t2 = t1 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(limits.take_token(&a, LIMIT, t2), Ok(()));
        }
        assert!(limits.take_token(&a, LIMIT, t2).is_err());
    }

    /// Two processes share one store: together they admit no more of a merchant's requests
    /// in a minute than its budget (give or take what one flush interval lets through),
    /// and another merchant is not held back.
    #[tokio::test]
    async fn the_minute_budget_holds_across_processes() {
        let (mut first, _) = app_with(Script::default());
        // One minute throughout, wherever the wall clock is.
        first.clock = std::sync::Arc::new(walletpay_ports::ManualClock::new(
            walletpay_domain::Timestamp(1_800_000_000_000),
        ));
        first.settings.merchant_rate = Limit {
            per_minute: 20,
            per_second: 1000.0,
            burst: 1000.0,
        };
        let mut second = first.clone();
        second.limits = Default::default();
        let shop = MerchantId::new(1, 1);
        let mut admitted = 0;
        for i in 0..60 {
            let app = if i % 2 == 0 { &first } else { &second };
            if admit(app, &shop).await.is_ok() {
                admitted += 1;
            }
            if i % 10 == 9 {
                // A flush interval passes now and then.
                tokio::time::sleep(FLUSH + Duration::from_millis(50)).await;
            }
        }
        assert!(
            (20..=30).contains(&admitted),
            "admitted {admitted} of a budget of 20"
        );
        let other = MerchantId::new(1, 2);
        assert!(admit(&first, &other).await.is_ok());
    }
}
