//! The reconciliation API: runs, their reports, the weekly roll-up, discrepancies and their
//! resolution, contracts. Operator keys reach all of it; a merchant's key reaches only the
//! discrepancies about its own payments (listed and read, not resolved), and is refused
//! (403 `operator_only`) everywhere else.

use super::run::new_run;
use super::Job;
use crate::auth::Principal;
use crate::error::{ApiError, Reply};
use crate::App;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;
use walletpay_domain::Provider;
use walletpay_ports::reconcile::{
    discrepancy_cursor, ChunkKind, ContractRecord, Discrepancy, DiscrepancyQuery,
    DiscrepancyResolution, DiscrepancyStatus, ResolutionKind, RunRecord, RunState,
};
use walletpay_ports::StoreError;
use walletpay_reconcile::{Class, Contract, Date, IsoWeek};

/// At most this many discrepancies resolved by one bulk call.
pub const BULK_LIMIT: usize = 1000;

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(400, "invalid_parameter", message).field(field)
}

fn operator(who: &Principal) -> Result<&str, ApiError> {
    match who {
        Principal::Operator(name) => Ok(name),
        Principal::Merchant(_) => Err(ApiError::new(
            403,
            "operator_only",
            "This route needs an operator key (wok_...).",
        )),
    }
}

fn provider_param(app: &App, field: &str, v: Option<&str>) -> Result<Provider, ApiError> {
    let v = v.ok_or_else(|| invalid(field, format!("`{field}` is required.")))?;
    let p = Provider::parse(v)
        .ok_or_else(|| invalid(field, format!("`{field}` is not a provider: {v:?}.")))?;
    if app.adapters.get(p).is_none() {
        return Err(invalid(field, format!("{p} is not configured here.")));
    }
    Ok(p)
}

fn date_param(field: &str, v: Option<&str>) -> Result<Option<Date>, ApiError> {
    v.map(|s| Date::parse(s).ok_or_else(|| invalid(field, format!("`{field}` is YYYY-MM-DD."))))
        .transpose()
}

fn ok(status: u16, v: Value) -> Result<Reply, ApiError> {
    Ok(Reply::json(status, v.to_string()))
}

pub fn run_json(run: &RunRecord) -> Value {
    let mut v = serde_json::to_value(run).expect("a run serializes");
    if let Value::Object(m) = &mut v {
        m.insert("object".into(), "reconciliation_run".into());
        m.remove("version");
        m.remove("completed_attempt");
        m.remove("report_chunks");
        m.remove("carried_chunks");
        m.insert(
            "report_url".into(),
            format!("/v1/reconciliation/runs/{}/report.csv", run.id).into(),
        );
    }
    v
}

fn discrepancy_json(d: &Discrepancy, who: &Principal) -> Value {
    let mut v = serde_json::to_value(d).expect("a discrepancy serializes");
    if let Value::Object(m) = &mut v {
        m.insert("object".into(), "reconciliation_discrepancy".into());
        m.remove("version");
        if let Principal::Merchant(_) = who {
            // The platform's terms with the provider, and its operators' notes, are its own.
            m.remove("provider_fee");
            m.remove("contracted_fee");
            m.remove("due_on");
            m.remove("run_id");
            if let Some(Value::Object(r)) = m.get_mut("resolution") {
                r.remove("note");
                r.remove("by");
            }
        }
    }
    v
}

