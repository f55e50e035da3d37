//! One payment's assessment: what is read for it, the decision, and what it counts.

use super::{ListShape, IP_SHARDS};
use crate::app::App;
use sha2::{Digest, Sha256};
use walletpay_domain::risk::counter::{Counter, Tally};
use walletpay_domain::risk::policy::{resolve, Resolved};
use walletpay_domain::risk::{
    evaluate, Assessment, Dimension, Figures, Input, ListHits, ListKind, Snapshot, Window,
};
use walletpay_domain::{
    Country, Customer, Failure, FailureCategory, MerchantId, Money, Payment, Timestamp, WalletId,
};
use walletpay_ports::risk::{CounterAdd, ListKey, ListName, Scope, StoredPolicy};
use walletpay_ports::StoreError;

/// What an assessment decided, and the counter updates the payment makes.
#[derive(Debug, Clone)]
pub struct Assessed {
    pub assessment: Assessment,
    pub resolved: Resolved,
    pub counts: Vec<CounterAdd>,
}

fn hashed(value: &str) -> String {
    hex::encode(&Sha256::digest(value.as_bytes())[..8])
}

/// The value an IP is counted by: an IPv4 address itself, an IPv6 address by its /64.
fn ip_counted(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(a) => a.to_string(),
        std::net::IpAddr::V6(a) => {
            let seg = a.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", seg[0], seg[1], seg[2], seg[3])
        }
    }
}

fn counter_key(merchant: &MerchantId, name: &str, value: &str) -> String {
    format!("{merchant}#{name}#{}", hashed(value))
}

/// A customer's values as lists and counters take them.
struct Values {
    id: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    domain: Option<String>,
    device: Option<String>,
    ip: Option<std::net::IpAddr>,
}

impl Values {
    fn of(c: &Customer) -> Self {
        let email = c.email.as_ref().map(|e| e.trim().to_ascii_lowercase());
        Values {
            id: c.id.clone(),
            phone: c.phone.clone(),
            domain: email
                .as_ref()
                .and_then(|e| e.rsplit_once('@'))
                .map(|(_, d)| d.to_string()),
            email,
            device: c.device_id.clone(),
            ip: c
                .ip
                .as_deref()
                .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
                .map(|ip| ip.to_canonical()),
        }
    }

    fn listed(&self) -> Vec<(ListKind, String)> {
        [
            (ListKind::Customer, self.id.clone()),
            (ListKind::Phone, self.phone.clone()),
            (ListKind::Email, self.email.clone()),
            (ListKind::EmailDomain, self.domain.clone()),
            (ListKind::Device, self.device.clone()),
            (ListKind::Ip, self.ip.map(|ip| ip.to_string())),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }

    /// The counters a payment is counted in (the IP's first shard stands for all).
    fn counted(&self, merchant: &MerchantId, wallet: WalletId) -> Vec<(Counted, String)> {
        let mut out = Vec::new();
        let mut add = |c: Counted, name: &str, v: &Option<String>| {
            if let Some(v) = v {
                out.push((c, counter_key(merchant, name, v)));
            }
        };
        add(Counted::Dim(Dimension::Customer), "customer", &self.id);
        add(Counted::Dim(Dimension::Phone), "phone", &self.phone);
        add(Counted::Dim(Dimension::Email), "email", &self.email);
        add(Counted::Dim(Dimension::Device), "device", &self.device);
        add(
            Counted::WalletAccount,
            "wallet",
            &self.phone.as_ref().map(|p| format!("{wallet}:{p}")),
        );
        if let Some(ip) = self.ip {
            let base = counter_key(merchant, "ip", &ip_counted(ip));
            for shard in 0..IP_SHARDS {
                out.push((Counted::IpShard(shard), format!("{base}#{shard}")));
            }
        }
        out
    }
}

/// What a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counted {
    Dim(Dimension),
    /// The customer's account in this wallet (wallet and phone).
    WalletAccount,
    IpShard(u32),
}

async fn policy(app: &App, scope: &Scope) -> Result<Option<StoredPolicy>, StoreError> {
    if let Some(p) = app.risk.cached_policy(scope) {
        return Ok(p);
    }
    let p = app.store.get_policy(scope).await?;
    app.risk.keep_policy(scope, p.clone());
    Ok(p)
}

/// The settings a merchant's payments in a market are decided on.
pub(crate) async fn resolved(
    app: &App,
    merchant: &MerchantId,
    country: Country,
) -> Result<Resolved, StoreError> {
    let own = Scope::Merchant(merchant.clone());
    let (mine, platform) = futures::try_join!(policy(app, &own), policy(app, &Scope::Platform))?;
    Ok(resolve(
        mine.as_ref().map(|p| &p.policy),
        platform.as_ref().map(|p| &p.policy),
        country,
    ))
}

