//! The names a program that embeds the feed needs, in one `use`:
//!
//! ```
//! use market_feed::prelude::*;
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = MarketClock::scaled(datetime!(2026-01-29 10:00 +05:30), 10.0);
//! let universe = Universe::bundled();
//! let source = Arc::new(SimulatedSource::new(universe.clone(), 7, clock.clone()));
//! let hub = Hub::default();
//! let feed = Feed::builder(clock, hub.clone(), Arc::new(MemoryStore::new()))
//!     .job(Job::new(Topic::Indices, universe.indices().to_vec(), Duration::seconds(5), source.clone()))
//!     .job(Job::new(Topic::Prices, universe.prices().to_vec(), Duration::seconds(30), source))
//!     .build();
//! let mut updates = hub.subscribe_symbols(["RELIANCE", "TCS"])?; // known from the build on
//! let running = feed.spawn();
//! let first = updates.next().await.expect("a snapshot first");
//! assert_eq!(first.kind(), FrameKind::Snapshot);
//! running.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! It re-exports the crates whose types the API takes, so a program needs no dependency of
//! its own for them: [`time`] (with its `date!`/`datetime!` macros; clock time is
//! [`time::Duration`]), and `futures`' [`StreamExt`] to read a [`Subscription`].

pub use std::sync::Arc;

pub use futures::StreamExt;
pub use time::{
    self, Date, Duration, OffsetDateTime,
    macros::{date, datetime},
};
pub use tokio_util::sync::CancellationToken;

pub use crate::{
    Report,
    clock::{MarketClock, MarketStatus, Phase, Session},
    feed::{Feed, Job, RunningFeed},
    hub::{FeedEvent, Frame, FrameKind, Hub, Subscription, UnknownSymbols},
    model::{InstrumentKey, Quote, Topic},
    source::{PriceSource, SimulatedSource, SourceError},
    store::{MemoryStore, SnapshotStore, SqliteStore},
    universe::Universe,
};
