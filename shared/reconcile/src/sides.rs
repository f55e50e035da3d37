//! The two sides of a day, held compactly for the matcher: our ledger entries and the
//! provider's rows, ids as 128-bit numbers (payment, refund), text in one arena per side,
//! references compared by a short fingerprint, and the provider's totals per currency as
//! the rows are read.

use crate::date::Date;
use crate::row::{Kind, RowStatus, SettlementRow};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use walletpay_domain::{Currency, MerchantId, PaymentId, RefundId, WalletId};

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
    pub(crate) fn moved(self) -> bool {
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
pub(crate) struct Key {
    pub(crate) payment: u128,
    pub(crate) refund: u128,
}

impl Key {
    pub(crate) fn known(self) -> bool {
        self.payment != 0
    }
}

pub(crate) const NONE: u32 = u32::MAX;

/// Every string of one side, end to end.
#[derive(Debug, Default)]
pub(crate) struct Arena {
    pub(crate) text: String,
    pub(crate) spans: Vec<(u32, u32)>,
}

impl Arena {
    pub(crate) fn with_capacity(strings: usize, bytes_each: usize) -> Arena {
        Arena {
            text: String::with_capacity(strings * bytes_each),
            spans: Vec::with_capacity(strings),
        }
    }

    pub(crate) fn put(&mut self, s: Option<&str>) -> u32 {
        let Some(s) = s else { return NONE };
        let start = self.text.len() as u32;
        self.text.push_str(s);
        self.spans.push((start, s.len() as u32));
        (self.spans.len() - 1) as u32
    }

    pub(crate) fn get(&self, i: u32) -> Option<&str> {
        let (start, len) = *self.spans.get(i as usize)?;
        Some(&self.text[start as usize..(start + len) as usize])
    }
}

/// A short fingerprint of a provider reference, to compare two without their text.
pub(crate) fn fingerprint(s: Option<&str>) -> u64 {
    // FNV-1a; 0 stands for none.
    s.map_or(0, |s| {
        s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
        }) | 1
    })
}

#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) key: Key,
    pub(crate) reference: u64,
    pub(crate) amount: i64,
    pub(crate) currency: Currency,
    pub(crate) status: Ours,
    pub(crate) wallet: Option<WalletId>,
    pub(crate) healed: bool,
    pub(crate) day: Date,
    pub(crate) merchant: u32,
    pub(crate) text: u32,
}

/// Our side of a day.
#[derive(Debug, Default)]
pub struct Ledger {
    pub(crate) entries: Vec<Entry>,
    pub(crate) arena: Arena,
    pub(crate) merchants: Vec<MerchantId>,
    pub(crate) merchant_index: HashMap<String, u32>,
    pub(crate) skipped: u64,
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
pub(crate) enum Role {
    /// A charge or refund: matched against an entry.
    Movement,
    /// A fee line of a payment: added to its fee.
    FeeLine,
    /// A fee of the account, a payout, an adjustment or a movement without our ids.
    Other,
}

#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) key: Key,
    pub(crate) role: Role,
    pub(crate) line: u64,
    pub(crate) reference: u64,
    pub(crate) gross: i64,
    pub(crate) fee: i64,
    pub(crate) net: i64,
    pub(crate) currency: Currency,
    pub(crate) status: RowStatus,
    pub(crate) kind: Kind,
    pub(crate) booked: Date,
    pub(crate) value: Option<Date>,
    pub(crate) settled: bool,
    pub(crate) text: u32,
    pub(crate) charge_text: u32,
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
    pub(crate) rows: Vec<Row>,
    pub(crate) arena: Arena,
    pub(crate) totals: std::collections::BTreeMap<Currency, Totals>,
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