async fn shape(app: &App, scope: &Scope, list: ListName) -> Result<ListShape, StoreError> {
    if let Some(r) = app.risk.cached_list(scope, list) {
        return Ok(r);
    }
    let kinds = app.store.list_kinds(scope, list).await?;
    let ranges = if kinds.contains(&ListKind::Cidr) {
        app.store
            .cidr_entries(scope, list)
            .await?
            .iter()
            .filter_map(|e| super::lists::parse_range(&e.value))
            .collect()
    } else {
        Vec::new()
    };
    let shape = ListShape { kinds, ranges };
    app.risk.keep_list(scope, list, shape.clone());
    Ok(shape)
}

/// Where a list hit goes: the platform's block list is kept apart, as it blocks whatever
/// the shop's rules say.
fn slot<'a>(
    lists: &'a mut ListHits,
    scope: &Scope,
    list: ListName,
) -> &'a mut Vec<(ListKind, String)> {
    match (scope, list) {
        (Scope::Platform, ListName::Block) => &mut lists.platform_block,
        (_, ListName::Block) => &mut lists.block,
        (_, ListName::Allow) => &mut lists.allow,
    }
}

/// Reads what the decision needs, decides, and returns the counter updates the payment
/// makes (the caller writes them with the payment).
pub async fn assess(
    app: &App,
    merchant: &MerchantId,
    amount: Money,
    country: Country,
    wallet: WalletId,
    customer: &Customer,
    now: Timestamp,
) -> Result<Assessed, StoreError> {
    let values = Values::of(customer);
    let counted = values.counted(merchant, wallet);
    let scopes = [Scope::Merchant(merchant.clone()), Scope::Platform];
    let lists_of = [
        (scopes[0].clone(), ListName::Block),
        (scopes[0].clone(), ListName::Allow),
        (scopes[1].clone(), ListName::Block),
        (scopes[1].clone(), ListName::Allow),
    ];
    let (resolved, shapes) = futures::try_join!(
        resolved(app, merchant, country),
        futures::future::try_join_all(lists_of.iter().map(|(sc, l)| shape(app, sc, *l)))
    )?;
    // Only the kinds a list has ever held are looked up.
    let listed = values.listed();
    let mut list_keys = Vec::new();
    for ((scope, list), shape) in lists_of.iter().zip(&shapes) {
        for (kind, value) in &listed {
            if shape.kinds.contains(kind) {
                list_keys.push(ListKey {
                    scope: scope.clone(),
                    list: *list,
                    kind: *kind,
                    value: value.clone(),
                });
            }
        }
    }
    let counter_keys: Vec<String> = counted.iter().map(|(_, k)| k.clone()).collect();
    let read = app.store.read_risk(&counter_keys, &list_keys).await?;

    // The figures, from the counters read.
    let mut ip_total = Counter::default();
    let mut by_dim: Vec<(Dimension, Counter)> = Vec::new();
    let mut wallet_account = Counter::default();
    for ((what, _), c) in counted.iter().zip(&read.counters) {
        let c = c.clone().unwrap_or_default();
        match what {
            Counted::Dim(d) => by_dim.push((*d, c)),
            Counted::WalletAccount => wallet_account = c,
            Counted::IpShard(_) => ip_total.merge(&c),
        }
    }
    if values.ip.is_some() {
        by_dim.push((Dimension::Ip, ip_total));
    }
    let mut figures = Figures::default();
    for (d, c) in &by_dim {
        for w in [Window::Minute, Window::Hour, Window::Day] {
            // Only what is not zero (a missing figure reads as zero): the snapshot is kept
            // on every version of the payment.
            let t = c.window(now, w);
            if t.count > 0 || t.sum_minor > 0 {
                figures.velocity.push(((*d, w), t.count, t.sum_minor));
            }
            if t.failed > 0 && matches!(d, Dimension::Device | Dimension::Phone) {
                figures.failed.push(((*d, w), t.failed));
            }
        }
        match d {
            Dimension::Customer => {
                figures.customer_day_minor = c.window(now, Window::Day).sum_minor
            }
            Dimension::Device => figures.device_known = c.seen_before(now),
            _ => {}
        }
    }
    figures.wallet_day_minor = wallet_account.window(now, Window::Day).sum_minor;
    // No device given: nothing to call new (the model reads a missing id as neutral).
    if values.device.is_none() {
        figures.device_known = true;
    }

    // The list hits.
    let mut lists = ListHits::default();
    for (k, hit) in list_keys.iter().zip(&read.listed) {
        if *hit {
            slot(&mut lists, &k.scope, k.list).push((k.kind, k.value.clone()));
        }
    }
    if let Some(ip) = values.ip {
        for ((scope, list), shape) in lists_of.iter().zip(&shapes) {
            if let Some(r) = shape.ranges.iter().find(|r| r.contains(ip)) {
                slot(&mut lists, scope, *list)
                    .push((ListKind::Cidr, format!("{}/{}", r.network, r.len)));
            }
        }
    }

    let mut input = Input {
        amount,
        country,
        wallet,
        customer,
        figures: &figures,
        lists: &lists,
        model_score: None,
    };
    let model_score = app.risk.model.score_input(&input);
    input.model_score = Some(model_score);
    let verdict = evaluate(&resolved.config, &input);
    let snapshot = Snapshot {
        figures: figures.clone(),
        block_hits: lists.block.iter().map(|(k, _)| *k).collect(),
        allow_hits: lists.allow.iter().map(|(k, _)| *k).collect(),
        platform_block_hits: lists.platform_block.iter().map(|(k, _)| *k).collect(),
        model_score,
    };
    let review_until = now.plus_millis(resolved.review_window_minutes as i64 * 60_000);
    let assessment = Assessment::new(verdict, snapshot, Some(review_until));

    // One update per counter; of the IP's shards, one drawn at random. Every attempt counts
    // (a burst is attempts); a blocked one adds nothing to the sums (the day's amount
    // limits are about what could be paid) and does not make its values "seen".
    let keep_until = now.plus_millis(super::COUNTER_KEEP.as_millis() as i64);
    let shard = rand::random::<u32>() % IP_SHARDS;
    let went_ahead = assessment.decision != walletpay_domain::risk::RiskDecision::Block;
    let tally = Tally {
        count: 1,
        sum_minor: if went_ahead { amount.minor } else { 0 },
        failed: 0,
    };
    let counts = counted
        .iter()
        .zip(&read.counters)
        .filter(|((what, _), _)| !matches!(what, Counted::IpShard(s) if *s != shard))
        .map(|((_, key), c)| CounterAdd {
            key: key.clone(),
            at: now,
            tally,
            seen: went_ahead,
            remove: c.as_ref().map(|c| c.stale(now)).unwrap_or_default(),
            keep_until,
        })
        .collect();
    Ok(Assessed {
        assessment,
        resolved,
        counts,
    })
}

