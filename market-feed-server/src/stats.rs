//! Counters of the WebSocket endpoint and of HTTP connections, for `/metrics`: relaxed atomics,
//! one add per event on the hot path, read at scrape time.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use market_feed::hub::FrameKind;

/// What a server message is, for per-event counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `welcome`.
    Welcome,
    /// A hub frame (`snapshot`, `indices_update`, ...).
    Hub(FrameKind),
    /// `pong`.
    Pong,
    /// `error`.
    Error,
}

impl Event {
    /// Every event, in metrics order.
    pub const ALL: [Event; 8] = [
        Event::Welcome,
        Event::Hub(FrameKind::Snapshot),
        Event::Hub(FrameKind::IndicesUpdate),
        Event::Hub(FrameKind::PricesBatch),
        Event::Hub(FrameKind::MarketStatus),
        Event::Hub(FrameKind::FeedStatus),
        Event::Pong,
        Event::Error,
    ];

    /// The wire name.
    ///
    /// ```
    /// use market_feed_server::stats::Event;
    /// assert_eq!(Event::Welcome.name(), "welcome");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Event::Welcome => "welcome",
            Event::Hub(k) => k.event(),
            Event::Pong => "pong",
            Event::Error => "error",
        }
    }

    fn index(self) -> usize {
        Event::ALL.iter().position(|e| *e == self).unwrap_or(0)
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed or went away.
    Client,
    /// Server shutdown (1001).
    Shutdown,
    /// It accepted no bytes for the slow-consumer timeout (1008).
    SlowConsumer,
    /// It answered no heartbeat twice in a row.
    Heartbeat,
    /// It flooded the server with messages (1008).
    RateLimited,
    /// It sent a message over 16 KiB (1009).
    TooBig,
    /// A protocol or I/O error.
    Error,
}

impl CloseReason {
    /// Every reason, in metrics order.
    pub const ALL: [CloseReason; 7] = [
        CloseReason::Client,
        CloseReason::Shutdown,
        CloseReason::SlowConsumer,
        CloseReason::Heartbeat,
        CloseReason::RateLimited,
        CloseReason::TooBig,
        CloseReason::Error,
    ];

    /// The metrics label.
    ///
    /// ```
    /// use market_feed_server::ws::CloseReason;
    /// assert_eq!(CloseReason::SlowConsumer.label(), "slow_consumer");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            CloseReason::Client => "client",
            CloseReason::Shutdown => "shutdown",
            CloseReason::SlowConsumer => "slow_consumer",
            CloseReason::Heartbeat => "heartbeat",
            CloseReason::RateLimited => "rate_limited",
            CloseReason::TooBig => "too_big",
            CloseReason::Error => "error",
        }
    }
}

/// Why an upgrade was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// No or a wrong client token (401).
    Unauthorized,
    /// An origin not on the allow-list (403).
    Origin,
    /// The connection limit (503).
    Limit,
    /// Not a valid WebSocket upgrade (400).
    BadUpgrade,
}

impl Rejection {
    /// Every rejection, in metrics order.
    pub const ALL: [Rejection; 4] = [
        Rejection::Unauthorized,
        Rejection::Origin,
        Rejection::Limit,
        Rejection::BadUpgrade,
    ];

    /// The metrics label.
    ///
    /// ```
    /// use market_feed_server::ws::Rejection;
    /// assert_eq!(Rejection::Limit.label(), "limit");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            Rejection::Unauthorized => "unauthorized",
            Rejection::Origin => "origin",
            Rejection::Limit => "limit",
            Rejection::BadUpgrade => "bad_upgrade",
        }
    }
}

/// The endpoint's counters.
///
/// ```
/// use market_feed_server::ws::{Event, WsStats};
/// let s = WsStats::default();
/// s.sent(Event::Welcome, 120);
/// assert_eq!(s.frames(Event::Welcome), 1);
/// assert_eq!(s.bytes(Event::Welcome), 120);
/// ```
#[derive(Debug, Default)]
pub struct WsStats {
    open: AtomicU64,
    accepted: AtomicU64,
    frames: [AtomicU64; 8],
    bytes: [AtomicU64; 8],
    wire: [AtomicU64; 8],
    deflate_open: AtomicU64,
    closes: [AtomicU64; 7],
    rejections: [AtomicU64; 4],
    refusals: AtomicU64,
}

impl WsStats {
    /// Counts a message sent uncompressed.
    pub fn sent(&self, event: Event, bytes: usize) {
        self.sent_as(event, bytes, bytes);
    }

