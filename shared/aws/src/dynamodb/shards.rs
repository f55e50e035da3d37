//! A merchant's event feed (`gsi1`) and payment listing (`gsi2`), spread over shards and read
//! back merged in order.
//!
//! DynamoDB gives one partition key of an index at most 1,000 write units a second, and a
//! throttled index throttles the table writes that feed it. A merchant's flash sale of 1,000
//! payments a second writes about 3,000 versions a second (created, accepted, succeeded; each
//! one feed item under 1 KB) and 1,000 first versions (each one listing key). So a payment's
//! versions go to feed shard `MERCHANT#<merchant>#EVENTS#<n>`, `n` = a stable hash of its id
//! modulo [`FEED_SHARDS`] (375 writes a second per shard at that rate), and its listing key
//! to `MERCHANT#<merchant>#PAYMENTS#<n>` modulo [`LISTING_SHARDS`] (250 a second). A payment
//! stays in one shard, so its own versions keep their order within it.
//!
//! The sort keys are the ones the single partitions had (the feed key `<at>#<payment>#<seq>`,
//! the listing key `<created at>#<payment>`): globally ordered, so one cursor serves every
//! shard. A feed page queries every shard after the cursor and merges; a listing page merges
//! the shards newest first, fetching a shard's next page only when the merge reaches its end.
//! What was written before the shards, under the one partition `MERCHANT#<merchant>#EVENTS`
//! (`#PAYMENTS`), is read as one shard more, so no payment or event of before disappears.

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

/// Every partition a merchant's feed is read from: its shards and the one from before them.
fn feed_partitions(merchant: &MerchantId) -> Vec<String> {
    (0..FEED_SHARDS)
        .map(|n| feed_pk(merchant, n))
        .chain([format!("MERCHANT#{merchant}#EVENTS")])
        .collect()
}

/// Every partition a merchant's listing is read from, as [`feed_partitions`].
fn listing_partitions(merchant: &MerchantId) -> Vec<String> {
    (0..LISTING_SHARDS)
        .map(|n| listing_pk(merchant, n))
        .chain([format!("MERCHANT#{merchant}#PAYMENTS")])
        .collect()
}

/// Merges shards' pages, each in key order and whether its shard holds more after it, into
/// the first `limit` in key order and whether more follow. A shard with more bounds the page
/// at its last key: what lies beyond it in that shard is unread, so nothing past it is given
/// (it would skip what the shard holds in between).
fn merge_pages<T>(
    pages: Vec<(Vec<T>, bool)>,
    key: impl Fn(&T) -> String,
    limit: usize,
) -> (Vec<T>, bool) {
    let mut bound: Option<String> = None;
    let mut more = false;
    let mut keyed: Vec<(String, T)> = Vec::new();
    for (items, has_more) in pages {
        if has_more {
            more = true;
            if let Some(last) = items.last().map(&key) {
                if bound.as_ref().is_none_or(|b| last < *b) {
                    bound = Some(last);
                }
            }
        }
        keyed.extend(items.into_iter().map(|t| (key(&t), t)));
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(b) = bound {
        keyed.retain(|(k, _)| *k <= b);
    }
    if keyed.len() > limit {
        keyed.truncate(limit);
        more = true;
    }
    (keyed.into_iter().map(|(_, t)| t).collect(), more)
}

impl DynamoDbStore {
    /// The feed after `after`, up to `limit`: every partition's next `limit + 1` events,
    /// merged (see [`merge_pages`]).
    pub(super) async fn merged_feed(
        &self,
        merchant: &MerchantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<PaymentVersion>, bool), StoreError> {
        let after = after.unwrap_or("0");
        let pages = try_join_all(
            feed_partitions(merchant)
                .into_iter()
                .map(|pk| self.feed_page(pk, after, limit + 1)),
        )
        .await?;
        Ok(merge_pages(pages, |v| feed_key(&v.entry), limit))
    }

    /// One partition's next `n` events after `after`, and whether it holds more. A page that
    /// stops with none (DynamoDB may stop early) is read on from where it stopped, so a
    /// partition with more always gives at least one.
    async fn feed_page(
        &self,
        pk: String,
        after: &str,
        n: usize,
    ) -> Result<(Vec<PaymentVersion>, bool), StoreError> {
        let mut start: Option<Item> = None;
        loop {
            let page = metered!(
                self,
                read,
                "merchant_events",
                self.client
                    .query()
                    .table_name(&self.table)
                    .index_name("gsi1")
                    .key_condition_expression("gsi1pk = :pk AND gsi1sk > :after")
                    .expression_attribute_values(":pk", s(pk.clone()))
                    .expression_attribute_values(":after", s(after))
                    .limit(n as i32)
                    .set_exclusive_start_key(start.take())
            )
            .map_err(backend)?;
            let versions = page
                .items
                .unwrap_or_default()
                .iter()
                .map(decode_version)
                .collect::<Result<Vec<_>, _>>()?;
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() && versions.is_empty() => start = Some(k),
                Some(k) => return Ok((versions, !k.is_empty())),
                None => return Ok((versions, false)),
            }
        }
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
            // A call looks at most at EVALUATED_PER_CALL payments, whatever the limit.
            page: (query.limit.min(EVALUATED_PER_CALL) as i32 + 1).max(10),
        };
        let mut shards: Vec<ListingShard> = listing_partitions(merchant)
            .into_iter()
            .map(|pk| ListingShard {
                pk,
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

    fn page(keys: &[&str], more: bool) -> (Vec<String>, bool) {
        (keys.iter().map(|k| k.to_string()).collect(), more)
    }

    #[test]
    fn a_merged_page_stops_where_a_shard_stopped() {
        let key = |k: &String| k.clone();
        // Shard a stopped early (more after "c"); shard b is whole: its "d" and "e" lie
        // beyond what a gave, so they wait for the next page, which a's "cc" precedes.
        let (got, more) = merge_pages(
            vec![page(&["a", "c"], true), page(&["b", "d", "e"], false)],
            key,
            10,
        );
        assert_eq!(got, ["a", "b", "c"]);
        assert!(more);
        let (got, more) = merge_pages(
            vec![page(&["cc"], false), page(&["d", "e"], false)],
            key,
            10,
        );
        assert_eq!(got, ["cc", "d", "e"]);
        assert!(!more);
        // The limit cuts the merged order, not a shard's.
        let (got, more) = merge_pages(
            vec![page(&["a", "d"], false), page(&["b", "c"], false)],
            key,
            3,
        );
        assert_eq!(got, ["a", "b", "c"]);
        assert!(more);
        // Two shards stopped early: the lower of their last keys bounds the page.
        let (got, more) = merge_pages(
            vec![
                page(&["a", "e"], true),
                page(&["b", "c"], true),
                page(&["d"], false),
            ],
            key,
            10,
        );
        assert_eq!(got, ["a", "b", "c"]);
        assert!(more);
        let (got, more) = merge_pages(Vec::<(Vec<String>, bool)>::new(), key, 10);
        assert!(got.is_empty() && !more);
    }

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
