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
    let adds: Vec<_> = counted
        .chunks(MAX_COUNTED_PER_ADD)
        .map(|chunk| {
            let first = chunk[0].0;
            let todo: Vec<Counted> = chunk.iter().map(|(_, c)| c.clone()).collect();
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
    let mut newly = Vec::new();
    for r in results {
        newly.extend(r?);
    }
    Ok(newly)
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