    /// Counts a message of `payload` bytes sent as `wire` bytes (compressed when the
    /// connection negotiated permessage-deflate).
    ///
    /// ```
    /// use market_feed_server::ws::{Event, WsStats};
    /// use market_feed::hub::FrameKind;
    /// let s = WsStats::default();
    /// s.sent_as(Event::Hub(FrameKind::PricesBatch), 400_000, 92_000);
    /// assert_eq!(s.bytes(Event::Hub(FrameKind::PricesBatch)), 400_000);
    /// assert_eq!(s.wire_bytes(Event::Hub(FrameKind::PricesBatch)), 92_000);
    /// ```
    pub fn sent_as(&self, event: Event, payload: usize, wire: usize) {
        let i = event.index();
        self.frames[i].fetch_add(1, Relaxed);
        self.bytes[i].fetch_add(payload as u64, Relaxed);
        self.wire[i].fetch_add(wire as u64, Relaxed);
    }

    /// Bytes of one event's messages as written to the sockets (compressed or not).
    ///
    /// See [`WsStats::sent_as`] for an example.
    pub fn wire_bytes(&self, event: Event) -> u64 {
        self.wire[event.index()].load(Relaxed)
    }

    /// Connections open now that negotiated permessage-deflate.
    ///
    /// ```
    /// # use market_feed_server::ws::WsStats;
    /// assert_eq!(WsStats::default().deflate_open(), 0);
    /// ```
    pub fn deflate_open(&self) -> u64 {
        self.deflate_open.load(Relaxed)
    }

    pub(crate) fn deflate_opened(&self) {
        self.deflate_open.fetch_add(1, Relaxed);
    }

    pub(crate) fn deflate_closed(&self) {
        self.deflate_open.fetch_sub(1, Relaxed);
    }

    /// Messages sent of one event.
    pub fn frames(&self, event: Event) -> u64 {
        self.frames[event.index()].load(Relaxed)
    }

    /// Bytes sent in messages of one event.
    pub fn bytes(&self, event: Event) -> u64 {
        self.bytes[event.index()].load(Relaxed)
    }

    pub(crate) fn opened(&self) {
        self.open.fetch_add(1, Relaxed);
        self.accepted.fetch_add(1, Relaxed);
    }

    pub(crate) fn closed(&self, reason: CloseReason) {
        self.open.fetch_sub(1, Relaxed);
        let i = CloseReason::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(0);
        self.closes[i].fetch_add(1, Relaxed);
    }

    pub(crate) fn rejected(&self, why: Rejection) {
        let i = Rejection::ALL.iter().position(|r| *r == why).unwrap_or(0);
        self.rejections[i].fetch_add(1, Relaxed);
    }

    pub(crate) fn refused(&self) {
        self.refusals.fetch_add(1, Relaxed);
    }

    /// Connections open now.
    pub fn open(&self) -> u64 {
        self.open.load(Relaxed)
    }

    /// Connections accepted since start.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Relaxed)
    }

    /// Connections closed for a reason.
    pub fn closes(&self, reason: CloseReason) -> u64 {
        let i = CloseReason::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(0);
        self.closes[i].load(Relaxed)
    }

    /// Upgrades refused for a reason.
    pub fn rejections(&self, why: Rejection) -> u64 {
        let i = Rejection::ALL.iter().position(|r| *r == why).unwrap_or(0);
        self.rejections[i].load(Relaxed)
    }

    /// Client messages refused with an `error` event.
    pub fn refusals(&self) -> u64 {
        self.refusals.load(Relaxed)
    }
}

/// HTTP connection counters (for `/metrics`).
///
/// ```
/// use market_feed_server::stats::HttpStats;
/// let s = HttpStats::default();
/// assert_eq!((s.over_limit(), s.header_timeouts()), (0, 0));
/// ```
#[derive(Debug, Default)]
pub struct HttpStats {
    over_limit: AtomicU64,
    header_timeouts: AtomicU64,
}

impl HttpStats {
    /// Connections refused with 503 for the HTTP connection limit.
    pub fn over_limit(&self) -> u64 {
        self.over_limit.load(Relaxed)
    }

    /// Connections closed for not completing a request head in time.
    pub fn header_timeouts(&self) -> u64 {
        self.header_timeouts.load(Relaxed)
    }

    /// Counts a connection refused for the limit.
    pub(crate) fn refused_over_limit(&self) {
        self.over_limit.fetch_add(1, Relaxed);
    }

    /// Counts a connection closed for its header timeout.
    pub(crate) fn timed_out(&self) {
        self.header_timeouts.fetch_add(1, Relaxed);
    }
}
