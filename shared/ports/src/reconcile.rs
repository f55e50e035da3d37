//! What reconciliation keeps: the ledger of money movements (an index of the payment versions
//! that moved money), runs and their reports, the entries carried to the next day, the
//! discrepancies a person resolves, each provider account's contract, the reports a provider
//! announced, and which movements were reconciled on another day than their own.

use crate::store::{HistoryEntry, StoreError};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use walletpay_domain::{
    Currency, MerchantId, Payment, PaymentId, Provider, RefundId, Timestamp, WalletId,
};
use walletpay_reconcile::{Class, Contract, Date, Summary};

/// The ledger index is spread over this many partitions per provider and UTC day, so a
/// flash sale's successes never crowd one: 10,000 successes a second all through one
/// provider are about 310 writes a second per partition, under the 1,000 an index partition
/// takes. (It was 8; a payment written then is in a shard below 8, which are still read.)
pub const LEDGER_SHARDS: u32 = 32;

/// The history source of a change reconciliation made.
pub const RECONCILIATION: &str = "reconciliation";

/// One money movement as the ledger index holds it: a charge when it succeeded, a refund
/// when it was requested (its outcome is read from the payment when the day is reconciled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerItem {
    pub payment_id: PaymentId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<RefundId>,
    pub merchant_id: MerchantId,
    pub provider: Provider,
    /// The charge's provider reference (for a charge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    pub amount: i64,
    pub currency: Currency,
    pub wallet: WalletId,
    /// When the movement was recorded.
    pub at: Timestamp,
    /// The payment version that recorded it.
    pub seq: u64,
    /// Recorded by reconciliation (a heal).
    #[serde(default)]
    pub healed: bool,
}

impl LedgerItem {
    /// The movement a payment version records, if it records one: a success (of the charge:
    /// `succeeded`, however it arrived) or a refund requested.
    pub fn of(p: &Payment, h: &HistoryEntry) -> Option<LedgerItem> {
        let base =
            |refund_id: Option<RefundId>, amount: i64, reference: Option<String>| LedgerItem {
                payment_id: p.id.clone(),
                refund_id,
                merchant_id: p.merchant_id.clone(),
                provider: p.provider,
                provider_reference: reference,
                amount,
                currency: p.amount.currency,
                wallet: p.wallet,
                at: h.at,
                seq: h.seq,
                healed: h.source == RECONCILIATION,
            };
        match h.event.as_str() {
            "succeeded" => Some(base(None, p.amount.minor, p.provider_reference.clone())),
            "refund_requested" => {
                let id = RefundId::parse(h.detail.as_deref()?)?;
                let line = p.refund_line(id.as_str())?;
                Some(base(Some(id), line.amount_minor, None))
            }
            _ => None,
        }
    }

    /// Which of the ledger's partitions of a day it is in.
    pub fn shard(&self) -> u32 {
        shard_of(&self.payment_id)
    }

    /// Its partition: `L#<provider>#<UTC day, YYYYMMDD>#<shard>`.
    pub fn partition(&self) -> String {
        ledger_partition(self.provider, Date::of(self.at, 0), self.shard())
    }

    /// Its sort key in the partition: `<at, epoch ms, 13 digits>#<payment id's body>#<seq:010>`
    /// (short: the key is written on the payment's version, whose size is its cost).
    pub fn sort_key(&self) -> String {
        format!(
            "{}#{}#{:010}",
            ledger_time_key(self.at),
            self.payment_id.body(),
            self.seq
        )
    }

