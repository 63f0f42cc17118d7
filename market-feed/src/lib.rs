//! market-feed: a market-hours-aware real-time price feed for Indian markets.
#![warn(missing_docs)]

pub mod clock;
pub mod model;
pub mod source;
#[cfg(feature = "testing")]
pub mod testing;
pub mod universe;
