//! [`SqliteStore`]: the embedded default store, one SQLite file (rusqlite, bundled SQLite).
//!
//! Every database call runs inside `tokio::task::spawn_blocking` on one connection guarded by a
//! `std::sync::Mutex` (held only inside the blocking closure, never across an `.await`). One
//! connection is enough: the feed writes a few times per hour and reads at start-up.
//!
//! Crash safety: `journal_mode=WAL` and every save in one `BEGIN IMMEDIATE` transaction. A
//! process killed at any moment (even `kill -9`) leaves each save fully applied or not at all;
//! `synchronous=FULL` also makes a committed save survive a power loss (one fsync per commit,
//! a few times per hour).

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use rusqlite::{Connection, Row, TransactionBehavior, params};
use time::Date;

use super::{
    Checkpoint, ClosingSnapshot, ReferenceDoc, SnapshotStore, StoreError,
    quotes::{as_of, day_from_text, day_to_text, dedup_last},
    sqlite_schema, validate_quote, validate_reference_name,
};
use crate::model::{InstrumentKey, Quote, Topic};

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The quote columns, in the order [`read_quote`] expects them.
const QUOTE_COLUMNS: &str =
    "key, symbol, ltp, prev_close, change, change_pct, open, high, low, volume, ts";

/// A [`SnapshotStore`] in one SQLite file, created and migrated on open.
///
/// ```
/// use market_feed::model::{InstrumentKey, Quote, Topic};
/// use market_feed::store::{SnapshotStore, SqliteStore};
/// use time::macros::date;
///
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let dir = tempfile::tempdir()?;
/// let store = SqliteStore::open(dir.path().join("feed.db")).await?;
/// let q = Quote::new(InstrumentKey::new("NSE_INDEX|Nifty 50")?, "NIFTY 50", 25010.55, 7);
/// store.save_close(Topic::Indices, date!(2026 - 01 - 29), &[q.clone()]).await?;
/// drop(store);
///
/// let reopened = SqliteStore::open(dir.path().join("feed.db")).await?;
/// let snap = reopened.load_close(Topic::Indices, date!(2026 - 01 - 29)).await?.unwrap();
/// assert_eq!(snap.quotes, vec![q]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    path: Arc<PathBuf>,
    // std mutex: locked only inside `spawn_blocking` closures, never across an `.await`.
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, switches it to WAL mode and
    /// applies pending schema migrations. The parent directory must exist.
    ///
    /// # Errors
    ///
    /// [`StoreError::Open`] naming the path when the file cannot be created, opened or written
    /// (missing directory, a directory in the way, not a SQLite file);
    /// [`StoreError::SchemaTooNew`] when a newer market-feed wrote the file.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// let err = market_feed::store::SqliteStore::open("/no/such/dir/feed.db").await.unwrap_err();
    /// assert!(err.to_string().contains("/no/such/dir/feed.db"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let path = path.into();
        let location = path.display().to_string();
        let open_path = path.clone();
        let conn = tokio::task::spawn_blocking(move || open_blocking(&open_path, &location))
            .await
            .map_err(|e| StoreError::Open {
                location: path.display().to_string(),
                source: Box::new(e),
            })??;
        Ok(Self {
            path: Arc::new(path),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The database file.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let dir = tempfile::tempdir()?;
    /// let store = market_feed::store::SqliteStore::open(dir.path().join("a.db")).await?;
    /// assert!(store.path().ends_with("a.db"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the connection in the blocking thread pool.
    async fn with_conn<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &str) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let location = self.path.display().to_string();
        let task_location = location.clone();
        tokio::task::spawn_blocking(move || {
            // A panic inside a transaction rolls it back while unwinding, so a poisoned lock
            // still guards a consistent connection.
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard, &task_location)
        })
        .await
        .map_err(|e| StoreError::Database {
            location,
            source: Box::new(e),
        })?
    }
}

