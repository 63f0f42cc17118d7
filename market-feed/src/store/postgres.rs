//! [`PostgresStore`]: the snapshot store in PostgreSQL (tokio-postgres + deadpool-postgres),
//! behind the cargo feature `postgres`.
//!
//! Connections come from a small deadpool pool whose recycling check runs a query before a
//! connection is reused, so after a server restart the dead connections are replaced by fresh
//! ones; while the server is down every call returns [`StoreError::Unavailable`]. A save is one
//! multi-row `INSERT ... SELECT FROM UNNEST(arrays) ON CONFLICT DO UPDATE` inside a transaction,
//! which keeps a 2,200-quote save to one round trip.

use std::{fmt, str::FromStr, time::Duration};

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use time::Date;
use tokio_postgres::{NoTls, Row, types::ToSql};

use super::{
    Checkpoint, ClosingSnapshot, ReferenceDoc, SnapshotStore, StoreError,
    postgres_schema::{self, quote_ident, valid_schema_name},
    quotes::{as_of, dedup_last},
    redact_url, validate_quote, validate_reference_name,
};
use crate::model::{InstrumentKey, Quote, Topic};

/// Connections kept by the pool: the feed saves a few times per hour, the server reads at start.
const POOL_SIZE: usize = 4;
/// How long connecting (or waiting for a pooled connection) may take before `Unavailable`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`SnapshotStore`] in a PostgreSQL database, in the schema named by `?schema=NAME`
/// (default `public`), created and migrated on connect.
///
/// ```no_run
/// use market_feed::store::{PostgresStore, SnapshotStore};
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let store = PostgresStore::connect("postgres://postgres@127.0.0.1:5432/test?schema=feed").await?;
/// assert_eq!(store.schema(), "feed");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PostgresStore {
    pool: Pool,
    /// The URL with its password redacted, for errors and `Debug`.
    location: String,
    schema: String,
    sql: Sql,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the raw URL or the pool config: they hold the password.
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/db[?schema=NAME]`; the other
    /// libpq-style parameters of tokio-postgres are accepted too), creates the schema and its
    /// tables if needed and applies pending migrations. Plain TCP, no TLS.
    ///
    /// # Errors
    ///
    /// [`StoreError::BadUrl`] for a URL or schema name that does not parse;
    /// [`StoreError::Unavailable`] when the server cannot be reached;
    /// [`StoreError::SchemaTooNew`] when a newer market-feed migrated the schema. Passwords never
    /// appear in errors.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// use market_feed::store::PostgresStore;
    /// let err = PostgresStore::connect("postgres://u:pw@h/db?schema=Bad-Name").await.unwrap_err();
    /// assert!(err.to_string().contains("schema") && !err.to_string().contains("pw@"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let location = redact_url(url);
        let bad = |reason: String| StoreError::BadUrl {
            url: location.clone(),
            reason,
        };
        let (config_url, schema) = split_schema(url).map_err(bad)?;
        let mut config = tokio_postgres::Config::from_str(&config_url).map_err(|e| {
            bad(format!(
                "{e}: write it as postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?schema=NAME]"
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                // Verified: a cheap query before reuse detects connections the server closed.
                recycling_method: RecyclingMethod::Verified,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Open {
                location: location.clone(),
                source: Box::new(e),
            })?;
        let store = Self {
            pool,
            sql: Sql::new(&quote_ident(&schema)),
            location,
            schema,
        };
        let mut client = store.client().await?;
        postgres_schema::migrate(&mut client, &store.schema, &store.location).await?;
        Ok(store)
    }

    /// The PostgreSQL schema holding the tables.
    ///
    /// ```no_run
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// let store = market_feed::store::PostgresStore::connect("postgres://postgres@127.0.0.1/test").await?;
    /// assert_eq!(store.schema(), "public");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn schema(&self) -> &str {
        &self.schema
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool.get().await.map_err(|e| StoreError::Unavailable {
            location: self.location.clone(),
            source: Box::new(e),
        })
    }

    fn err(&self) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
        move |e| pg_err(&self.location, e)
    }

    fn read_quotes(&self, rows: &[Row]) -> Result<Vec<Quote>, StoreError> {
        rows.iter().map(|r| read_quote(r, &self.location)).collect()
    }
}

/// Classifies a driver error: errors the server reported are `Database`, everything else
/// (refused, closed, timed out) means the server is not reachable.
pub(crate) fn pg_err(location: &str, e: tokio_postgres::Error) -> StoreError {
    let location = location.to_owned();
    if e.as_db_error().is_some() {
        StoreError::Database {
            location,
            source: Box::new(e),
        }
    } else {
        StoreError::Unavailable {
            location,
            source: Box::new(e),
        }
    }
}

