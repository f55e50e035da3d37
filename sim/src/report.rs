//! What a run prints: the invariants, each shop's conversion and the uplift between them,
//! the faults injected, each provider's reconciliation, and the latency and throughput of
//! the sale.

use crate::shop::Order;
use crate::truth::Invariants;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;
use walletpay_local::chaos::FaultCounts;
use walletpay_local::Backend;

/// One shop's side of the sale.
#[derive(Debug, Clone)]
pub struct Side {
    pub name: &'static str,
    pub orders: usize,
    /// Orders the provider's books show paid.
    pub paid: usize,
    pub no_wallet: usize,
    pub abandoned: usize,
    /// Paid at the first attempt, and after a retry or a switch (as the journey saw it).
    pub paid_first: usize,
    pub paid_recovered: usize,
    /// Expired attempts the buyer approved after another paid the order.
    pub paid_late: usize,
    pub attempts: usize,
    pub payments: usize,
    pub refunds_sent: u64,
    pub refunds_refused: u64,
    pub events: usize,
    pub deliveries: u64,
    pub bad_signatures: u64,
}

impl Side {
    pub fn of(
        name: &'static str,
        orders: &[&Order],
        paid: usize,
        payments: usize,
        events: usize,
        deliveries: u64,
        bad_signatures: u64,
    ) -> Side {
        Side {
            name,
            orders: orders.len(),
            paid,
            no_wallet: orders.iter().filter(|o| o.no_wallet).count(),
            abandoned: orders.iter().filter(|o| o.abandoned).count(),
            paid_first: orders.iter().filter(|o| o.paid_by_attempt == 1).count(),
            paid_recovered: orders.iter().filter(|o| o.paid_by_attempt > 1).count(),
            paid_late: orders.iter().filter(|o| o.paid_late.is_some()).count(),
            attempts: orders.iter().map(|o| o.attempts).sum(),
            payments,
            refunds_sent: orders.iter().map(|o| o.refunds_sent as u64).sum(),
            refunds_refused: orders.iter().map(|o| o.refunds_refused as u64).sum(),
            events,
            deliveries,
            bad_signatures,
        }
    }

    pub fn conversion(&self) -> f64 {
        if self.orders == 0 {
            return 0.0;
        }
        self.paid as f64 / self.orders as f64
    }
}

#[derive(Debug)]
pub struct Report {
    pub seed: u64,
    pub buyers: usize,
    pub backend: Backend,
    pub aggregator: &'static str,
    pub degraded: &'static str,
    pub sale: Duration,
    pub requests: u64,
    pub invariants: Invariants,
    pub sides: Vec<Side>,
    pub faults: FaultCounts,
    /// Notifications the shops' endpoint refused (500) or answered late, on first delivery.
    pub endpoint_refused: u64,
    pub endpoint_late: u64,
    pub timings: HashMap<&'static str, Vec<u32>>,
    pub runs: Vec<(String, Value)>,
    pub unexpected: Vec<String>,
}

impl Report {
    /// walletpay's conversion over the baseline's, less one.
    pub fn uplift(&self) -> f64 {
        match (self.sides.first(), self.sides.get(1)) {
            (Some(w), Some(b)) if b.conversion() > 0.0 => w.conversion() / b.conversion() - 1.0,
            _ => 0.0,
        }
    }
}

/// The `p`th percentile (0-100) of sorted values.
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(micros: u32) -> String {
    format!("{:.1} ms", micros as f64 / 1000.0)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.invariants;
        writeln!(
            f,
            "flash sale: seed {}, {} buyers, {:?} backend, baseline on {} alone, {} degraded for a quarter of the sale",
            self.seed, self.buyers, self.backend, self.aggregator, self.degraded
        )?;
        writeln!(f, "\ninvariants (each expected 0)")?;
        for (name, n) in [
            (
                "payments whose state differs from the provider's books",
                i.state_differs,
            ),
            ("double charges (an order captured twice)", i.double_charges),
            ("over-refunds", i.over_refunds),
            ("notifications lost", i.notifications_lost),
            (
                "notifications redelivered with other content",
                i.notifications_changed,
            ),
            ("panics", i.panics),
        ] {
            writeln!(f, "  {name:<56} {n}")?;
        }
        for e in &i.examples {
            writeln!(f, "    e.g. {e}")?;
        }
        writeln!(f, "\nconversion (orders the provider's books show paid)")?;
        for s in &self.sides {
            writeln!(
                f,
                "  {:<10} {:>6} of {:>6} = {:>5.1}%",
                s.name,
                s.paid,
                s.orders,
                s.conversion() * 100.0
            )?;
            writeln!(
                f,
                "             paid at the first attempt {}, after a retry or a switch {}; no wallet the buyer would use {}; gave up waiting {}",
                s.paid_first, s.paid_recovered, s.no_wallet, s.abandoned
            )?;
            writeln!(
                f,
                "             attempts {}, payments {}, late approvals {}, refunds sent {} (refused {}), events {}, deliveries {}, bad signatures {}",
                s.attempts,
                s.payments,
                s.paid_late,
                s.refunds_sent,
                s.refunds_refused,
                s.events,
                s.deliveries,
                s.bad_signatures
            )?;
        }
        writeln!(f, "  uplift     {:+.1}%", self.uplift() * 100.0)?;
        writeln!(
            f,
            "  orders captured twice whose second capture went back (late successes refunded): {}",
            i.twice_refunded
        )?;
        let c = &self.faults;
        writeln!(
            f,
            "\nfaults injected: {} 5xx, {} held past the timeout, {} slow; webhooks {} lost, {} duplicated, {} delayed; {} consumer batches killed; the shops' endpoint refused {} and answered {} late",
            c.server_errors,
            c.timeouts,
            c.slow,
            c.webhooks_lost,
            c.webhooks_duplicated,
            c.webhooks_delayed,
            c.consumers_killed,
            self.endpoint_refused,
            self.endpoint_late
        )?;
        writeln!(f, "\nreconciliation of today")?;
        for (provider, run) in &self.runs {
            let summary = &run["summary"];
            writeln!(
                f,
                "  {provider:<10} {:<7} discrepancies {:<5} counts {}",
                run["state"].as_str().unwrap_or("-"),
                summary["discrepancies"],
                summary["counts"]
            )?;
        }
        let secs = self.sale.as_secs_f64().max(1e-9);
        writeln!(
            f,
            "\nthe sale: {:.1} s, {} requests ({:.0}/s), {:.0} orders/s per shop",
            secs,
            self.requests,
            self.requests as f64 / secs,
            self.buyers as f64 / secs
        )?;
        let mut kinds: Vec<_> = self.timings.iter().collect();
        kinds.sort_by_key(|(k, _)| *k);
        for (kind, values) in kinds {
            let mut v = values.clone();
            v.sort_unstable();
            writeln!(
                f,
                "  {kind:<16} n {:>7}  p50 {:>9}  p90 {:>9}  p99 {:>9}  max {:>9}",
                v.len(),
                ms(percentile(&v, 50.0)),
                ms(percentile(&v, 90.0)),
                ms(percentile(&v, 99.0)),
                ms(*v.last().unwrap_or(&0))
            )?;
        }
        if !self.unexpected.is_empty() {
            writeln!(f, "\nunexpected answers (first {})", self.unexpected.len())?;
            for u in &self.unexpected {
                writeln!(f, "  {u}")?;
            }
        }
        Ok(())
    }
}
