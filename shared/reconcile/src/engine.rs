//! The matching engine: a day's settlement rows against the ledger entries of that day (and
//! those carried from the days before), by sort-merge on our ids, into one class per row and
//! per entry.
//!
//! Both sides are held compactly (ids as 128-bit numbers, text in one arena), sorted by
//! (payment, refund) and walked once. A key with rows and no entry (the provider lists a
//! movement the day's ledger does not hold) is handed to the caller to look up ([`Matcher::
//! unresolved`]): it may be a payment we show unpaid (healed), one booked on another day, or
//! none of ours. A key with an entry and no row is missing at the provider, carried for the
//! grace period unless another day's run already settled it ([`Matcher::missing`]). Then
//! [`Matcher::finish`] classes everything, in this order of precedence:
//! another charge for the payment or a row listed twice (`duplicate`), `currency_mismatch`,
//! `amount_mismatch`, `status_mismatch`, `healed`, `fee_mismatch`, `settlement_late`,
//! `matched`.

use crate::contract::Contract;
use crate::date::Date;
use crate::row::{Kind, RowStatus, SettlementRow};
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

/// A movement as our ledger shows it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ours {
    /// Not final: a payment processing or requiring action, a refund pending.
    Waiting,
    /// A payment paid (whatever was refunded of it since), a refund made.
    Succeeded,
    Failed,
    Expired,
    Canceled,
    /// A refund made, then undone by the provider.
    Reversed,
}

impl Ours {
    pub fn as_str(self) -> &'static str {
        match self {
            Ours::Waiting => "waiting",
            Ours::Succeeded => "succeeded",
            Ours::Failed => "failed",
            Ours::Expired => "expired",
            Ours::Canceled => "canceled",
            Ours::Reversed => "reversed",
        }
    }

    /// Money moved, as we show it.
    fn moved(self) -> bool {
        matches!(self, Ours::Succeeded | Ours::Reversed)
    }
}

/// One of our money movements: a charge (no `refund_id`) or a refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub payment_id: PaymentId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<RefundId>,
    pub merchant_id: MerchantId,
    /// The provider's id of the charge (of the refund, for a refund), when we know it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    pub amount: i64,
    pub currency: Currency,
    pub status: Ours,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<WalletId>,
    /// The ledger day it belongs to, in the provider's report time zone.
    pub day: Date,
    /// Its money movement was recorded by reconciliation (a heal).
    #[serde(default)]
    pub healed: bool,
}

/// (payment, refund) as numbers; refund 0 is the charge itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
struct Key {
    payment: u128,
    refund: u128,
}

impl Key {
    fn known(self) -> bool {
        self.payment != 0
    }
}

const NONE: u32 = u32::MAX;

/// Every string of one side, end to end.
#[derive(Debug, Default)]
struct Arena {
    text: String,
    spans: Vec<(u32, u32)>,
}

impl Arena {
    fn with_capacity(strings: usize, bytes_each: usize) -> Arena {
        Arena {
            text: String::with_capacity(strings * bytes_each),
            spans: Vec::with_capacity(strings),
        }
    }

    fn put(&mut self, s: Option<&str>) -> u32 {
        let Some(s) = s else { return NONE };
        let start = self.text.len() as u32;
        self.text.push_str(s);
        self.spans.push((start, s.len() as u32));
        (self.spans.len() - 1) as u32
    }

    fn get(&self, i: u32) -> Option<&str> {
        let (start, len) = *self.spans.get(i as usize)?;
        Some(&self.text[start as usize..(start + len) as usize])
    }
}

/// A short fingerprint of a provider reference, to compare two without their text.
fn fingerprint(s: Option<&str>) -> u64 {
    // FNV-1a; 0 stands for none.
    s.map_or(0, |s| {
        s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
        }) | 1
    })
}

#[derive(Debug)]
struct Entry {
    key: Key,
    reference: u64,
    amount: i64,
    currency: Currency,
    status: Ours,
    wallet: Option<WalletId>,
    healed: bool,
    day: Date,
    merchant: u32,
    text: u32,
}

