//! [`open`]: the store named by a URL, as the server's `--store` option gives it.

use std::{path::PathBuf, sync::Arc};

use super::{MemoryStore, SnapshotStore, SqliteStore, StoreError, redact_url};

/// What every store URL may look like, for error messages.
const EXPECTED: &str = "expected `memory`, `sqlite://PATH` (relative), `sqlite:///ABSOLUTE/PATH` or `postgres://USER@HOST:PORT/DB`";

/// A parsed store URL.
#[derive(Debug, PartialEq)]
enum Target {
    Memory,
    Sqlite(PathBuf),
    Postgres,
}

fn parse(url: &str) -> Result<Target, StoreError> {
    let bad = |reason: String| StoreError::BadUrl {
        url: redact_url(url),
        reason,
    };
    let trimmed = url.trim();
    if trimmed == "memory" || trimmed == "memory://" {
        return Ok(Target::Memory);
    }
    if let Some(path) = trimmed.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err(bad(format!("the SQLite path is empty: {EXPECTED}")));
        }
        return Ok(Target::Sqlite(PathBuf::from(path)));
    }
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        return Ok(Target::Postgres);
    }
    Err(bad(EXPECTED.to_owned()))
}

/// Opens the store a URL names:
///
/// - `memory`: a new [`MemoryStore`];
/// - `sqlite://market-feed.db` (a path relative to the working directory) or
///   `sqlite:///var/lib/market-feed/feed.db` (absolute): a [`SqliteStore`], created and migrated;
/// - `postgres://user[:password]@host[:port]/db[?schema=NAME]`: a `PostgresStore` (cargo feature
///   `postgres`), its schema created and migrated.
///
/// # Errors
///
/// [`StoreError::BadUrl`] for anything else (and for `postgres://` in a build without the
/// `postgres` feature); the errors of the store's own `open`/`connect` otherwise. Passwords
/// never appear in the errors.
///
/// ```
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let store = market_feed::store::open("memory").await?;
/// assert!(format!("{store:?}").contains("MemoryStore"));
///
/// let err = market_feed::store::open("mysql://x").await.unwrap_err();
/// assert!(err.to_string().contains("sqlite://PATH"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn open(url: &str) -> Result<Arc<dyn SnapshotStore>, StoreError> {
    match parse(url)? {
        Target::Memory => Ok(Arc::new(MemoryStore::new())),
        Target::Sqlite(path) => Ok(Arc::new(SqliteStore::open(path).await?)),
        Target::Postgres => open_postgres(url).await,
    }
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<Arc<dyn SnapshotStore>, StoreError> {
    Ok(Arc::new(super::PostgresStore::connect(url).await?))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(url: &str) -> Result<Arc<dyn SnapshotStore>, StoreError> {
    Err(StoreError::BadUrl {
        url: redact_url(url),
        reason: "this build has no PostgreSQL support: rebuild market-feed with \
                 `--features postgres`, or use `sqlite://PATH`"
            .to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_table() {
        let cases: [(&str, Option<Target>); 8] = [
            ("memory", Some(Target::Memory)),
            (
                "sqlite://market-feed.db",
                Some(Target::Sqlite("market-feed.db".into())),
            ),
            (
                "sqlite:///var/lib/f.db",
                Some(Target::Sqlite("/var/lib/f.db".into())),
            ),
            ("postgres://u@h/db", Some(Target::Postgres)),
            ("postgresql://u@h/db", Some(Target::Postgres)),
            ("sqlite://", None),
            ("feed.db", None),
            ("mysql://u:pw@h/db", None),
        ];
        for (url, want) in cases {
            match (parse(url), want) {
                (Ok(got), Some(want)) => assert_eq!(got, want, "{url}"),
                (Err(StoreError::BadUrl { .. }), None) => {}
                (got, want) => panic!("{url}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn bad_url_errors_hide_the_password() {
        let err = parse("mysql://feed:hunter2@db/x").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("feed:***@db"), "{err}");
    }

    #[cfg(not(feature = "postgres"))]
    #[tokio::test]
    async fn postgres_without_the_feature_says_how_to_rebuild() {
        let err = open("postgres://u:secret@h/db")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--features postgres") && !err.contains("secret"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn sqlite_url_opens_a_relative_or_absolute_file() {
        let dir = tempfile::tempdir().unwrap();
        let abs = dir.path().join("abs.db");
        let store = open(&format!("sqlite://{}", abs.display())).await.unwrap();
        assert!(format!("{store:?}").contains("abs.db"));
        assert!(abs.exists());
    }
}