/// `GET /v1/reconciliation/runs?provider=&from=&to=`.
pub async fn list_runs(
    app: &App,
    who: &Principal,
    provider: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Reply, ApiError> {
    operator(who)?;
    let provider = provider_param(app, "provider", provider)?;
    let today = Date::of(app.clock.now(), app.settings.reconcile.offset(provider));
    let to = date_param("to", to)?.unwrap_or(today);
    let from = date_param("from", from)?.unwrap_or(to.plus_days(-30));
    if from > to || to.days_since(from) > 366 {
        return Err(invalid("from", "`from` is at most a year before `to`."));
    }
    let runs = app.store.list_runs(provider, from, to).await?;
    ok(
        200,
        json!({"object": "list", "data": runs.iter().map(run_json).collect::<Vec<_>>()}),
    )
}

async fn find_run(app: &App, id: &str) -> Result<RunRecord, ApiError> {
    let (provider, day) = RunRecord::parse_id(id).ok_or_else(|| ApiError::not_found("run"))?;
    app.store
        .get_run(provider, day)
        .await?
        .ok_or_else(|| ApiError::not_found("run"))
}

/// `GET /v1/reconciliation/runs/{id}`.
pub async fn get_run(app: &App, who: &Principal, id: &str) -> Result<Reply, ApiError> {
    operator(who)?;
    ok(200, run_json(&find_run(app, id).await?))
}

/// `GET /v1/reconciliation/runs/{id}/report.csv`: the completed attempt's report.
pub async fn run_report(app: &App, who: &Principal, id: &str) -> Result<Reply, ApiError> {
    operator(who)?;
    let run = find_run(app, id).await?;
    let Some(attempt) = run.completed_attempt else {
        return Err(ApiError::new(
            409,
            "run_not_done",
            "The run has not completed; its report follows when it has.",
        ));
    };
    let mut body = String::new();
    for n in 0..run.report_chunks {
        let chunk = app
            .store
            .get_chunk(&run.id, attempt, ChunkKind::Report, n)
            .await?
            .ok_or_else(|| ApiError::internal(format!("{} report chunk {n} missing", run.id)))?;
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    Ok(Reply {
        status: 200,
        content_type: "text/csv; charset=utf-8",
        body,
        headers: vec![(
            "content-disposition",
            format!("attachment; filename=\"{}.csv\"", run.id),
        )],
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartRun {
    provider: String,
    date: String,
}

/// `POST /v1/reconciliation/runs {"provider", "date"}`: runs (or runs again) a day; answers
/// 202 with the run, which `GET` follows to `done`.
pub async fn start_run(app: &App, who: &Principal, body: &[u8]) -> Result<Reply, ApiError> {
    operator(who)?;
    let req: StartRun = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "invalid_json",
            format!("The body is not a run request: {e}"),
        )
    })?;
    let provider = provider_param(app, "provider", Some(&req.provider))?;
    let day = date_param("date", Some(&req.date))?.expect("given");
    let now = app.clock.now();
    let today = Date::of(now, app.settings.reconcile.offset(provider));
    if day > today {
        return Err(invalid(
            "date",
            "That day has not begun at the provider yet.",
        ));
    }
    let mut run = match app.store.get_run(provider, day).await? {
        Some(r) => r,
        None => new_run(provider, day, now),
    };
    if run.state == RunState::Running && run.lease_until.is_some_and(|l| l > now) {
        return Err(ApiError::new(
            409,
            "run_in_progress",
            "That day is being reconciled; follow the run with GET.",
        ));
    }
    run.state = RunState::Waiting;
    run.reason = Some("requested".into());
    run.requested_at = now;
    run.version += 1;
    match app.store.put_run(&run).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(ApiError::new(
                409,
                "run_in_progress",
                "That day's run changed meanwhile; follow it with GET.",
            ))
        }
        Err(e) => return Err(e.into()),
    }
    let job = Job {
        provider,
        date: day,
        waits: 0,
        again: false,
    };
    app.reconcile_jobs
        .send(
            &serde_json::to_string(&job).expect("a job serializes"),
            Duration::ZERO,
        )
        .await
        .map_err(ApiError::unavailable)?;
    ok(202, run_json(&run))
}

