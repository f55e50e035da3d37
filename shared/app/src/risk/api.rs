//! `/v1/risk/*`: a scope's policy (`GET`/`PUT /v1/risk/config`), its block and allow lists
//! (`POST`/`GET`/`DELETE /v1/risk/lists/{block|allow}`), the audit of every change
//! (`GET /v1/risk/audit`), the backtest (`POST /v1/risk/backtest`) and the shadow rules'
//! results (`GET /v1/risk/shadow`). A merchant key works on its own scope; an operator key
//! on the platform's, or on one merchant's with `?merchant=`.

use super::lists::{parse_entries, MAX_RANGES};
use crate::app::App;
use crate::auth::Principal;
use crate::error::{ApiError, Reply};
use serde_json::{json, Value};
use walletpay_domain::risk::backtest::{backtest as replay, shadow_results};
use walletpay_domain::risk::policy::{resolve, Policy};
use walletpay_domain::risk::ListKind;
use walletpay_domain::{Country, MerchantId, Payment, Timestamp};
use walletpay_ports::risk::{AuditEntry, ListEntry, ListName, Scope, StoredPolicy};
use walletpay_ports::{PaymentQuery, StoreError};

/// At most this many payments replayed by one backtest.
pub const BACKTEST_LIMIT: usize = 20_000;
/// The largest list import body (100,000 entries of CSV fit well within it).
pub const MAX_IMPORT_BYTES: usize = 5 * 1024 * 1024;

/// Who is calling, and the name its changes are audited under.
pub struct Who<'a> {
    pub principal: &'a Principal,
    pub actor: &'a str,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(400, "invalid_parameter", message).field(field)
}

fn ok(status: u16, v: Value) -> Result<Reply, ApiError> {
    Ok(Reply::json(status, v.to_string()))
}

/// The scope a call works on.
fn scope(who: &Principal, merchant: Option<&str>) -> Result<Scope, ApiError> {
    match (who, merchant) {
        (Principal::Merchant(m), None) => Ok(Scope::Merchant(m.clone())),
        (Principal::Merchant(m), Some(other)) if other == m.as_str() => {
            Ok(Scope::Merchant(m.clone()))
        }
        (Principal::Merchant(_), Some(_)) => Err(ApiError::new(
            403,
            "operator_only",
            "Only an operator key (wok_...) works on another merchant's risk settings.",
        )),
        (Principal::Operator(_), None) => Ok(Scope::Platform),
        (Principal::Operator(_), Some(m)) => MerchantId::parse(m)
            .map(Scope::Merchant)
            .ok_or_else(|| invalid("merchant", "`merchant` is not a merchant id.")),
    }
}

fn list_param(list: &str) -> Result<ListName, ApiError> {
    ListName::parse(list).ok_or_else(|| ApiError::not_found("list"))
}

/// The first 20 entries of a change, as its audit entry names them.
fn first_entries(entries: &[(ListKind, String)]) -> Vec<Value> {
    entries
        .iter()
        .take(20)
        .map(|(k, v)| json!({"kind": k, "value": v}))
        .collect()
}

fn audit_entry(
    scope: &Scope,
    actor: &str,
    at: Timestamp,
    action: &str,
    before: Value,
    after: Value,
) -> AuditEntry {
    AuditEntry {
        id: format!("aud_{:016x}", rand::random::<u64>()),
        scope: scope.clone(),
        at,
        actor: actor.to_string(),
        action: action.to_string(),
        before,
        after,
    }
}

