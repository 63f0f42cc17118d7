//! PostgresStore against the real server: reconnection after the server drops its connections,
//! newer schemas, unreachable servers and bad URLs (passwords never shown).
#![cfg(feature = "postgres")]

mod support;

use market_feed::model::Topic;
use market_feed::store::{
    self, PostgresStore, SnapshotStore, StoreError, conformance::sample_quotes,
};
use time::macros::date;

#[tokio::test]
async fn reconnects_after_the_server_terminates_its_connections() {
    let Some(admin) =
        support::pg::admin("reconnects_after_the_server_terminates_its_connections").await
    else {
        return;
    };
    let schema = support::random_schema();
    // application_name marks this store's connections so only they are terminated.
    let url = support::with_param(&support::postgres_url(), "schema", &schema);
    let url = support::with_param(&url, "application_name", &schema);
    let store = PostgresStore::connect(&url).await.unwrap();
    let day = date!(2026 - 01 - 29);
    let quotes = sample_quotes(50, 0);
    store.save_close(Topic::Prices, day, &quotes).await.unwrap();

    let killed: i64 = admin
        .query_one(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = $1",
            &[&schema],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        killed >= 1,
        "the store's pooled connection should have been terminated"
    );

    // The next call either errors (surfaced, classified) or already uses a fresh connection.
    match store.load_close(Topic::Prices, day).await {
        Ok(snap) => assert_eq!(snap.unwrap().quotes, quotes),
        Err(e) => assert!(
            e.is_retryable(),
            "a dropped connection must be retryable: {e:?}"
        ),
    }
    let again = store.load_close(Topic::Prices, day).await.unwrap().unwrap();
    assert_eq!(
        again.quotes, quotes,
        "a later call must succeed on a fresh connection"
    );
    store
        .save_close(Topic::Prices, date!(2026 - 01 - 30), &quotes)
        .await
        .unwrap();
    support::pg::drop_schema(&admin, &schema).await;
}

#[tokio::test]
async fn a_schema_newer_than_the_library_is_refused() {
    let Some(admin) = support::pg::admin("a_schema_newer_than_the_library_is_refused").await else {
        return;
    };
    let schema = support::random_schema();
    let url = support::with_param(&support::postgres_url(), "schema", &schema);
    drop(PostgresStore::connect(&url).await.unwrap());
    admin
        .batch_execute(&format!(
            "UPDATE \"{schema}\".schema_version SET version = 5"
        ))
        .await
        .unwrap();
    let err = PostgresStore::connect(&url).await.unwrap_err();
    support::pg::drop_schema(&admin, &schema).await;
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                found: 5,
                supported: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("upgrade market-feed"), "{err}");
}

#[tokio::test]
async fn migrating_twice_and_concurrently_is_safe() {
    let Some(admin) = support::pg::admin("migrating_twice_and_concurrently_is_safe").await else {
        return;
    };
    let schema = support::random_schema();
    let url = support::with_param(&support::postgres_url(), "schema", &schema);
    let (a, b) = tokio::join!(PostgresStore::connect(&url), PostgresStore::connect(&url));
    let (a, b) = (a.unwrap(), b.unwrap());
    a.save_close(Topic::Indices, date!(2026 - 01 - 29), &sample_quotes(3, 0))
        .await
        .unwrap();
    assert!(b.latest_closes(Topic::Indices).await.unwrap().is_some());
    let versions: i64 = admin
        .query_one(
            &format!("SELECT COUNT(*) FROM \"{schema}\".schema_version"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    support::pg::drop_schema(&admin, &schema).await;
    assert_eq!(versions, 1);
}

/// These need no server: a refused port and URLs that do not parse.
#[tokio::test]
async fn unreachable_servers_and_bad_urls_are_clear_errors_without_passwords() {
    let err = store::open("postgres://feed:hunter2@127.0.0.1:1/test")
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(
        msg.contains("feed:***@127.0.0.1:1") && !msg.contains("hunter2"),
        "{msg}"
    );
    assert!(
        !format!("{err:?}").contains("hunter2"),
        "Debug leaks the password: {err:?}"
    );

    for url in [
        "postgres://feed:hunter2@127.0.0.1:notaport/test",
        "postgres://feed:hunter2@127.0.0.1/test?schema=Not-Valid",
        "postgres://feed:hunter2@127.0.0.1/test?no_such_option=1",
    ] {
        let err = store::open(url).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StoreError::BadUrl { .. }), "{url}: {err:?}");
        assert!(
            !msg.contains("hunter2") && msg.contains("feed:***@"),
            "{msg}"
        );
    }
}
