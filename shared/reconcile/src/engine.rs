//! The matching engine: a day's settlement rows against the ledger entries of that day (and
//! those carried from the days before), by sort-merge on our ids, into one class per row and
//! per entry.
//!
//! Both sides are held compactly (`sides`: ids as 128-bit numbers, text in one arena), sorted by
//! (payment, refund) and walked once. A key with rows and no entry (the provider lists a
//! movement the day's ledger does not hold) is handed to the caller to look up ([`Matcher::
//! unresolved`]): it may be a payment we show unpaid (healed), one booked on another day, or
//! none of ours. A key with an entry and no row is missing at the provider, carried for the
//! grace period unless another day's run already settled it ([`Matcher::missing`]). Then
//! [`Matcher::finish`] classes everything, in this order of precedence:
//! another charge for the payment or a row listed twice (`duplicate`), `currency_mismatch`,
//! `amount_mismatch`, `status_mismatch`, `healed`, `fee_mismatch`, `settlement_late`,
//! `matched`.

use crate::contract::{Contract, MerchantTerms, Terms};
use crate::date::Date;
use crate::row::{Kind, RowStatus};
use crate::sides::{Entry, Role, Row, NONE};
pub use crate::sides::{EntryParts, Ledger, LedgerEntry, Ours, RowParts, RowSet, Totals};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use walletpay_domain::{Currency, MerchantId, PaymentId, RefundId, WalletId};

/// Where a row or entry ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Matched,
    Healed,
    MissingAtProvider,
    UnknownToUs,
    AmountMismatch,
    CurrencyMismatch,
    StatusMismatch,
    Duplicate,
    FeeMismatch,
    SettlementLate,
}

impl Class {
    pub const ALL: [Class; 10] = [
        Class::Matched,
        Class::Healed,
        Class::MissingAtProvider,
        Class::UnknownToUs,
        Class::AmountMismatch,
        Class::CurrencyMismatch,
        Class::StatusMismatch,
        Class::Duplicate,
        Class::FeeMismatch,
        Class::SettlementLate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Matched => "matched",
            Class::Healed => "healed",
            Class::MissingAtProvider => "missing_at_provider",
            Class::UnknownToUs => "unknown_to_us",
            Class::AmountMismatch => "amount_mismatch",
            Class::CurrencyMismatch => "currency_mismatch",
            Class::StatusMismatch => "status_mismatch",
            Class::Duplicate => "duplicate",
            Class::FeeMismatch => "fee_mismatch",
            Class::SettlementLate => "settlement_late",
        }
    }

    pub fn parse(s: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether it is for a person to look at.
    pub fn is_discrepancy(self) -> bool {
        !matches!(self, Class::Matched | Class::Healed)
    }
}

/// The day being reconciled and the terms it is held to.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub day: Date,
    /// Today, in the provider's report time zone: money due before it and not paid out is late.
    pub as_of: Date,
    pub contract: Option<&'a Contract>,
    /// Merchants' own terms with the account, where they have them (also given once the
    /// look-ups are in: [`Matcher::hold_to`]).
    pub merchant_terms: Option<&'a HashMap<MerchantId, MerchantTerms>>,
    /// Days a success we show may go unlisted before it is a discrepancy.
    pub grace_days: u32,
}

impl Context<'_> {
    /// The terms `merchant`'s movements are held to.
    pub fn terms(&self, merchant: &MerchantId) -> Terms<'_> {
        Terms {
            contract: self.contract,
            merchant: self.merchant_terms.and_then(|t| t.get(merchant)),
        }
    }
}

/// What a lookup found for a movement the day's ledger does not hold.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// No such payment or refund of ours.
    NotOurs,
    Ours {
        entry: LedgerEntry,
        /// The day whose run already reconciled this movement, if one did (another day's
        /// record of it, or the run of the day it belongs to).
        reconciled_on: Option<Date>,
    },
}

#[derive(Debug, Clone, Copy)]
enum Resolved {
    NotOurs,
    Ours {
        index: usize,
        reconciled_on: Option<Date>,
    },
}

#[derive(Debug, Clone, Copy)]
struct Group {
    entry: u32,
    rows: (u32, u32),
    fees: (u32, u32),
}

