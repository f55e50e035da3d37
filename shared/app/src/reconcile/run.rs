//! The run of one provider account's day.
//!
//! A run takes the day's lease (its record `running`, with a lease time, one conditional
//! write), reads the ledger entries of the day (the ledger index, every shard of the UTC
//! days the provider's day touches) and the entries the last completed run within the grace
//! period carried, re-reads where each refund stands, streams the provider's settlement data
//! into the matcher, looks up what the day's ledger does not hold (a payment we show unpaid:
//! healed; one booked on another day; none of ours), and classes everything. Then, in this
//! order: heals through the state machine (source `reconciliation`), discrepancies opened
//! under ids derived from what they are about (a rerun finds the same ones), markers for
//! movements reconciled on another day than their own, the report and the carried entries
//! in chunks of the attempt, and last the record `done` with its summary. A run killed
//! part-way leaves its record `running` until the lease ends; the job comes back, and the
//! next attempt does it all again to the same result (each step is idempotent). Data not
//! published yet, or a provider that cannot be reached, leaves the run `waiting` and the job
//! re-enqueued with a backoff; a row that does not read, or credentials refused, fail it
//! with the reason.

use super::ours::{carried_into, look_up, read_ledger, refresh_refunds, DayRuns};
use super::outcomes::{chunks, heal, recheck, Found};
use super::{Job, WeekJob};
use crate::app::App;
use crate::refunds::WorkError;
use crate::transition::TransitionError;
use std::collections::HashMap;
use std::time::Duration;
use walletpay_domain::{MerchantId, Provider, Timestamp};
use walletpay_ports::reconcile::{ChunkKind, Marker, Progress, RunRecord, RunState};
use walletpay_ports::StoreError;
use walletpay_reconcile::{
    Context, Date, IsoWeek, Ledger, Matcher, MerchantTerms, Resolution, RowSet,
};
use walletpay_wallet_adapter::{SettlementDay, SettlementError};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("unreadable reconcile job: {0}")]
    Malformed(String),
    #[error("no adapter for {0} in this deployment")]
    NoAdapter(Provider),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Refund(#[from] WorkError),
    #[error("queue: {0}")]
    Queue(#[from] walletpay_ports::QueueError),
    #[error("another attempt of {0} took the run over")]
    Overtaken(String),
}

/// What a job came to.
#[derive(Debug)]
pub enum Started {
    /// Run to the end (`done`, or `failed` with its reason).
    Ran(RunRecord),
    /// Another attempt holds the run's lease.
    Busy(RunRecord),
    /// Done before, and not asked to run again.
    AlreadyDone(RunRecord),
    /// The provider's data is not there yet; the job comes back after the delay.
    Waiting(RunRecord, Duration),
}

/// A reconcile queue message: a day's job, or the weekly catch-up.
pub async fn process_job(app: &App, body: &str) -> Result<Started, RunError> {
    if let Ok(week) = serde_json::from_str::<WeekJob>(body) {
        return catch_up_week(app, &week).await;
    }
    let job: Job = serde_json::from_str(body).map_err(|e| RunError::Malformed(e.to_string()))?;
    let started = run_day(app, job.provider, job.date, job.again).await?;
    // A rerun asked for while another attempt holds the day (a report announced meanwhile,
    // which that attempt did not read) comes back once its lease is over.
    if let (Started::Busy(run), true) = (&started, job.again) {
        let left = run
            .lease_until
            .map_or(0, |l| (l.millis() - app.clock.now().millis()).max(0));
        let delay = Duration::from_millis(left as u64).min(Duration::from_secs(900));
        let body = serde_json::to_string(&job).expect("a job serializes");
        app.reconcile_jobs.send(&body, delay).await?;
    }
    if let Started::Waiting(_, delay) = &started {
        let again = Job {
            waits: job.waits + 1,
            again: false,
            ..job
        };
        let body = serde_json::to_string(&again).expect("a job serializes");
        app.reconcile_jobs.send(&body, *delay).await?;
    }
    Ok(started)
}

/// The days a scheduled start fans out: yesterday in each provider's report time zone (the
/// day just closed) for every provider configured here.
pub fn schedule_days(app: &App, now: Timestamp) -> Vec<Job> {
    Provider::ALL
        .iter()
        .filter(|p| {
            app.adapters
                .get(**p)
                .is_some_and(|a| a.has_settlement_source())
        })
        .map(|p| Job {
            provider: *p,
            date: Date::of(now, app.settings.reconcile.offset(*p)).plus_days(-1),
            waits: 0,
            again: false,
        })
        .collect()
}

/// The weekly start: each day of the week not reconciled gets a job; the week's figures are
/// logged.
async fn catch_up_week(app: &App, week: &WeekJob) -> Result<Started, RunError> {
    let w = IsoWeek::parse(&week.week).ok_or_else(|| RunError::Malformed(week.week.clone()))?;
    let runs = app
        .store
        .list_runs(week.provider, w.monday(), w.monday().plus_days(6))
        .await?;
    let today = Date::of(
        app.clock.now(),
        app.settings.reconcile.offset(week.provider),
    );
    let mut missing = 0u64;
    for day in w.days().filter(|d| *d < today) {
        // Done once the day was over (a run of a day not yet over is run again).
        let offset = app.settings.reconcile.offset(week.provider);
        let done = runs.iter().any(|r| {
            r.day == day
                && r.state == RunState::Done
                && r.finished_at.is_some_and(|f| f >= day.end(offset))
        });
        if !done {
            missing += 1;
            let job = Job {
                provider: week.provider,
                date: day,
                waits: 0,
                again: false,
            };
            let body = serde_json::to_string(&job).expect("a job serializes");
            app.reconcile_jobs.send(&body, Duration::ZERO).await?;
        }
    }
    super::metrics::week(week.provider, &week.week, missing);
    let run = runs
        .last()
        .cloned()
        .unwrap_or_else(|| new_run(week.provider, w.monday(), app.clock.now()));
    Ok(Started::AlreadyDone(run))
}

/// A fresh run record, not yet written.
pub fn new_run(provider: Provider, day: Date, now: Timestamp) -> RunRecord {
    RunRecord {
        id: RunRecord::id_for(provider, day),
        provider,
        day,
        state: RunState::Waiting,
        reason: None,
        attempt: 0,
        completed_attempt: None,
        requested_at: now,
        started_at: None,
        finished_at: None,
        lease_until: None,
        progress: Progress::default(),
        source: None,
        summary: None,
        report_chunks: 0,
        carried_chunks: 0,
        version: 0,
    }
}

/// Runs a day: see the module's documentation. `again` runs a day done before once more.
pub async fn run_day(
    app: &App,
    provider: Provider,
    day: Date,
    again: bool,
) -> Result<Started, RunError> {
    let adapter = app
        .adapters
        .get(provider)
        .cloned()
        .ok_or(RunError::NoAdapter(provider))?;
    let now = app.clock.now();
    let mut run = match app.store.get_run(provider, day).await? {
        Some(r) => r,
        None => new_run(provider, day, now),
    };
    let settings = &app.settings.reconcile;
    let offset = settings.offset(provider);
    // A day run before it was over is run again once it is.
    let final_run = run.finished_at.is_some_and(|f| f >= day.end(offset));
    let restarting = matches!(run.state, RunState::Done | RunState::Failed);
    match run.state {
        RunState::Done if !again && final_run => return Ok(Started::AlreadyDone(run)),
        RunState::Failed if !again => return Ok(Started::AlreadyDone(run)),
        RunState::Running if run.lease_until.is_some_and(|l| l > now) => {
            return Ok(Started::Busy(run))
        }
        _ => {}
    }
    if restarting {
        // A new request of the day: its waiting counts from now.
        run.requested_at = now;
    }
    // Waited too long for the provider's data: a person must look.
    if run.state == RunState::Waiting
        && run.attempt > 0
        && !run
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with("interrupted"))
        && now.millis() - run.requested_at.millis() > settings.give_up_after.as_millis() as i64
    {
        let waited = run.reason.clone().unwrap_or_default();
        run.state = RunState::Failed;
        run.reason = Some(format!(
            "no settlement data after {} hours of asking: {waited}",
            settings.give_up_after.as_secs() / 3600
        ));
        run.finished_at = Some(now);
        run.version += 1;
        write_final(app, &run).await?;
        super::metrics::failed(provider);
        return Ok(Started::Ran(run));
    }
    run.state = RunState::Running;
    run.attempt += 1;
    run.reason = None;
    run.started_at = Some(now);
    run.finished_at = None;
    run.lease_until = Some(now.plus_millis(settings.lease.as_millis() as i64));
    run.progress = Progress::default();
    run.version += 1;
    match app.store.put_run(&run).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            let current = app.store.get_run(provider, day).await?.unwrap_or(run);
            return Ok(Started::Busy(current));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(run = %run.id, attempt = run.attempt, "reconciliation started");
    let id = run.id.clone();
    let version = run.version;
    match attempt(app, adapter, run, provider, day, now).await {
        Ok(started) => Ok(started),
        Err(e) => {
            // Stopped part-way: the record says so (the job comes back and runs it again),
            // unless another attempt has taken it over.
            if let Ok(Some(mut current)) = app.store.get_run(provider, day).await {
                if current.version == version && current.state == RunState::Running {
                    current.state = RunState::Waiting;
                    current.reason = Some(format!("interrupted: {e}"));
                    current.lease_until = None;
                    current.version += 1;
                    let _ = app.store.put_run(&current).await;
                }
            }
            tracing::warn!(run = %id, error = %e, "reconciliation interrupted; the job comes back");
            Err(e)
        }
    }
}

