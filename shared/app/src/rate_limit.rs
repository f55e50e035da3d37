//! Each merchant's share of the API, so one shop's flood cannot use up what the others
//! need, with no store write per request. Two limits, both per merchant:
//!
//! - a budget of requests per minute across every process: each process counts what it
//!   admits, adds its counts to sharded per-minute counters in the store in batches (every
//!   [`FLUSH_EVERY_MS`], or sooner once it holds a hundredth of the budget), and reads the
//!   minute's sum at most every [`READ_EVERY_MS`], adding what it wrote itself since; a request
//!   is counted before it is checked, so concurrent requests in one process see each other;
//! - a token bucket per process (rate and burst), which bounds a burst before the shared
//!   counts catch up.
//!
//! Other processes' counts reach a process within about [`READ_EVERY_MS`] plus
//! [`FLUSH_EVERY_MS`], so a shop spread over many processes can overshoot its budget by what it
//! sends in that time; the HTTP API's stage and route throttling (`template.yaml`) bounds
//! the whole service. A store that cannot be read or written fails open (the bucket still
//! holds). A refused request answers `429 rate_limited` with `Retry-After`.

use crate::app::App;
use std::collections::HashMap;
use std::sync::Mutex;
use walletpay_domain::{MerchantId, Timestamp};
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

/// How often a process writes what it counted (sooner when busy).
pub const FLUSH_EVERY_MS: i64 = 5_000;
/// How long a process trusts the shared sum it read.
pub const READ_EVERY_MS: i64 = 5_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Timestamp,
}

/// What a process knows of one merchant's minute.
#[derive(Debug, Clone, Copy, Default)]
struct Minute {
    minute: i64,
    /// The shared sum as last read, and when (millis).
    shared: u64,
    read_at: Option<i64>,
    /// Written by this process since that read.
    written_since: u64,
    /// Admitted here, not yet written.
    pending: u64,
}

#[derive(Default)]
struct State {
    buckets: HashMap<MerchantId, Bucket>,
    minutes: HashMap<MerchantId, Minute>,
    last_flush: Option<i64>,
}

/// What one process knows of its merchants' use.
#[derive(Default)]
pub struct RateLimits(Mutex<State>);

/// Merchants kept before idle ones are let go.
const KEPT: usize = 10_000;

fn key(merchant: &MerchantId) -> String {
    format!("rate#{merchant}")
}

impl RateLimits {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes one token of `merchant`'s bucket: `Err` with the seconds until it has one.
    pub fn take_token(
        &self,
        merchant: &MerchantId,
        limit: Limit,
        now: Timestamp,
    ) -> Result<(), u64> {
        let mut state = self.lock();
        let refill = |b: &Bucket| {
            (b.tokens + (now.millis() - b.at.millis()).max(0) as f64 / 1000.0 * limit.per_second)
                .min(limit.burst)
        };
        if state.buckets.len() >= KEPT {
            state.buckets.retain(|_, b| refill(b) < limit.burst);
        }
        let b = state.buckets.entry(merchant.clone()).or_insert(Bucket {
            tokens: limit.burst,
            at: now,
        });
        b.tokens = refill(b);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / limit.per_second).ceil().max(1.0) as u64)
        }
    }
}

/// Admits one request of `merchant` or says how many seconds to wait.
pub async fn admit(app: &App, merchant: &MerchantId) -> Result<(), u64> {
    let limit = app.settings.merchant_rate;
    let now = app.clock.now();
    app.limits.take_token(merchant, limit, now)?;
    let minute = now.unix_seconds().div_euclid(60);
    let until_next_minute = (60 - now.unix_seconds().rem_euclid(60)).max(1) as u64;
    // Counted first, then checked: a concurrent request here sees this one.
    let stale = {
        let mut state = app.limits.lock();
        if state.minutes.len() >= KEPT {
            state
                .minutes
                .retain(|_, m| m.minute >= minute && m.pending > 0);
        }
        let m = state.minutes.entry(merchant.clone()).or_default();
        if m.minute != minute {
            *m = Minute {
                minute,
                ..Minute::default()
            };
        }
        m.pending += 1;
        m.read_at
            .is_none_or(|at| now.millis() - at >= READ_EVERY_MS)
    };
    if stale {
        let shared = match app.store.health_since(&key(merchant), minute).await {
            Ok(c) => Some(c.attempts),
            Err(e) => {
                tracing::warn!(error = %e, "request counts not read");
                None
            }
        };
        let mut state = app.limits.lock();
        if let Some(m) = state
            .minutes
            .get_mut(merchant)
            .filter(|m| m.minute == minute)
        {
            if let Some(shared) = shared {
                m.shared = shared;
                m.written_since = 0;
            }
            m.read_at = Some(now.millis());
        }
    }
    let over = {
        let mut state = app.limits.lock();
        match state
            .minutes
            .get_mut(merchant)
            .filter(|m| m.minute == minute)
        {
            Some(m) if m.shared + m.written_since + m.pending > limit.per_minute => {
                m.pending -= 1;
                true
            }
            _ => false,
        }
    };
    if over {
        return Err(until_next_minute);
    }
    flush_if_due(app, now, limit).await;
    Ok(())
}

