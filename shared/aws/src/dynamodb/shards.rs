//! A merchant's event feed (`gsi1`) and payment listing (`gsi2`), spread over shards and read
//! back merged in order.
//!
//! DynamoDB gives one partition key of an index at most 1,000 write units a second, and a
//! throttled index throttles the table writes that feed it. A merchant's flash sale of 1,000
//! payments a second writes about 4,000 versions a second (each one feed item under 1 KB)
//! and 1,000 first versions (each one listing key). So a payment's versions go to feed shard
//! `MERCHANT#<merchant>#EVENTS#<n>`, `n` = a stable hash of its id modulo [`FEED_SHARDS`]
//! (500 writes a second per shard at that rate), and its listing key to
//! `MERCHANT#<merchant>#PAYMENTS#<n>` modulo [`LISTING_SHARDS`] (250 a second). A payment
//! stays in one shard, so its own versions keep their order within it.
//!
//! The sort keys are the ones the single partitions had (the feed key `<at>#<payment>#<seq>`,
//! the listing key `<created at>#<payment>`): globally ordered, so one cursor serves every
//! shard. A feed page queries every shard after the cursor and merges; a listing page merges
//! the shards newest first, fetching a shard's next page only when the merge reaches its end.

use super::*;
use futures::future::try_join_all;
use std::collections::VecDeque;

/// Shards of a merchant's event feed.
pub const FEED_SHARDS: u32 = 8;
/// Shards of a merchant's payment listing.
pub const LISTING_SHARDS: u32 = 4;

/// FNV-1a: stable across builds and platforms, unlike the standard library's hasher, since
/// it decides where items are written and read back from.
pub(super) fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

fn stable_hash(id: &PaymentId) -> u32 {
    fnv1a(id.as_str())
}

/// The feed shard a payment's versions are written to.
pub fn feed_shard(id: &PaymentId) -> u32 {
    stable_hash(id) % FEED_SHARDS
}

/// The listing shard a payment's listing key is written to.
pub fn listing_shard(id: &PaymentId) -> u32 {
    // The high bits: independent of the feed shard's low ones.
    (stable_hash(id) >> 16) % LISTING_SHARDS
}

pub(super) fn feed_pk(merchant: &MerchantId, shard: u32) -> String {
    format!("MERCHANT#{merchant}#EVENTS#{shard}")
}

pub(super) fn listing_pk(merchant: &MerchantId, shard: u32) -> String {
    format!("MERCHANT#{merchant}#PAYMENTS#{shard}")
}

impl DynamoDbStore {
    /// The feed after `after`, up to `limit`: every shard's next `limit + 1` events, merged.
    /// A shard that has more than it returned bounds the page at its last event (what lies
    /// beyond it in that shard is unread), so no event is skipped.
    pub(super) async fn merged_feed(
        &self,
        merchant: &MerchantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<PaymentVersion>, bool), StoreError> {
        let after = after.unwrap_or("0");
        let pages = try_join_all((0..FEED_SHARDS).map(|shard| async move {
            metered!(
                self,
                read,
                "merchant_events",
                self.client
                    .query()
                    .table_name(&self.table)
                    .index_name("gsi1")
                    .key_condition_expression("gsi1pk = :pk AND gsi1sk > :after")
                    .expression_attribute_values(":pk", s(feed_pk(merchant, shard)))
                    .expression_attribute_values(":after", s(after))
                    .limit(limit as i32 + 1)
            )
            .map_err(backend)
        }))
        .await?;
        let mut out = Vec::new();
        // The smallest key beyond which some shard is unread.
        let mut bound: Option<String> = None;
        let mut more = false;
        for page in pages {
            let versions = page
                .items
                .unwrap_or_default()
                .iter()
                .map(decode_version)
                .collect::<Result<Vec<_>, _>>()?;
            if page.last_evaluated_key.is_some_and(|k| !k.is_empty()) {
                more = true;
                let last = versions
                    .last()
                    .map(|v| feed_key(&v.entry))
                    .unwrap_or_else(|| after.to_string());
                if bound.as_ref().is_none_or(|b| last < *b) {
                    bound = Some(last);
                }
            }
            out.extend(versions);
        }
        let mut keyed: Vec<(String, PaymentVersion)> =
            out.into_iter().map(|v| (feed_key(&v.entry), v)).collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(b) = bound {
            keyed.retain(|(k, _)| *k <= b);
        }
        if keyed.len() > limit {
            keyed.truncate(limit);
            more = true;
        }
        Ok((keyed.into_iter().map(|(_, v)| v).collect(), more))
    }

