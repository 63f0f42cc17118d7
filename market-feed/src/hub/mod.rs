//! The broadcast hub: one per process, it keeps the latest quote of every instrument and fans
//! every published batch out to thousands of subscribers.
//!
//! # In one paragraph
//!
//! The feed calls [`Hub::publish`] with a batch of quotes (a few index levels every 5 s, about
//! 2,200 stock prices every 2 min). The hub stores them as the latest values, bumps the topic's
//! `seq`, serializes the `indices_update` / `prices_batch` frame **once** into [`Bytes`], and
//! pushes one `Arc` to it into a bounded ring shared by all subscribers. Each WebSocket
//! connection owns a [`Subscription`], a `Stream` of [`Frame`]s that reads the ring at its own
//! pace. A subscriber that falls too far behind loses its backlog and gets a fresh `snapshot`
//! instead. Publishing never waits for anybody.
//!
//! ```text
//!  publish(topic, quotes) ─► latest values (RwLock, universe order) ─► seq += 1
//!         │
//!         └─► serialize once ─► Arc<Event{frame: Bytes, quotes}> ─► broadcast ring (N slots)
//!                                                                      │   │   │
//!                                           Subscription (a position) ◄┘   │   └► ... ×10,000
//!                                           Subscription (filtered) ◄──────┘
//!                                             └─ filtered frame built once per filter, cached in the event
//! ```
//!
//! # Why serialize once
//!
//! A `prices_batch` of 2,200 quotes is about 450 KB of JSON and takes a few hundred
//! microseconds to serialize. Serializing it per subscriber would cost seconds of CPU per
//! batch at 10,000 clients and as many copies of the text in memory. Instead the frame is
//! built once in `publish` into a pre-sized buffer and frozen into [`Bytes`]; every subscriber
//! gets a clone, which is a reference-count increment, and writes the same bytes to its socket.
//! Publishing costs the same with 1 or 10,000 subscribers (see `docs/performance.md`).
//!
//! Subscribers with a symbol filter (`prices` only, docs/protocol.md §3) cannot share the whole
//! frame. Filters are *interned* by [`Hub::resolve_filter`]: equal symbol lists, in any order
//! or spelling (symbol or key), give the same [`Filter`]. The first subscriber of a shared
//! filter to read a batch builds that filter's frame and caches it inside the batch's event;
//! the others reuse it. So a batch is serialized once per distinct filter, not per subscriber,
//! and the work happens on the subscribers' tasks, not in the publisher. A filter that matches
//! nothing in a batch yields no frame (so a filtered subscriber's `seq` may skip batches). A
//! filter held by a single subscriber is built directly, without caching.
//!
//! # The ring, and what happens to a slow subscriber
//!
//! The ring is a [`tokio::sync::broadcast`] channel of `Arc<Event>` with
//! [`HubConfig::buffer`] slots (16 by default). Each published frame occupies one slot, shared
//! by all subscribers; each subscriber is just a *position* in the ring. This gives:
//!
//! - **O(1) publish.** `send` writes one slot and wakes the waiting subscribers; it never
//!   waits for one, and its cost does not depend on how far behind anybody is.
//! - **Bounded memory.** The ring holds at most `buffer` events whatever the number of
//!   subscribers, so one stalled client can pin at most `buffer` frames, all of which are
//!   shared with everybody else anyway. Each batch's filtered-frame cache is capped too.
//! - **Lag detection for free.** A subscriber that has not read a slot before it is
//!   overwritten gets `Lagged` on its next read.
//!
//! On `Lagged`, the subscription does what docs/protocol.md §3 asks ("its pending updates are
//! replaced by one fresh snapshot"): it drops its position and takes a new one at the ring's
//! tail (the backlog is discarded, not replayed), then yields one `snapshot` per subscribed
//! topic, the topic's `feed_status` if it changed meanwhile, and the `market_status` if it
//! changed meanwhile; then it carries on with current data. The snapshot is built *lazily*,
//! when the subscriber polls, from the hub's latest values, so the publisher never does
//! snapshot work and a subscriber that never polls again costs nothing. Snapshots are cached
//! per topic state, so 10,000 subscribers joining or resynchronizing at once serialize the
//! snapshot once.
//!
//! Ordering is kept by `seq`: a snapshot records the topic's `seq`, and the subscription skips
//! ring events at or below it. Because a subscription's ring position is taken *before* any
//! snapshot is read, and a batch is put in the ring *after* the latest values are updated,
//! every batch newer than a snapshot is still ahead of the subscriber. So, per subscriber and
//! topic, `seq` is continuous except right before an announced `snapshot`.
//!
//! The size of `buffer`: indices arrive every 5 s and prices every 2 min, so 16 slots let a
//! client stall for over a minute before it is resynchronized; the memory this pins is at most
//! 16 frames shared by everyone. A larger buffer delays resyncs; a smaller one resyncs clients
//! on short hiccups.
//!
//! Dropping a [`Subscription`] releases its ring position (and its claims on unread slots) at
//! once. An idle subscription allocates one small boxed receive future and nothing else: its
//! backlog lives in the shared ring (measured in `docs/performance.md`).
//!
//! # Compression, resume, rate
//!
//! - [`Frame::deflated`] compresses a frame for permessage-deflate once, on first use, and
//!   every clone of the frame (every connection that gets it) shares the result;
//!   [`Frame::socket_io`] and [`Frame::socket_io_deflated`] do the same for the frame as a
//!   Socket.IO event packet ([`socket_io_packet`]).
//! - Each topic keeps its last [`HubConfig::resume_window`] batches (bounded by
//!   [`HubConfig::resume_bytes`]); [`Subscription::subscribe_resuming`] replays the ones a
//!   client missed, in the hub's [`epoch`](Hub::epoch), instead of a snapshot.
//! - [`Subscription::set_max_rate`] merges the batches that arrive too soon into one update per
//!   period, keeping references to the shared batch events until send time.
//! - A large `prices_batch` is held back while smaller frames ready at the same time go first
//!   (see [`Subscription`]'s module), and [`Hub::fanned_out`] tells a publisher when every
//!   subscriber has taken a topic's latest batch, so that the feed can publish the prices only
//!   once the index update due at the same instant is out on every connection.
//!
//! # Status frames and snapshot metadata
//!
//! - [`Hub::publish_market_status`] sends `market_status` to every subscriber (also those with
//!   no topic) and sets the hub's `live` flag from the status's `live` field.
//! - [`Hub::publish_feed_status`] sends `feed_status` to the subscribers of its topic; a
//!   client subscribing while the topic is not `ok` gets it right after the snapshot
//!   (docs/protocol.md §3).
//! - [`Hub::load`] loads closing prices or a checkpoint without publishing (no `seq`, no
//!   frame) and sets the snapshot's `source`, `trading_day`, `as_of`; [`Hub::publish`] makes
//!   the source `live` and moves `as_of`; [`Hub::set_trading_day`] and [`Hub::set_live`]
//!   set the rest.
//!
//! # Locks
//!
//! The latest values sit behind a `std::sync::RwLock` per topic, and the few other shared
//! fields behind short `std::sync::Mutex`es. No lock is ever held across an `.await`: every
//! hub method is synchronous, and a subscription only takes them inside `poll_next` for a copy
//! or a lookup. Serialization happens outside the value locks.
//!
//! # Example
//!
//! ```
//! use futures::StreamExt;
//! use market_feed::hub::{FrameKind, Hub, HubConfig};
//! use market_feed::model::{InstrumentKey, Quote, Topic};
//!
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let hub = Hub::new(HubConfig::default());
//! let key = InstrumentKey::new("NSE_INDEX|Nifty 50")?;
//! hub.set_instruments(Topic::Indices, [(key.clone(), "NIFTY 50".into())]);
//!
//! let mut sub = hub.subscribe(&[Topic::Indices], None);
//! let snapshot = sub.next().await.unwrap();
//! assert_eq!((snapshot.kind(), snapshot.seq()), (FrameKind::Snapshot, Some(0)));
//!
//! hub.publish(Topic::Indices, vec![Quote::new(key, "NIFTY 50", 25010.5, 1769680800000)])?;
//! let update = sub.next().await.unwrap();
//! assert_eq!((update.kind(), update.seq()), (FrameKind::IndicesUpdate, Some(1)));
//! assert!(update.bytes().starts_with(br#"{"event":"indices_update","seq":1,"data":[{"key":"NSE_INDEX|Nifty 50""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Bytes`]: bytes::Bytes

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::Deserialize;

