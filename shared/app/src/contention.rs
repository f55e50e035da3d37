//! What a writer that lost an optimistic-concurrency race does before it reads again.
//!
//! Every settings write here is conditional on the version it read. When several requests
//! change the same record at once, one wins each round and the rest read again; retrying at
//! once keeps them colliding in lockstep, and with more racers than attempts the last one
//! could run out of tries although every round made progress. A short random pause that
//! grows with the attempt spreads them out, so the rounds needed stay near the number of
//! racers and each one lands.

use std::time::Duration;

/// How many times a settings write reads and tries again before answering 409.
pub(crate) const ATTEMPTS: u32 = 32;

/// The pause after losing attempt `attempt` (from 0): random, up to 2 ms more per attempt,
/// at most 40 ms.
pub(crate) async fn pause(attempt: u32) {
    let ceiling = (2 + u64::from(attempt) * 2).min(40);
    let ms = rand::random::<u64>() % (ceiling + 1);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}