    /// The rest of it, in one short attribute beside the keys:
    /// `<refund id's body or ->|<merchant id's body>|<amount>|<currency>|<wallet>|<healed 0/1>|<provider reference>`
    /// (the reference last: it is the provider's text).
    pub fn compact(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}",
            self.refund_id.as_ref().map_or("-", |r| r.body()),
            self.merchant_id.body(),
            self.amount,
            self.currency.code(),
            self.wallet.as_str(),
            u8::from(self.healed),
            self.provider_reference.as_deref().unwrap_or(""),
        )
    }

    /// The item back from its partition's provider, its sort key and [`compact`](Self::compact).
    pub fn from_compact(provider: Provider, sort_key: &str, compact: &str) -> Option<LedgerItem> {
        let mut key = sort_key.split('#');
        let at = Timestamp(key.next()?.parse().ok()?);
        let payment_id = PaymentId::parse(&format!("{}{}", PaymentId::PREFIX, key.next()?))?;
        let seq = key.next()?.parse().ok()?;
        let mut f = compact.splitn(7, '|');
        let refund_id = match f.next()? {
            "-" => None,
            body => Some(RefundId::parse(&format!("{}{body}", RefundId::PREFIX))?),
        };
        let merchant_id = MerchantId::parse(&format!("{}{}", MerchantId::PREFIX, f.next()?))?;
        let amount = f.next()?.parse().ok()?;
        let currency = f.next()?.parse().ok()?;
        let wallet = WalletId::parse(f.next()?)?;
        let healed = match f.next()? {
            "0" => false,
            "1" => true,
            _ => return None,
        };
        let reference = f.next()?;
        Some(LedgerItem {
            payment_id,
            refund_id,
            merchant_id,
            provider,
            provider_reference: (!reference.is_empty()).then(|| reference.to_string()),
            amount,
            currency,
            wallet,
            at,
            seq,
            healed,
        })
    }
}

/// An instant as the ledger's sort keys begin: epoch milliseconds, 13 digits.
pub fn ledger_time_key(t: Timestamp) -> String {
    format!("{:013}", t.millis().max(0))
}

/// A payment's ledger partition among the day's shards (its id's random part, so spread
/// evenly).
pub fn shard_of(id: &PaymentId) -> u32 {
    id.to_bits()
        .map_or(0, |b| (b % LEDGER_SHARDS as u128) as u32)
}

pub fn ledger_partition(provider: Provider, utc_day: Date, shard: u32) -> String {
    format!("L#{provider}#{}#{shard}", utc_day.compact())
}

/// One partition of the ledger, between two instants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerQuery {
    pub provider: Provider,
    pub utc_day: Date,
    pub shard: u32,
    /// Movements recorded at or after `from` and before `to`.
    pub from: Timestamp,
    pub to: Timestamp,
}

impl LedgerQuery {
    /// The partitions that hold the movements of `[from, to)`: each UTC day it touches, by
    /// shard.
    pub fn covering(provider: Provider, from: Timestamp, to: Timestamp) -> Vec<LedgerQuery> {
        let first = Date::of(from, 0);
        let last = Date::of(to.plus_millis(-1), 0);
        let mut out = Vec::new();
        let mut day = first;
        while day <= last {
            for shard in 0..LEDGER_SHARDS {
                out.push(LedgerQuery {
                    provider,
                    utc_day: day,
                    shard,
                    from,
                    to,
                });
            }
            day = day.plus_days(1);
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Waiting for the provider's data (not published yet, or the provider unreachable):
    /// the job comes back later.
    Waiting,
    Running,
    Done,
    Failed,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Waiting => "waiting",
            RunState::Running => "running",
            RunState::Done => "done",
            RunState::Failed => "failed",
        }
    }
}

/// How far a run has got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub rows_read: u64,
    pub entries_read: u64,
}

/// The run of one provider account's day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// `rcn_<provider>_<yyyymmdd>`: one per (provider account, day); a rerun is its next
    /// attempt.
    pub id: String,
    pub provider: Provider,
    pub day: Date,
    pub state: RunState,
    /// Why it failed, or what it waits for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Starts so far (a rerun or a redelivered job is the next).
    pub attempt: u32,
    /// The attempt whose report and carried entries are the run's.
    #[serde(default)]
    pub completed_attempt: Option<u32>,
    pub requested_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// While running: until when the attempt is presumed alive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<Timestamp>,
    #[serde(default)]
    pub progress: Progress,
    /// What it read: the provider's source and how much of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// Chunks of the completed attempt's report and carried entries.
    #[serde(default)]
    pub report_chunks: u32,
    #[serde(default)]
    pub carried_chunks: u32,
    /// Bumped by every write; each is conditional on the version read.
    pub version: u64,
}

