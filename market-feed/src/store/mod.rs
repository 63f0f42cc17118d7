//! Snapshot stores: where closing prices and intraday checkpoints survive restarts.
//!
//! The feed writes a topic's closing quotes once per trading day ([`SnapshotStore::save_close`]),
//! optionally checkpoints the latest quotes every few minutes ([`SnapshotStore::save_checkpoint`]),
//! and at start-up reads back what the server shows while the market is closed
//! ([`SnapshotStore::latest_closes`]) or, after a restart mid-session, the checkpoint
//! ([`SnapshotStore::load_checkpoint`]).
//!
//! # Implementations
//!
//! | store | URL for [`open`] | notes |
//! | --- | --- | --- |
//! | [`MemoryStore`] | `memory` | for tests and embedding; lost on exit |
//! | [`SqliteStore`] | `sqlite://PATH` (relative), `sqlite:///abs/PATH` | the embedded default: one file, WAL, crash-safe |
//! | `PostgresStore` | `postgres://user@host:5432/db[?schema=NAME]` | cargo feature `postgres`; pooled, reconnects |
//!
//! Write your own by implementing [`SnapshotStore`] and running the public conformance suite
//! (`store::conformance`, cargo feature `testing`) against it; `examples/custom_store.rs` shows how.
//!
//! ```
//! use market_feed::model::{InstrumentKey, Quote, Topic};
//! use market_feed::store::{self, SnapshotStore};
//! use time::macros::date;
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let store = store::open("memory").await?;
//! let q = Quote::new(InstrumentKey::new("NSE_INDEX|Nifty 50")?, "NIFTY 50", 25010.55, 1_769_680_800_000);
//! store.save_close(Topic::Indices, date!(2026 - 01 - 29), &[q.clone()]).await?;
//! let latest = store.latest_closes(Topic::Indices).await?.expect("a close was saved");
//! assert_eq!(latest.trading_day, date!(2026 - 01 - 29));
//! assert_eq!(latest.quotes, vec![q]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod memory;
mod open;
mod quotes;
mod reference;
mod sqlite;
mod sqlite_schema;

#[cfg(feature = "postgres")]
mod postgres;

#[cfg(feature = "testing")]
pub mod conformance;

use async_trait::async_trait;
use time::Date;

use crate::model::{Quote, Topic};

pub use error::{BoxError, StoreError, redact_url};
pub use memory::MemoryStore;
pub use open::open;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use quotes::{Checkpoint, ClosingSnapshot, validate_quote};
pub use reference::{MAX_REFERENCE_NAME, ReferenceDoc, validate_reference_name};
pub use sqlite::SqliteStore;

/// A shared, dynamically chosen store, as the server holds it.
pub type DynSnapshotStore = dyn SnapshotStore;