mod deflate;
mod delivery;
mod event;
mod fanout;
mod feed_event;
mod filter;
mod frame;
mod history;
mod metered;
mod pending;
mod relayed;
mod shared;
mod socket_io;
mod state;
mod stats;
mod status;
mod subscription;
mod symbols;
mod ticks;
mod unread;

pub use deflate::{DEFLATE_LEVEL, MIN_DEFLATE_LEN, deflate_message, deflate_with_level};
#[cfg(test)]
pub(crate) use delivery::STALL;
pub use fanout::Hub;
pub use feed_event::{FeedEvent, Quotes};
pub use filter::{Filter, FilterResolution};
pub use frame::{Frame, FrameKind};
pub use metered::MAX_RATE_RANGE;
pub use pending::ResumeFrom;
pub use relayed::{Tap, Tapped};
pub use socket_io::socket_io_packet;
pub use state::TopicView;
pub use stats::HubStats;
pub use status::{FeedState, FeedStatus, SnapshotMeta, Source};
pub use subscription::Subscription;
pub use symbols::UnknownSymbols;

/// The largest accepted [`HubConfig::buffer`].
const MAX_BUFFER: usize = 1 << 16;

/// How the hub is sized.
///
/// ```
/// use market_feed::hub::HubConfig;
///
/// let config: HubConfig = toml::from_str("buffer = 32\nresume_window = 8")?;
/// assert_eq!((config.buffer, config.resume_window), (32, 8));
/// assert_eq!(HubConfig::default().buffer, 16);
/// assert_eq!(HubConfig::default().resume_window, 64);
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct HubConfig {
    /// Frames a subscriber may fall behind before its backlog is replaced by a snapshot
    /// (default 16; clamped to 1..=65536; the ring rounds it up to a power of two).
    pub buffer: usize,
    /// Batches kept per topic for clients that resume (default 64; 0 keeps none, so only a
    /// client already up to date resumes).
    pub resume_window: usize,
    /// The most memory, in bytes, the batches kept for resume may pin per topic (default
    /// 64 MiB; a batch counts twice its JSON size): the oldest are dropped first.
    pub resume_bytes: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            buffer: 16,
            resume_window: 64,
            resume_bytes: 64 << 20,
        }
    }
}