/// Removes `schema=NAME` from the URL's query (tokio-postgres rejects unknown parameters).
fn split_schema(url: &str) -> Result<(String, String), String> {
    let mut parsed = url::Url::parse(url).map_err(|e| format!("{e}"))?;
    let mut schema = None;
    let others: Vec<(String, String)> = parsed
        .query_pairs()
        .filter_map(|(k, v)| {
            if k == "schema" {
                schema = Some(v.into_owned());
                None
            } else {
                Some((k.into_owned(), v.into_owned()))
            }
        })
        .collect();
    let schema = schema.unwrap_or_else(|| "public".to_owned());
    if !valid_schema_name(&schema) {
        return Err(format!(
            "schema name {schema:?} is not a plain identifier: use lower-case letters, digits and '_'"
        ));
    }
    parsed.set_query(None);
    if !others.is_empty() {
        parsed.query_pairs_mut().extend_pairs(others);
    }
    Ok((parsed.into(), schema))
}

fn read_quote(row: &Row, location: &str) -> Result<Quote, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        location: location.to_owned(),
        detail,
    };
    let col = |e: tokio_postgres::Error| corrupt(e.to_string());
    let raw_key: String = row.try_get(0).map_err(col)?;
    let key = InstrumentKey::new(&raw_key).map_err(|e| corrupt(e.to_string()))?;
    let volume: Option<i64> = row.try_get(9).map_err(col)?;
    let volume = volume
        .map(|v| u64::try_from(v).map_err(|_| corrupt(format!("{raw_key}: negative volume {v}"))))
        .transpose()?;
    let symbol: String = row.try_get(1).map_err(col)?;
    Ok(Quote {
        key,
        symbol: symbol.into(),
        ltp: row.try_get(2).map_err(col)?,
        prev_close: row.try_get(3).map_err(col)?,
        change: row.try_get(4).map_err(col)?,
        change_pct: row.try_get(5).map_err(col)?,
        open: row.try_get(6).map_err(col)?,
        high: row.try_get(7).map_err(col)?,
        low: row.try_get(8).map_err(col)?,
        volume,
        ts: row.try_get(10).map_err(col)?,
    })
}

/// The quotes of one save as column arrays for `UNNEST`, validated and deduplicated.
struct Columns<'a> {
    key: Vec<&'a str>,
    symbol: Vec<&'a str>,
    ltp: Vec<f64>,
    prev_close: Vec<Option<f64>>,
    change: Vec<Option<f64>>,
    change_pct: Vec<Option<f64>>,
    open: Vec<Option<f64>>,
    high: Vec<Option<f64>>,
    low: Vec<Option<f64>>,
    volume: Vec<Option<i64>>,
    ts: Vec<i64>,
}

