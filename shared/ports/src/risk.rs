//! What risk control keeps: each scope's policy (with an audit entry per change), block and
//! allow lists, and velocity counters. Counters are keyed by the caller (a merchant, a
//! dimension, the hash of the value and a shard, see `walletpay_app::risk`); the store reads
//! them in one batch with the list lookups and adds to each with one update.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use walletpay_domain::risk::counter::{BucketId, Counter, Tally};
use walletpay_domain::risk::policy::Policy;
use walletpay_domain::risk::ListKind;
use walletpay_domain::{MerchantId, Timestamp};

use crate::StoreError;

/// Whose policy or list: the platform's (operator keys) or one merchant's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Platform,
    Merchant(MerchantId),
}

impl Scope {
    /// The scope in keys and the audit: `platform` or the merchant id.
    pub fn key(&self) -> String {
        match self {
            Scope::Platform => "platform".into(),
            Scope::Merchant(m) => m.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListName {
    Block,
    Allow,
}

impl ListName {
    pub fn as_str(self) -> &'static str {
        match self {
            ListName::Block => "block",
            ListName::Allow => "allow",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "block" => Some(ListName::Block),
            "allow" => Some(ListName::Allow),
            _ => None,
        }
    }
}

/// One list entry, its value normalized (see `walletpay_app::risk::lists`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEntry {
    pub kind: ListKind,
    pub value: String,
    pub added_at: Timestamp,
    pub added_by: String,
}

/// A lookup of one value in one scope's list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListKey {
    pub scope: Scope,
    pub list: ListName,
    pub kind: ListKind,
    pub value: String,
}

/// A scope's policy as kept: bumped by every write, each conditional on the one before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPolicy {
    pub scope: Scope,
    pub policy: Policy,
    pub version: u64,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

/// One change to risk control: who, when, what, before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    pub scope: Scope,
    pub at: Timestamp,
    /// The key that made the change (its public id), or the operator's name.
    pub actor: String,
    /// `policy.put`, `list.add`, `list.delete`.
    pub action: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// One counter's update: add `tally` to the buckets of `at`, drop the stale buckets seen
/// when it was read, and keep it until `keep_until`; with `seen`, the value counts as seen
/// from `at` on (a payment that went ahead; not a blocked attempt or a failure's count, or
/// one refused attempt would make a device "known").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterAdd {
    pub key: String,
    pub at: Timestamp,
    pub tally: Tally,
    pub seen: bool,
    pub remove: Vec<BucketId>,
    pub keep_until: Timestamp,
}

/// What one batched read found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskRead {
    /// Per counter key asked, in order (none: never counted, or expired).
    pub counters: Vec<Option<Counter>>,
    /// Per list key asked, in order: whether the entry is there.
    pub listed: Vec<bool>,
}

#[async_trait]
pub trait RiskStore: Send + Sync {
    async fn get_policy(&self, scope: &Scope) -> Result<Option<StoredPolicy>, StoreError>;
    /// Writes `policy` as version `policy.version` (on condition that the kept one is the
    /// version before, or none for version 1) together with its audit entry; `Conflict`
    /// otherwise, and then neither is written.
    async fn put_policy(&self, policy: &StoredPolicy, audit: &AuditEntry)
        -> Result<(), StoreError>;
    /// Counters and list entries, in one batched read (eventually consistent).
    async fn read_risk(
        &self,
        counters: &[String],
        lists: &[ListKey],
    ) -> Result<RiskRead, StoreError>;
    /// One update per counter, concurrently.
    async fn add_counters(&self, adds: &[CounterAdd]) -> Result<(), StoreError>;
    /// Adds (or overwrites) entries, in batches, and records their kinds in the list's
    /// kinds (see `list_kinds`).
    async fn put_list_entries(
        &self,
        scope: &Scope,
        list: ListName,
        entries: &[ListEntry],
    ) -> Result<(), StoreError>;
    /// Deletes entries; absent ones are no error.
    async fn delete_list_entries(
        &self,
        scope: &Scope,
        list: ListName,
        keys: &[(ListKind, String)],
    ) -> Result<(), StoreError>;
    /// A page of a list's entries (up to `limit`), and where the next starts.
    async fn list_entries(
        &self,
        scope: &Scope,
        list: ListName,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ListEntry>, Option<String>), StoreError>;
    /// The kinds a list has ever held (entries added; deleting them keeps the kind), so a
    /// payment looks up only the kinds a list can match.
    async fn list_kinds(&self, scope: &Scope, list: ListName) -> Result<Vec<ListKind>, StoreError>;
    /// Every CIDR range of a list (kept apart: an address is matched against all of them).
    async fn cidr_entries(
        &self,
        scope: &Scope,
        list: ListName,
    ) -> Result<Vec<ListEntry>, StoreError>;
    async fn put_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// A scope's audit entries, newest first: up to `limit`, and where the next page starts.
    async fn audit_entries(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, Option<String>), StoreError>;
}
