//! # market-feed
//!
//! A market-hours-aware real-time price feed for Indian markets (NSE/BSE). During the trading
//! session it polls a broker for index levels and stock prices and fans every refresh out to
//! any number of subscribers; outside the session it makes no broker calls at all and serves
//! the closing prices it saved at the end of the day.
//!
//! ```text
//!           MarketClock ──────────────┐ (when to run, what phase)
//!                                     v
//!  PriceSource ──quotes──> Feed (scheduler) ──batches──> Hub ──frames──> subscribers
//!  (Upstox, simulated,        │      ^                    │              (WebSocket, SSE, ...)
//!   replay, yours)            │      └── start-up: last closes
//!                             v                           v
//!                      SnapshotStore  <── end of day ── latest values
//!                  (memory, SQLite, PostgreSQL, yours)
//! ```
//!
//! # The parts
//!
//! - [`clock`]: [`MarketClock`](clock::MarketClock) knows exchange time (IST), sessions,
//!   holidays and special sessions from a bundled, replaceable calendar; the phase at any
//!   instant, the feed's *service window* (09:13-15:30 IST on a normal day), the next
//!   transition. A manual and a scaled clock make a whole trading day testable in milliseconds.
//! - [`model`]: [`Quote`](model::Quote), [`InstrumentKey`](model::InstrumentKey),
//!   [`Topic`](model::Topic): the wire contract's types; a quote serializes to exactly the
//!   JSON clients receive.
//! - [`universe`]: the instruments a feed serves (the bundled 9 indices and ~2,100 NSE stocks,
//!   or your CSV/JSON/Upstox master file).
//! - [`source`]: the [`PriceSource`](source::PriceSource) trait and its implementations: the real
//!   Upstox REST API, a seeded simulation, a replay of a recorded trading day. Implement it for
//!   another broker.
//! - [`hub`]: the broadcast [`Hub`](hub::Hub): latest values, per-topic `seq`, each batch
//!   serialized once and shared by every subscriber; slow subscribers get a fresh snapshot
//!   instead of a backlog.
//! - [`store`]: the [`SnapshotStore`](store::SnapshotStore) trait for end-of-day closes and
//!   intraday checkpoints: memory, SQLite (the embedded default) and PostgreSQL (feature
//!   `postgres`), with a public conformance suite (feature `testing`) for your own.
//! - [`feed`]: the [`Feed`](feed::Feed) scheduler: runs the jobs only in market hours, takes the
//!   end-of-day snapshot, survives restarts, reports source health.
//!
//! # Example
//!
//! A simulated market on a fixed clock: a subscriber gets a snapshot, then one refresh,
//! published through the hub.
//!
//! ```
//! use std::sync::Arc;
//! use futures::StreamExt;
//! use market_feed::{
//!     clock::MarketClock, hub::{FrameKind, Hub}, model::Topic,
//!     source::{PriceSource, SimulatedSource}, universe::Universe,
//! };
//! use time::macros::datetime;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = MarketClock::fixed(datetime!(2026-01-29 10:30 +05:30));
//! assert!(clock.status().live);
//!
//! let universe = Universe::bundled();
//! let source = SimulatedSource::new(universe.clone(), 42, clock.clone());
//! let hub = Hub::default();
//! hub.set_instruments(Topic::Indices, universe.indices().iter().map(|i| (i.key.clone(), i.symbol.clone())));
//!
//! let mut subscriber = hub.subscribe(&[Topic::Indices], None);
//! let first = subscriber.next().await.expect("a snapshot");
//! assert_eq!(first.kind(), FrameKind::Snapshot);
//!
//! let fetched = source.fetch(universe.indices()).await?;
//! hub.publish(Topic::Indices, fetched.quotes)?;
//! let second = subscriber.next().await.expect("the update");
//! assert_eq!((second.kind(), second.seq()), (FrameKind::IndicesUpdate, Some(1)));
//! assert!(std::str::from_utf8(second.bytes())?.contains("\"symbol\":\"NIFTY 50\""));
//! # Ok(())
//! # }
//! ```
//!
//! The reference server (`market-feed-server`) wires all of this behind a WebSocket endpoint,
//! a REST API, metrics and a dashboard; `docs/` in the repository explains each part.
//!
//! # Durations
//!
//! Two duration types appear at the public API, by one rule:
//!
//! - **Clock time** is [`time::Duration`]: spans that are added to the market clock's
//!   instants ([`time::OffsetDateTime`]) and run faster under a scaled clock: a job's refresh
//!   interval, the checkpoint interval, the end-of-day delay, the service window's lead,
//!   moving a manual clock.
//! - **Real time** is [`std::time::Duration`], as in tokio and reqwest: timeouts, deadlines,
//!   backoff, rate-limit windows, measured fetch durations.
//!
//! So [`feed::Job::new`] takes a `time::Duration` and
//! [`source::upstox::UpstoxConfig::request_timeout`] is a `std::time::Duration`. The feed
//! converts between the two where it must (a job's fetch deadline is its interval in real time,
//! see [`feed::FeedBuilder::fetch_deadlines`]).
//!
//! # Errors
//!
//! Each module has its own `thiserror` error (`SourceError`, `StoreError`, ...).
//! [`source::SourceError`] and [`store::StoreError`] carry an underlying error (a driver's, an
//! HTTP status, a decoding error) as their [`source`](std::error::Error::source) and do not
//! repeat it in their message; [`Report`] prints an error with its causes on one line, for
//! logs.
//!
//! # Cargo features
//!
//! | feature | what it adds | default |
//! | --- | --- | --- |
//! | `postgres` | [`store::PostgresStore`] (tokio-postgres + deadpool) | no |
//! | `testing` | `store::conformance` (the store conformance suite), `testing::FakeUpstox` (a local fake Upstox API), `source::MockPriceSource` | no |
#![warn(missing_docs)]

pub mod clock;
pub mod cluster;
pub mod feed;
pub mod hub;
pub mod model;
pub mod prelude;
pub mod reference;
mod report;
pub mod source;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod universe;

pub use report::Report;
/// The date and time crate of the clock's API (re-exported so a program needs no version of its
/// own).
pub use time;
/// The cancellation token [`feed::Feed::run`] takes.
pub use tokio_util::sync::CancellationToken;
