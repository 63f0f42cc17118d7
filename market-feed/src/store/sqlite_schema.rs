//! The SQLite schema of [`SqliteStore`](super::SqliteStore) as versioned migrations.
//!
//! The version lives in `PRAGMA user_version` (0 for a new file). Migration `i` (0-based) brings
//! the schema from version `i` to `i + 1`; all pending migrations and the version bump run in one
//! `BEGIN IMMEDIATE` transaction, so a crash leaves either the old or the new schema, and two
//! processes opening the same new file do not both migrate it. Never edit a released migration:
//! append a new one.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Version 1: closing quotes per (trading day, topic, key) and one checkpoint per topic.
///
/// Trading days are `YYYY-MM-DD` text (sorts like dates); prices are REAL; `volume` and `ts`
/// (ms since the Unix epoch) are INTEGER. NULL means "unknown", as in the wire format.
const V1: &str = "
CREATE TABLE closes (
    trading_day TEXT    NOT NULL,
    topic       TEXT    NOT NULL CHECK (topic IN ('indices', 'prices')),
    key         TEXT    NOT NULL,
    symbol      TEXT    NOT NULL,
    ltp         REAL    NOT NULL,
    prev_close  REAL,
    change      REAL,
    change_pct  REAL,
    open        REAL,
    high        REAL,
    low         REAL,
    volume      INTEGER CHECK (volume >= 0),
    ts          INTEGER NOT NULL,
    PRIMARY KEY (trading_day, topic, key)
) WITHOUT ROWID;
-- latest_closes: newest day per (topic, key)
CREATE INDEX closes_by_topic_key_day ON closes (topic, key, trading_day);

CREATE TABLE checkpoints (
    topic       TEXT    NOT NULL PRIMARY KEY CHECK (topic IN ('indices', 'prices')),
    trading_day TEXT    NOT NULL,
    as_of       INTEGER NOT NULL
);
CREATE TABLE checkpoint_quotes (
    topic       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    symbol      TEXT    NOT NULL,
    ltp         REAL    NOT NULL,
    prev_close  REAL,
    change      REAL,
    change_pct  REAL,
    open        REAL,
    high        REAL,
    low         REAL,
    volume      INTEGER CHECK (volume >= 0),
    ts          INTEGER NOT NULL,
    PRIMARY KEY (topic, key)
) WITHOUT ROWID;
";

/// Version 2: named reference documents (the broker's holiday list, the instrument universe),
/// kept so that a restart without the network still knows the last good answer.
const V2: &str = "
CREATE TABLE reference_docs (
    name        TEXT    NOT NULL PRIMARY KEY,
    fetched_at  INTEGER NOT NULL,
    body        BLOB    NOT NULL
) WITHOUT ROWID;
";

/// Every migration, in order. The schema version of a database is the number applied.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2];

/// The newest schema version this library knows.
pub(crate) const SUPPORTED_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`SUPPORTED_VERSION`], or refuses one that is newer.
pub(crate) fn migrate(conn: &mut Connection, location: &str) -> Result<(), StoreError> {
    let open_err = |e: rusqlite::Error| StoreError::Open {
        location: location.to_owned(),
        source: Box::new(e),
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(open_err)?;
    let found: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(open_err)?;
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
        tx.execute_batch(sql).map_err(open_err)?;
    }
    // user_version lives in the database header and is written by this transaction.
    tx.pragma_update(None, "user_version", SUPPORTED_VERSION)
        .map_err(open_err)?;
    tx.commit().map_err(open_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_new_database_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, "mem").unwrap();
        migrate(&mut conn, "mem").unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, SUPPORTED_VERSION);
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 4);
    }

    #[test]
    fn upgrades_a_version_1_file_keeping_its_closes() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO closes (trading_day, topic, key, symbol, ltp, ts) \
             VALUES ('2026-01-29', 'prices', 'NSE_EQ|INE002A01018', 'RELIANCE', 1391.2, 1)",
            [],
        )
        .unwrap();
        migrate(&mut conn, "old.db").unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, SUPPORTED_VERSION);
        let closes: i64 = conn
            .query_row("SELECT COUNT(*) FROM closes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(closes, 1);
        let docs: i64 = conn
            .query_row("SELECT COUNT(*) FROM reference_docs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(docs, 0);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 42).unwrap();
        let err = migrate(&mut conn, "x.db").unwrap_err();
        assert!(
            matches!(err, StoreError::SchemaTooNew { found: 42, supported, .. } if supported == SUPPORTED_VERSION),
            "{err}"
        );
    }
}