/// Whether a failure is the customer's wallet refusing (what testing stolen credentials
/// looks like), rather than a provider's outage, our own credentials, or a customer who
/// changed their mind: only those are failed attempts.
pub fn is_failed_attempt(f: &Failure) -> bool {
    matches!(
        f.category,
        FailureCategory::InsufficientBalance
            | FailureCategory::RiskRejected
            | FailureCategory::LimitExceeded
            | FailureCategory::InvalidAccount
    )
}

/// Counts a failed payment against its device and phone (the wallet-testing pattern), if
/// the failure is a failed attempt. A count that cannot be written is logged: the
/// payment's failure is already recorded.
pub async fn count_failure(app: &App, p: &Payment) {
    if !p.failure.as_ref().is_some_and(is_failed_attempt) {
        return;
    }
    let values = Values::of(&p.customer);
    let now = app.clock.now();
    let keep_until = now.plus_millis(super::COUNTER_KEEP.as_millis() as i64);
    let adds: Vec<CounterAdd> = values
        .counted(&p.merchant_id, p.wallet)
        .into_iter()
        .filter(|(what, _)| {
            matches!(
                what,
                Counted::Dim(Dimension::Device) | Counted::Dim(Dimension::Phone)
            )
        })
        .map(|(_, key)| CounterAdd {
            key,
            at: now,
            tally: Tally {
                count: 0,
                sum_minor: 0,
                failed: 1,
            },
            seen: false,
            remove: Vec::new(),
            keep_until,
        })
        .collect();
    if adds.is_empty() {
        return;
    }
    if let Err(e) = app.store.add_counters(&adds).await {
        tracing::warn!(payment = %p.id, error = %e, "failed attempt not counted");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_counted_by_its_64_and_keys_hold_no_raw_values() {
        let a: std::net::IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: std::net::IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(ip_counted(a), ip_counted(b));
        assert_eq!(ip_counted("203.0.113.7".parse().unwrap()), "203.0.113.7");
        let m = MerchantId::new(1, 1);
        let k = counter_key(&m, "phone", "+6281234567890");
        assert!(!k.contains("6281234567890"), "{k}");
        assert!(k.starts_with(&format!("{m}#phone#")));
    }
}
