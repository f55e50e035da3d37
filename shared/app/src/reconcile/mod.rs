//! Reconciliation, the use case: a provider account's day of settlement data matched against
//! our ledger, every row and entry classed, what the provider's data proves healed through
//! the state machine, what does not match opened as a discrepancy for a person, and the
//! run's record, report and carried entries kept. This module owns the run of a day
//! ([`run`]: the job the scheduled fan-out and `POST /v1/reconciliation/runs` enqueue), the
//! weekly roll-up and the operator API over runs, discrepancies and contracts ([`api`]),
//! and the figures it logs as CloudWatch metrics ([`metrics`]); our side of a day (`ours`: the
//! ledger, carried entries, lookups) and what its outcomes come to (`outcomes`) are the
//! run's two halves. The matching itself is the
//! pure `walletpay-reconcile` crate; the provider's data is each adapter's `settlement.rs`.

pub mod api;
pub mod metrics;
mod ours;
mod outcomes;
pub mod run;

use serde::{Deserialize, Serialize};
use std::time::Duration;
use walletpay_domain::Provider;
use walletpay_reconcile::Date;

pub use run::{process_job, run_day, schedule_days, RunError, Started};

/// Tunables of reconciliation.
#[derive(Debug, Clone)]
pub struct ReconcileSettings {
    /// Each provider account's report time zone, in minutes east of UTC (its days are
    /// reconciled in it).
    pub offsets: Vec<(Provider, i32)>,
    /// Days a success we show may go unlisted before it is a discrepancy (settlement data
    /// can lag).
    pub grace_days: u32,
    /// How long a started run is presumed alive; after it, a redelivered job starts again
    /// (longer than the reconcile function may run).
    pub lease: Duration,
    /// How long a day may wait for its provider's data before the run fails for a person.
    pub give_up_after: Duration,
    /// Waits before asking again for data not published yet; the last repeats.
    pub waiting_delays: Vec<Duration>,
    /// A day still not reconciled this long after it ended is overdue (metric and alarm).
    pub overdue_after: Duration,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        ReconcileSettings {
            offsets: vec![
                (Provider::Xendit, 7 * 60),
                (Provider::Stripe, 7 * 60),
                (Provider::Adyen, 0),
                (Provider::Midtrans, 7 * 60),
                (Provider::Dana, 7 * 60),
                (Provider::Promptpay, 7 * 60),
                (Provider::Pix, -3 * 60),
            ],
            grace_days: 3,
            lease: Duration::from_secs(16 * 60),
            give_up_after: Duration::from_secs(48 * 3600),
            waiting_delays: [60, 300, 900].map(Duration::from_secs).to_vec(),
            overdue_after: Duration::from_secs(36 * 3600),
        }
    }
}

impl ReconcileSettings {
    /// The provider's report time zone, in minutes east of UTC.
    pub fn offset(&self, provider: Provider) -> i32 {
        self.offsets
            .iter()
            .find(|(p, _)| *p == provider)
            .map_or(0, |(_, o)| *o)
    }

    /// The wait before the `n`-th ask again (0 the first).
    pub fn waiting_delay(&self, n: u32) -> Duration {
        self.waiting_delays
            .get(n as usize)
            .or(self.waiting_delays.last())
            .copied()
            .unwrap_or(Duration::from_secs(300))
    }
}

/// A message on the reconcile queue: run this provider account's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub provider: Provider,
    pub date: Date,
    /// How many times it waited for the provider's data already.
    #[serde(default)]
    pub waits: u32,
    /// Run the day again even if it is done (a report announced for it anew).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub again: bool,
}

/// A message on the reconcile queue from the weekly schedule: catch up the week's days not
/// reconciled, and log the week's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekJob {
    pub provider: Provider,
    pub week: String,
}
