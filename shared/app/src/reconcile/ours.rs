//! Our side of a day: the ledger entries of a provider's day (every shard of the UTC days
//! it touches), the entries earlier days carried, where each refund stands now, and the
//! lookup of a movement the provider lists that the day's ledger does not hold (a payment we
//! show unpaid, one booked on another day, none of ours).

use super::run::RunError;
use crate::app::App;
use futures::StreamExt;
use std::collections::{HashMap, HashSet};
use walletpay_domain::{PaymentStatus, Provider, RefundState};
use walletpay_ports::reconcile::{
    ChunkKind, LedgerItem, LedgerQuery, Marker, RunRecord, RunState, RECONCILIATION,
};
use walletpay_ports::StoreError;
use walletpay_reconcile::{Date, LedgerEntry, Lookup, Ours, Resolution};

/// Ledger items read per page.
const LEDGER_PAGE: usize = 1000;
/// Store reads at once.
const READS: usize = 16;

/// The ledger entries of a provider's day, from every shard of the UTC days it touches.
pub(super) async fn read_ledger(
    app: &App,
    provider: Provider,
    day: Date,
    offset: i32,
) -> Result<Vec<LedgerEntry>, RunError> {
    let queries = LedgerQuery::covering(provider, day.start(offset), day.end(offset));
    let pages = futures::stream::iter(queries.into_iter().map(|q| async move {
        let mut items: Vec<LedgerItem> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let (page, next) = app
                .store
                .ledger_page(&q, after.as_deref(), LEDGER_PAGE)
                .await?;
            items.extend(page);
            match next {
                Some(n) => after = Some(n),
                None => return Ok::<_, StoreError>(items),
            }
        }
    }))
    .buffer_unordered(READS)
    .collect::<Vec<_>>()
    .await;
    let mut out = Vec::new();
    for page in pages {
        for item in page? {
            out.push(LedgerEntry {
                payment_id: item.payment_id,
                refund_id: item.refund_id.clone(),
                merchant_id: item.merchant_id,
                provider_reference: item.provider_reference,
                amount: item.amount,
                currency: item.currency,
                // A refund's outcome is read from its payment (`refresh_refunds`).
                status: if item.refund_id.is_some() {
                    Ours::Waiting
                } else {
                    Ours::Succeeded
                },
                wallet: Some(item.wallet),
                day: Date::of(item.at, offset),
                healed: item.healed,
            });
        }
    }
    Ok(out)
}

/// The entries the runs of the grace period before `day` carried to it: of every completed
/// run in it (days finish out of order: a late report, a day that waited), the newest
/// day's copy of each.
pub(super) async fn carried_into(
    app: &App,
    provider: Provider,
    day: Date,
    contract_grace: Option<u32>,
) -> Result<Vec<LedgerEntry>, RunError> {
    let grace = app
        .settings
        .reconcile
        .grace_days
        .max(contract_grace.unwrap_or(0))
        .max(1) as i32;
    let runs = app
        .store
        .list_runs(provider, day.plus_days(-grace), day.plus_days(-1))
        .await?;
    let mut by_key: HashMap<String, LedgerEntry> = HashMap::new();
    // Oldest first, so a later day's copy replaces an earlier one.
    for run in runs
        .iter()
        // A day being run again (or waiting) still has what its completed attempt carried.
        .filter(|r| r.completed_attempt.is_some())
    {
        for e in read_carried(app, run).await? {
            by_key.insert(Marker::movement_key(&e.payment_id, e.refund_id.as_ref()), e);
        }
    }
    Ok(by_key.into_values().collect())
}

pub(super) async fn read_carried(app: &App, run: &RunRecord) -> Result<Vec<LedgerEntry>, RunError> {
    let Some(attempt) = run.completed_attempt else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for n in 0..run.carried_chunks {
        let data = app
            .store
            .get_chunk(&run.id, attempt, ChunkKind::Carried, n)
            .await?
            .ok_or_else(|| {
                StoreError::Backend(format!("{}: carried chunk {n} is missing", run.id))
            })?;
        for line in String::from_utf8_lossy(&data).lines() {
            let e = serde_json::from_str::<LedgerEntry>(line).map_err(|e| {
                StoreError::Backend(format!("{}: an unreadable carried entry: {e}", run.id))
            })?;
            out.push(e);
        }
    }
    Ok(out)
}

pub(super) fn ours_of_refund(state: RefundState) -> Ours {
    match state {
        RefundState::Pending => Ours::Waiting,
        RefundState::Succeeded => Ours::Succeeded,
        RefundState::Failed => Ours::Failed,
        RefundState::Reversed => Ours::Reversed,
    }
}

pub(super) fn ours_of_payment(status: PaymentStatus) -> Ours {
    match status {
        PaymentStatus::RequiresReview
        | PaymentStatus::Processing
        | PaymentStatus::RequiresAction => Ours::Waiting,
        PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded => {
            Ours::Succeeded
        }
        PaymentStatus::Failed => Ours::Failed,
        PaymentStatus::Canceled => Ours::Canceled,
        PaymentStatus::Expired => Ours::Expired,
    }
}