/// One line of the outcome: an entry and its row, an entry alone or a row alone, and its class.
#[derive(Debug)]
pub struct Outcome<'a> {
    pub class: Class,
    /// Missing at the provider within the grace period: carried to the next day, not yet a
    /// discrepancy.
    pub carried: bool,
    /// The provider's data proves a movement our ledger does not show yet: apply it.
    pub heal: bool,
    /// Classed on another day than the entry's own ledger day: record that it was.
    pub mark: bool,
    /// Another line of the same movement whose discrepancy (if any) is the first line's.
    pub secondary: bool,
    /// For a duplicate: which extra listing (1 for the second).
    pub occurrence: u32,
    pub reconciled_on: Option<Date>,
    pub detail: &'static str,
    pub entry: Option<EntryView<'a>>,
    pub row: Option<RowView<'a>>,
    /// The fee the provider took on the payment (its line and any fee lines) and the one the
    /// contract allows.
    pub fee: Option<i64>,
    pub contracted_fee: Option<i64>,
    /// The last day the money may be paid out, under the contract.
    pub due: Option<Date>,
}

impl Outcome<'_> {
    /// Whether it opens a discrepancy for a person.
    pub fn is_discrepancy(&self) -> bool {
        self.class.is_discrepancy() && !self.carried && !self.secondary
    }
}

/// An entry, as an outcome shows it.
#[derive(Debug, Clone, Copy)]
pub struct EntryView<'a> {
    e: &'a Entry,
    text: Option<&'a str>,
    merchant: &'a MerchantId,
}

impl EntryView<'_> {
    pub fn payment_id(&self) -> PaymentId {
        PaymentId::from_bits(self.e.key.payment)
    }
    pub fn refund_id(&self) -> Option<RefundId> {
        (self.e.key.refund != 0).then(|| RefundId::from_bits(self.e.key.refund))
    }
    pub fn merchant_id(&self) -> &MerchantId {
        self.merchant
    }
    pub fn provider_reference(&self) -> Option<&str> {
        self.text
    }
    pub fn amount(&self) -> i64 {
        self.e.amount
    }
    pub fn currency(&self) -> Currency {
        self.e.currency
    }
    pub fn status(&self) -> Ours {
        self.e.status
    }
    pub fn wallet(&self) -> Option<WalletId> {
        self.e.wallet
    }
    pub fn day(&self) -> Date {
        self.e.day
    }
    pub fn healed(&self) -> bool {
        self.e.healed
    }
    /// The entry back in its full form (to carry it to the next day).
    pub fn to_entry(&self) -> LedgerEntry {
        LedgerEntry {
            payment_id: self.payment_id(),
            refund_id: self.refund_id(),
            merchant_id: self.merchant.clone(),
            provider_reference: self.text.map(str::to_string),
            amount: self.e.amount,
            currency: self.e.currency,
            status: self.e.status,
            wallet: self.e.wallet,
            day: self.e.day,
            healed: self.e.healed,
        }
    }
}

/// A row, as an outcome shows it.
#[derive(Debug, Clone, Copy)]
pub struct RowView<'a> {
    r: &'a Row,
    text: &'a str,
    charge_text: Option<&'a str>,
}

impl RowView<'_> {
    pub fn line(&self) -> u64 {
        self.r.line
    }
    pub fn payment_id(&self) -> Option<PaymentId> {
        self.r
            .key
            .known()
            .then(|| PaymentId::from_bits(self.r.key.payment))
    }
    pub fn refund_id(&self) -> Option<RefundId> {
        (self.r.key.refund != 0).then(|| RefundId::from_bits(self.r.key.refund))
    }
    pub fn provider_reference(&self) -> &str {
        self.text
    }
    pub fn charge_reference(&self) -> Option<&str> {
        self.charge_text
    }
    pub fn kind(&self) -> Kind {
        self.r.kind
    }
    pub fn status(&self) -> RowStatus {
        self.r.status
    }
    pub fn gross(&self) -> i64 {
        self.r.gross
    }
    pub fn fee(&self) -> i64 {
        self.r.fee
    }
    pub fn net(&self) -> i64 {
        self.r.net
    }
    pub fn currency(&self) -> Currency {
        self.r.currency
    }
    pub fn booked_on(&self) -> Date {
        self.r.booked
    }
    pub fn value_on(&self) -> Option<Date> {
        self.r.value
    }
    pub fn settled(&self) -> bool {
        self.r.settled
    }
}

/// What a movement the day's ledger does not hold needs looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub payment_id: PaymentId,
    pub refund_id: Option<RefundId>,
}

/// Counts per class, and the day's money.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub counts: std::collections::BTreeMap<Class, u64>,
    /// Entries missing at the provider still within the grace period.
    pub carried: u64,
    pub discrepancies: u64,
    pub heals: u64,
    pub rows: u64,
    pub entries: u64,
    pub totals: std::collections::BTreeMap<Currency, Totals>,
}