fn policy_json(scope: &Scope, stored: Option<&StoredPolicy>, platform: Option<&Policy>) -> Value {
    let mine = stored.map(|s| &s.policy);
    let effective: serde_json::Map<String, Value> = Country::ALL
        .iter()
        .map(|c| {
            let (merchant, platform) = match scope {
                Scope::Platform => (None, mine),
                Scope::Merchant(_) => (mine, platform),
            };
            let r = resolve(merchant, platform, *c);
            (
                c.to_string(),
                json!({
                    "strictness": r.config.strictness,
                    "review_window_minutes": r.review_window_minutes,
                    "rules": r.config.rules,
                }),
            )
        })
        .collect();
    json!({
        "object": "risk_config",
        "scope": scope.key(),
        "version": stored.map_or(0, |s| s.version),
        "policy": mine.cloned().unwrap_or_default(),
        "updated_at": stored.map(|s| s.updated_at),
        "updated_by": stored.map(|s| s.updated_by.clone()),
        "effective": effective,
    })
}

/// `GET /v1/risk/config`: the scope's own policy and, per market, what its payments are
/// decided on.
pub async fn get_config(
    app: &App,
    who: &Principal,
    merchant: Option<&str>,
) -> Result<Reply, ApiError> {
    let scope = scope(who, merchant)?;
    let stored = app.store.get_policy(&scope).await?;
    let platform = match scope {
        Scope::Merchant(_) => app.store.get_policy(&Scope::Platform).await?,
        Scope::Platform => None,
    };
    ok(
        200,
        policy_json(
            &scope,
            stored.as_ref(),
            platform.as_ref().map(|p| &p.policy),
        ),
    )
}

/// `PUT /v1/risk/config`: replaces the scope's policy (checked whole), audited.
pub async fn put_config(
    app: &App,
    who: &Who<'_>,
    merchant: Option<&str>,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let scope = scope(who.principal, merchant)?;
    let policy: Policy = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "invalid_json",
            format!("The policy cannot be read: {e}"),
        )
    })?;
    policy
        .check()
        .map_err(|e| ApiError::new(422, "invalid_policy", e.message).field(e.field))?;
    let now = app.clock.now();
    for attempt in 0..crate::contention::ATTEMPTS {
        let before = app.store.get_policy(&scope).await?;
        let next = StoredPolicy {
            scope: scope.clone(),
            policy: policy.clone(),
            version: before.as_ref().map_or(1, |b| b.version + 1),
            updated_at: now,
            updated_by: who.actor.to_string(),
        };
        let audit = audit_entry(
            &scope,
            who.actor,
            now,
            "policy.put",
            before.as_ref().map_or(Value::Null, |b| {
                serde_json::to_value(&b.policy).unwrap_or_default()
            }),
            serde_json::to_value(&policy).unwrap_or_default(),
        );
        match app.store.put_policy(&next, &audit).await {
            Ok(()) => {
                app.risk.forget(&scope);
                let platform = match scope {
                    Scope::Merchant(_) => app.store.get_policy(&Scope::Platform).await?,
                    Scope::Platform => None,
                };
                return ok(
                    200,
                    policy_json(&scope, Some(&next), platform.as_ref().map(|p| &p.policy)),
                );
            }
            Err(StoreError::Conflict) => crate::contention::pause(attempt).await,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        409,
        "config_changed",
        "The configuration kept changing while this was written; read it and try again.",
    ))
}

