//! [`MemoryStore`]: a snapshot store in process memory, for tests and embedding.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Mutex, MutexGuard},
};

use async_trait::async_trait;
use time::Date;

use super::{
    Checkpoint, ClosingSnapshot, ReferenceDoc, SnapshotStore, StoreError, quotes::dedup_last,
    validate_quote, validate_reference_name,
};
use crate::model::{Quote, Topic};

/// Closing quotes of one (topic, day), keyed by instrument key string (sorted: key order).
type DayCloses = BTreeMap<String, Quote>;

/// A [`SnapshotStore`] kept in memory; everything is lost when it is dropped.
///
/// It follows the same contract as the database stores (it runs the same conformance suite),
/// so it is a faithful stand-in in tests.
///
/// ```
/// use market_feed::model::{InstrumentKey, Quote, Topic};
/// use market_feed::store::{MemoryStore, SnapshotStore};
/// use time::macros::date;
///
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let store = MemoryStore::new();
/// let q = Quote::new(InstrumentKey::new("NSE_EQ|INE002A01018")?, "RELIANCE", 1391.2, 5);
/// store.save_checkpoint(Topic::Prices, date!(2026 - 01 - 29), &[q.clone()]).await?;
/// assert_eq!(store.load_checkpoint(Topic::Prices).await?.unwrap().quotes, vec![q]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    // A std mutex: every critical section is a short in-memory update with no `.await` inside,
    // so an async mutex would only add overhead.
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    closes: BTreeMap<(Topic, Date), DayCloses>,
    checkpoints: HashMap<Topic, Checkpoint>,
    references: HashMap<String, ReferenceDoc>,
}

impl MemoryStore {
    /// An empty store.
    ///
    /// ```
    /// let store = market_feed::store::MemoryStore::new();
    /// # let _ = store;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied save: every mutation below
        // is built aside and applied with infallible map operations, so the data stays usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl SnapshotStore for MemoryStore {
    async fn save_close(
        &self,
        topic: Topic,
        day: Date,
        quotes: &[Quote],
    ) -> Result<(), StoreError> {
        // Validate everything first: all or nothing.
        quotes.iter().try_for_each(validate_quote)?;
        if quotes.is_empty() {
            return Ok(());
        }
        let mut inner = self.lock();
        let stored = inner.closes.entry((topic, day)).or_default();
        for q in dedup_last(quotes) {
            stored.insert(q.key.to_string(), q.clone());
        }
        Ok(())
    }

    async fn load_close(
        &self,
        topic: Topic,
        day: Date,
    ) -> Result<Option<ClosingSnapshot>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .closes
            .get(&(topic, day))
            .map(|stored| ClosingSnapshot::new(topic, day, stored.values().cloned().collect())))
    }

    async fn latest_closes(&self, topic: Topic) -> Result<Option<ClosingSnapshot>, StoreError> {
        let inner = self.lock();
        let mut latest: BTreeMap<&str, &Quote> = BTreeMap::new();
        let mut newest_day = None;
        // Days ascend within the topic, so later days overwrite earlier closes.
        for ((_, day), stored) in inner.closes.range((topic, Date::MIN)..=(topic, Date::MAX)) {
            newest_day = Some(*day);
            for (key, q) in stored {
                latest.insert(key, q);
            }
        }
        Ok(newest_day
            .map(|day| ClosingSnapshot::new(topic, day, latest.into_values().cloned().collect())))
    }

    async fn trading_days(
        &self,
        topic: Topic,
        from: Date,
        to: Date,
    ) -> Result<Vec<Date>, StoreError> {
        if from > to {
            return Ok(Vec::new());
        }
        let inner = self.lock();
        Ok(inner
            .closes
            .range((topic, from)..=(topic, to))
            .map(|((_, day), _)| *day)
            .collect())
    }

    async fn save_checkpoint(
        &self,
        topic: Topic,
        day: Date,
        quotes: &[Quote],
    ) -> Result<(), StoreError> {
        quotes.iter().try_for_each(validate_quote)?;
        if quotes.is_empty() {
            return Ok(());
        }
        let deduped = dedup_last(quotes).into_iter().cloned().collect();
        let checkpoint = Checkpoint::new(topic, day, deduped);
        self.lock().checkpoints.insert(topic, checkpoint);
        Ok(())
    }

    async fn load_checkpoint(&self, topic: Topic) -> Result<Option<Checkpoint>, StoreError> {
        Ok(self.lock().checkpoints.get(&topic).cloned())
    }

    async fn prune(&self, older_than: Date) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let before = inner.closes.len();
        inner.closes.retain(|(_, day), _| *day >= older_than);
        let removed = before - inner.closes.len();
        inner
            .checkpoints
            .retain(|_, cp| cp.trading_day >= older_than);
        Ok(removed as u64)
    }

    async fn save_reference(&self, name: &str, doc: &ReferenceDoc) -> Result<(), StoreError> {
        validate_reference_name(name)?;
        self.lock().references.insert(name.to_owned(), doc.clone());
        Ok(())
    }

    async fn load_reference(&self, name: &str) -> Result<Option<ReferenceDoc>, StoreError> {
        validate_reference_name(name)?;
        Ok(self.lock().references.get(name).cloned())
    }
}