/// `GET /v1/reconciliation/weeks/{provider}/{iso week}`: the days, their totals and classes,
/// the discrepancies opened in the week (resolved and still open) and the days not
/// reconciled.
pub async fn week(
    app: &App,
    who: &Principal,
    provider: &str,
    week: &str,
) -> Result<Reply, ApiError> {
    operator(who)?;
    let provider = provider_param(app, "provider", Some(provider))?;
    let w = IsoWeek::parse(week).ok_or_else(|| invalid("week", "The week is YYYY-Www."))?;
    let (monday, sunday) = (w.monday(), w.monday().plus_days(6));
    let runs = app.store.list_runs(provider, monday, sunday).await?;
    let offset = app.settings.reconcile.offset(provider);
    let today = Date::of(app.clock.now(), offset);
    let mut days = Vec::new();
    let mut not_reconciled = Vec::new();
    let mut counts: std::collections::BTreeMap<Class, u64> = Default::default();
    let mut totals: std::collections::BTreeMap<String, Value> = Default::default();
    for day in w.days() {
        let run = runs.iter().find(|r| r.day == day);
        let done = run.is_some_and(|r| r.state == RunState::Done);
        if !done && day < today {
            not_reconciled.push(day.to_string());
        }
        if let Some(s) = run.and_then(|r| r.summary.as_ref()) {
            for (c, n) in &s.counts {
                *counts.entry(*c).or_default() += n;
            }
            for (cur, t) in &s.totals {
                let e = totals
                    .entry(cur.code().to_string())
                    .or_insert_with(|| json!({}));
                let add = serde_json::to_value(t).expect("totals serialize");
                if let (Value::Object(acc), Value::Object(more)) = (e, add) {
                    for (k, v) in more {
                        let sum = acc.get(&k).and_then(Value::as_i64).unwrap_or(0)
                            + v.as_i64().unwrap_or(0);
                        acc.insert(k, sum.into());
                    }
                }
            }
        }
        days.push(json!({
            "date": day.to_string(),
            "run": run.map(run_json),
        }));
    }
    // Discrepancies opened in the week, by status, and those open from before it.
    let (from, to) = (monday.start(offset), sunday.end(offset));
    let query = |status, opened_from, opened_before| DiscrepancyQuery {
        provider: Some(provider),
        merchant: None,
        status,
        opened_from,
        opened_before,
        after: None,
        limit: 500,
    };
    let still_open =
        count_discrepancies(app, query(DiscrepancyStatus::Open, Some(from), Some(to))).await?;
    let resolved = count_discrepancies(
        app,
        query(DiscrepancyStatus::Resolved, Some(from), Some(to)),
    )
    .await?;
    let opened = still_open + resolved;
    let carried_over =
        count_discrepancies(app, query(DiscrepancyStatus::Open, None, Some(from))).await?;
    ok(
        200,
        json!({
            "object": "reconciliation_week",
            "provider": provider,
            "week": w.to_string(),
            "days": days,
            "counts": counts,
            "totals": totals,
            "discrepancies": {
                "opened": opened,
                "resolved": resolved,
                "still_open": still_open,
                "carried_over": carried_over,
            },
            "days_not_reconciled": not_reconciled,
        }),
    )
}

/// What a listing of discrepancies asks for.
pub struct ListParams<'a> {
    pub status: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub class: Option<&'a str>,
    pub merchant: Option<&'a str>,
    pub limit: Option<&'a str>,
    pub cursor: Option<&'a str>,
}