/// Refund entries with where each stands now (and their provider reference).
pub(super) async fn refresh_refunds(
    app: &App,
    entries: Vec<LedgerEntry>,
) -> Result<Vec<LedgerEntry>, RunError> {
    let (refunds, mut out): (Vec<LedgerEntry>, Vec<LedgerEntry>) =
        entries.into_iter().partition(|e| e.refund_id.is_some());
    let read = futures::stream::iter(refunds.into_iter().map(|mut e| async move {
        let p = app.store.get_payment(&e.payment_id).await?;
        let line = p.as_ref().and_then(|p| {
            e.refund_id
                .as_ref()
                .and_then(|r| p.refund_line(r.as_str()).cloned())
        });
        Ok::<_, StoreError>(line.map(|l| {
            e.status = ours_of_refund(l.state);
            e.provider_reference = l.provider_reference.clone();
            e
        }))
    }))
    .buffer_unordered(READS)
    .collect::<Vec<_>>()
    .await;
    for r in read {
        if let Some(e) = r? {
            out.push(e);
        }
    }
    Ok(out)
}

/// Which days' runs are done and what they carried, as looked up.
#[derive(Default)]
pub(super) struct DayRuns(HashMap<Date, Option<HashSet<String>>>);

impl DayRuns {
    /// Whether `day`'s run reconciled `key` (done, and did not carry it).
    pub(super) async fn reconciled(
        &mut self,
        app: &App,
        provider: Provider,
        day: Date,
        key: &str,
    ) -> Result<bool, RunError> {
        let carried = match self.0.get(&day) {
            Some(known) => known.clone(),
            None => {
                let done = match app.store.get_run(provider, day).await? {
                    Some(r) if r.state == RunState::Done => Some(
                        read_carried(app, &r)
                            .await?
                            .iter()
                            .map(|e| Marker::movement_key(&e.payment_id, e.refund_id.as_ref()))
                            .collect::<HashSet<String>>(),
                    ),
                    _ => None,
                };
                self.0.insert(day, done.clone());
                done
            }
        };
        Ok(carried.is_some_and(|c| !c.contains(key)))
    }
}

/// A movement the provider lists that the day's ledger does not hold.
pub(super) async fn look_up(
    app: &App,
    provider: Provider,
    day: Date,
    offset: i32,
    look: &Lookup,
    days: &mut DayRuns,
) -> Result<Resolution, RunError> {
    let Some(p) = app.store.get_payment(&look.payment_id).await? else {
        return Ok(Resolution::NotOurs);
    };
    // A charge at a provider this payment does not use is not a movement of ours there (it
    // is for a person: `unknown_to_us`, naming the payment).
    if p.provider != provider {
        return Ok(Resolution::NotOurs);
    }
    let key = Marker::movement_key(&p.id, look.refund_id.as_ref());
    let markers = app
        .store
        .get_markers(provider, std::slice::from_ref(&key))
        .await?;
    // This day's own run classed it before (a rerun): as then.
    let marked_here = markers
        .iter()
        .any(|m| m.day == day && m.class == walletpay_reconcile::Class::Healed);
    let marked = markers.iter().find(|m| m.day != day).map(|m| m.day);
    let history = app.store.payment_history(&p.id).await?;
    let (entry, own_day) = match &look.refund_id {
        None => {
            let status = ours_of_payment(p.status);
            // The day we recorded its success on, if we did, and whether reconciliation did.
            let success = history.iter().find(|h| h.event == "succeeded");
            let own_day = success
                .filter(|_| status == Ours::Succeeded)
                .map(|h| Date::of(h.at, offset));
            let healed = success.is_some_and(|h| h.source == RECONCILIATION);
            (
                LedgerEntry {
                    payment_id: p.id.clone(),
                    refund_id: None,
                    merchant_id: p.merchant_id.clone(),
                    provider_reference: p.provider_reference.clone(),
                    amount: p.amount.minor,
                    currency: p.amount.currency,
                    status,
                    wallet: Some(p.wallet),
                    day: own_day.unwrap_or(day),
                    healed,
                },
                own_day,
            )
        }
        Some(r) => {
            let Some(line) = p.refund_line(r.as_str()) else {
                return Ok(Resolution::NotOurs);
            };
            let own_day = Date::of(line.created_at, offset);
            let healed = history.iter().any(|h| {
                h.event == "refund_succeeded"
                    && h.source == RECONCILIATION
                    && h.detail.as_deref() == Some(r.as_str())
            });
            (
                LedgerEntry {
                    payment_id: p.id.clone(),
                    refund_id: Some(r.clone()),
                    merchant_id: p.merchant_id.clone(),
                    provider_reference: line.provider_reference.clone(),
                    amount: line.amount_minor,
                    currency: p.amount.currency,
                    status: ours_of_refund(line.state),
                    wallet: Some(p.wallet),
                    day: own_day,
                    healed,
                },
                Some(own_day),
            )
        }
    };
    let reconciled_on = match (marked, own_day) {
        _ if marked_here => None,
        (Some(d), _) => Some(d),
        (None, Some(own)) if own != day && days.reconciled(app, provider, own, &key).await? => {
            Some(own)
        }
        _ => None,
    };
    Ok(Resolution::Ours {
        entry,
        reconciled_on,
    })
}