/// Durable storage of closing quotes per (trading day, topic) and of one intraday checkpoint per
/// topic.
///
/// Object-safe (`Arc<dyn SnapshotStore>`); every method is `async` through `async_trait`.
///
/// # Contract
///
/// Every implementation (and every custom one: run `store::conformance` against it) must:
///
/// - **Validate before storing.** A quote with a non-finite price (`ltp` or any `Some` of
///   `prev_close`, `change`, `change_pct`, `open`, `high`, `low`) or a `volume` above
///   `i64::MAX` is refused with [`StoreError::InvalidQuote`] ([`validate_quote`] does the check).
/// - **Be all-or-nothing.** A save stores all its quotes or none of them; a save that fails (bad
///   quote, database error, process killed midway) leaves what was stored before unchanged.
/// - **Round-trip exactly.** Every field of a [`Quote`] comes back equal, `None` included.
/// - **Order loaded quotes by instrument key** (byte order of the key string).
/// - **Treat an empty `quotes` slice as a no-op** for both saves (`Ok(())`, nothing changes).
/// - **Keep the last of duplicate keys** within one save.
/// - **Never panic** on database or network failures: return an error the caller can retry
///   ([`StoreError::is_retryable`]).
/// - **Not block the async runtime**: blocking I/O goes to `spawn_blocking`.
///
/// `as_of` in [`ClosingSnapshot`] and [`Checkpoint`] is the largest `ts` among the returned
/// quotes (a store never reads a clock).
#[async_trait]
pub trait SnapshotStore: Send + Sync + std::fmt::Debug + 'static {
    /// Saves the closing quotes of `topic` for trading day `day`.
    ///
    /// # Contract
    ///
    /// An idempotent upsert per instrument: a quote replaces the stored close of the same
    /// (`day`, `topic`, key); stored closes of other instruments of that day stay. Saving the same
    /// quotes twice changes nothing. One transaction: all quotes or none.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidQuote`] for an unstorable quote; [`StoreError::Database`] /
    /// [`StoreError::Unavailable`] when the database fails. Nothing of this save is stored then.
    async fn save_close(&self, topic: Topic, day: Date, quotes: &[Quote])
    -> Result<(), StoreError>;

    /// Loads the closing quotes saved for `day` and `topic`, or `None` if there are none.
    ///
    /// # Contract
    ///
    /// Returns exactly the quotes stored for that day (after upserts), ordered by key;
    /// `trading_day` is `day` and `as_of` the largest `ts` among them.
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`] for an unreadable row; database errors as for saves.
    async fn load_close(
        &self,
        topic: Topic,
        day: Date,
    ) -> Result<Option<ClosingSnapshot>, StoreError>;

    /// The latest closing quote of every instrument of `topic`: what the server shows while
    /// the market is closed. `None` when no close of that topic is stored.
    ///
    /// # Contract
    ///
    /// For each instrument key ever stored for `topic` (and not pruned), the quote of the newest
    /// trading day that has one, so an instrument missing from the newest day keeps its older
    /// close. `trading_day` is the newest stored trading day of the topic; `as_of` is the
    /// largest `ts` among the returned quotes; quotes are ordered by key.
    ///
    /// # Errors
    ///
    /// As for [`load_close`](Self::load_close).
    async fn latest_closes(&self, topic: Topic) -> Result<Option<ClosingSnapshot>, StoreError>;

    /// The trading days with stored closes of `topic` between `from` and `to`, both inclusive,
    /// ascending.
    ///
    /// # Contract
    ///
    /// A day is listed when at least one close of `topic` is stored for it. `from > to` gives an
    /// empty list.
    ///
    /// # Errors
    ///
    /// Database errors.
    async fn trading_days(
        &self,
        topic: Topic,
        from: Date,
        to: Date,
    ) -> Result<Vec<Date>, StoreError>;

    /// Saves the latest quotes of `topic` during trading day `day`, replacing the previous
    /// checkpoint of that topic as a whole.
    ///
    /// # Contract
    ///
    /// After success, [`load_checkpoint`](Self::load_checkpoint) returns exactly these quotes
    /// (deduplicated, ordered by key) and `day`; quotes of the previous checkpoint that are not in
    /// this one are gone. On failure the previous checkpoint is unchanged. Checkpoints are
    /// independent of closes.
    ///
    /// # Errors
    ///
    /// As for [`save_close`](Self::save_close).
    async fn save_checkpoint(
        &self,
        topic: Topic,
        day: Date,
        quotes: &[Quote],
    ) -> Result<(), StoreError>;

    /// Loads the checkpoint of `topic`, or `None` if none is stored. The caller compares its
    /// `trading_day` with the current one: a checkpoint of an earlier day is stale.
    ///
    /// # Errors
    ///
    /// As for [`load_close`](Self::load_close).
    async fn load_checkpoint(&self, topic: Topic) -> Result<Option<Checkpoint>, StoreError>;

    /// Retention: removes every close of a trading day before `older_than` (all topics) and every
    /// checkpoint whose trading day is before `older_than`.
    ///
    /// # Contract
    ///
    /// Returns the number of (topic, trading day) closing snapshots removed. Days on or after
    /// `older_than` are untouched. Running it twice removes nothing the second time.
    ///
    /// # Errors
    ///
    /// Database errors; nothing is removed then.
    async fn prune(&self, older_than: Date) -> Result<u64, StoreError>;

    /// Saves the reference document `name` (the broker's holiday list, the instrument
    /// universe: see [`ReferenceDoc`]), replacing the one stored under that name.
    ///
    /// # Contract
    ///
    /// The name is checked with [`validate_reference_name`] first. After success,
    /// [`load_reference`](Self::load_reference) returns exactly `doc`; on failure the previous
    /// document is unchanged. Reference documents are independent of closes and checkpoints and
    /// are never pruned.
    ///
    /// The provided implementation keeps nothing (a store written before reference documents
    /// existed still works: the server then refetches them at every start, and without the
    /// network falls back to its bundled data).
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidName`]; database errors as for [`save_close`](Self::save_close).
    async fn save_reference(&self, name: &str, doc: &ReferenceDoc) -> Result<(), StoreError> {
        let _ = doc;
        validate_reference_name(name)
    }

    /// Loads the reference document stored under `name`, or `None`.
    ///
    /// The provided implementation always answers `None` (see
    /// [`save_reference`](Self::save_reference)).
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidName`]; database errors as for [`load_close`](Self::load_close).
    async fn load_reference(&self, name: &str) -> Result<Option<ReferenceDoc>, StoreError> {
        validate_reference_name(name)?;
        Ok(None)
    }
}