impl<'a> Columns<'a> {
    fn new(quotes: &[&'a Quote]) -> Result<Self, StoreError> {
        quotes.iter().try_for_each(|q| validate_quote(q))?;
        let col = |f: fn(&Quote) -> Option<f64>| quotes.iter().map(|q| f(q)).collect();
        Ok(Self {
            key: quotes.iter().map(|q| q.key.as_str()).collect(),
            symbol: quotes.iter().map(|q| q.symbol.as_ref()).collect(),
            ltp: quotes.iter().map(|q| q.ltp).collect(),
            prev_close: col(|q| q.prev_close),
            change: col(|q| q.change),
            change_pct: col(|q| q.change_pct),
            open: col(|q| q.open),
            high: col(|q| q.high),
            low: col(|q| q.low),
            // validate_quote guarantees every volume fits an i64.
            volume: quotes
                .iter()
                .map(|q| q.volume.and_then(|v| i64::try_from(v).ok()))
                .collect(),
            ts: quotes.iter().map(|q| q.ts).collect(),
        })
    }

    /// The 11 quote columns as statement parameters, in the statements' column order
    /// (key, symbol, ltp, prev_close, change, change_pct, open, high, low, volume, ts).
    fn params(&self) -> [&(dyn ToSql + Sync); 11] {
        [
            &self.key,
            &self.symbol,
            &self.ltp,
            &self.prev_close,
            &self.change,
            &self.change_pct,
            &self.open,
            &self.high,
            &self.low,
            &self.volume,
            &self.ts,
        ]
    }
}

/// The statements, with the schema name filled in once.
struct Sql {
    upsert_close: String,
    load_close: String,
    latest: String,
    days: String,
    checkpoint_header: String,
    checkpoint_clear: String,
    checkpoint_insert: String,
    checkpoint_load_header: String,
    checkpoint_load_quotes: String,
    prune_count: String,
    /// Closes, then checkpoint quotes, then checkpoint headers, each with `$1` = cut-off.
    prune: [String; 3],
    reference_save: String,
    reference_load: String,
}

/// The 11 quote columns, in the order [`read_quote`] expects.
const COLS: &str = "key, symbol, ltp, prev_close, change, change_pct, open, high, low, volume, ts";
/// `UNNEST` of the 11 quote column arrays (in [`COLS`] order), numbered from `$first`.
fn unnest(first: usize) -> String {
    let types = [
        "text", "text", "float8", "float8", "float8", "float8", "float8", "float8", "float8",
        "int8", "int8",
    ];
    let args: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::{t}[]", first + i))
        .collect();
    format!("UNNEST({})", args.join(", "))
}

impl Sql {
    fn new(s: &str) -> Self {
        let (unnest3, unnest2) = (unnest(3), unnest(2));
        Self {
            upsert_close: format!(
                "INSERT INTO {s}.closes (trading_day, topic, {COLS}) \
                 SELECT $1::date, $2::text, u.* FROM {unnest3} AS u \
                 ON CONFLICT (trading_day, topic, key) DO UPDATE SET symbol = EXCLUDED.symbol, \
                 ltp = EXCLUDED.ltp, prev_close = EXCLUDED.prev_close, change = EXCLUDED.change, \
                 change_pct = EXCLUDED.change_pct, open = EXCLUDED.open, high = EXCLUDED.high, \
                 low = EXCLUDED.low, volume = EXCLUDED.volume, ts = EXCLUDED.ts"
            ),
            load_close: format!(
                "SELECT {COLS} FROM {s}.closes WHERE topic = $1 AND trading_day = $2"
            ),
            // The window runs before DISTINCT ON: the newest day over all rows of the topic.
            latest: format!(
                "SELECT DISTINCT ON (key) {COLS}, MAX(trading_day) OVER () AS newest \
                 FROM {s}.closes WHERE topic = $1 ORDER BY key, trading_day DESC"
            ),
            days: format!(
                "SELECT DISTINCT trading_day FROM {s}.closes WHERE topic = $1 \
                 AND trading_day BETWEEN $2 AND $3 ORDER BY trading_day"
            ),
            checkpoint_header: format!(
                "INSERT INTO {s}.checkpoints (topic, trading_day, as_of) VALUES ($1, $2, $3) \
                 ON CONFLICT (topic) DO UPDATE SET trading_day = EXCLUDED.trading_day, \
                 as_of = EXCLUDED.as_of"
            ),
            checkpoint_clear: format!("DELETE FROM {s}.checkpoint_quotes WHERE topic = $1"),
            checkpoint_insert: format!(
                "INSERT INTO {s}.checkpoint_quotes (topic, {COLS}) \
                 SELECT $1::text, u.* FROM {unnest2} AS u"
            ),
            checkpoint_load_header: format!(
                "SELECT trading_day FROM {s}.checkpoints WHERE topic = $1"
            ),
            checkpoint_load_quotes: format!(
                "SELECT {COLS} FROM {s}.checkpoint_quotes WHERE topic = $1"
            ),
            prune_count: format!(
                "SELECT COUNT(*) FROM (SELECT DISTINCT topic, trading_day FROM {s}.closes \
                 WHERE trading_day < $1) d"
            ),
            prune: [
                format!("DELETE FROM {s}.closes WHERE trading_day < $1"),
                format!(
                    "DELETE FROM {s}.checkpoint_quotes WHERE topic IN \
                     (SELECT topic FROM {s}.checkpoints WHERE trading_day < $1)"
                ),
                format!("DELETE FROM {s}.checkpoints WHERE trading_day < $1"),
            ],
            reference_save: format!(
                "INSERT INTO {s}.reference_docs (name, fetched_at, body) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET fetched_at = EXCLUDED.fetched_at, \
                 body = EXCLUDED.body"
            ),
            reference_load: format!(
                "SELECT fetched_at, body FROM {s}.reference_docs WHERE name = $1"
            ),
        }
    }
}

#[async_trait]
impl SnapshotStore for PostgresStore {
    async fn save_close(
        &self,
        topic: Topic,
        day: Date,
        quotes: &[Quote],
    ) -> Result<(), StoreError> {
        if quotes.is_empty() {
            return Ok(());
        }
        let c = Columns::new(&dedup_last(quotes))?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(self.err())?;
        let stmt = tx
            .prepare_cached(&self.sql.upsert_close)
            .await
            .map_err(self.err())?;
        let topic = topic.as_str();
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&day, &topic];
        params.extend(c.params());
        tx.execute(&stmt, &params).await.map_err(self.err())?;
        tx.commit().await.map_err(self.err())
    }