impl RunRecord {
    pub fn id_for(provider: Provider, day: Date) -> String {
        format!("rcn_{provider}_{}", day.compact())
    }

    /// The provider and day a run id names.
    pub fn parse_id(id: &str) -> Option<(Provider, Date)> {
        let rest = id.strip_prefix("rcn_")?;
        let (provider, day) = rest.rsplit_once('_')?;
        Some((Provider::parse(provider)?, Date::parse_compact(day)?))
    }
}

/// What is kept in chunks beside a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChunkKind {
    /// Lines of the run's report (CSV).
    Report,
    /// The entries carried to the next day (JSON lines).
    Carried,
}

impl ChunkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChunkKind::Report => "REPORT",
            ChunkKind::Carried => "CARRIED",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscrepancyStatus {
    Open,
    Resolved,
}

impl DiscrepancyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DiscrepancyStatus::Open => "open",
            DiscrepancyStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(DiscrepancyStatus::Open),
            "resolved" => Some(DiscrepancyStatus::Resolved),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionKind {
    /// The provider's figure is right: taken as it is.
    Accepted,
    /// Put right by an adjustment (a refund, a correction booked elsewhere).
    Adjusted,
    /// Given up on.
    WrittenOff,
}

impl ResolutionKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "accepted" => Some(ResolutionKind::Accepted),
            "adjusted" => Some(ResolutionKind::Adjusted),
            "written_off" => Some(ResolutionKind::WrittenOff),
            _ => None,
        }
    }
}

/// How a person resolved a discrepancy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscrepancyResolution {
    pub resolution: ResolutionKind,
    pub note: String,
    /// The operator key's name.
    pub by: String,
    pub at: Timestamp,
}

/// Something a run found that a person must look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discrepancy {
    /// `dsc_` and 24 hex digits, derived from what it is about, so a rerun finds it again
    /// instead of opening another.
    pub id: String,
    pub provider: Provider,
    pub class: Class,
    /// The day whose run opened it, and that run.
    pub day: Date,
    pub run_id: String,
    pub status: DiscrepancyStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<PaymentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<RefundId>,
    /// Whose payment it is about (none: nothing of ours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<MerchantId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub our_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_fee: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contracted_fee: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_on: Option<Date>,
    pub detail: String,
    pub opened_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<DiscrepancyResolution>,
    pub version: u64,
}

/// Which discrepancies to list: of one provider or a merchant's, in one status, opened in a
/// time range, after a cursor (the last one's `<opened_at>#<id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscrepancyQuery {
    pub provider: Option<Provider>,
    pub merchant: Option<MerchantId>,
    pub status: DiscrepancyStatus,
    pub opened_from: Option<Timestamp>,
    pub opened_before: Option<Timestamp>,
    pub after: Option<String>,
    pub limit: usize,
}

/// Where a discrepancy is listed.
pub fn discrepancy_cursor(d: &Discrepancy) -> String {
    format!("{}#{}", d.opened_at, d.id)
}

/// A provider account's contract as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractRecord {
    pub provider: Provider,
    pub contract: Contract,
    pub updated_at: Timestamp,
    pub updated_by: String,
    pub version: u64,
}

/// A settlement report a provider announced (Adyen's `REPORT_AVAILABLE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportNotice {
    pub provider: Provider,
    /// The report's file name.
    pub file: String,
    /// Where to download it.
    pub url: String,
    pub announced_at: Timestamp,
    /// The day it was announced, in the provider's report time zone.
    pub announced_on: Date,
}