/// A day's rows and entries, merged; see the module's documentation.
pub struct Matcher<'a> {
    ctx: Context<'a>,
    ledger: Ledger,
    rows: RowSet,
    groups: Vec<Group>,
    /// Per group without an entry: its resolution, once given.
    resolutions: HashMap<u32, Resolved>,
    resolved: Ledger,
    /// Per group whose entry has no row: the day another run settled it on.
    elsewhere: HashMap<u32, Date>,
}

impl<'a> Matcher<'a> {
    pub fn new(mut ledger: Ledger, mut rows: RowSet, ctx: Context<'a>) -> Self {
        // Newest day first, so a key held twice keeps its own day's entry.
        ledger
            .entries
            .sort_unstable_by(|a, b| a.key.cmp(&b.key).then(b.day.cmp(&a.day)));
        ledger
            .entries
            .dedup_by(|later, first| later.key == first.key);
        // A refund the provider names only by our refund id belongs to the payment the
        // ledger records it under.
        let owner: HashMap<u128, u128> = ledger
            .entries
            .iter()
            .filter(|e| e.key.refund != 0)
            .map(|e| (e.key.refund, e.key.payment))
            .collect();
        for r in rows.rows.iter_mut() {
            if r.key.payment == 0 && r.key.refund != 0 {
                if let Some(p) = owner.get(&r.key.refund) {
                    r.key.payment = *p;
                }
            }
            if r.role == Role::Movement && !r.key.known() {
                r.role = Role::Other;
            }
        }
        rows.rows.sort_unstable_by_key(|r| (r.key, r.role, r.line));
        let groups = merge(&ledger.entries, &rows.rows);
        Matcher {
            ctx,
            ledger,
            rows,
            groups,
            resolutions: HashMap::new(),
            resolved: Ledger::new(),
            elsewhere: HashMap::new(),
        }
    }