    /// A merchant's payments newest first, merged across the listing shards; see
    /// `PaymentStore::list_payments`.
    pub(super) async fn merged_listing(
        &self,
        merchant: &MerchantId,
        query: &PaymentQuery,
    ) -> Result<(Vec<Payment>, Option<String>), StoreError> {
        /// A filtered listing reads at most this many payments per call, and answers with a
        /// cursor where it stopped.
        const EVALUATED_PER_CALL: usize = 200;
        // The time bounds are a key condition; status, wallet and country are looked at on
        // each payment's latest version (read consistently: a filter must see the status
        // as it is). Key values cannot be empty: "0" sorts before every timestamp. A cursor
        // lowers the upper bound to itself (BETWEEN includes it; it is skipped below).
        let lo = query
            .created_after
            .map(|t| t.to_string())
            .unwrap_or_else(|| "0".to_string());
        let mut hi = query
            .created_before
            .map(|t| format!("{t}#~"))
            .unwrap_or_else(|| "~".to_string());
        if let Some(k) = &query.after_key {
            if *k < hi {
                hi = k.clone();
            }
        }
        if lo > hi {
            return Ok((Vec::new(), None));
        }
        let range = Range {
            lo,
            hi,
            page: (query.limit as i32 + 1).max(10),
        };
        let mut shards: Vec<ListingShard> = (0..LISTING_SHARDS)
            .map(|n| ListingShard {
                pk: listing_pk(merchant, n),
                buffered: VecDeque::new(),
                next: None,
                done: false,
            })
            .collect();
        try_join_all(shards.iter_mut().map(|sh| self.fill(sh, &range))).await?;
        let mut out: Vec<Payment> = Vec::new();
        let mut evaluated = 0usize;
        // The listing key of the last payment looked at: where the next page starts.
        let mut last_key: Option<String> = None;
        loop {
            for sh in shards.iter_mut() {
                while sh.buffered.is_empty() && !sh.done {
                    self.fill(sh, &range).await?;
                }
            }
            // The newest head among the shards.
            let Some(at) = (0..shards.len())
                .filter(|&i| !shards[i].buffered.is_empty())
                .max_by(|&a, &b| shards[a].buffered[0].0.cmp(&shards[b].buffered[0].0))
            else {
                return Ok((out, None));
            };
            if query.after_key.as_ref() == Some(&shards[at].buffered[0].0) {
                shards[at].buffered.pop_front();
                continue;
            }
            if out.len() == query.limit || evaluated == EVALUATED_PER_CALL {
                // More follow: continue after the last payment looked at.
                return Ok((out, last_key));
            }
            let (key, id) = shards[at].buffered.pop_front().expect("a head");
            evaluated += 1;
            last_key = Some(key);
            let Some(v) = self
                .latest_version("list_payments(latest)", &id, true)
                .await?
            else {
                continue;
            };
            if query.matches(&v.payment) {
                out.push(v.payment);
            }
        }
    }

    /// One more page of a listing shard, newest first.
    async fn fill(&self, sh: &mut ListingShard, range: &Range) -> Result<(), StoreError> {
        let page = metered!(
            self,
            read,
            "list_payments",
            self.client
                .query()
                .table_name(&self.table)
                .index_name("gsi2")
                .key_condition_expression("gsi2pk = :pk AND gsi2sk BETWEEN :lo AND :hi")
                .expression_attribute_values(":pk", s(sh.pk.clone()))
                .expression_attribute_values(":lo", s(range.lo.clone()))
                .expression_attribute_values(":hi", s(range.hi.clone()))
                .scan_index_forward(false)
                .limit(range.page)
                .set_exclusive_start_key(sh.next.take())
        )
        .map_err(backend)?;
        for item in page.items.unwrap_or_default() {
            let (Some(AttributeValue::S(key)), Some(AttributeValue::S(pk))) =
                (item.get("gsi2sk"), item.get("pk"))
            else {
                continue;
            };
            if let Some(id) = pk.strip_prefix("PAYMENT#").and_then(PaymentId::parse) {
                sh.buffered.push_back((key.clone(), id));
            }
        }
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => sh.next = Some(k),
            _ => sh.done = true,
        }
        Ok(())
    }
}

/// The key range one listing call reads, and its page size.
struct Range {
    lo: String,
    hi: String,
    page: i32,
}

/// One listing shard being merged: the keys read and not yet merged, and where its next
/// page starts.
struct ListingShard {
    pk: String,
    buffered: VecDeque<(String, PaymentId)>,
    next: Option<Item>,
    done: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published FNV-1a 32-bit test vectors: the hash that places items never changes
    /// by accident (items written with one would not be read back with another).
    #[test]
    fn the_placing_hash_is_fnv1a() {
        assert_eq!(fnv1a(""), 0x811c_9dc5);
        assert_eq!(fnv1a("a"), 0xe40c_292c);
        assert_eq!(fnv1a("foobar"), 0xbf9c_f968);
    }

    #[test]
    fn the_shard_of_a_payment_is_stable_and_spread() {
        let id = PaymentId::new(1_700_000_000_000, 42);
        let again = PaymentId::parse(&id.to_string()).expect("an id");
        assert_eq!(feed_shard(&id), feed_shard(&again));
        let mut feed = [0u32; FEED_SHARDS as usize];
        let mut listing = [0u32; LISTING_SHARDS as usize];
        for n in 0..8_000u128 {
            let id = PaymentId::new(1_700_000_000_000 + n as i64, n * 7_919);
            feed[feed_shard(&id) as usize] += 1;
            listing[listing_shard(&id) as usize] += 1;
        }
        // Within 15% of an even share: no shard is the hot partition again.
        for c in feed {
            assert!((850..=1_150).contains(&c), "{feed:?}");
        }
        for c in listing {
            assert!((1_700..=2_300).contains(&c), "{listing:?}");
        }
    }
}