/// Our side of a day.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: Vec<Entry>,
    arena: Arena,
    merchants: Vec<MerchantId>,
    merchant_index: HashMap<String, u32>,
    skipped: u64,
}

/// An entry as borrowed parts, for a reader of a large day (no allocation per entry): ids as
/// their bits (`PaymentId::bits_of`), refund 0 for a charge.
#[derive(Debug, Clone, Copy)]
pub struct EntryParts<'a> {
    pub payment: u128,
    pub refund: u128,
    pub merchant: &'a str,
    pub provider_reference: Option<&'a str>,
    pub amount: i64,
    pub currency: Currency,
    pub status: Ours,
    pub wallet: Option<WalletId>,
    pub day: Date,
    pub healed: bool,
}

/// A settlement row as borrowed parts (see [`EntryParts`]); payment 0 when the row names
/// none of ours.
#[derive(Debug, Clone, Copy)]
pub struct RowParts<'a> {
    pub line: u64,
    pub payment: u128,
    pub refund: u128,
    pub provider_reference: &'a str,
    pub charge_reference: Option<&'a str>,
    pub kind: Kind,
    pub gross: i64,
    pub fee: i64,
    pub net: i64,
    pub currency: Currency,
    pub status: RowStatus,
    pub booked_on: Date,
    pub value_on: Option<Date>,
    pub settled: bool,
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `n` entries (and their references, at about 40 bytes each).
    pub fn with_capacity(n: usize) -> Self {
        Ledger {
            entries: Vec::with_capacity(n),
            arena: Arena::with_capacity(n, 40),
            ..Self::default()
        }
    }

    /// Adds an entry; false (and counted) for one whose ids cannot be ours (too large).
    pub fn push(&mut self, e: &LedgerEntry) -> bool {
        let (Some(payment), refund) = (
            e.payment_id.to_bits(),
            e.refund_id.as_ref().map(|r| r.to_bits()),
        ) else {
            self.skipped += 1;
            return false;
        };
        let refund = match refund {
            None => 0,
            Some(Some(r)) => r,
            Some(None) => {
                self.skipped += 1;
                return false;
            }
        };
        self.push_parts(&EntryParts {
            payment,
            refund,
            merchant: e.merchant_id.as_str(),
            provider_reference: e.provider_reference.as_deref(),
            amount: e.amount,
            currency: e.currency,
            status: e.status,
            wallet: e.wallet,
            day: e.day,
            healed: e.healed,
        })
    }

    /// Adds an entry given as parts; false (and counted) for a payment of 0 or a merchant
    /// that is no merchant id.
    pub fn push_parts(&mut self, e: &EntryParts<'_>) -> bool {
        if e.payment == 0 {
            self.skipped += 1;
            return false;
        }
        // Entries of a day mostly come in runs of one merchant's: the last one first.
        let last = self.merchants.len().checked_sub(1);
        let merchant = match last {
            Some(i) if self.merchants[i].as_str() == e.merchant => i as u32,
            _ => match self.merchant_index.get(e.merchant) {
                Some(i) => *i,
                None => {
                    let Some(id) = MerchantId::parse(e.merchant) else {
                        self.skipped += 1;
                        return false;
                    };
                    let i = self.merchants.len() as u32;
                    self.merchants.push(id);
                    self.merchant_index.insert(e.merchant.to_string(), i);
                    i
                }
            },
        };
        self.entries.push(Entry {
            key: Key {
                payment: e.payment,
                refund: e.refund,
            },
            reference: fingerprint(e.provider_reference),
            amount: e.amount,
            currency: e.currency,
            status: e.status,
            wallet: e.wallet,
            healed: e.healed,
            day: e.day,
            merchant,
            text: self.arena.put(e.provider_reference),
        });
        true
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Entries left out for ids that cannot be ours.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What a row is to the matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    /// A charge or refund: matched against an entry.
    Movement,
    /// A fee line of a payment: added to its fee.
    FeeLine,
    /// A fee of the account, a payout, an adjustment or a movement without our ids.
    Other,
}

#[derive(Debug)]
struct Row {
    key: Key,
    role: Role,
    line: u64,
    reference: u64,
    gross: i64,
    fee: i64,
    net: i64,
    currency: Currency,
    status: RowStatus,
    kind: Kind,
    booked: Date,
    value: Option<Date>,
    settled: bool,
    text: u32,
    charge_text: u32,
}