impl HubConfig {
    /// A configuration with the given buffer.
    ///
    /// ```
    /// # use market_feed::hub::HubConfig;
    /// assert_eq!(HubConfig::with_buffer(4).buffer, 4);
    /// ```
    pub fn with_buffer(buffer: usize) -> Self {
        Self {
            buffer,
            ..Self::default()
        }
    }

    /// This configuration keeping `batches` per topic for resume.
    ///
    /// ```
    /// # use market_feed::hub::HubConfig;
    /// assert_eq!(HubConfig::default().with_resume_window(8).resume_window, 8);
    /// ```
    pub fn with_resume_window(mut self, batches: usize) -> Self {
        self.resume_window = batches;
        self
    }

    fn normalized(mut self) -> Self {
        self.buffer = self.buffer.clamp(1, MAX_BUFFER);
        self
    }
}

/// Why the hub refused a publish.
///
/// ```
/// use market_feed::hub::{Hub, HubError};
/// let err = Hub::default().publish_market_status(&42).unwrap_err();
/// assert!(matches!(err, HubError::NotAnObject));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// A value could not be serialized to JSON.
    #[error("cannot serialize the frame to JSON: {0}; check the value's Serialize impl")]
    Serialize(#[source] serde_json::Error),
    /// A market status did not serialize to a JSON object.
    #[error("a market status must serialize to a JSON object: pass a struct or a map")]
    NotAnObject,
    /// A frame relayed from another server (a cluster leader) could not be read.
    #[error("cannot read a relayed frame: {0}; the leader runs an incompatible version?")]
    Relayed(#[source] serde_json::Error),
}

/// Locks a mutex, recovering from poisoning: hub state stays valid after a panic elsewhere,
/// since every critical section leaves it consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}
