//! What a day's outcomes come to, owned: the report's lines in chunks, the discrepancies
//! (with ids derived from what they are about), the heals and the re-checks to make, the
//! markers and the entries to carry; and making the heals and re-checks.

use super::run::RunError;
use crate::app::App;
use crate::transition::transition;
use sha2::{Digest, Sha256};
use walletpay_domain::{PaymentEvent, PaymentId, Provider, RefundId, Timestamp};
use walletpay_ports::reconcile::{
    Discrepancy, DiscrepancyStatus, Marker, RunRecord, RECONCILIATION,
};
use walletpay_reconcile::{report, Class, Date, LedgerEntry, Ours, Outcome, RowStatus};

/// A report or carried chunk is cut at about this size (an item stays well under 400 KB).
pub(super) const CHUNK_BYTES: usize = 256 * 1024;

/// A movement to heal.
#[derive(Debug, Clone)]
pub(super) struct Heal {
    pub(super) payment_id: PaymentId,
    pub(super) refund_id: Option<RefundId>,
    pub(super) provider_reference: Option<String>,
}

pub(super) async fn heal(app: &App, h: &Heal) -> Result<(), RunError> {
    match &h.refund_id {
        None => {
            let (after, _) = transition(
                app,
                &h.payment_id,
                None,
                &PaymentEvent::Succeeded,
                RECONCILIATION,
                h.provider_reference.as_deref(),
            )
            .await?;
            tracing::warn!(payment = %h.payment_id, status = after.status.as_str(), "healed: the provider's settlement shows it paid");
        }
        Some(r) => {
            crate::refunds::heal_refund(app, &h.payment_id, r).await?;
            tracing::warn!(payment = %h.payment_id, refund = %r, "healed: the provider's settlement shows the refund made");
        }
    }
    Ok(())
}

/// A movement pending at both ends: a refund's job comes again for one more ask (the
/// worker's last), a charge gets a status check.
pub(super) async fn recheck(app: &App, r: &Heal) -> Result<(), RunError> {
    match &r.refund_id {
        // A refund the provider never named is followed by its own worker: a job without
        // the provider's reference would ask for the refund again.
        Some(_) if r.provider_reference.is_none() => {}
        Some(refund_id) => {
            let now = app.clock.now();
            let job = crate::refunds::RefundJob {
                payment_id: r.payment_id.clone(),
                refund_id: refund_id.clone(),
                due_at: now,
                attempts: app.settings.refund_max_attempts.saturating_sub(1),
                provider_reference: r.provider_reference.clone(),
                requested_at: now,
                late_success: false,
            };
            crate::refunds::enqueue(app, &job).await?;
        }
        None => crate::status::schedule(app, &r.payment_id, 0).await?,
    }
    Ok(())
}

/// What the outcomes came to, owned.
pub(super) struct Found {
    pub(super) run_id: String,
    pub(super) provider: Provider,
    pub(super) day: Date,
    pub(super) now: Timestamp,
    pub(super) report: Vec<String>,
    pub(super) current: String,
    pub(super) discrepancies: Vec<Discrepancy>,
    pub(super) heals: Vec<Heal>,
    /// Movements both sides show pending: asked about again, so silence settles nothing.
    pub(super) rechecks: Vec<Heal>,
    pub(super) marks: Vec<(String, Class)>,
    pub(super) carried: Vec<LedgerEntry>,
}

impl Found {
    pub(super) fn new(run: &RunRecord, provider: Provider, now: Timestamp) -> Found {
        Found {
            run_id: run.id.clone(),
            provider,
            day: run.day,
            now,
            report: Vec::new(),
            current: report::header(),
            discrepancies: Vec::new(),
            heals: Vec::new(),
            rechecks: Vec::new(),
            marks: Vec::new(),
            carried: Vec::new(),
        }
    }