/// `GET /v1/reconciliation/discrepancies?status=&provider=&class=`: a merchant sees its own.
pub async fn list_discrepancies(
    app: &App,
    who: &Principal,
    q: &ListParams<'_>,
) -> Result<Reply, ApiError> {
    let status = match q.status {
        None => DiscrepancyStatus::Open,
        Some(s) => DiscrepancyStatus::parse(s)
            .ok_or_else(|| invalid("status", "`status` is open or resolved."))?,
    };
    let class = q
        .class
        .map(|c| Class::parse(c).ok_or_else(|| invalid("class", format!("No class {c:?}."))))
        .transpose()?;
    let provider = q
        .provider
        .map(|p| provider_param(app, "provider", Some(p)))
        .transpose()?;
    let merchant = match who {
        Principal::Merchant(m) => Some(m.clone()),
        Principal::Operator(_) => q
            .merchant
            .map(|m| {
                walletpay_domain::MerchantId::parse(m)
                    .ok_or_else(|| invalid("merchant", "Not a merchant id."))
            })
            .transpose()?,
    };
    if provider.is_none() && merchant.is_none() {
        return Err(invalid(
            "provider",
            "`provider` (or `merchant`) is required.",
        ));
    }
    let limit = match q.limit {
        None => 50,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=200).contains(&n) => n,
            _ => return Err(invalid("limit", "`limit` is 1 to 200.")),
        },
    };
    let mut after = q.cursor.map(str::to_string);
    let mut out = Vec::new();
    let mut more = None;
    // Class and (for a merchant) provider filters apply to what the index gives.
    loop {
        let (page, next) = app
            .store
            .list_discrepancies(&DiscrepancyQuery {
                provider: if merchant.is_some() { None } else { provider },
                merchant: merchant.clone(),
                status,
                opened_from: None,
                opened_before: None,
                after: after.clone(),
                limit,
            })
            .await?;
        for d in page {
            if class.is_some_and(|c| c != d.class) || provider.is_some_and(|p| p != d.provider) {
                continue;
            }
            if matches!(who, Principal::Merchant(_)) && contract_only(d.class) {
                continue;
            }
            if out.len() == limit {
                more = Some(discrepancy_cursor(out.last().expect("full")));
                break;
            }
            out.push(d);
        }
        if more.is_some() {
            break;
        }
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    ok(
        200,
        json!({
            "object": "list",
            "data": out.iter().map(|d| discrepancy_json(d, who)).collect::<Vec<_>>(),
            "has_more": more.is_some(),
            "next_cursor": more,
        }),
    )
}

/// A class about the platform's terms with the provider (its fees, its payout dates): not
/// the merchant's to see.
fn contract_only(class: Class) -> bool {
    matches!(class, Class::FeeMismatch | Class::SettlementLate)
}