    async fn load_close(
        &self,
        topic: Topic,
        day: Date,
    ) -> Result<Option<ClosingSnapshot>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&self.sql.load_close)
            .await
            .map_err(self.err())?;
        let rows = client
            .query(&stmt, &[&topic.as_str(), &day])
            .await
            .map_err(self.err())?;
        let quotes = self.read_quotes(&rows)?;
        Ok((!quotes.is_empty()).then(|| ClosingSnapshot::new(topic, day, quotes)))
    }

    async fn latest_closes(&self, topic: Topic) -> Result<Option<ClosingSnapshot>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&self.sql.latest)
            .await
            .map_err(self.err())?;
        let rows = client
            .query(&stmt, &[&topic.as_str()])
            .await
            .map_err(self.err())?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let newest: Date = first.try_get("newest").map_err(|e| StoreError::Corrupt {
            location: self.location.clone(),
            detail: e.to_string(),
        })?;
        Ok(Some(ClosingSnapshot::new(
            topic,
            newest,
            self.read_quotes(&rows)?,
        )))
    }

    async fn trading_days(
        &self,
        topic: Topic,
        from: Date,
        to: Date,
    ) -> Result<Vec<Date>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&self.sql.days)
            .await
            .map_err(self.err())?;
        let rows = client
            .query(&stmt, &[&topic.as_str(), &from, &to])
            .await
            .map_err(self.err())?;
        rows.iter()
            .map(|r| r.try_get(0).map_err(self.err()))
            .collect()
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
        let deduped = dedup_last(quotes);
        let as_of = as_of(deduped.iter().copied());
        let c = Columns::new(&deduped)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(self.err())?;
        let header = tx
            .prepare_cached(&self.sql.checkpoint_header)
            .await
            .map_err(self.err())?;
        tx.execute(&header, &[&topic.as_str(), &day, &as_of])
            .await
            .map_err(self.err())?;
        let clear = tx
            .prepare_cached(&self.sql.checkpoint_clear)
            .await
            .map_err(self.err())?;
        tx.execute(&clear, &[&topic.as_str()])
            .await
            .map_err(self.err())?;
        let insert = tx
            .prepare_cached(&self.sql.checkpoint_insert)
            .await
            .map_err(self.err())?;
        let topic = topic.as_str();
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&topic];
        params.extend(c.params());
        tx.execute(&insert, &params).await.map_err(self.err())?;
        tx.commit().await.map_err(self.err())
    }

    async fn load_checkpoint(&self, topic: Topic) -> Result<Option<Checkpoint>, StoreError> {
        let mut client = self.client().await?;
        // Repeatable read: the header and the quotes come from the same committed checkpoint.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(self.err())?;
        let header = tx
            .query_opt(&self.sql.checkpoint_load_header, &[&topic.as_str()])
            .await
            .map_err(self.err())?;
        let Some(header) = header else {
            return Ok(None);
        };
        let day: Date = header.try_get(0).map_err(self.err())?;
        let rows = tx
            .query(&self.sql.checkpoint_load_quotes, &[&topic.as_str()])
            .await
            .map_err(self.err())?;
        let quotes = self.read_quotes(&rows)?;
        tx.commit().await.map_err(self.err())?;
        Ok(Some(Checkpoint::new(topic, day, quotes)))
    }

    async fn prune(&self, older_than: Date) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(self.err())?;
        let removed: i64 = tx
            .query_one(&self.sql.prune_count, &[&older_than])
            .await
            .map_err(self.err())?
            .try_get(0)
            .map_err(self.err())?;
        for sql in &self.sql.prune {
            tx.execute(sql.as_str(), &[&older_than])
                .await
                .map_err(self.err())?;
        }
        tx.commit().await.map_err(self.err())?;
        Ok(u64::try_from(removed).unwrap_or(0))
    }

    async fn save_reference(&self, name: &str, doc: &ReferenceDoc) -> Result<(), StoreError> {
        validate_reference_name(name)?;
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&self.sql.reference_save)
            .await
            .map_err(self.err())?;
        client
            .execute(&stmt, &[&name, &doc.fetched_at, &doc.body])
            .await
            .map_err(self.err())?;
        Ok(())
    }

    async fn load_reference(&self, name: &str) -> Result<Option<ReferenceDoc>, StoreError> {
        validate_reference_name(name)?;
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&self.sql.reference_load)
            .await
            .map_err(self.err())?;
        let row = client
            .query_opt(&stmt, &[&name])
            .await
            .map_err(self.err())?;
        row.map(|r| Ok(ReferenceDoc::new(r.try_get(0)?, r.try_get(1)?)))
            .transpose()
            .map_err(self.err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_taken_out_of_the_url() {
        let (url, schema) =
            split_schema("postgres://u@h:5432/db?schema=feed&application_name=x").unwrap();
        assert_eq!(schema, "feed");
        assert_eq!(url, "postgres://u@h:5432/db?application_name=x");
        let (url, schema) = split_schema("postgres://u@h/db").unwrap();
        assert_eq!(
            (url.as_str(), schema.as_str()),
            ("postgres://u@h/db", "public")
        );
        assert!(split_schema("postgres://u@h/db?schema=x;y").is_err());
    }
}
