//! market-feed: a market-hours-aware real-time price feed for Indian markets.
#![warn(missing_docs)]

pub mod clock;
pub mod feed;
pub mod hub;
pub mod model;
pub mod source;
/// Snapshot stores: closing prices and intraday checkpoints (memory, SQLite, PostgreSQL, yours).
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod universe;