    /// The movements the provider lists that the day's ledger does not hold, to look up, by
    /// their position (pass it back to [`resolve`](Self::resolve)).
    pub fn unresolved(&self) -> Vec<(u32, Lookup)> {
        self.groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.entry == NONE && g.rows.0 < g.rows.1)
            .map(|(i, g)| {
                let key = self.rows.rows[g.rows.0 as usize].key;
                (
                    i as u32,
                    Lookup {
                        payment_id: PaymentId::from_bits(key.payment),
                        refund_id: (key.refund != 0).then(|| RefundId::from_bits(key.refund)),
                    },
                )
            })
            .collect()
    }

    pub fn resolve(&mut self, at: u32, resolution: Resolution) {
        let resolved = match resolution {
            Resolution::Ours {
                entry,
                reconciled_on,
            } if self.resolved.push(&entry) => Resolved::Ours {
                index: self.resolved.len() - 1,
                reconciled_on,
            },
            _ => Resolved::NotOurs,
        };
        self.resolutions.insert(at, resolved);
    }

    /// The entries that moved money (or wait for a refund) and that the provider does not
    /// list today, to check whether another day's run settled them, by position.
    pub fn missing(&self) -> Vec<(u32, Lookup)> {
        self.groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.entry != NONE && g.rows.0 == g.rows.1)
            .map(|(i, g)| {
                let e = &self.ledger.entries[g.entry as usize];
                (
                    i as u32,
                    Lookup {
                        payment_id: PaymentId::from_bits(e.key.payment),
                        refund_id: (e.key.refund != 0).then(|| RefundId::from_bits(e.key.refund)),
                    },
                )
            })
            .collect()
    }

    /// The entry at `at` was settled by the run of `day`.
    pub fn settled_elsewhere(&mut self, at: u32, day: Date) {
        self.elsewhere.insert(at, day);
    }

    /// Holds each merchant in `terms` to its own terms (the movements' merchants are known
    /// once the look-ups are resolved).
    pub fn hold_to(&mut self, terms: &'a HashMap<MerchantId, MerchantTerms>) {
        self.ctx.merchant_terms = Some(terms);
    }

    /// Classes every row and entry, handing each outcome to `out`.
    pub fn finish(self, mut out: impl FnMut(Outcome<'_>)) -> Summary {
        let Matcher {
            ctx,
            ledger,
            rows,
            groups,
            resolutions,
            resolved,
            elsewhere,
        } = self;
        let mut summary = Summary {
            rows: rows.rows.len() as u64,
            entries: ledger.entries.len() as u64,
            totals: rows.totals.clone(),
            ..Summary::default()
        };
        let mut emit = |o: Outcome<'_>, summary: &mut Summary| {
            if o.carried {
                summary.carried += 1;
            }
            if o.is_discrepancy() {
                summary.discrepancies += 1;
            }
            if o.heal {
                summary.heals += 1;
            }
            *summary.counts.entry(o.class).or_default() += 1;
            out(o);
        };
        // Our side of the day's money.
        for e in &ledger.entries {
            if e.day != ctx.day || !e.status.moved() {
                continue;
            }
            let t = summary.totals.entry(e.currency).or_default();
            if e.key.refund == 0 {
                let fee = ctx
                    .terms(&ledger.merchants[e.merchant as usize])
                    .expected_fee(e.wallet, e.amount, e.currency)
                    .unwrap_or(0);
                t.our_charges += e.amount;
                t.contracted_fees += fee;
                t.expected_payout += e.amount - fee;
            } else if e.status == Ours::Succeeded {
                t.our_refunds += e.amount;
                t.expected_payout -= e.amount;
            }
        }
        for (gi, g) in groups.iter().enumerate() {
            let movement = &rows.rows[g.rows.0 as usize..g.rows.1 as usize];
            let fee_lines = &rows.rows[g.fees.0 as usize..g.fees.1 as usize];
            let fee_extra: i64 = fee_lines.iter().map(|r| r.fee).sum();
            if g.entry == NONE && movement.is_empty() {
                // Fee lines of a payment the day does not otherwise hold.
                for r in fee_lines {
                    let o = row_alone(
                        &rows,
                        r,
                        Class::Matched,
                        "a fee line of a payment of another day",
                    );
                    emit(o, &mut summary);
                }
                continue;
            }
            let (entry, from_elsewhere) = if g.entry != NONE {
                (Some(entry_of(&ledger, g.entry as usize)), None)
            } else {
                match resolutions.get(&(gi as u32)) {
                    Some(Resolved::Ours {
                        index,
                        reconciled_on,
                    }) => (Some(entry_of(&resolved, *index)), Some(*reconciled_on)),
                    _ => (None, None),
                }
            };
            let Some(entry) = entry else {
                // Nothing of ours: every line of it is unknown to us.
                for r in movement.iter().chain(fee_lines) {
                    emit(
                        row_alone(
                            &rows,
                            r,
                            Class::UnknownToUs,
                            "no such payment or refund of ours",
                        ),
                        &mut summary,
                    );
                }
                continue;
            };
            if movement.is_empty() {
                // Ours, not listed today.
                let e = entry.e;
                if elsewhere.contains_key(&(gi as u32)) {
                    // It ended in the run that settled it.
                    continue;
                }
                let owed = e.status.moved() || (e.key.refund != 0 && e.status == Ours::Waiting);
                if !owed {
                    continue;
                }
                let within = ctx.day.days_since(e.day) < ctx.grace_days as i32;
                emit(
                    Outcome {
                        class: Class::MissingAtProvider,
                        carried: within,
                        heal: false,
                        mark: false,
                        secondary: false,
                        occurrence: 0,
                        reconciled_on: None,
                        detail: if within {
                            "not listed by the provider yet; carried to the next day"
                        } else {
                            "not listed by the provider within the grace period"
                        },
                        entry: Some(entry),
                        row: None,
                        fee: None,
                        contracted_fee: None,
                        due: None,
                    },
                    &mut summary,
                );
                continue;
            }
            // Only a movement listed again as made is the same one again: a reversal or a
            // failure listed later is news about it.
            let same_status = movement
                .iter()
                .all(|r| r.status == RowStatus::Succeeded && agrees(r.status, entry.e.status));
            if let (Some(Some(day)), true) = (from_elsewhere, same_status) {
                // Listed again, as it stood, after the run of its own day settled it (a
                // movement whose status changed since is compared as usual: a refund
                // reversed days later, a pending one made).
                for (n, r) in movement.iter().enumerate() {
                    let mut o = row_alone(
                        &rows,
                        r,
                        Class::Duplicate,
                        "listed again after another day's run reconciled it",
                    );
                    o.entry = Some(entry);
                    o.occurrence = n as u32 + 1;
                    o.reconciled_on = Some(day);
                    emit(o, &mut summary);
                }
                continue;
            }
            // Classed on another day than its own (a lookup, or an entry carried here): the
            // day it belongs to must know.
            let elsewhere_day = entry.e.day != ctx.day;
            classify_group(
                &ctx,
                &rows,
                entry,
                movement,
                fee_extra,
                elsewhere_day,
                &mut |o| emit(o, &mut summary),
            );
            for r in fee_lines {
                let mut o = row_alone(&rows, r, Class::Matched, "a fee line of the payment");
                o.entry = Some(entry);
                o.secondary = true;
                emit(o, &mut summary);
            }
        }
        // Rows that are no movement to match: account fees and payouts are the provider's
        // own; an adjustment, or a movement without our ids, is one we never made.
        for r in rows.rows.iter().filter(|r| r.role == Role::Other) {
            let (class, detail) = match r.kind {
                Kind::Fee => (Class::Matched, "a fee of the account"),
                Kind::Payout => (Class::Matched, "a payout"),
                Kind::Adjustment => (Class::UnknownToUs, "an adjustment the provider made"),
                Kind::Charge | Kind::Refund => (Class::UnknownToUs, "a movement without our ids"),
            };
            emit(row_alone(&rows, r, class, detail), &mut summary);
        }
        summary
    }
}