/// One attempt of a day, its lease taken.
async fn attempt(
    app: &App,
    adapter: std::sync::Arc<dyn walletpay_wallet_adapter::WalletAdapter>,
    mut run: RunRecord,
    provider: Provider,
    day: Date,
    now: Timestamp,
) -> Result<Started, RunError> {
    let settings = &app.settings.reconcile;
    let offset = settings.offset(provider);

    // The provider's side.
    let notices = if provider == Provider::Adyen {
        app.store.report_notices(provider, day.plus_days(1)).await?
    } else {
        Vec::new()
    };
    let sd = SettlementDay {
        day,
        utc_offset_minutes: offset,
        notices: &notices,
        now,
    };
    let mut rows = RowSet::new();
    let read = {
        let rows = &mut rows;
        adapter.settlement(&sd, &mut |r| rows.push(&r)).await
    };
    let source = match read {
        Ok(s) => s,
        Err(e @ (SettlementError::NotYet(_) | SettlementError::Unavailable(_))) => {
            run.state = RunState::Waiting;
            run.reason = Some(e.to_string());
            run.lease_until = None;
            run.version += 1;
            write_final(app, &run).await?;
            tracing::info!(run = %run.id, reason = %e, "reconciliation waits for the provider");
            let delay = settings.waiting_delay(run.attempt.saturating_sub(1));
            return Ok(Started::Waiting(run, delay));
        }
        Err(e) => {
            run.state = RunState::Failed;
            run.reason = Some(e.to_string());
            run.lease_until = None;
            run.finished_at = Some(app.clock.now());
            run.version += 1;
            write_final(app, &run).await?;
            tracing::error!(run = %run.id, reason = %e, "reconciliation failed");
            super::metrics::failed(provider);
            return Ok(Started::Ran(run));
        }
    };
    run.progress.rows_read = rows.len() as u64;

    // Our side (read once the provider's data is in: a day that waits reads nothing):
    // the day's ledger and what earlier days carried.
    let contract = app.store.get_contract(provider).await?.map(|c| c.contract);
    let contract_grace = contract.as_ref().and_then(|c| c.grace_days);
    let mut entries = read_ledger(app, provider, day, offset).await?;
    entries.extend(carried_into(app, provider, day, contract_grace).await?);
    let entries = refresh_refunds(app, entries).await?;
    let mut ledger = Ledger::with_capacity(entries.len());
    for e in &entries {
        ledger.push(e);
    }
    run.progress.entries_read = entries.len() as u64;

    let grace_days = contract
        .as_ref()
        .and_then(|c| c.grace_days)
        .unwrap_or(settings.grace_days);
    let mut merchants: std::collections::BTreeSet<MerchantId> =
        entries.iter().map(|e| e.merchant_id.clone()).collect();
    let ctx = Context {
        day,
        as_of: Date::of(now, offset),
        contract: contract.as_ref(),
        merchant_terms: None,
        grace_days,
    };
    let mut matcher = Matcher::new(ledger, rows, ctx);

    // What the day's ledger does not hold, looked up.
    let mut days = DayRuns::default();
    for (at, look) in matcher.unresolved() {
        let resolution = look_up(app, provider, day, offset, &look, &mut days).await?;
        if let Resolution::Ours { entry, .. } = &resolution {
            merchants.insert(entry.merchant_id.clone());
        }
        matcher.resolve(at, resolution);
    }
    // Each merchant is held to its own terms with the account, where its onboarding has them.
    let terms = merchant_terms(app, provider, &merchants).await?;
    matcher.hold_to(&terms);
    // What the provider does not list today: settled on another day?
    let missing = matcher.missing();
    let keys: Vec<String> = missing
        .iter()
        .map(|(_, l)| Marker::movement_key(&l.payment_id, l.refund_id.as_ref()))
        .collect();
    let mut marks: HashMap<String, Date> = HashMap::new();
    for chunk in keys.chunks(100) {
        for m in app.store.get_markers(provider, chunk).await? {
            if m.day != day {
                marks.insert(m.movement, m.day);
            }
        }
    }
    for ((at, _), key) in missing.iter().zip(&keys) {
        if let Some(d) = marks.get(key) {
            matcher.settled_elsewhere(*at, *d);
        }
    }

    // Classes.
    let mut found = Found::new(&run, provider, now);
    let summary = matcher.finish(|o| found.take(&o));
    let found = found.done();

    // Heals, through the state machine.
    for h in &found.heals {
        heal(app, h).await?;
    }
    // Pending at both ends: the provider is asked again by the workers that follow them.
    for r in &found.rechecks {
        recheck(app, r).await?;
    }
    // Discrepancies (a rerun finds its own again).
    let mut opened = 0u64;
    for d in &found.discrepancies {
        if app.store.insert_discrepancy(d).await? {
            opened += 1;
        }
    }
    for (movement, class) in &found.marks {
        app.store
            .put_marker(&Marker {
                provider,
                movement: movement.clone(),
                day,
                class: *class,
            })
            .await?;
    }
    // The report and the carried entries of this attempt.
    for (n, chunk) in found.report.iter().enumerate() {
        app.store
            .put_chunk(
                &run.id,
                run.attempt,
                ChunkKind::Report,
                n as u32,
                chunk.as_bytes(),
            )
            .await?;
    }
    let carried = chunks(found.carried.iter().map(|e| {
        let mut s = serde_json::to_string(e).expect("an entry serializes");
        s.push('\n');
        s
    }));
    for (n, chunk) in carried.iter().enumerate() {
        app.store
            .put_chunk(
                &run.id,
                run.attempt,
                ChunkKind::Carried,
                n as u32,
                chunk.as_bytes(),
            )
            .await?;
    }
    run.state = RunState::Done;
    run.reason = None;
    run.source = Some(format!("{} ({} rows)", source.source, source.rows));
    run.completed_attempt = Some(run.attempt);
    run.report_chunks = found.report.len() as u32;
    run.carried_chunks = carried.len() as u32;
    run.lease_until = None;
    run.finished_at = Some(app.clock.now());
    run.summary = Some(summary);
    run.version += 1;
    write_final(app, &run).await?;
    super::metrics::run_done(&run, opened);
    tracing::info!(run = %run.id, attempt = run.attempt, opened, heals = found.heals.len(), "reconciliation done");
    Ok(Started::Ran(run))
}

