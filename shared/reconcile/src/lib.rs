//! Reconciliation, the pure part: a provider's settlement rows and our ledger entries of a
//! day in, one class per row and per entry out. This crate owns the typed settlement row
//! every provider's `settlement.rs` produces ([`SettlementRow`]), calendar days in a
//! provider's report time zone ([`Date`]), a provider account's contracted terms
//! ([`Contract`]: fees per wallet, the settlement cycle and the market's calendar), the
//! matching engine ([`Matcher`]: sort-merge on our ids over the two sides held compactly in
//! `sides`, streaming its outcomes) and the
//! lines of a run's report ([`report`]). It does no I/O: fetching the rows, reading the
//! ledger, healing and recording are the use case's (`walletpay-app`'s `reconcile`).

pub mod contract;
pub mod date;
pub mod engine;
pub mod report;
pub mod row;
mod sides;

pub use contract::{
    Calendar, Contract, ContractError, DayBasis, FeeRule, MerchantTerms, SettlementCycle, Terms,
};
pub use date::{Date, IsoWeek, Weekday};
pub use engine::{
    Class, Context, EntryParts, EntryView, Ledger, LedgerEntry, Lookup, Matcher, Ours, Outcome,
    Resolution, RowParts, RowSet, RowView, Summary, Totals,
};
pub use row::{minor_units, AmountError, Kind, RowStatus, SettlementRow};
#[cfg(test)]
mod tests;