/// Money, per currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// The provider's side: charges, refunds (as positive amounts), fees withheld or charged,
    /// the net effect on the balance, payouts and adjustments (signed).
    pub provider_charges: i64,
    pub provider_refunds: i64,
    pub provider_fees: i64,
    pub provider_net: i64,
    pub provider_payouts: i64,
    pub provider_adjustments: i64,
    /// Our side for the day: charges paid and refunds made, the fees the contract allows on
    /// them, and what the provider should therefore pay out.
    pub our_charges: i64,
    pub our_refunds: i64,
    pub contracted_fees: i64,
    pub expected_payout: i64,
}

/// A day's settlement rows, as they are read.
#[derive(Debug, Default)]
pub struct RowSet {
    rows: Vec<Row>,
    arena: Arena,
    totals: std::collections::BTreeMap<Currency, Totals>,
}

impl RowSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `n` rows (and their two references, at about 40 bytes each).
    pub fn with_capacity(n: usize) -> Self {
        RowSet {
            rows: Vec::with_capacity(n),
            arena: Arena::with_capacity(2 * n, 40),
            ..Self::default()
        }
    }

    pub fn push(&mut self, r: &SettlementRow) {
        self.push_parts(&RowParts {
            line: r.line,
            payment: r.payment_id.as_ref().and_then(|p| p.to_bits()).unwrap_or(0),
            refund: r.refund_id.as_ref().and_then(|p| p.to_bits()).unwrap_or(0),
            provider_reference: &r.provider_reference,
            charge_reference: r.charge_reference.as_deref(),
            kind: r.kind,
            gross: r.gross,
            fee: r.fee,
            net: r.net,
            currency: r.currency,
            status: r.status,
            booked_on: r.booked_on,
            value_on: r.value_on,
            settled: r.settled,
        });
    }

    /// Adds a row given as parts.
    pub fn push_parts(&mut self, r: &RowParts<'_>) {
        let key = Key {
            payment: r.payment,
            refund: r.refund,
        };
        let role = match r.kind {
            Kind::Charge if key.known() => Role::Movement,
            Kind::Refund if r.refund != 0 => Role::Movement,
            Kind::Fee if key.known() => Role::FeeLine,
            _ => Role::Other,
        };
        let t = self.totals.entry(r.currency).or_default();
        match r.kind {
            Kind::Charge => t.provider_charges += r.gross,
            Kind::Refund if r.status == RowStatus::Reversed => t.provider_refunds -= r.gross,
            Kind::Refund => t.provider_refunds += r.gross,
            Kind::Payout => t.provider_payouts += r.gross,
            Kind::Adjustment => t.provider_adjustments += r.net,
            Kind::Fee => {}
        }
        t.provider_fees += r.fee;
        t.provider_net += r.net;
        self.rows.push(Row {
            key,
            role,
            line: r.line,
            reference: fingerprint(r.charge_reference),
            gross: r.gross,
            fee: r.fee,
            net: r.net,
            currency: r.currency,
            status: r.status,
            kind: r.kind,
            booked: r.booked_on,
            value: r.value_on,
            settled: r.settled,
            text: self.arena.put(Some(r.provider_reference)),
            charge_text: self.arena.put(r.charge_reference),
        });
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The day being reconciled and the terms it is held to.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub day: Date,
    /// Today, in the provider's report time zone: money due before it and not paid out is late.
    pub as_of: Date,
    pub contract: Option<&'a Contract>,
    /// Days a success we show may go unlisted before it is a discrepancy.
    pub grace_days: u32,
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
                    .contract
                    .and_then(|c| c.expected_fee(e.wallet, e.amount, e.currency))
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
            let same_status = movement.iter().all(|r| agrees(r.status, entry.e.status));
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
    let contracted_fee = if is_charge {
        ctx.contract
            .and_then(|c| c.expected_fee(e.wallet, first.gross, first.currency))
    } else {
        None
    };
    let due = if is_charge {
        ctx.contract.map(|c| c.due(first.booked))
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