/// The run's last write of an attempt, on condition nobody took the run over meanwhile.
async fn write_final(app: &App, run: &RunRecord) -> Result<(), RunError> {
    match app.store.put_run(run).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict) => Err(RunError::Overtaken(run.id.clone())),
        Err(e) => Err(e.into()),
    }
}

/// The terms each of `merchants` has with `provider`'s account, as its onboarding with the
/// provider records them once it is live (read from the store, not a process's cache: the run is the
/// record finance reads); merchants without terms of their own are left out.
async fn merchant_terms(
    app: &App,
    provider: Provider,
    merchants: &std::collections::BTreeSet<MerchantId>,
) -> Result<HashMap<MerchantId, MerchantTerms>, StoreError> {
    let mut out = HashMap::new();
    for id in merchants {
        let Some(m) = app.store.get_merchant(id).await? else {
            continue;
        };
        // Terms bind once the application is live (a draft's do not).
        let Some(o) = m.onboarding.get(&provider).filter(|o| o.is_live()) else {
            continue;
        };
        let t = MerchantTerms {
            fee_bps: o.terms.fee_bps,
            fee_fixed: o
                .terms
                .fee_fixed
                .zip(o.terms.currency)
                .map(|(minor, currency)| walletpay_domain::Money { minor, currency }),
            settlement_days: o.terms.settlement_days,
        };
        if !t.is_empty() {
            out.insert(id.clone(), t);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{app_with, payment, Script};
    use std::sync::Arc;
    use walletpay_embedded::InProcessQueue;
    use walletpay_ports::reconcile::RECONCILIATION;
    use walletpay_ports::QueueReceiver;
    use walletpay_reconcile::{Class, Kind, RowStatus, SettlementRow};

    fn row(p: &walletpay_domain::Payment, status: RowStatus) -> SettlementRow {
        let now = walletpay_ports::Clock::now(&walletpay_ports::SystemClock);
        SettlementRow {
            line: 1,
            payment_id: Some(p.id.clone()),
            refund_id: None,
            provider_reference: "txn_1".into(),
            charge_reference: p.provider_reference.clone(),
            kind: Kind::Charge,
            gross: p.amount.minor,
            fee: 0,
            net: p.amount.minor,
            currency: p.amount.currency,
            status,
            booked_on: Date::of(now, 7 * 60),
            booked_at: Some(now),
            value_on: None,
            settled: false,
            method: None,
        }
    }

    /// A charge both sides show pending is matched and asked about again (silence settles
    /// nothing); one the provider shows paid is healed through the state machine.
    #[tokio::test]
    async fn pending_at_both_ends_is_asked_again_and_paid_is_healed() {
        let (probe, _) = app_with(Script::default());
        let waiting = payment(&probe, Some("ch_1")).await;
        let paid = payment(&probe, Some("ch_2")).await;
        let (mut app, _) = app_with(Script {
            settlement: Some(vec![
                row(&waiting, RowStatus::Pending),
                row(&paid, RowStatus::Succeeded),
            ]),
            ..Script::default()
        });
        app.store = probe.store.clone();
        app.settings.status_check_delays = vec![std::time::Duration::ZERO];
        let checks = Arc::new(InProcessQueue::new(std::time::Duration::from_secs(30)));
        app.status_checks = checks.clone();
        let day = Date::of(
            app.clock.now(),
            app.settings.reconcile.offset(Provider::Xendit),
        );
        let Started::Ran(run) = run_day(&app, Provider::Xendit, day, false).await.unwrap() else {
            panic!("not run")
        };
        let counts = &run.summary.as_ref().unwrap().counts;
        assert_eq!(counts.get(&Class::Matched), Some(&1), "{counts:?}");
        assert_eq!(counts.get(&Class::Healed), Some(&1), "{counts:?}");
        let asked = checks
            .receive(10, std::time::Duration::from_millis(10))
            .await
            .unwrap();
        assert!(
            asked.iter().any(|m| m.body.contains(waiting.id.as_str())),
            "a status check for the pending charge: {asked:?}"
        );
        let healed = app.store.get_payment(&paid.id).await.unwrap().unwrap();
        assert_eq!(healed.status, walletpay_domain::PaymentStatus::Succeeded);
        let last = app.store.payment_history(&paid.id).await.unwrap();
        assert_eq!(last.last().unwrap().source, RECONCILIATION);
        let still = app.store.get_payment(&waiting.id).await.unwrap().unwrap();
        assert_eq!(
            still.status,
            walletpay_domain::PaymentStatus::RequiresAction
        );
    }
}