/// A movement reconciled on another day than its own ledger day (a heal, or a provider that
/// booked it a day apart from us), so its own day's run knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub provider: Provider,
    /// `<payment id>` for a charge, `<payment id>#<refund id>` for a refund.
    pub movement: String,
    pub day: Date,
    pub class: Class,
}

impl Marker {
    pub fn movement_key(payment: &PaymentId, refund: Option<&RefundId>) -> String {
        match refund {
            Some(r) => format!("{payment}#{r}"),
            None => payment.to_string(),
        }
    }
}

/// An operator's API key as stored: only the SHA-256 of its secret part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorKeyRecord {
    pub key_id: String,
    /// Who holds it (shown as who resolved a discrepancy).
    pub name: String,
    pub secret_sha256: String,
    pub created_at: Timestamp,
}

#[async_trait]
pub trait ReconcileStore: Send + Sync {
    /// One page of a ledger partition in time order, after the sort key `after`: up to
    /// `limit` items and the sort key to continue after, if more may follow.
    async fn ledger_page(
        &self,
        query: &LedgerQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<LedgerItem>, Option<String>), StoreError>;

    async fn get_run(&self, provider: Provider, day: Date)
        -> Result<Option<RunRecord>, StoreError>;
    /// Writes `run` as version `run.version`, on condition that the stored one is the version
    /// before it (none, for version 1); `Conflict` otherwise.
    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError>;
    /// A provider's runs of the days `from..=to`, oldest first.
    async fn list_runs(
        &self,
        provider: Provider,
        from: Date,
        to: Date,
    ) -> Result<Vec<RunRecord>, StoreError>;

    /// Keeps chunk `n` of an attempt's report or carried entries (rewriting it is harmless).
    async fn put_chunk(
        &self,
        run_id: &str,
        attempt: u32,
        kind: ChunkKind,
        n: u32,
        data: &[u8],
    ) -> Result<(), StoreError>;
    async fn get_chunk(
        &self,
        run_id: &str,
        attempt: u32,
        kind: ChunkKind,
        n: u32,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// Opens a discrepancy; false if one with its id exists (nothing is written then).
    async fn insert_discrepancy(&self, d: &Discrepancy) -> Result<bool, StoreError>;
    async fn get_discrepancy(&self, id: &str) -> Result<Option<Discrepancy>, StoreError>;
    /// Writes `d` as version `d.version` on condition that the stored one is the version
    /// before; `Conflict` otherwise.
    async fn update_discrepancy(&self, d: &Discrepancy) -> Result<(), StoreError>;
    /// Discrepancies in the order they were opened: up to `query.limit` and the cursor to
    /// continue after, if more may follow. Needs a provider or a merchant.
    async fn list_discrepancies(
        &self,
        query: &DiscrepancyQuery,
    ) -> Result<(Vec<Discrepancy>, Option<String>), StoreError>;

    async fn put_contract(&self, c: &ContractRecord) -> Result<(), StoreError>;
    async fn get_contract(&self, provider: Provider) -> Result<Option<ContractRecord>, StoreError>;

    async fn put_report_notice(&self, n: &ReportNotice) -> Result<(), StoreError>;
    /// The reports a provider announced on a day.
    async fn report_notices(
        &self,
        provider: Provider,
        announced_on: Date,
    ) -> Result<Vec<ReportNotice>, StoreError>;

    /// Records a marker unless one for the movement is there; the one kept either way.
    async fn put_marker(&self, m: &Marker) -> Result<Marker, StoreError>;
    /// The markers of these movements that exist.
    async fn get_markers(
        &self,
        provider: Provider,
        movements: &[String],
    ) -> Result<Vec<Marker>, StoreError>;
}

#[async_trait]
pub trait OperatorStore: Send + Sync {
    /// Fails with `AlreadyExists` if the key id is taken.
    async fn insert_operator_key(&self, key: &OperatorKeyRecord) -> Result<(), StoreError>;
    async fn get_operator_key(&self, key_id: &str)
        -> Result<Option<OperatorKeyRecord>, StoreError>;
}
