//! Shared helpers of the integration tests: the PostgreSQL test policy and temporary schemas.
//!
//! Policy: the server URL comes from `MARKET_FEED_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). `tests/postgres.rs` probes it once: when it cannot
//! be reached the suite fails if `MARKET_FEED_REQUIRE_POSTGRES=1` (CI), and otherwise prints one
//! notice (which `cargo test` shows even for passing tests) and reports its tests as ignored.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::Write;

/// The default PostgreSQL server of the development machines and CI.
pub(crate) const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Whether CI demands the PostgreSQL suite (`MARKET_FEED_REQUIRE_POSTGRES=1`).
pub(crate) fn postgres_required() -> bool {
    std::env::var("MARKET_FEED_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// The test server URL.
pub(crate) fn postgres_url() -> String {
    std::env::var("MARKET_FEED_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// Writes a line straight to stderr: libtest captures `eprintln!` of passing tests, not this.
pub(crate) fn notice(msg: &str) {
    let _ = writeln!(std::io::stderr(), "NOTE: {msg}");
}

/// Skips (with a notice) or fails (when required) a PostgreSQL test that cannot run.
pub(crate) fn postgres_did_not_run(test: &str, why: &str) {
    let msg = format!(
        "PostgreSQL suite did not run ({test}): {why}: set MARKET_FEED_TEST_POSTGRES_URL / start PostgreSQL"
    );
    if postgres_required() {
        panic!("MARKET_FEED_REQUIRE_POSTGRES=1 but {msg}");
    }
    notice(&msg);
}

/// A random schema name for one test case.
pub(crate) fn random_schema() -> String {
    format!("mf_test_{:016x}", rand::random::<u64>())
}

/// `url` with one more query parameter.
pub(crate) fn with_param(url: &str, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{key}={value}")
}

#[cfg(feature = "postgres")]
pub(crate) mod pg {
    use super::*;

    /// An admin connection to the test server, or `None` (after [`postgres_did_not_run`]).
    pub(crate) async fn admin(test: &str) -> Option<tokio_postgres::Client> {
        let url = postgres_url();
        match tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
            Ok((client, conn)) => {
                tokio::spawn(conn);
                Some(client)
            }
            Err(e) => {
                postgres_did_not_run(
                    test,
                    &format!(
                        "cannot connect to {}: {e}",
                        market_feed::store::redact_url(&url)
                    ),
                );
                None
            }
        }
    }

    /// Drops a test schema and everything in it.
    pub(crate) async fn drop_schema(admin: &tokio_postgres::Client, schema: &str) {
        admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .await
            .unwrap_or_else(|e| panic!("dropping test schema {schema}: {e}"));
    }
}
