//! The PostgreSQL schema of [`PostgresStore`](super::PostgresStore) as versioned migrations.
//!
//! The same tables as the SQLite store, in a PostgreSQL schema of the user's choice (`public` by
//! default). The version lives in `<schema>.schema_version`. Pending migrations and the version
//! update run in one transaction that first takes an advisory lock on the schema name, so two
//! servers starting together do not migrate the same schema twice. Never edit a released
//! migration: append a new one. `{s}` stands for the quoted schema name.

use deadpool_postgres::Client;

use crate::store::StoreError;

/// Version 1: closing quotes per (trading day, topic, key) and one checkpoint per topic.
const V1: &str = r#"
CREATE TABLE {s}.closes (
    trading_day DATE             NOT NULL,
    topic       TEXT             NOT NULL CHECK (topic IN ('indices', 'prices')),
    key         TEXT             NOT NULL,
    symbol      TEXT             NOT NULL,
    ltp         DOUBLE PRECISION NOT NULL,
    prev_close  DOUBLE PRECISION,
    change      DOUBLE PRECISION,
    change_pct  DOUBLE PRECISION,
    open        DOUBLE PRECISION,
    high        DOUBLE PRECISION,
    low         DOUBLE PRECISION,
    volume      BIGINT CHECK (volume >= 0),
    ts          BIGINT           NOT NULL,
    PRIMARY KEY (trading_day, topic, key)
);
CREATE INDEX closes_by_topic_key_day ON {s}.closes (topic, key, trading_day);

CREATE TABLE {s}.checkpoints (
    topic       TEXT   NOT NULL PRIMARY KEY CHECK (topic IN ('indices', 'prices')),
    trading_day DATE   NOT NULL,
    as_of       BIGINT NOT NULL
);
CREATE TABLE {s}.checkpoint_quotes (
    topic       TEXT             NOT NULL,
    key         TEXT             NOT NULL,
    symbol      TEXT             NOT NULL,
    ltp         DOUBLE PRECISION NOT NULL,
    prev_close  DOUBLE PRECISION,
    change      DOUBLE PRECISION,
    change_pct  DOUBLE PRECISION,
    open        DOUBLE PRECISION,
    high        DOUBLE PRECISION,
    low         DOUBLE PRECISION,
    volume      BIGINT CHECK (volume >= 0),
    ts          BIGINT           NOT NULL,
    PRIMARY KEY (topic, key)
);
"#;

/// Every migration, in order. The schema version of a database is the number applied.
/// Version 2: named reference documents (holiday list, universe) that survive restarts.
const V2: &str = r#"
CREATE TABLE {s}.reference_docs (
    name        TEXT   NOT NULL PRIMARY KEY,
    fetched_at  BIGINT NOT NULL,
    body        BYTEA  NOT NULL
);
"#;

const MIGRATIONS: &[&str] = &[V1, V2];

/// The newest schema version this library knows.
pub(crate) const SUPPORTED_VERSION: i64 = MIGRATIONS.len() as i64;

/// Creates the schema if needed and brings it to [`SUPPORTED_VERSION`], or refuses a newer one.
pub(crate) async fn migrate(
    client: &mut Client,
    schema: &str,
    location: &str,
) -> Result<(), StoreError> {
    let err = |e: tokio_postgres::Error| super::error::pg_err(location, e);
    let quoted = quote_ident(schema);
    let tx = client.transaction().await.map_err(err)?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&schema])
        .await
        .map_err(err)?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {quoted}; \
         CREATE TABLE IF NOT EXISTS {quoted}.schema_version (version BIGINT NOT NULL);"
    ))
    .await
    .map_err(err)?;
    let found: Option<i64> = tx
        .query_one(
            &format!("SELECT MAX(version) FROM {quoted}.schema_version"),
            &[],
        )
        .await
        .map_err(err)?
        .try_get(0)
        .map_err(err)?;
    let found = found.unwrap_or(0);
    if found > SUPPORTED_VERSION {
        return Err(StoreError::SchemaTooNew {
            location: location.to_owned(),
            found,
            supported: SUPPORTED_VERSION,
        });
    }
    if found == SUPPORTED_VERSION {
        return Ok(());
    }
    let pending = usize::try_from(found).unwrap_or(0);
    for sql in &MIGRATIONS[pending..] {
        tx.batch_execute(&sql.replace("{s}", &quoted))
            .await
            .map_err(err)?;
    }
    tx.batch_execute(&format!(
        "DELETE FROM {quoted}.schema_version; \
         INSERT INTO {quoted}.schema_version (version) VALUES ({SUPPORTED_VERSION});"
    ))
    .await
    .map_err(err)?;
    tx.commit().await.map_err(err)
}

/// Whether `name` is a plain lower-case SQL identifier (what `?schema=` accepts).
pub(crate) fn valid_schema_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

/// A double-quoted identifier (the name is validated by [`valid_schema_name`] first).
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names() {
        for (name, ok) in [
            ("public", true),
            ("mf_test_1a2b", true),
            ("_x", true),
            ("1abc", false),
            ("Feed", false),
            ("a;drop", false),
            ("", false),
        ] {
            assert_eq!(valid_schema_name(name), ok, "{name}");
        }
        assert_eq!(quote_ident("public"), "\"public\"");
    }
}