fn open_blocking(path: &Path, location: &str) -> Result<Connection, StoreError> {
    let open_err = |e: rusqlite::Error| StoreError::Open {
        location: location.to_owned(),
        source: Box::new(e),
    };
    let mut conn = Connection::open(path).map_err(open_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(open_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Open {
            location: location.to_owned(),
            source: format!("the file system refused WAL mode (got {mode:?}); use a local disk")
                .into(),
        });
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(open_err)?;
    sqlite_schema::migrate(&mut conn, location)?;
    Ok(conn)
}

fn db_err(location: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::Database {
        location: location.to_owned(),
        source: Box::new(e),
    }
}

/// Reads the 11 [`QUOTE_COLUMNS`] of a row back into a quote.
fn read_quote(row: &Row<'_>, location: &str) -> Result<Quote, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        location: location.to_owned(),
        detail,
    };
    let col = |e: rusqlite::Error| corrupt(e.to_string());
    let raw_key: String = row.get(0).map_err(col)?;
    let key = InstrumentKey::new(&raw_key).map_err(|e| corrupt(e.to_string()))?;
    let volume: Option<i64> = row.get(9).map_err(col)?;
    let volume = volume
        .map(|v| u64::try_from(v).map_err(|_| corrupt(format!("{raw_key}: negative volume {v}"))))
        .transpose()?;
    let symbol: String = row.get(1).map_err(col)?;
    Ok(Quote {
        key,
        symbol: symbol.into(),
        ltp: row.get(2).map_err(col)?,
        prev_close: row.get(3).map_err(col)?,
        change: row.get(4).map_err(col)?,
        change_pct: row.get(5).map_err(col)?,
        open: row.get(6).map_err(col)?,
        high: row.get(7).map_err(col)?,
        low: row.get(8).map_err(col)?,
        volume,
        ts: row.get(10).map_err(col)?,
    })
}

/// Runs a query whose rows are [`QUOTE_COLUMNS`] and collects the quotes.
fn query_quotes(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    location: &str,
) -> Result<Vec<Quote>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_err(location))?;
    let mut rows = stmt.query(params).map_err(db_err(location))?;
    let mut quotes = Vec::new();
    while let Some(row) = rows.next().map_err(db_err(location))? {
        quotes.push(read_quote(row, location)?);
    }
    Ok(quotes)
}

fn parse_day(text: &str, location: &str) -> Result<Date, StoreError> {
    day_from_text(text).ok_or_else(|| StoreError::Corrupt {
        location: location.to_owned(),
        detail: format!("trading day {text:?} is not YYYY-MM-DD"),
    })
}

/// Inserts or updates quotes with one prepared statement; the caller owns the transaction.
/// The statement's first parameters are `scope` (e.g. trading day and topic), then the 11 quote
/// columns. Each quote is validated just before its insert, so an invalid one aborts the
/// transaction after earlier rows were written: the rollback is what keeps the save
/// all-or-nothing.
fn upsert_quotes(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    scope: &[&str],
    quotes: &[&Quote],
    location: &str,
) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(sql).map_err(db_err(location))?;
    for q in quotes {
        validate_quote(q)?;
        // validate_quote guarantees the volume fits an i64.
        let volume = q.volume.and_then(|v| i64::try_from(v).ok());
        let columns: [&dyn rusqlite::ToSql; 11] = [
            &q.key.as_str(),
            &q.symbol.as_ref(),
            &q.ltp,
            &q.prev_close,
            &q.change,
            &q.change_pct,
            &q.open,
            &q.high,
            &q.low,
            &volume,
            &q.ts,
        ];
        let values = scope.iter().map(|s| s as &dyn rusqlite::ToSql);
        stmt.execute(rusqlite::params_from_iter(values.chain(columns)))
            .map_err(db_err(location))?;
    }
    Ok(())
}

const UPSERT_CLOSE: &str = "INSERT INTO closes (trading_day, topic, key, symbol, ltp, prev_close, \
     change, change_pct, open, high, low, volume, ts) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
     ON CONFLICT (trading_day, topic, key) DO UPDATE SET symbol = excluded.symbol, \
     ltp = excluded.ltp, prev_close = excluded.prev_close, change = excluded.change, \
     change_pct = excluded.change_pct, open = excluded.open, high = excluded.high, \
     low = excluded.low, volume = excluded.volume, ts = excluded.ts";

