//! A bounded cache of `GET /api/v1/closing/{date}` answers, so a flood of requests costs
//! memory reads instead of store reads.
//!
//! What is cached, and for how long:
//! - the stored close of a **past** trading day (before the market clock's current day): it
//!   never changes, so it is kept until evicted;
//! - the close of the **current day**, and the absence of a close (a day not stored yet): for
//!   [`ClosingCache::ttl`] only, so a newly stored day becomes visible within that time.
//!
//! Entries are the encoded JSON bodies, evicted oldest first beyond [`ClosingCache::max_bytes`];
//! "not stored" answers have their own small budget, so asking for many missing days cannot
//! evict stored closes.
//! Misses are filled one at a time (a single-flight lock), so concurrent requests for an
//! uncached day take one store read, not one blocking-pool slot each.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::Duration,
};

use bytes::Bytes;
use market_feed::{
    model::{Quote, Topic},
    store::{SnapshotStore, StoreError},
};
use serde::Serialize;
use time::Date;
use tokio::time::Instant;

/// The body of a found close.
#[derive(Serialize)]
struct Closing<'a> {
    trading_day: String,
    topic: Topic,
    as_of: i64,
    data: &'a [Quote],
}

/// One cached answer: the JSON body of a found close, or `None` for "not stored".
#[derive(Debug)]
struct Entry {
    body: Option<Bytes>,
    /// `None`: kept until evicted.
    expires: Option<Instant>,
}

/// Entries evicted oldest first beyond a byte budget.
#[derive(Debug)]
struct Entries {
    map: HashMap<(Topic, Date), Entry>,
    /// Insertion order, for eviction.
    order: VecDeque<(Topic, Date)>,
    bytes: usize,
    max: usize,
}

/// The bookkeeping size of an entry besides its body.
const OVERHEAD: usize = 64;
/// The byte budget of "not stored" answers, apart from found ones, so requests for many
/// distinct missing days cannot evict stored closes.
const MISSING_BUDGET: usize = 4096 * OVERHEAD;

impl Entries {
    fn new(max: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            max,
        }
    }

    fn size(entry: &Entry) -> usize {
        entry.body.as_ref().map_or(0, Bytes::len) + OVERHEAD
    }

    fn get(&self, key: (Topic, Date)) -> Option<Option<Bytes>> {
        let entry = self.map.get(&key)?;
        match entry.expires {
            Some(at) if Instant::now() >= at => None,
            _ => Some(entry.body.clone()),
        }
    }

    fn remove(&mut self, key: (Topic, Date)) {
        if let Some(old) = self.map.remove(&key) {
            self.bytes -= Self::size(&old);
            self.order.retain(|k| *k != key);
        }
    }

    fn insert(&mut self, key: (Topic, Date), entry: Entry) {
        let size = Self::size(&entry);
        if size > self.max {
            return;
        }
        self.remove(key);
        while self.bytes + size > self.max {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(old) = self.map.remove(&oldest) {
                self.bytes -= Self::size(&old);
            }
        }
        self.bytes += size;
        self.order.push_back(key);
        self.map.insert(key, entry);
    }
}

/// Found closes and "not stored" answers, each in its own budget.
#[derive(Debug)]
struct Tables {
    found: Entries,
    missing: Entries,
}

/// The cache. See the module documentation for what it keeps.
///
/// ```
/// use market_feed_server::closing_cache::ClosingCache;
/// let cache = ClosingCache::default();
/// assert_eq!(cache.ttl(), std::time::Duration::from_secs(5));
/// assert_eq!(cache.max_bytes(), 32 << 20);
/// ```
#[derive(Debug)]
pub struct ClosingCache {
    entries: Mutex<Tables>,
    fill: tokio::sync::Mutex<()>,
    ttl: Duration,
    max_bytes: usize,
}

impl Default for ClosingCache {
    fn default() -> Self {
        Self::new(Duration::from_secs(5), 32 << 20)
    }
}

impl ClosingCache {
    /// A cache keeping current-day and not-stored answers for `ttl`, and at most `max_bytes`
    /// of bodies.
    ///
    /// ```
    /// # use market_feed_server::closing_cache::ClosingCache;
    /// let cache = ClosingCache::new(std::time::Duration::from_secs(1), 1 << 20);
    /// assert_eq!(cache.max_bytes(), 1 << 20);
    /// ```
    pub fn new(ttl: Duration, max_bytes: usize) -> Self {
        Self {
            entries: Mutex::new(Tables {
                found: Entries::new(max_bytes),
                missing: Entries::new(MISSING_BUDGET),
            }),
            fill: tokio::sync::Mutex::new(()),
            ttl,
            max_bytes,
        }
    }

