//! Risk control around the create path, and the shop's control of it. `assess` reads what
//! a decision needs (the policies, list hits and velocity counters, in one batched read),
//! asks the model and the rules (`walletpay_domain::risk`), and says which counters the
//! payment adds to; `lists` reads and normalizes list entries (JSON or CSV); `api` serves
//! `/v1/risk/*`, the review of held payments and fraud reports.
//!
//! Counters are per merchant and dimension, keyed by a hash of the value (no phone number
//! or e-mail in a key). One address can be a whole carrier's NAT, so an IP's counter is
//! spread over [`IP_SHARDS`] items: a payment adds to one at random and the read sums them
//! all (in the same batch), so a flash sale behind one address spreads its writes instead
//! of meeting on one partition. IPv6 addresses are counted by their /64, the block one
//! subscriber gets.

pub mod api;
mod assess;
pub mod lists;

pub use assess::{assess, count_failure, Assessed};

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use walletpay_domain::risk::model::Model;
use walletpay_ports::risk::{ListName, Scope, StoredPolicy};

/// How many items one IP's counter is spread over.
pub const IP_SHARDS: u32 = 8;
/// How long a process trusts the policies, list kinds and CIDR ranges it read: a change made
/// in another process takes effect within this (at once in the process that made it).
pub const CACHE_TTL: Duration = Duration::from_secs(10);
/// How long a counter is kept after its last payment (a device is "known" this long).
pub const COUNTER_KEEP: Duration = Duration::from_secs(30 * 86_400);

/// A CIDR range: its network and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub network: std::net::IpAddr,
    pub len: u8,
}

impl Range {
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr::*;
        match (self.network, ip) {
            (V4(n), V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - self.len as u32).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (V6(n), V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - self.len as u32).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// What a payment needs of one list before its lookups: the kinds it has ever held (only
/// those are looked up) and its CIDR ranges (matched here).
#[derive(Debug, Clone, Default)]
pub struct ListShape {
    pub kinds: Vec<walletpay_domain::risk::ListKind>,
    pub ranges: Vec<Range>,
}

type Cached<K, T> = Mutex<HashMap<K, (Instant, T)>>;

/// What a process keeps for risk control: the model, loaded once, and recently read
/// policies and CIDR ranges.
pub struct RiskBook {
    pub model: Model,
    policies: Cached<Scope, Option<StoredPolicy>>,
    lists: Cached<(Scope, ListName), ListShape>,
}

impl Default for RiskBook {
    fn default() -> Self {
        RiskBook {
            model: Model::shipped(),
            policies: Default::default(),
            lists: Default::default(),
        }
    }
}

impl RiskBook {
    fn cached_policy(&self, scope: &Scope) -> Option<Option<StoredPolicy>> {
        let map = self.policies.lock().unwrap_or_else(|p| p.into_inner());
        map.get(scope)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, p)| p.clone())
    }

    fn keep_policy(&self, scope: &Scope, policy: Option<StoredPolicy>) {
        let mut map = self.policies.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(scope.clone(), (Instant::now(), policy));
    }

    fn cached_list(&self, scope: &Scope, list: ListName) -> Option<ListShape> {
        let map = self.lists.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(scope.clone(), list))
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, r)| r.clone())
    }

    fn keep_list(&self, scope: &Scope, list: ListName, shape: ListShape) {
        let mut map = self.lists.lock().unwrap_or_else(|p| p.into_inner());
        map.insert((scope.clone(), list), (Instant::now(), shape));
    }

    /// Forgets what this process read of a scope, after it changed it.
    fn forget(&self, scope: &Scope) {
        self.policies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(scope);
        self.lists
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(s, _), _| s != scope);
    }
}