/// `GET /v1/reconciliation/discrepancies/{id}`.
pub async fn get_discrepancy(app: &App, who: &Principal, id: &str) -> Result<Reply, ApiError> {
    let d = app
        .store
        .get_discrepancy(id)
        .await?
        .ok_or_else(|| ApiError::not_found("discrepancy"))?;
    if let Principal::Merchant(m) = who {
        if d.merchant_id.as_ref() != Some(m) || contract_only(d.class) {
            return Err(ApiError::not_found("discrepancy"));
        }
    }
    ok(200, discrepancy_json(&d, who))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Resolve {
    resolution: String,
    note: String,
}

fn resolution_of(
    resolution: &str,
    note: &str,
    by: &str,
    app: &App,
) -> Result<DiscrepancyResolution, ApiError> {
    let kind = ResolutionKind::parse(resolution).ok_or_else(|| {
        invalid(
            "resolution",
            "`resolution` is accepted, adjusted or written_off.",
        )
    })?;
    let note = note.trim();
    if note.is_empty() || note.len() > 2000 {
        return Err(invalid("note", "`note` says why, in 1 to 2000 characters."));
    }
    Ok(DiscrepancyResolution {
        resolution: kind,
        note: note.to_string(),
        by: by.to_string(),
        at: app.clock.now(),
    })
}

/// Resolves one, conditionally on the version read: `Ok(false)` if it was resolved already.
async fn resolve_one(
    app: &App,
    id: &str,
    resolution: &DiscrepancyResolution,
) -> Result<Option<bool>, ApiError> {
    for attempt in 0..crate::contention::ATTEMPTS {
        let Some(mut d) = app.store.get_discrepancy(id).await? else {
            return Ok(None);
        };
        if d.status == DiscrepancyStatus::Resolved {
            return Ok(Some(false));
        }
        d.status = DiscrepancyStatus::Resolved;
        d.resolution = Some(resolution.clone());
        d.version += 1;
        match app.store.update_discrepancy(&d).await {
            Ok(()) => return Ok(Some(true)),
            Err(StoreError::Conflict) => crate::contention::pause(attempt).await,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        409,
        "conflict",
        "The discrepancy kept changing; retry.",
    ))
}

/// `POST /v1/reconciliation/discrepancies/{id}/resolve {"resolution", "note"}`.
pub async fn resolve(app: &App, who: &Principal, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
    let by = operator(who)?;
    let req: Resolve = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "invalid_json",
            format!("The body is not a resolution: {e}"),
        )
    })?;
    let resolution = resolution_of(&req.resolution, &req.note, by, app)?;
    match resolve_one(app, id, &resolution).await? {
        None => Err(ApiError::not_found("discrepancy")),
        Some(false) => Err(ApiError::new(
            409,
            "already_resolved",
            "The discrepancy was resolved already.",
        )),
        Some(true) => {
            let d = app
                .store
                .get_discrepancy(id)
                .await?
                .ok_or_else(|| ApiError::not_found("discrepancy"))?;
            ok(200, discrepancy_json(&d, who))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkFilter {
    provider: String,
    #[serde(default)]
    class: Option<String>,
    #[serde(default)]
    date: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkResolve {
    #[serde(default)]
    ids: Option<Vec<String>>,
    #[serde(default)]
    filter: Option<BulkFilter>,
    resolution: String,
    note: String,
}

/// `POST /v1/reconciliation/discrepancies/resolve`: `ids` (a list) or `filter` (`provider`,
/// optional `class` and `date`: the open ones it matches), with one resolution and note.
pub async fn resolve_bulk(app: &App, who: &Principal, body: &[u8]) -> Result<Reply, ApiError> {
    let by = operator(who)?;
    let req: BulkResolve = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "invalid_json",
            format!("The body is not a bulk resolution: {e}"),
        )
    })?;
    let resolution = resolution_of(&req.resolution, &req.note, by, app)?;
    let ids: Vec<String> = match (req.ids, req.filter) {
        (Some(ids), None) => {
            if ids.is_empty() || ids.len() > BULK_LIMIT {
                return Err(invalid(
                    "ids",
                    format!("`ids` holds 1 to {BULK_LIMIT} ids."),
                ));
            }
            ids
        }
        (None, Some(f)) => {
            let provider = provider_param(app, "filter.provider", Some(&f.provider))?;
            let class = f
                .class
                .as_deref()
                .map(|c| {
                    Class::parse(c)
                        .ok_or_else(|| invalid("filter.class", format!("No class {c:?}.")))
                })
                .transpose()?;
            let day = date_param("filter.date", f.date.as_deref())?;
            let mut ids = Vec::new();
            let query = DiscrepancyQuery {
                provider: Some(provider),
                merchant: None,
                status: DiscrepancyStatus::Open,
                opened_from: None,
                opened_before: None,
                after: None,
                limit: 500,
            };
            each_discrepancy(app, query, |d| {
                if class.is_none_or(|c| c == d.class) && day.is_none_or(|x| x == d.day) {
                    ids.push(d.id);
                }
                ids.len() <= BULK_LIMIT
            })
            .await?;
            if ids.len() > BULK_LIMIT {
                return Err(invalid(
                    "filter",
                    format!("The filter matches more than {BULK_LIMIT}; narrow it."),
                ));
            }
            ids
        }
        _ => {
            return Err(invalid(
                "ids",
                "Send either `ids` or `filter`, not both or neither.",
            ))
        }
    };
    let mut resolved = Vec::new();
    let mut already = Vec::new();
    let mut missing = Vec::new();
    for id in ids {
        match resolve_one(app, &id, &resolution).await? {
            Some(true) => resolved.push(id),
            Some(false) => already.push(id),
            None => missing.push(id),
        }
    }
    ok(
        200,
        json!({
            "object": "reconciliation_bulk_resolution",
            "resolved": resolved,
            "already_resolved": already,
            "not_found": missing,
        }),
    )
}