/// Writes what this process counted, when its interval passed or it holds much.
async fn flush_if_due(app: &App, now: Timestamp, limit: Limit) {
    let busy_at = (limit.per_minute / 100).max(1);
    let due: Vec<(MerchantId, i64, u64)> = {
        let mut state = app.limits.lock();
        let interval = state
            .last_flush
            .is_none_or(|at| now.millis() - at >= FLUSH_EVERY_MS);
        let busy = state.minutes.values().any(|m| m.pending >= busy_at);
        if !interval && !busy {
            return;
        }
        state.last_flush = Some(now.millis());
        state
            .minutes
            .iter_mut()
            .filter(|(_, m)| m.pending > 0)
            .map(|(id, m)| {
                let n = std::mem::take(&mut m.pending);
                m.written_since += n;
                (id.clone(), m.minute, n)
            })
            .collect()
    };
    for (merchant, minute, n) in due {
        let shard = rand::random::<u32>() % 4;
        let add = HealthCounts {
            attempts: n,
            errors: 0,
        };
        if let Err(e) = app
            .store
            .add_health(&key(&merchant), minute, shard, add)
            .await
        {
            tracing::warn!(error = %e, "request counts not written");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{app_with, Script};
    use std::sync::Arc;
    use walletpay_ports::ManualClock;

    const LIMIT: Limit = Limit {
        per_minute: 1_000_000,
        per_second: 2.0,
        burst: 3.0,
    };

    #[test]
    fn a_merchant_spends_its_burst_then_its_rate_and_no_one_elses() {
        let limits = RateLimits::default();
        let (a, b) = (MerchantId::new(1, 1), MerchantId::new(1, 2));
        let t0 = Timestamp(1_000_000);
        for _ in 0..3 {
            assert_eq!(limits.take_token(&a, LIMIT, t0), Ok(()));
        }
        assert_eq!(limits.take_token(&a, LIMIT, t0), Err(1));
        assert_eq!(limits.take_token(&b, LIMIT, t0), Ok(()));
        let t1 = t0.plus_millis(500);
        assert_eq!(limits.take_token(&a, LIMIT, t1), Ok(()));
        assert!(limits.take_token(&a, LIMIT, t1).is_err());
        let t2 = t1.plus_seconds(3600);
        for _ in 0..3 {
            assert_eq!(limits.take_token(&a, LIMIT, t2), Ok(()));
        }
        assert!(limits.take_token(&a, LIMIT, t2).is_err());
    }

    /// Two processes share one store: together they admit a merchant's budget for the minute
    /// and little more (what each admits before the other's counts reach it), and another
    /// merchant is not held back.
    #[tokio::test]
    async fn the_minute_budget_holds_across_processes() {
        let (mut first, _) = app_with(Script::default());
        // The start of a minute, and a clock the test moves.
        let clock = Arc::new(ManualClock::new(Timestamp(
            // 1,800,000,000 s is a whole number of minutes.
            1_800_000_000_000,
        )));
        first.clock = clock.clone();
        first.settings.merchant_rate = Limit {
            per_minute: 100,
            per_second: 1000.0,
            burst: 1000.0,
        };
        let mut second = first.clone();
        second.limits = Default::default();
        let shop = MerchantId::new(1, 1);
        let mut admitted = 0;
        // Eight intervals of 40 requests, half to each process.
        for _ in 0..8 {
            for i in 0..40 {
                let app = if i % 2 == 0 { &first } else { &second };
                if admit(app, &shop).await.is_ok() {
                    admitted += 1;
                }
            }
            clock.advance_seconds(6);
        }
        // Each process can admit, within one interval, what the other admitted in it.
        assert!(
            (100..=120).contains(&admitted),
            "admitted {admitted} of a budget of 100"
        );
        let other = MerchantId::new(1, 2);
        assert!(admit(&first, &other).await.is_ok());
    }

    /// A quiet shop costs no store work per request: over a minute of one request every two
    /// seconds, a process writes its counts and reads the sum only every few requests.
    #[tokio::test]
    async fn a_quiet_shop_costs_a_write_and_a_read_every_few_requests() {
        let (mut app, _) = app_with(Script::default());
        let clock = Arc::new(ManualClock::new(Timestamp(
            // 1,800,000,000 s is a whole number of minutes.
            1_800_000_000_000,
        )));
        app.clock = clock.clone();
        let shop = MerchantId::new(1, 1);
        let mut reads = 0;
        let mut writes = 0;
        for _ in 0..30 {
            let read_before = app.limits.lock().minutes.get(&shop).and_then(|m| m.read_at);
            let flush_before = app.limits.lock().last_flush;
            assert!(admit(&app, &shop).await.is_ok());
            let state = app.limits.lock();
            reads += usize::from(state.minutes.get(&shop).and_then(|m| m.read_at) != read_before);
            writes += usize::from(state.last_flush != flush_before);
            drop(state);
            clock.advance_seconds(2);
        }
        assert!(
            reads <= 10 && writes <= 10,
            "{reads} reads and {writes} writes for 30 requests"
        );
    }
}
