//! The back office's figures. `consume` counts payment versions into the aggregates, as
//! the consumer of the table's change stream delivers them (the `payment-analytics`
//! function on AWS; the local stack's own reader of its store's changes); `api` answers
//! the analytics routes from them.

pub mod api;
pub mod metrics;

use crate::app::App;
use walletpay_domain::analytics::{delta, rerouted_to};
use walletpay_ports::{Added, Counted, PaymentVersion, StoreError, MAX_COUNTED_PER_ADD};

/// What a version adds, if anything (a failover adds to two buckets).
pub fn counted(v: &PaymentVersion) -> Vec<Counted> {
    let e = &v.entry;
    let parts = [
        delta(&v.payment, &e.event, e.from, e.at, e.detail.as_deref()),
        rerouted_to(&v.payment, &e.event, e.at),
    ];
    parts
        .into_iter()
        .enumerate()
        .filter_map(|(part, d)| {
            d.map(|(bucket, counts)| Counted {
                payment_id: e.payment_id.clone(),
                seq: e.seq,
                part: part as u8,
                bucket,
                counts,
            })
        })
        .collect()
}

/// Counts `versions`, each once however often it is delivered: up to 4 atomic adds at a
/// time, each given until `deadline`. What was counted now (not before) is answered.
/// `Err((n, why))`: the `n`th version and perhaps some after it are not counted, every one
/// before it is (they are delivered again from there; what was counted is not counted
/// twice).
pub async fn consume(
    app: &App,
    versions: &[PaymentVersion],
    deadline: Option<tokio::time::Instant>,
) -> Result<Vec<Counted>, (usize, StoreError)> {
    use futures::StreamExt;
    let counted: Vec<(usize, Counted)> = versions
        .iter()
        .enumerate()
        .flat_map(|(i, v)| counted(v).into_iter().map(move |c| (i, c)))
        .collect();
    // Each add owns what it needs, so the batch's future holds no borrow across awaits.
    let adds: Vec<_> = plan(counted)
        .into_iter()
        .map(|(first, todo)| {
            let app = app.clone();
            async move {
                let add = add_chunk(&app, todo);
                let done = match deadline {
                    Some(d) => tokio::time::timeout_at(d, add).await.unwrap_or_else(|_| {
                        Err(StoreError::Backend(
                            "the invocation's deadline came first".into(),
                        ))
                    }),
                    None => add.await,
                };
                done.map_err(|e| (first, e))
            }
        })
        .collect();
    let results: Vec<Result<Vec<Counted>, (usize, StoreError)>> =
        futures::stream::iter(adds).buffered(4).collect().await;
    // Every version before the earliest one an add that failed holds is counted (the adds
    // that hold it succeeded): the batch is handed back from there.
    let mut newly = Vec::new();
    let mut failed: Option<(usize, StoreError)> = None;
    for r in results {
        match r {
            Ok(c) => newly.extend(c),
            Err((i, e)) => {
                if failed.as_ref().is_none_or(|(f, _)| i < *f) {
                    failed = Some((i, e));
                }
            }
        }
    }
    if let Some(f) = failed {
        return Err(f);
    }
    Ok(newly)
}

/// The adds a batch's counted versions (by their index in the batch) are made in: ordered by
/// bucket (stably, so in stream order within one), then at most [`MAX_COUNTED_PER_ADD`] an
/// add. An add sums what it holds per bucket, so a batch's versions of one merchant's market
/// and wallet share a few bucket updates instead of every add updating every bucket again.
/// Each add comes with the earliest index it holds: when adds fail, every version before the
/// earliest of theirs was counted by adds that succeeded.
fn plan(mut counted: Vec<(usize, Counted)>) -> Vec<(usize, Vec<Counted>)> {
    counted.sort_by(|a, b| a.1.bucket.cmp(&b.1.bucket));
    counted
        .chunks(MAX_COUNTED_PER_ADD)
        .map(|chunk| {
            let first = chunk.iter().map(|(i, _)| *i).min().unwrap_or(0);
            (first, chunk.iter().map(|(_, c)| c.clone()).collect())
        })
        .collect()
}

/// Adds one chunk; what it counted now (a version counted before is left out).
async fn add_chunk(app: &App, mut todo: Vec<Counted>) -> Result<Vec<Counted>, StoreError> {
    loop {
        match app.store.add_counted(&todo).await? {
            Added::Done => return Ok(todo),
            Added::AlreadyCounted(seen) => {
                todo.retain(|c| {
                    !seen.iter().any(|(id, seq, part)| {
                        *id == c.payment_id && *seq == c.seq && *part == c.part
                    })
                });
                if todo.is_empty() {
                    return Ok(todo);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use walletpay_domain::analytics::{Bucket, Counts};
    use walletpay_domain::{Country, MerchantId, PaymentId, Provider, WalletId};

    #[test]
    fn a_batch_is_added_by_bucket_and_handed_back_from_its_earliest_uncounted() {
        let bucket = |m: u128, wallet| Bucket {
            merchant: MerchantId::new(1, m),
            country: Country::ID,
            wallet,
            provider: Provider::Xendit,
            hour: 490_000,
        };
        let buckets = [
            bucket(1, WalletId::Dana),
            bucket(2, WalletId::Ovo),
            bucket(1, WalletId::Ovo),
        ];
        // 60 versions, their buckets interleaved in stream order.
        let counted: Vec<(usize, Counted)> = (0..60)
            .map(|i| {
                let c = Counted {
                    payment_id: PaymentId::new(1, i as u128),
                    seq: 1,
                    part: 0,
                    bucket: buckets[i % 3].clone(),
                    counts: Counts::default(),
                };
                (i, c)
            })
            .collect();
        let adds = plan(counted.clone());
        assert_eq!(adds.len(), 3);
        let mut seen = Vec::new();
        for (first, todo) in &adds {
            assert!(todo.len() <= MAX_COUNTED_PER_ADD);
            // One bucket an add: each add updates its bucket once, not three.
            let distinct: std::collections::BTreeSet<&Bucket> =
                todo.iter().map(|c| &c.bucket).collect();
            assert_eq!(distinct.len(), 1);
            let indexes: Vec<usize> = todo
                .iter()
                .map(|c| counted.iter().find(|(_, o)| o == c).unwrap().0)
                .collect();
            // In stream order within the add, and `first` the earliest it holds.
            assert!(indexes.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(*first, indexes[0]);
            seen.extend(indexes);
        }
        seen.sort();
        assert_eq!(
            seen,
            (0..60).collect::<Vec<_>>(),
            "every version in one add"
        );
    }
}
