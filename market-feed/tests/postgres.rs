//! The PostgreSQL suite: the store conformance suite on `PostgresStore`, reconnection after the
//! server drops its connections, newer schemas, concurrent migration, and clear errors for
//! unreachable servers and bad URLs (passwords never shown).
//!
//! A custom harness (libtest-mimic), so that a suite that cannot run says so once and its tests
//! count as **ignored**, not passed: the server (`MARKET_FEED_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`) is probed once; when it cannot be reached, or the
//! crate was built without the `postgres` feature, one NOTE is printed and every test that needs
//! the server is reported as ignored. With `MARKET_FEED_REQUIRE_POSTGRES=1` (CI) that is a
//! failure instead.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let args = Arguments::from_args();
    let trials = suite::trials();
    libtest_mimic::run(&args, trials).exit();
}

/// Runs an async test body on its own runtime, a panic becoming the test's failure.
fn block_on<F: std::future::Future<Output = ()>>(f: F) -> Result<(), Failed> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("a tokio runtime: {e}")))?;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(f))).map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "the test panicked".to_owned());
        Failed::from(msg)
    })
}

/// Why the server-backed tests cannot run here, if they cannot (printed once, or a failure in
/// CI).
fn unavailable() -> Option<String> {
    #[cfg(not(feature = "postgres"))]
    let why = Some(
        "market-feed was built without the `postgres` feature (use --all-features)".to_owned(),
    );
    #[cfg(feature = "postgres")]
    let why = block_on_value(async {
        let url = support::postgres_url();
        match tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
            Ok(_) => None,
            Err(e) => Some(format!(
                "cannot connect to {}: {e}",
                market_feed::store::redact_url(&url)
            )),
        }
    });
    if let Some(why) = &why {
        support::postgres_did_not_run("its tests are reported as ignored", why);
    }
    why
}

#[cfg(feature = "postgres")]
fn block_on_value<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(f)
}

#[cfg(not(feature = "postgres"))]
mod suite {
    use super::*;

    /// Without the feature, one ignored entry stands for the suite.
    pub(super) fn trials() -> Vec<Trial> {
        let skip = unavailable().is_some();
        vec![Trial::test("postgres_suite", || Ok(())).with_ignored_flag(skip)]
    }
}

#[cfg(feature = "postgres")]
mod suite {
    use super::*;
    use std::future::Future;

    use market_feed::model::Topic;
    use market_feed::store::{
        self, PostgresStore, SnapshotStore, StoreError,
        conformance::{self, sample_quotes},
    };
    use time::macros::date;

    /// A test that needs the server: it gets an admin connection.
    fn with_server<F, Fut>(name: &'static str, skip: bool, f: F) -> Trial
    where
        F: FnOnce(tokio_postgres::Client) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        Trial::test(name, move || {
            block_on(async move {
                let admin = support::pg::admin(name)
                    .await
                    .unwrap_or_else(|| panic!("the PostgreSQL server went away"));
                f(admin).await;
            })
        })
        .with_ignored_flag(skip)
    }

    pub(super) fn trials() -> Vec<Trial> {
        let skip = unavailable().is_some();
        vec![
            with_server("postgres_store_conforms", skip, postgres_store_conforms),
            with_server(
                "reconnects_after_the_server_terminates_its_connections",
                skip,
                reconnects_after_the_server_terminates_its_connections,
            ),
            with_server(
                "a_schema_newer_than_the_library_is_refused",
                skip,
                a_schema_newer_than_the_library_is_refused,
            ),
            with_server(
                "migrating_twice_and_concurrently_is_safe",
                skip,
                migrating_twice_and_concurrently_is_safe,
            ),
            // Needs no server: always runs.
            Trial::test(
                "unreachable_servers_and_bad_urls_are_clear_errors_without_passwords",
                || block_on(unreachable_servers_and_bad_urls_are_clear_errors_without_passwords()),
            ),
        ]
    }

    /// Each case runs in a fresh PostgreSQL schema, dropped afterwards even when the case fails.
    async fn postgres_store_conforms(admin: tokio_postgres::Client) {
        use futures::FutureExt;
        for case in conformance::CASES {
            let schema = support::random_schema();
            let url = support::with_param(&support::postgres_url(), "schema", &schema);
            let outcome = std::panic::AssertUnwindSafe(async {
                let store = PostgresStore::connect(&url).await.unwrap();
                conformance::run_case(case, &store).await;
            })
            .catch_unwind()
            .await;
            support::pg::drop_schema(&admin, &schema).await;
            if let Err(panic) = outcome {
                std::panic::resume_unwind(panic);
            }
        }
    }

    async fn reconnects_after_the_server_terminates_its_connections(admin: tokio_postgres::Client) {
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

    async fn a_schema_newer_than_the_library_is_refused(admin: tokio_postgres::Client) {
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

    async fn migrating_twice_and_concurrently_is_safe(admin: tokio_postgres::Client) {
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
}