/// `POST /v1/risk/lists/{list}`: adds entries (JSON or CSV, up to 100,000), audited.
pub async fn add_entries(
    app: &App,
    who: &Who<'_>,
    merchant: Option<&str>,
    list: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let scope = scope(who.principal, merchant)?;
    let list = list_param(list)?;
    let entries = parse_entries(content_type, body)?;
    let ranges = entries.iter().filter(|(k, _)| *k == ListKind::Cidr).count();
    if ranges > 0 {
        let have = app.store.cidr_entries(&scope, list).await?;
        let new = entries
            .iter()
            .filter(|(k, v)| *k == ListKind::Cidr && !have.iter().any(|h| &h.value == v))
            .count();
        if have.len() + new > MAX_RANGES {
            return Err(ApiError::new(
                422,
                "too_many_ranges",
                format!(
                    "A list holds at most {MAX_RANGES} CIDR ranges; it has {}.",
                    have.len()
                ),
            )
            .field("entries"));
        }
    }
    let now = app.clock.now();
    let stored: Vec<ListEntry> = entries
        .iter()
        .map(|(kind, value)| ListEntry {
            kind: *kind,
            value: value.clone(),
            added_at: now,
            added_by: who.actor.to_string(),
        })
        .collect();
    // The audit entry goes first: a write cut short is still on record.
    let mut by_kind = std::collections::BTreeMap::<&str, u64>::new();
    for (k, _) in &entries {
        *by_kind.entry(k.as_str()).or_default() += 1;
    }
    let sample = first_entries(&entries);
    app.store
        .put_audit(&audit_entry(
            &scope,
            who.actor,
            now,
            "list.add",
            Value::Null,
            json!({"list": list.as_str(), "entries": entries.len(), "by_kind": by_kind, "first": sample}),
        ))
        .await?;
    app.store.put_list_entries(&scope, list, &stored).await?;
    app.risk.forget(&scope);
    ok(
        200,
        json!({"object": "risk_list_import", "list": list.as_str(), "scope": scope.key(), "added": entries.len(), "by_kind": by_kind}),
    )
}

/// `GET /v1/risk/lists/{list}`: a page of entries.
pub async fn list_entries(
    app: &App,
    who: &Principal,
    merchant: Option<&str>,
    list: &str,
    cursor: Option<&str>,
    limit: Option<&str>,
) -> Result<Reply, ApiError> {
    let scope = scope(who, merchant)?;
    let list = list_param(list)?;
    let limit = match limit {
        None => 100,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| invalid("limit", "`limit` is 1-1000."))?,
    };
    let after = cursor
        .map(|c| {
            hex::decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid("cursor", "`cursor` is not one this API gave."))
        })
        .transpose()?;
    let (entries, next) = app
        .store
        .list_entries(&scope, list, after.as_deref(), limit)
        .await?;
    ok(
        200,
        json!({
            "object": "list",
            "data": entries,
            "next_cursor": next.map(|n| hex::encode(n.as_bytes())),
        }),
    )
}

/// `DELETE /v1/risk/lists/{list}`: one entry (`?kind=&value=`) or many (a body like the
/// import's), audited.
pub async fn delete_entries(
    app: &App,
    who: &Who<'_>,
    merchant: Option<&str>,
    list: &str,
    one: Option<(&str, &str)>,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let scope = scope(who.principal, merchant)?;
    let list = list_param(list)?;
    let entries = match one {
        Some((kind, value)) => {
            let k = ListKind::parse(kind)
                .ok_or_else(|| invalid("kind", "`kind` is not a list kind."))?;
            let v = super::lists::normalize(k, value)
                .map_err(|why| invalid("value", format!("`value` {why}.")))?;
            vec![(k, v)]
        }
        None => parse_entries(content_type, body)?,
    };
    let now = app.clock.now();
    let named = first_entries(&entries);
    app.store
        .put_audit(&audit_entry(
            &scope,
            who.actor,
            now,
            "list.delete",
            json!({"list": list.as_str(), "entries": entries.len(), "first": named}),
            Value::Null,
        ))
        .await?;
    app.store
        .delete_list_entries(&scope, list, &entries)
        .await?;
    app.risk.forget(&scope);
    ok(
        200,
        json!({"object": "risk_list_delete", "list": list.as_str(), "deleted": entries.len()}),
    )
}

/// `GET /v1/risk/audit`: the scope's changes, newest first.
pub async fn audit(
    app: &App,
    who: &Principal,
    merchant: Option<&str>,
    cursor: Option<&str>,
    limit: Option<&str>,
) -> Result<Reply, ApiError> {
    let scope = scope(who, merchant)?;
    let limit = match limit {
        None => 50,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| invalid("limit", "`limit` is 1-500."))?,
    };
    let (entries, next) = app.store.audit_entries(&scope, cursor, limit).await?;
    ok(
        200,
        json!({"object": "list", "data": entries, "next_cursor": next}),
    )
}