fn entry_of(ledger: &Ledger, i: usize) -> EntryView<'_> {
    let e = &ledger.entries[i];
    EntryView {
        e,
        text: ledger.arena.get(e.text),
        merchant: &ledger.merchants[e.merchant as usize],
    }
}

fn view<'a>(rows: &'a RowSet, r: &'a Row) -> RowView<'a> {
    RowView {
        r,
        text: rows.arena.get(r.text).unwrap_or(""),
        charge_text: rows.arena.get(r.charge_text),
    }
}

fn row_alone<'a>(rows: &'a RowSet, r: &'a Row, class: Class, detail: &'static str) -> Outcome<'a> {
    Outcome {
        class,
        carried: false,
        heal: false,
        mark: false,
        secondary: false,
        occurrence: 0,
        reconciled_on: None,
        detail,
        entry: None,
        row: Some(view(rows, r)),
        fee: None,
        contracted_fee: None,
        due: None,
    }
}

/// Walks both sorted sides once: a group per key, with its entry and its rows.
fn merge(entries: &[Entry], rows: &[Row]) -> Vec<Group> {
    let mut groups = Vec::with_capacity(entries.len() + rows.len() / 8);
    let (mut i, mut j) = (0usize, 0usize);
    // Rows that are no movement (role Other) are classed on their own.
    let next_row = |mut j: usize| {
        while j < rows.len() && rows[j].role == Role::Other {
            j += 1;
        }
        j
    };
    j = next_row(j);
    while i < entries.len() || j < rows.len() {
        let key = match (entries.get(i), rows.get(j)) {
            (Some(e), Some(r)) => e.key.min(r.key),
            (Some(e), None) => e.key,
            (None, Some(r)) => r.key,
            (None, None) => break,
        };
        let entry = match entries.get(i) {
            Some(e) if e.key == key => {
                i += 1;
                (i - 1) as u32
            }
            _ => NONE,
        };
        let start = j;
        while j < rows.len() && rows[j].key == key && rows[j].role == Role::Movement {
            j += 1;
        }
        let fee_start = j;
        while j < rows.len() && rows[j].key == key && rows[j].role == Role::FeeLine {
            j += 1;
        }
        let fee_end = j;
        // Skip rows of this key that are no movement.
        while j < rows.len() && rows[j].key == key {
            j += 1;
        }
        j = next_row(j);
        groups.push(Group {
            entry,
            rows: (start as u32, fee_start as u32),
            fees: (fee_start as u32, fee_end as u32),
        });
    }
    groups
}