/// `PUT /v1/reconciliation/contracts/{provider}`: the account's contracted terms.
pub async fn put_contract(
    app: &App,
    who: &Principal,
    provider: &str,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let by = operator(who)?;
    let provider = provider_param(app, "provider", Some(provider))?;
    let contract: Contract = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "invalid_json",
            format!("The body is not a contract: {e}"),
        )
    })?;
    contract
        .check()
        .map_err(|e| ApiError::new(400, "invalid_contract", e.to_string()))?;
    let version = app
        .store
        .get_contract(provider)
        .await?
        .map_or(0, |c| c.version);
    let record = ContractRecord {
        provider,
        contract,
        updated_at: app.clock.now(),
        updated_by: by.to_string(),
        version: version + 1,
    };
    app.store.put_contract(&record).await?;
    ok(200, contract_json(&record))
}

fn contract_json(c: &ContractRecord) -> Value {
    json!({
        "object": "reconciliation_contract",
        "provider": c.provider,
        "contract": c.contract,
        "updated_at": c.updated_at,
        "updated_by": c.updated_by,
        "version": c.version,
    })
}

/// `GET /v1/reconciliation/contracts/{provider}`.
pub async fn get_contract(app: &App, who: &Principal, provider: &str) -> Result<Reply, ApiError> {
    operator(who)?;
    let provider = provider_param(app, "provider", Some(provider))?;
    let c = app
        .store
        .get_contract(provider)
        .await?
        .ok_or_else(|| ApiError::not_found("contract"))?;
    ok(200, contract_json(&c))
}

/// The scheduled start's backlog figures: open discrepancies older than a day and days
/// overdue, per provider (logged as metrics).
pub async fn backlog(app: &App, provider: Provider) -> Result<(u64, u64), StoreError> {
    let now = app.clock.now();
    let older = count_discrepancies(
        app,
        DiscrepancyQuery {
            provider: Some(provider),
            merchant: None,
            status: DiscrepancyStatus::Open,
            opened_from: None,
            opened_before: Some(now.plus_seconds(-86_400)),
            after: None,
            limit: 500,
        },
    )
    .await?;
    let offset = app.settings.reconcile.offset(provider);
    let today = Date::of(now, offset);
    let runs = app
        .store
        .list_runs(provider, today.plus_days(-14), today.plus_days(-1))
        .await?;
    // Days from the first one this deployment ran, once `overdue_after` has passed since
    // they ended, that are not done.
    let mut overdue = 0;
    if let Some(first) = runs.iter().map(|r| r.day).min() {
        let mut day = first;
        while day < today {
            let ended_for = now.millis() - day.end(offset).millis();
            let late = ended_for >= app.settings.reconcile.overdue_after.as_millis() as i64;
            if late
                && !runs
                    .iter()
                    .any(|r| r.day == day && r.state == RunState::Done)
            {
                overdue += 1;
            }
            day = day.plus_days(1);
        }
    }
    Ok((older, overdue))
}

/// Every discrepancy `query` lists, page after page, handed to `each` until it answers false.
async fn each_discrepancy(
    app: &App,
    mut query: DiscrepancyQuery,
    mut each: impl FnMut(Discrepancy) -> bool,
) -> Result<(), StoreError> {
    loop {
        let (page, next) = app.store.list_discrepancies(&query).await?;
        for d in page {
            if !each(d) {
                return Ok(());
            }
        }
        match next {
            Some(n) => query.after = Some(n),
            None => return Ok(()),
        }
    }
}

/// How many discrepancies `query` lists, all pages counted.
async fn count_discrepancies(app: &App, query: DiscrepancyQuery) -> Result<u64, StoreError> {
    let mut n = 0u64;
    each_discrepancy(app, query, |_| {
        n += 1;
        true
    })
    .await?;
    Ok(n)
}