fn time_param(field: &str, v: Option<&str>) -> Result<Timestamp, ApiError> {
    let v = v.ok_or_else(|| invalid(field, format!("`{field}` is required.")))?;
    Timestamp::parse_rfc3339(v)
        .ok_or_else(|| invalid(field, "Times are RFC 3339, like 2026-11-25T00:00:00Z."))
}

/// A merchant's payments created in [from, to], up to the backtest's limit; and whether
/// there were more.
async fn payments_between(
    app: &App,
    merchant: &MerchantId,
    from: Timestamp,
    to: Timestamp,
) -> Result<(Vec<Payment>, bool), ApiError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = app
            .store
            .list_payments(
                merchant,
                &PaymentQuery {
                    created_after: Some(from),
                    created_before: Some(to),
                    limit: 500,
                    after_key: after,
                    ..PaymentQuery::default()
                },
            )
            .await?;
        out.extend(page);
        if out.len() >= BACKTEST_LIMIT {
            out.truncate(BACKTEST_LIMIT);
            return Ok((out, next.is_some()));
        }
        match next {
            Some(n) => after = Some(n),
            None => return Ok((out, false)),
        }
    }
}

fn merchant_of(scope: Scope) -> Result<MerchantId, ApiError> {
    match scope {
        Scope::Merchant(m) => Ok(m),
        Scope::Platform => Err(invalid(
            "merchant",
            "A backtest replays one merchant's payments: name it with `?merchant=`.",
        )),
    }
}

/// `POST /v1/risk/backtest {"from", "to", "policy"?}`: replays the merchant's payments of
/// the period through the proposed policy (the current one when none is given).
pub async fn backtest(
    app: &App,
    who: &Principal,
    merchant: Option<&str>,
    body: &[u8],
) -> Result<Reply, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        from: String,
        to: String,
        #[serde(default)]
        policy: Option<Policy>,
    }
    let m = merchant_of(scope(who, merchant)?)?;
    let b: Body = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "invalid_json",
            format!("The body is {{\"from\", \"to\", \"policy\"?}}: {e}"),
        )
    })?;
    let from = time_param("from", Some(&b.from))?;
    let to = time_param("to", Some(&b.to))?;
    if to < from {
        return Err(invalid("to", "`to` is not before `from`."));
    }
    if let Some(p) = &b.policy {
        p.check().map_err(|e| {
            ApiError::new(422, "invalid_policy", e.message).field(format!("policy.{}", e.field))
        })?;
    }
    let mine = match b.policy {
        Some(p) => Some(p),
        None => app
            .store
            .get_policy(&Scope::Merchant(m.clone()))
            .await?
            .map(|s| s.policy),
    };
    let platform = app
        .store
        .get_policy(&Scope::Platform)
        .await?
        .map(|s| s.policy);
    let (payments, truncated) = payments_between(app, &m, from, to).await?;
    let result = replay(payments.iter(), |c| {
        resolve(mine.as_ref(), platform.as_ref(), c).config
    });
    let mut v = serde_json::to_value(&result).unwrap_or_default();
    v["object"] = json!("risk_backtest");
    v["merchant"] = json!(m);
    v["from"] = json!(from);
    v["to"] = json!(to);
    v["truncated"] = json!(truncated);
    v["shadow"] = serde_json::to_value(shadow_results(payments.iter())).unwrap_or_default();
    ok(200, v)
}

/// `GET /v1/risk/shadow?from=&to=`: each shadow rule's firings over the period and the
/// outcomes of the payments it fired on.
pub async fn shadow(
    app: &App,
    who: &Principal,
    merchant: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Reply, ApiError> {
    let m = merchant_of(scope(who, merchant)?)?;
    let from = time_param("from", from)?;
    let to = time_param("to", to)?;
    let (payments, truncated) = payments_between(app, &m, from, to).await?;
    ok(
        200,
        json!({
            "object": "risk_shadow",
            "payments": payments.len(),
            "truncated": truncated,
            "rules": shadow_results(payments.iter()),
        }),
    )
}
