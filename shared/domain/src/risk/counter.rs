//! Velocity counters as time buckets: what one value of one dimension (a phone, a device,
//! an IP, ...) paid and failed, per minute for the last hour and per hour for the last day.
//! Pure: the stores keep the buckets (one item per counter, one update per payment), this
//! says which bucket a payment adds to, what a window sums to and which buckets are stale.
//!
//! Windows count whole buckets, so a window is never shorter than its name: `1m` is this
//! minute and the one before (60-120 s), `1h` this minute and the 60 before, `24h` this hour
//! and the 24 before. A figure is therefore at least what happened in the window, never less.

use super::Window;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Minute,
    Hour,
}

impl Unit {
    pub fn millis(self) -> i64 {
        match self {
            Unit::Minute => 60_000,
            Unit::Hour => 3_600_000,
        }
    }

    /// The letter a store names the unit's attributes with.
    pub fn letter(self) -> char {
        match self {
            Unit::Minute => 'm',
            Unit::Hour => 'h',
        }
    }

    /// How many buckets before the current one are still read.
    fn kept(self) -> i64 {
        match self {
            Unit::Minute => 60,
            Unit::Hour => 24,
        }
    }
}

/// A bucket: its unit and its index (unix minutes or unix hours).
pub type BucketId = (Unit, i64);

/// Payments, their sum (minor units) and failed attempts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub count: u32,
    pub sum_minor: i64,
    pub failed: u32,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.count = self.count.saturating_add(other.count);
        self.sum_minor = self.sum_minor.saturating_add(other.sum_minor);
        self.failed = self.failed.saturating_add(other.failed);
    }
}

/// One counter as read back: when the value was first seen and its buckets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counter {
    pub first_seen: Option<Timestamp>,
    pub buckets: std::collections::BTreeMap<BucketId, Tally>,
}

/// The bucket of `unit` that `at` falls in.
pub fn bucket(unit: Unit, at: Timestamp) -> BucketId {
    (unit, at.millis().div_euclid(unit.millis()))
}

/// The buckets one event at `at` adds to: its minute and its hour.
pub fn buckets_of(at: Timestamp) -> [BucketId; 2] {
    [bucket(Unit::Minute, at), bucket(Unit::Hour, at)]
}

impl Counter {
    /// Adds an event at `at` (how a store without expressions applies an update).
    pub fn add(&mut self, at: Timestamp, tally: Tally) {
        self.first_seen.get_or_insert(at);
        for b in buckets_of(at) {
            self.buckets.entry(b).or_default().add(tally);
        }
    }

    /// Sums another shard of the same counter into this one.
    pub fn merge(&mut self, other: &Counter) {
        self.first_seen = match (self.first_seen, other.first_seen) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        for (b, t) in &other.buckets {
            self.buckets.entry(*b).or_default().add(*t);
        }
    }

    /// What the window ending at `now` holds.
    pub fn window(&self, now: Timestamp, w: Window) -> Tally {
        let (unit, back) = match w {
            Window::Minute => (Unit::Minute, 1),
            Window::Hour => (Unit::Minute, 60),
            Window::Day => (Unit::Hour, 24),
        };
        let (_, current) = bucket(unit, now);
        let mut total = Tally::default();
        for ((u, i), t) in &self.buckets {
            if *u == unit && (current - back..=current).contains(i) {
                total.add(*t);
            }
        }
        total
    }

    /// The buckets no window reads any more at `now` (a store removes them with its next
    /// update, so a counter never grows past 61 minutes and 25 hours).
    pub fn stale(&self, now: Timestamp) -> Vec<BucketId> {
        self.buckets
            .keys()
            .filter(|(u, i)| *i < bucket(*u, now).1 - u.kept())
            .copied()
            .collect()
    }

    /// Whether the value was seen before `now`.
    pub fn seen_before(&self, now: Timestamp) -> bool {
        self.first_seen.is_some_and(|t| t < now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn windows_count_whole_buckets_and_old_ones_go_stale() {
        let t0 = Timestamp(1_800_000_000_000 - 1_800_000_000_000 % (60 * MIN));
        let mut c = Counter::default();
        let one = |sum| Tally {
            count: 1,
            sum_minor: sum,
            failed: 0,
        };
        c.add(t0, one(100));
        c.add(t0.plus_millis(30 * MIN), one(200));
        c.add(t0.plus_millis(59 * MIN), one(300));
        c.add(
            t0.plus_millis(59 * MIN + 30_000),
            Tally {
                count: 0,
                sum_minor: 0,
                failed: 1,
            },
        );
        let now = t0.plus_millis(60 * MIN);
        assert_eq!(c.window(now, Window::Minute).count, 1, "the minute before");
        assert_eq!(c.window(now, Window::Minute).failed, 1);
        assert_eq!(c.window(now, Window::Hour).count, 3);
        assert_eq!(c.window(now, Window::Hour).sum_minor, 600);
        assert_eq!(c.window(now, Window::Day).count, 3);
        assert!(c.stale(now).is_empty());
        // Two hours on, the minutes are stale; a day on, the hour is too.
        let later = t0.plus_millis(122 * MIN);
        assert_eq!(c.window(later, Window::Hour).count, 0);
        assert_eq!(c.window(later, Window::Day).count, 3);
        assert_eq!(
            c.stale(later)
                .iter()
                .filter(|(u, _)| *u == Unit::Minute)
                .count(),
            3
        );
        let next_day = t0.plus_millis(26 * 60 * MIN);
        assert_eq!(c.window(next_day, Window::Day).count, 0);
        assert_eq!(
            c.stale(next_day).len(),
            4,
            "every bucket: three minutes, one hour"
        );
        // Shards sum.
        let mut other = Counter::default();
        other.add(t0.plus_millis(59 * MIN), one(1));
        c.merge(&other);
        assert_eq!(c.window(now, Window::Hour).count, 4);
        assert!(c.seen_before(now));
        assert!(!Counter::default().seen_before(now));
    }
}
