//! SqliteStore on real files: persistence, bad paths, newer schemas, corrupt rows, two handles.

use market_feed::model::Topic;
use market_feed::store::{SnapshotStore, SqliteStore, StoreError, conformance::sample_quotes};
use time::macros::date;

#[tokio::test]
async fn closes_and_checkpoints_survive_reopening_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.db");
    let quotes = sample_quotes(100, 1_000);
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store
            .save_close(Topic::Prices, date!(2026 - 01 - 29), &quotes)
            .await
            .unwrap();
        store
            .save_checkpoint(Topic::Prices, date!(2026 - 01 - 30), &quotes[..10])
            .await
            .unwrap();
    }
    let store = SqliteStore::open(&path).await.unwrap();
    let close = store
        .load_close(Topic::Prices, date!(2026 - 01 - 29))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(close.quotes, quotes);
    let cp = store.load_checkpoint(Topic::Prices).await.unwrap().unwrap();
    assert_eq!(
        (cp.trading_day, cp.quotes.len()),
        (date!(2026 - 01 - 30), 10)
    );

    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!((mode.as_str(), version), ("wal", 2));
}

#[tokio::test]
async fn unusable_paths_are_open_errors_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![b'x'; 4096]).unwrap();
    let cases = [
        dir.path().join("missing-dir").join("feed.db"),
        file.join("feed.db"),
        dir.path().to_path_buf(),
        garbage,
    ];
    for path in cases {
        let err = SqliteStore::open(&path).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StoreError::Open { .. }), "{path:?}: {err:?}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(
            msg.contains("writable"),
            "the message must say what to do: {msg}"
        );
    }
}

#[tokio::test]
async fn a_schema_newer_than_the_library_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 9;")
            .unwrap();
    }
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                found: 9,
                supported: 2,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("future.db") && msg.contains("upgrade market-feed"),
        "{msg}"
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1, "a refused database must not be migrated");
}

#[tokio::test]
async fn an_unreadable_row_is_a_corrupt_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let day = date!(2026 - 01 - 29);
    store
        .save_close(Topic::Prices, day, &sample_quotes(3, 0))
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE closes SET key = 'no separator' WHERE key = 'NSE_EQ|INE000001'",
        [],
    )
    .unwrap();
    let err = store.load_close(Topic::Prices, day).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("no separator"), "{err}");
    let err = store.latest_closes(Topic::Prices).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
}

/// Two handles on one file (two processes, in production) both write; the busy timeout makes
/// the second wait for the first's transaction instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_on_one_file_both_save() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let a = SqliteStore::open(&path).await.unwrap();
    let b = SqliteStore::open(&path).await.unwrap();
    let quotes = sample_quotes(2_200, 0);
    let days = [date!(2026 - 01 - 27), date!(2026 - 01 - 28)];
    let (ra, rb) = tokio::join!(
        a.save_close(Topic::Prices, days[0], &quotes),
        b.save_close(Topic::Prices, days[1], &quotes),
    );
    ra.unwrap();
    rb.unwrap();
    let listed = a
        .trading_days(Topic::Prices, days[0], days[1])
        .await
        .unwrap();
    assert_eq!(listed, days);
}