    pub(super) fn take(&mut self, o: &Outcome<'_>) {
        report::line(o, &mut self.current);
        if self.current.len() >= CHUNK_BYTES {
            self.report.push(std::mem::take(&mut self.current));
        }
        let entry = o.entry.as_ref();
        if o.carried {
            if let Some(e) = entry {
                self.carried.push(e.to_entry());
            }
        }
        if o.heal {
            if let Some(e) = entry {
                self.heals.push(Heal {
                    payment_id: e.payment_id(),
                    refund_id: e.refund_id(),
                    provider_reference: o
                        .row
                        .as_ref()
                        .and_then(|r| r.charge_reference().map(str::to_string))
                        .or_else(|| e.provider_reference().map(str::to_string)),
                });
            }
        }
        let both_pending = o
            .row
            .as_ref()
            .is_some_and(|r| r.status() == RowStatus::Pending);
        if let (Some(e), true) = (entry, both_pending && !o.secondary) {
            let seen = self
                .rechecks
                .iter()
                .any(|h| h.payment_id == e.payment_id() && h.refund_id == e.refund_id());
            if e.status() == Ours::Waiting && !seen {
                self.rechecks.push(Heal {
                    payment_id: e.payment_id(),
                    refund_id: e.refund_id(),
                    provider_reference: e.provider_reference().map(str::to_string),
                });
            }
        }
        if o.mark {
            if let Some(e) = entry {
                self.marks.push((
                    Marker::movement_key(&e.payment_id(), e.refund_id().as_ref()),
                    o.class,
                ));
            }
        }
        if o.is_discrepancy() {
            self.discrepancies.push(self.discrepancy(o));
        }
    }

    fn discrepancy(&self, o: &Outcome<'_>) -> Discrepancy {
        let e = o.entry.as_ref();
        let r = o.row.as_ref();
        let payment_id = e
            .map(|e| e.payment_id())
            .or_else(|| r.and_then(|r| r.payment_id()));
        let refund_id = e
            .and_then(|e| e.refund_id())
            .or_else(|| r.and_then(|r| r.refund_id()));
        // What it is about: our movement, or the provider's line when it names none of ours.
        let about = match (&payment_id, e) {
            (Some(p), Some(_)) => Marker::movement_key(p, refund_id.as_ref()),
            _ => format!(
                "row:{}:{}",
                r.map(|r| r.provider_reference()).unwrap_or(""),
                r.map(|r| r.kind().as_str()).unwrap_or("")
            ),
        };
        // A duplicate is also the provider's line that repeats (another day's repeat is
        // another discrepancy).
        let line = match o.class {
            Class::Duplicate => r.map(|r| r.provider_reference()).unwrap_or(""),
            _ => "",
        };
        let digest = Sha256::digest(format!(
            "{}|{}|{}|{}|{line}",
            self.provider,
            o.class.as_str(),
            about,
            o.occurrence
        ));
        Discrepancy {
            id: format!("dsc_{}", &hex::encode(digest)[..24]),
            provider: self.provider,
            class: o.class,
            day: self.day,
            run_id: self.run_id.clone(),
            status: DiscrepancyStatus::Open,
            payment_id,
            refund_id,
            merchant_id: e.map(|e| e.merchant_id().clone()),
            provider_reference: r
                .map(|r| r.provider_reference().to_string())
                .or_else(|| e.and_then(|e| e.provider_reference().map(str::to_string))),
            currency: r.map(|r| r.currency()).or(e.map(|e| e.currency())),
            our_amount: e.map(|e| e.amount()),
            provider_amount: r.map(|r| r.gross()),
            provider_fee: o.fee,
            contracted_fee: o.contracted_fee,
            due_on: o.due,
            detail: o.detail.to_string(),
            opened_at: self.now,
            resolution: None,
            version: 1,
        }
    }

    pub(super) fn done(mut self) -> Found {
        if !self.current.is_empty() {
            self.report.push(std::mem::take(&mut self.current));
        }
        self
    }
}

/// Lines into chunks of about [`CHUNK_BYTES`].
pub(super) fn chunks(lines: impl Iterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for l in lines {
        current.push_str(&l);
        if current.len() >= CHUNK_BYTES {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}
