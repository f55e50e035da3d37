//! Risk control's records in the embedded store: the same semantics as DynamoDB's (a
//! conditional policy write with its audit entry, counters that drop the stale buckets they
//! are told of and expire at `keep_until`), kept in the one locked state.

use crate::store::EmbeddedStore;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use walletpay_domain::risk::counter::{Counter, Tally, Unit};
use walletpay_domain::risk::ListKind;
use walletpay_domain::Timestamp;
use walletpay_ports::risk::{
    AuditEntry, CounterAdd, ListEntry, ListKey, ListName, RiskRead, RiskStore, Scope, StoredPolicy,
};
use walletpay_ports::StoreError;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StoredCounter {
    first_seen: Option<Timestamp>,
    buckets: Vec<(Unit, i64, Tally)>,
    keep_until: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RiskState {
    /// By scope key.
    policies: BTreeMap<String, StoredPolicy>,
    /// By `<scope>#<at:013>#<id>`.
    audit: BTreeMap<String, AuditEntry>,
    /// By `<scope>#<list>#<kind>#<value>`.
    lists: BTreeMap<String, ListEntry>,
    counters: BTreeMap<String, StoredCounter>,
    /// By `<scope>#<list>`: the kinds ever added.
    #[serde(default)]
    kinds: BTreeMap<String, std::collections::BTreeSet<ListKind>>,
}

fn list_prefix(scope: &Scope, list: ListName) -> String {
    format!("{}#{}#", scope.key(), list.as_str())
}

fn list_key(scope: &Scope, list: ListName, kind: ListKind, value: &str) -> String {
    format!("{}{}#{value}", list_prefix(scope, list), kind.as_str())
}

fn audit_prefix(scope: &Scope) -> String {
    format!("{}#", scope.key())
}

/// An audit entry's key: newest last, as DynamoDB's sort key orders them.
fn audit_key(e: &AuditEntry) -> String {
    format!("{}{:013}#{}", audit_prefix(&e.scope), e.at.millis(), e.id)
}

/// Up to `limit` records of `items` under `prefix`, and (when more follow) the key, less
/// the prefix, to continue after.
fn page<'a, T: Clone + 'a>(
    items: impl Iterator<Item = (&'a String, &'a T)>,
    prefix: &str,
    limit: usize,
) -> (Vec<T>, Option<String>) {
    let mut page: Vec<(&str, T)> = items
        .take_while(|(k, _)| k.starts_with(prefix))
        .take(limit + 1)
        .map(|(k, v)| (&k[prefix.len()..], v.clone()))
        .collect();
    let more = page.len() > limit;
    page.truncate(limit);
    let next = more
        .then(|| page.last().map(|(k, _)| k.to_string()))
        .flatten();
    (page.into_iter().map(|(_, v)| v).collect(), next)
}

#[async_trait]
impl RiskStore for EmbeddedStore {
    async fn get_policy(&self, scope: &Scope) -> Result<Option<StoredPolicy>, StoreError> {
        Ok(self.read(|s| s.risk.policies.get(&scope.key()).cloned()))
    }

    async fn put_policy(
        &self,
        policy: &StoredPolicy,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.write(|s| {
            let key = policy.scope.key();
            let stored = s.risk.policies.get(&key).map(|p| p.version);
            let fits = match stored {
                None => policy.version == 1,
                Some(v) => policy.version == v + 1,
            };
            if !fits {
                return Err(StoreError::Conflict);
            }
            s.risk.policies.insert(key, policy.clone());
            s.risk.audit.insert(audit_key(audit), audit.clone());
            Ok(())
        })
    }

    async fn read_risk(
        &self,
        counters: &[String],
        lists: &[ListKey],
    ) -> Result<RiskRead, StoreError> {
        // As DynamoDB's TTL, expiry here only bounds how long a counter is kept: the windows
        // ignore stale buckets either way.
        Ok(self.read(|s| RiskRead {
            counters: counters
                .iter()
                .map(|k| {
                    s.risk.counters.get(k).map(|c| Counter {
                        first_seen: c.first_seen,
                        buckets: c.buckets.iter().map(|(u, i, t)| ((*u, *i), *t)).collect(),
                    })
                })
                .collect(),
            listed: lists
                .iter()
                .map(|k| {
                    s.risk
                        .lists
                        .contains_key(&list_key(&k.scope, k.list, k.kind, &k.value))
                })
                .collect(),
        }))
    }

    async fn add_counters(&self, adds: &[CounterAdd]) -> Result<(), StoreError> {
        self.write(|s| {
            for a in adds {
                let stored = s.risk.counters.entry(a.key.clone()).or_default();
                let mut c = Counter {
                    first_seen: stored.first_seen,
                    buckets: stored
                        .buckets
                        .iter()
                        .map(|(u, i, t)| ((*u, *i), *t))
                        .collect(),
                };
                for b in &a.remove {
                    c.buckets.remove(b);
                }
                c.add(a.at, a.tally);
                stored.first_seen = if a.seen {
                    c.first_seen
                } else {
                    stored.first_seen
                };
                stored.buckets = c.buckets.iter().map(|((u, i), t)| (*u, *i, *t)).collect();
                stored.keep_until = Some(a.keep_until);
            }
            Ok(())
        })
    }

    async fn put_list_entries(
        &self,
        scope: &Scope,
        list: ListName,
        entries: &[ListEntry],
    ) -> Result<(), StoreError> {
        self.write(|s| {
            for e in entries {
                s.risk
                    .lists
                    .insert(list_key(scope, list, e.kind, &e.value), e.clone());
                s.risk
                    .kinds
                    .entry(list_prefix(scope, list))
                    .or_default()
                    .insert(e.kind);
            }
            Ok(())
        })
    }

    async fn delete_list_entries(
        &self,
        scope: &Scope,
        list: ListName,
        keys: &[(ListKind, String)],
    ) -> Result<(), StoreError> {
        self.write(|s| {
            for (kind, value) in keys {
                s.risk.lists.remove(&list_key(scope, list, *kind, value));
            }
            Ok(())
        })
    }

    async fn list_entries(
        &self,
        scope: &Scope,
        list: ListName,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ListEntry>, Option<String>), StoreError> {
        let prefix = list_prefix(scope, list);
        Ok(self.read(|s| {
            let start = match after {
                Some(a) => std::ops::Bound::Excluded(format!("{prefix}{a}")),
                None => std::ops::Bound::Included(prefix.clone()),
            };
            page(
                s.risk.lists.range((start, std::ops::Bound::Unbounded)),
                &prefix,
                limit,
            )
        }))
    }

    async fn list_kinds(&self, scope: &Scope, list: ListName) -> Result<Vec<ListKind>, StoreError> {
        Ok(self.read(|s| {
            s.risk
                .kinds
                .get(&list_prefix(scope, list))
                .map(|k| k.iter().copied().collect())
                .unwrap_or_default()
        }))
    }

    async fn cidr_entries(
        &self,
        scope: &Scope,
        list: ListName,
    ) -> Result<Vec<ListEntry>, StoreError> {
        let prefix = format!("{}{}#", list_prefix(scope, list), ListKind::Cidr.as_str());
        Ok(self.read(|s| {
            s.risk
                .lists
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(_, v)| v.clone())
                .collect()
        }))
    }

    async fn put_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.write(|s| {
            s.risk.audit.insert(audit_key(entry), entry.clone());
            Ok(())
        })
    }

    async fn audit_entries(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, Option<String>), StoreError> {
        let prefix = audit_prefix(scope);
        Ok(self.read(|s| {
            let end = match after {
                Some(a) => std::ops::Bound::Excluded(format!("{prefix}{a}")),
                // Just past the scope's keys (`$` follows `#`).
                None => std::ops::Bound::Excluded(format!("{}$", scope.key())),
            };
            page(
                s.risk
                    .audit
                    .range((std::ops::Bound::Included(prefix.clone()), end))
                    .rev(),
                &prefix,
                limit,
            )
        }))
    }
}
