//! [`CountingStore`]: a [`MemoryStore`] that counts its reads, for tests that must show a
//! cache keeps work off the store.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use time::Date;

use crate::{
    model::{Quote, Topic},
    store::{Checkpoint, ClosingSnapshot, MemoryStore, ReferenceDoc, SnapshotStore, StoreError},
};

/// A [`MemoryStore`] that counts [`SnapshotStore::load_close`] calls.
///
/// ```
/// use market_feed::{model::Topic, store::SnapshotStore, testing::CountingStore};
/// use time::macros::date;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = CountingStore::default();
/// assert_eq!(store.load_close(Topic::Prices, date!(2026 - 01 - 29)).await.unwrap(), None);
/// assert_eq!(store.close_loads(), 1);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct CountingStore {
    inner: MemoryStore,
    loads: AtomicUsize,
    stalled: AtomicBool,
}

impl CountingStore {
    /// How many times [`SnapshotStore::load_close`] was called.
    ///
    /// See [`CountingStore`] for an example.
    pub fn close_loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }

    /// From now on, [`SnapshotStore::load_close`] never answers (still counted), like a
    /// database that stopped responding: for tests of request timeouts.
    ///
    /// ```
    /// use market_feed::{model::Topic, store::SnapshotStore, testing::CountingStore};
    /// use time::macros::date;
    /// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
    /// let store = CountingStore::default();
    /// store.stall_loads();
    /// let load = store.load_close(Topic::Prices, date!(2026 - 01 - 29));
    /// let waited = tokio::time::timeout(std::time::Duration::from_secs(60), load).await;
    /// assert!(waited.is_err());
    /// # });
    /// ```
    pub fn stall_loads(&self) {
        self.stalled.store(true, Ordering::SeqCst);
    }
}

#[async_trait]
impl SnapshotStore for CountingStore {
    async fn save_close(&self, t: Topic, d: Date, q: &[Quote]) -> Result<(), StoreError> {
        self.inner.save_close(t, d, q).await
    }
    async fn load_close(&self, t: Topic, d: Date) -> Result<Option<ClosingSnapshot>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        if self.stalled.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        self.inner.load_close(t, d).await
    }
    async fn latest_closes(&self, t: Topic) -> Result<Option<ClosingSnapshot>, StoreError> {
        self.inner.latest_closes(t).await
    }
    async fn trading_days(&self, t: Topic, f: Date, to: Date) -> Result<Vec<Date>, StoreError> {
        self.inner.trading_days(t, f, to).await
    }
    async fn save_checkpoint(&self, t: Topic, d: Date, q: &[Quote]) -> Result<(), StoreError> {
        self.inner.save_checkpoint(t, d, q).await
    }
    async fn load_checkpoint(&self, t: Topic) -> Result<Option<Checkpoint>, StoreError> {
        self.inner.load_checkpoint(t).await
    }
    async fn prune(&self, older: Date) -> Result<u64, StoreError> {
        self.inner.prune(older).await
    }
    async fn save_reference(&self, name: &str, doc: &ReferenceDoc) -> Result<(), StoreError> {
        self.inner.save_reference(name, doc).await
    }
    async fn load_reference(&self, name: &str) -> Result<Option<ReferenceDoc>, StoreError> {
        self.inner.load_reference(name).await
    }
}
