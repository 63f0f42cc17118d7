//! [`PostgresStore`]: the snapshot store in PostgreSQL (tokio-postgres + deadpool-postgres),
//! behind the cargo feature `postgres`.
//!
//! Connections come from a small deadpool pool whose recycling check runs a query before a
//! connection is reused, so after a server restart the dead connections are replaced by fresh
//! ones; while the server is down every call returns [`StoreError::Unavailable`]. A save is one
//! multi-row `INSERT ... SELECT FROM UNNEST(arrays) ON CONFLICT DO UPDATE` inside a transaction,
//! which keeps a 2,200-quote save to one round trip.

mod error;
mod rows;
mod schema;
mod sql;

use std::{fmt, str::FromStr, time::Duration};

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use time::Date;
use tokio_postgres::{NoTls, Row, types::ToSql};

use super::{
    Checkpoint, ClosingSnapshot, ReferenceDoc, SnapshotStore, StoreError,
    quotes::{as_of, dedup_last},
    redact_url, validate_reference_name,
};
use crate::model::{Quote, Topic};
use error::pg_err;
use rows::{Columns, read_quote};
use schema::{quote_ident, valid_schema_name};
use sql::Sql;

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
        schema::migrate(&mut client, &store.schema, &store.location).await?;
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

    /// One statement outside a transaction: a pooled connection, the cached prepared
    /// statement, the rows.
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(self.err())?;
        client.query(&stmt, params).await.map_err(self.err())
    }

    fn read_quotes(&self, rows: &[Row]) -> Result<Vec<Quote>, StoreError> {
        rows.iter().map(|r| read_quote(r, &self.location)).collect()
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
        let rows = self
            .query(&self.sql.load_close, &[&topic.as_str(), &day])
            .await?;
        let quotes = self.read_quotes(&rows)?;
        Ok((!quotes.is_empty()).then(|| ClosingSnapshot::new(topic, day, quotes)))
    }

    async fn latest_closes(&self, topic: Topic) -> Result<Option<ClosingSnapshot>, StoreError> {
        let rows = self.query(&self.sql.latest, &[&topic.as_str()]).await?;
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
        let rows = self
            .query(&self.sql.days, &[&topic.as_str(), &from, &to])
            .await?;
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
        self.query(
            &self.sql.reference_save,
            &[&name, &doc.fetched_at, &doc.body],
        )
        .await?;
        Ok(())
    }

    async fn load_reference(&self, name: &str) -> Result<Option<ReferenceDoc>, StoreError> {
        validate_reference_name(name)?;
        let rows = self.query(&self.sql.reference_load, &[&name]).await?;
        rows.first()
            .map(|r| Ok(ReferenceDoc::new(r.try_get(0)?, r.try_get(1)?)))
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