/// One movement of ours and the provider's lines of it.
fn classify_group<'a>(
    ctx: &Context<'_>,
    rows: &'a RowSet,
    entry: EntryView<'a>,
    movement: &'a [Row],
    fee_extra: i64,
    elsewhere_day: bool,
    emit: &mut dyn FnMut(Outcome<'a>),
) {
    let e = entry.e;
    let first = &movement[0];
    // A refund listed and then undone is one movement in two lines.
    let reversed_later = movement[1..]
        .iter()
        .any(|r| r.status == RowStatus::Reversed && first.status != RowStatus::Reversed);
    let effective = if reversed_later {
        RowStatus::Reversed
    } else {
        first.status
    };
    let fee = first.fee + fee_extra;
    let is_charge = e.key.refund == 0;
    let terms = ctx.terms(entry.merchant);
    let contracted_fee = if is_charge {
        terms.expected_fee(e.wallet, first.gross, first.currency)
    } else {
        None
    };
    let due = if is_charge {
        terms.due(first.booked)
    } else {
        None
    };
    let (class, heal, detail) = compare(ctx, e, first, effective, fee, contracted_fee, due);
    emit(Outcome {
        class,
        carried: false,
        heal,
        mark: elsewhere_day || heal,
        secondary: false,
        occurrence: 0,
        reconciled_on: None,
        detail,
        entry: Some(entry),
        row: Some(view(rows, first)),
        fee: Some(fee),
        contracted_fee,
        due,
    });
    let mut seen: Vec<RowStatus> = vec![first.status];
    let mut occurrence = 0;
    for r in &movement[1..] {
        let again = seen.contains(&r.status);
        seen.push(r.status);
        let (class, detail, secondary) = if again {
            occurrence += 1;
            (Class::Duplicate, "listed twice", false)
        } else {
            (class, "the reversal of the line before", true)
        };
        emit(Outcome {
            class,
            carried: false,
            heal: false,
            mark: false,
            secondary,
            occurrence: if again { occurrence } else { 0 },
            reconciled_on: None,
            detail,
            entry: Some(entry),
            row: Some(view(rows, r)),
            fee: None,
            contracted_fee: None,
            due: None,
        });
    }
}

/// Whether the provider's status is the one we show (the same movement as it stood).
fn agrees(row: RowStatus, ours: Ours) -> bool {
    matches!(
        (row, ours),
        (RowStatus::Succeeded, Ours::Succeeded)
            | (RowStatus::Reversed, Ours::Reversed)
            | (RowStatus::Failed, Ours::Failed)
            | (RowStatus::Pending, Ours::Waiting)
    )
}

fn compare(
    ctx: &Context<'_>,
    e: &Entry,
    r: &Row,
    status: RowStatus,
    fee: i64,
    contracted_fee: Option<i64>,
    due: Option<Date>,
) -> (Class, bool, &'static str) {
    let is_charge = e.key.refund == 0;
    if is_charge && e.reference != 0 && r.reference != 0 && e.reference != r.reference {
        return (
            Class::Duplicate,
            false,
            "another charge made for this payment",
        );
    }
    if r.currency != e.currency {
        return (
            Class::CurrencyMismatch,
            false,
            "the provider booked it in another currency",
        );
    }
    if r.gross != e.amount {
        return (
            Class::AmountMismatch,
            false,
            "the provider booked another amount",
        );
    }
    use Ours as O;
    use RowStatus as S;
    let healed = match (status, e.status) {
        (S::Succeeded, O::Succeeded) | (S::Reversed, O::Reversed) => false,
        (S::Failed, O::Failed) | (S::Pending, O::Waiting) => false,
        // A charge that failed or never happened, at both ends: no money moved.
        (S::Failed, O::Expired | O::Canceled | O::Waiting) if is_charge => false,
        (S::Succeeded, O::Waiting) => true,
        (S::Succeeded, O::Expired | O::Canceled | O::Failed) if is_charge => true,
        (S::Reversed, _) => {
            return (
                Class::StatusMismatch,
                false,
                "the provider shows it reversed",
            );
        }
        (S::Failed, _) => return (Class::StatusMismatch, false, "the provider shows it failed"),
        (S::Pending, _) => {
            return (
                Class::StatusMismatch,
                false,
                "the provider shows it still pending",
            )
        }
        (S::Succeeded, _) => {
            return (
                Class::StatusMismatch,
                false,
                "the provider shows it made; we do not",
            )
        }
    };
    if healed {
        return (
            Class::Healed,
            true,
            "made at the provider while our ledger did not show it",
        );
    }
    if e.healed {
        return (
            Class::Healed,
            false,
            "made at the provider; recorded by reconciliation",
        );
    }
    if is_charge && status == S::Succeeded {
        if contracted_fee.is_some_and(|c| c != fee) {
            return (
                Class::FeeMismatch,
                false,
                "the provider took another fee than the contract's",
            );
        }
        if let Some(due) = due {
            let paid_late = r.value.is_some_and(|v| v > due);
            let unpaid_past_due = !r.settled && ctx.as_of > due;
            if paid_late || unpaid_past_due {
                return (
                    Class::SettlementLate,
                    false,
                    "not paid out by the contracted date",
                );
            }
        }
    }
    (Class::Matched, false, "")
}