    /// How long current-day and not-stored answers are kept.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The most body bytes kept.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    fn lookup(&self, key: (Topic, Date)) -> Option<Option<Bytes>> {
        let t = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        t.found.get(key).or_else(|| t.missing.get(key))
    }

    fn insert(&self, key: (Topic, Date), entry: Entry) {
        let mut t = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        t.found.remove(key);
        t.missing.remove(key);
        if entry.body.is_some() {
            t.found.insert(key, entry);
        } else {
            t.missing.insert(key, entry);
        }
    }

    /// The JSON body of the close of `topic` on `day` (`None`: not stored), from the cache or
    /// the store. `today` is the market clock's current trading day.
    ///
    /// # Errors
    /// The store's error when it had to be asked and failed (never cached).
    ///
    /// ```
    /// # use market_feed_server::closing_cache::ClosingCache;
    /// # use market_feed::{model::Topic, store::MemoryStore};
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let cache = ClosingCache::default();
    /// let day = time::macros::date!(2026 - 01 - 29);
    /// let body = cache.get(&MemoryStore::new(), Topic::Prices, day, day).await.unwrap();
    /// assert!(body.is_none());
    /// # });
    /// ```
    pub async fn get(
        &self,
        store: &dyn SnapshotStore,
        topic: Topic,
        day: Date,
        today: Date,
    ) -> Result<Option<Bytes>, StoreError> {
        let key = (topic, day);
        if let Some(hit) = self.lookup(key) {
            return Ok(hit);
        }
        let _one_at_a_time = self.fill.lock().await;
        if let Some(hit) = self.lookup(key) {
            return Ok(hit);
        }
        let body = store.load_close(topic, day).await?.map(|snap| {
            let body = Closing {
                trading_day: market_feed::clock::format_date(snap.trading_day),
                topic,
                as_of: snap.as_of,
                data: &snap.quotes,
            };
            // Quotes are validated before they are stored: encoding them cannot fail.
            Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
        });
        let expires = (body.is_none() || day >= today).then(|| Instant::now() + self.ttl);
        self.insert(
            key,
            Entry {
                body: body.clone(),
                expires,
            },
        );
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use market_feed::testing::CountingStore;
    use time::macros::date;

    use super::*;

    fn quote(ts: i64) -> Quote {
        let key = "NSE_EQ|INE002A01018".parse().unwrap();
        Quote::new(key, "RELIANCE", 1234.5, ts)
    }

    #[tokio::test(start_paused = true)]
    async fn past_days_are_read_once_missing_and_current_days_expire() {
        let store = Arc::new(CountingStore::default());
        let cache = ClosingCache::new(Duration::from_secs(5), 1 << 20);
        let (past, today) = (date!(2026 - 01 - 28), date!(2026 - 01 - 29));
        store
            .save_close(Topic::Prices, past, &[quote(1)])
            .await
            .unwrap();
        for _ in 0..100 {
            let body = cache
                .get(&*store, Topic::Prices, past, today)
                .await
                .unwrap();
            assert!(body.is_some_and(|b| b.starts_with(b"{\"trading_day\":\"2026-01-28\"")));
        }
        assert_eq!(store.close_loads(), 1);

        // Today: not stored yet, cached briefly; once stored it shows after the TTL.
        for _ in 0..100 {
            assert!(
                cache
                    .get(&*store, Topic::Prices, today, today)
                    .await
                    .unwrap()
                    .is_none()
            );
        }
        assert_eq!(store.close_loads(), 2);
        store
            .save_close(Topic::Prices, today, &[quote(2)])
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(
            cache
                .get(&*store, Topic::Prices, today, today)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(store.close_loads(), 3);
        // The past day is still a memory read.
        cache
            .get(&*store, Topic::Prices, past, today)
            .await
            .unwrap();
        assert_eq!(store.close_loads(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn the_cache_is_bounded_in_bytes() {
        let store = CountingStore::default();
        let today = date!(2026 - 02 - 27);
        let days: Vec<Date> = (1..=20)
            .map(|d| date!(2026 - 02 - 01).replace_day(d).unwrap())
            .collect();
        for d in &days {
            store
                .save_close(Topic::Prices, *d, &[quote(1)])
                .await
                .unwrap();
        }
        let cache = ClosingCache::new(Duration::from_secs(5), 2048);
        for d in &days {
            cache.get(&store, Topic::Prices, *d, today).await.unwrap();
        }
        let held = cache.entries.lock().unwrap().found.bytes;
        assert!(held <= 2048, "{held}");
        // The oldest were evicted: asking again reads the store.
        let before = store.close_loads();
        cache
            .get(&store, Topic::Prices, days[0], today)
            .await
            .unwrap();
        assert_eq!(store.close_loads(), before + 1);
    }
}
