//! Driver errors of the PostgreSQL store as [`StoreError`]s.

use crate::store::StoreError;

/// Classifies a driver error: errors the server reported are `Database`, everything else
/// (refused, closed, timed out) means the server is not reachable.
pub(super) fn pg_err(location: &str, e: tokio_postgres::Error) -> StoreError {
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
