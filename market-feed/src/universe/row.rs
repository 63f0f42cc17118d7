//! Helpers every universe format shares: validating a key, choosing a row's topic.
//!
//! Kept apart from [`super::load`] (which dispatches to the formats) so the formats depend on
//! this module and `load` depends on the formats, without a cycle.

use super::{Location, UniverseError};
use crate::model::{InstrumentKey, Topic};

/// Validates a key, naming the file and line on failure.
pub(crate) fn key(file: &str, line: u64, raw: &str) -> Result<InstrumentKey, UniverseError> {
    InstrumentKey::new(raw.trim()).map_err(|source| UniverseError::BadKey {
        at: Location::new(file, Some(line)),
        source,
    })
}

/// The topic of a row: the given one, else `indices` for index segments and `prices` otherwise.
pub(crate) fn topic(
    file: &str,
    line: u64,
    given: Option<&str>,
    key: &InstrumentKey,
) -> Result<Topic, UniverseError> {
    match given.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => t.parse().map_err(|e| UniverseError::Invalid {
            at: Location::new(file, Some(line)),
            message: format!("{e}"),
        }),
        None if super::is_index_segment(key.segment()) => Ok(Topic::Indices),
        None => Ok(Topic::Prices),
    }
}