const INSERT_CHECKPOINT_QUOTE: &str = "INSERT INTO checkpoint_quotes (topic, key, symbol, ltp, \
     prev_close, change, change_pct, open, high, low, volume, ts) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

#[async_trait]
impl SnapshotStore for SqliteStore {
    async fn save_close(
        &self,
        topic: Topic,
        day: Date,
        quotes: &[Quote],
    ) -> Result<(), StoreError> {
        if quotes.is_empty() {
            return Ok(());
        }
        let quotes = quotes.to_vec();
        self.with_conn(move |conn, loc| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err(loc))?;
            let day = day_to_text(day);
            let deduped = dedup_last(&quotes);
            upsert_quotes(&tx, UPSERT_CLOSE, &[&day, topic.as_str()], &deduped, loc)?;
            tx.commit().map_err(db_err(loc))
        })
        .await
    }

    async fn load_close(
        &self,
        topic: Topic,
        day: Date,
    ) -> Result<Option<ClosingSnapshot>, StoreError> {
        self.with_conn(move |conn, loc| {
            let sql =
                format!("SELECT {QUOTE_COLUMNS} FROM closes WHERE topic = ?1 AND trading_day = ?2");
            let quotes = query_quotes(conn, &sql, params![topic.as_str(), day_to_text(day)], loc)?;
            Ok((!quotes.is_empty()).then(|| ClosingSnapshot::new(topic, day, quotes)))
        })
        .await
    }

    async fn latest_closes(&self, topic: Topic) -> Result<Option<ClosingSnapshot>, StoreError> {
        self.with_conn(move |conn, loc| {
            // One read transaction so the newest day and the quotes come from the same state.
            let tx = conn.transaction().map_err(db_err(loc))?;
            let newest: Option<String> = tx
                .query_row(
                    "SELECT MAX(trading_day) FROM closes WHERE topic = ?1",
                    [topic.as_str()],
                    |r| r.get(0),
                )
                .map_err(db_err(loc))?;
            let Some(newest) = newest else {
                return Ok(None);
            };
            let day = parse_day(&newest, loc)?;
            let sql = "SELECT c.key, c.symbol, c.ltp, c.prev_close, c.change, c.change_pct, \
                 c.open, c.high, c.low, c.volume, c.ts FROM closes c \
                 JOIN (SELECT key, MAX(trading_day) AS day FROM closes WHERE topic = ?1 \
                       GROUP BY key) m \
                 ON c.topic = ?1 AND c.key = m.key AND c.trading_day = m.day";
            let quotes = query_quotes(&tx, sql, [topic.as_str()], loc)?;
            Ok(Some(ClosingSnapshot::new(topic, day, quotes)))
        })
        .await
    }

    async fn trading_days(
        &self,
        topic: Topic,
        from: Date,
        to: Date,
    ) -> Result<Vec<Date>, StoreError> {
        self.with_conn(move |conn, loc| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT DISTINCT trading_day FROM closes WHERE topic = ?1 \
                     AND trading_day BETWEEN ?2 AND ?3 ORDER BY trading_day",
                )
                .map_err(db_err(loc))?;
            let days = stmt
                .query_map(
                    params![topic.as_str(), day_to_text(from), day_to_text(to)],
                    |r| r.get::<_, String>(0),
                )
                .map_err(db_err(loc))?;
            days.map(|d| parse_day(&d.map_err(db_err(loc))?, loc))
                .collect()
        })
        .await
    }

    async fn save_checkpoint(
        &self,
        topic: Topic,
        day: Date,
        quotes: &[Quote],
    ) -> Result<(), StoreError> {
        if quotes.is_empty() {
            return Ok(());
        }
        let quotes = quotes.to_vec();
        self.with_conn(move |conn, loc| {
            let deduped = dedup_last(&quotes);
            let as_of = as_of(deduped.iter().copied());
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err(loc))?;
            tx.execute(
                "INSERT INTO checkpoints (topic, trading_day, as_of) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (topic) DO UPDATE SET trading_day = excluded.trading_day, \
                 as_of = excluded.as_of",
                params![topic.as_str(), day_to_text(day), as_of],
            )
            .map_err(db_err(loc))?;
            tx.execute(
                "DELETE FROM checkpoint_quotes WHERE topic = ?1",
                [topic.as_str()],
            )
            .map_err(db_err(loc))?;
            upsert_quotes(
                &tx,
                INSERT_CHECKPOINT_QUOTE,
                &[topic.as_str()],
                &deduped,
                loc,
            )?;
            tx.commit().map_err(db_err(loc))
        })
        .await
    }

    async fn load_checkpoint(&self, topic: Topic) -> Result<Option<Checkpoint>, StoreError> {
        self.with_conn(move |conn, loc| {
            let tx = conn.transaction().map_err(db_err(loc))?;
            let header: Option<String> = {
                let mut stmt = tx
                    .prepare_cached("SELECT trading_day FROM checkpoints WHERE topic = ?1")
                    .map_err(db_err(loc))?;
                let mut rows = stmt.query([topic.as_str()]).map_err(db_err(loc))?;
                match rows.next().map_err(db_err(loc))? {
                    Some(row) => Some(row.get(0).map_err(db_err(loc))?),
                    None => None,
                }
            };
            let Some(day) = header else {
                return Ok(None);
            };
            let day = parse_day(&day, loc)?;
            let sql = format!("SELECT {QUOTE_COLUMNS} FROM checkpoint_quotes WHERE topic = ?1");
            let quotes = query_quotes(&tx, &sql, [topic.as_str()], loc)?;
            Ok(Some(Checkpoint::new(topic, day, quotes)))
        })
        .await
    }

    async fn prune(&self, older_than: Date) -> Result<u64, StoreError> {
        self.with_conn(move |conn, loc| {
            let cutoff = day_to_text(older_than);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err(loc))?;
            let removed: i64 = tx
                .query_row(
                    "SELECT COUNT(*) FROM (SELECT DISTINCT topic, trading_day FROM closes \
                     WHERE trading_day < ?1)",
                    [&cutoff],
                    |r| r.get(0),
                )
                .map_err(db_err(loc))?;
            tx.execute("DELETE FROM closes WHERE trading_day < ?1", [&cutoff])
                .map_err(db_err(loc))?;
            tx.execute(
                "DELETE FROM checkpoint_quotes WHERE topic IN \
                 (SELECT topic FROM checkpoints WHERE trading_day < ?1)",
                [&cutoff],
            )
            .map_err(db_err(loc))?;
            tx.execute("DELETE FROM checkpoints WHERE trading_day < ?1", [&cutoff])
                .map_err(db_err(loc))?;
            tx.commit().map_err(db_err(loc))?;
            Ok(u64::try_from(removed).unwrap_or(0))
        })
        .await
    }

    async fn save_reference(&self, name: &str, doc: &ReferenceDoc) -> Result<(), StoreError> {
        validate_reference_name(name)?;
        let (name, doc) = (name.to_owned(), doc.clone());
        self.with_conn(move |conn, loc| {
            conn.prepare_cached(
                "INSERT INTO reference_docs (name, fetched_at, body) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (name) DO UPDATE SET fetched_at = excluded.fetched_at, \
                 body = excluded.body",
            )
            .and_then(|mut stmt| stmt.execute(params![name, doc.fetched_at, doc.body]))
            .map_err(db_err(loc))?;
            Ok(())
        })
        .await
    }

    async fn load_reference(&self, name: &str) -> Result<Option<ReferenceDoc>, StoreError> {
        validate_reference_name(name)?;
        let name = name.to_owned();
        self.with_conn(move |conn, loc| {
            let mut stmt = conn
                .prepare_cached("SELECT fetched_at, body FROM reference_docs WHERE name = ?1")
                .map_err(db_err(loc))?;
            let mut rows = stmt.query([&name]).map_err(db_err(loc))?;
            match rows.next().map_err(db_err(loc))? {
                Some(row) => Ok(Some(ReferenceDoc::new(
                    row.get(0).map_err(db_err(loc))?,
                    row.get(1).map_err(db_err(loc))?,
                ))),
                None => Ok(None),
            }
        })
        .await
    }
}
