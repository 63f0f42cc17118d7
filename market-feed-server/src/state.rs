//! [`AppState`]: what every request handler and connection shares.

use std::sync::Arc;

use market_feed::{
    clock::MarketClock,
    cluster::ClusterStats,
    feed::FeedStats,
    hub::Hub,
    source::{MissingInstrument, PriceSource},
    store::SnapshotStore,
    universe::{LiveUniverse, Universe, UniverseOrigin},
};
use tokio::sync::Semaphore;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    access::Access,
    closing_cache::ClosingCache,
    settings::{HttpSettings, WsSettings},
    stats::{HttpStats, WsStats},
};

/// The server's shared state; cheap to clone.
///
/// ```
/// use market_feed_server::state::AppState;
/// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
/// assert!(state.clock().now_ms() > 0);
/// ```
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    clock: MarketClock,
    hub: Arc<Hub>,
    store: Arc<dyn SnapshotStore>,
    universe: LiveUniverse,
    feed: Arc<FeedStats>,
    sources: Vec<Arc<dyn PriceSource>>,
    access: Access,
    ws: WsSettings,
    ws_stats: WsStats,
    connections: Arc<Semaphore>,
    http: HttpSettings,
    http_connections: Arc<Semaphore>,
    http_stats: HttpStats,
    closing: ClosingCache,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    /// `--cluster`: this node's view of its cluster (unset: standalone).
    cluster: std::sync::OnceLock<Arc<ClusterStats>>,
}

/// The parts an [`AppState`] is made of.
#[derive(Debug)]
pub struct Parts {
    /// The market clock.
    pub clock: MarketClock,
    /// The broadcast hub.
    pub hub: Arc<Hub>,
    /// The snapshot store.
    pub store: Arc<dyn SnapshotStore>,
    /// The instruments served (and a successor staged for the next session, if any).
    pub universe: LiveUniverse,
    /// The feed's counters (readiness, metrics).
    pub feed: Arc<FeedStats>,
    /// The price sources of the jobs (for the instruments they cannot quote).
    pub sources: Vec<Arc<dyn PriceSource>>,
    /// Client tokens, origins and CORS.
    pub access: Access,
    /// WebSocket limits and heartbeat.
    pub ws: WsSettings,
    /// HTTP connection limits.
    pub http: HttpSettings,
    /// Cancelled on shutdown: connections close with 1001.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// State from its parts.
    ///
    /// ```
    /// # use market_feed_server::state::AppState;
    /// let _ = AppState::for_tests(market_feed::clock::MarketClock::system());
    /// ```
    pub fn new(parts: Parts) -> Self {
        // The configuration keeps limits within what a semaphore holds; `min` keeps this total.
        let limit = |n: usize| Arc::new(Semaphore::new(n.min(Semaphore::MAX_PERMITS)));
        let connections = limit(parts.ws.max_connections);
        let http_connections = limit(parts.http.max_connections);
        Self {
            inner: Arc::new(Inner {
                clock: parts.clock,
                hub: parts.hub,
                store: parts.store,
                universe: parts.universe,
                feed: parts.feed,
                sources: parts.sources,
                access: parts.access,
                ws: parts.ws,
                ws_stats: WsStats::default(),
                connections,
                http: parts.http,
                http_connections,
                http_stats: HttpStats::default(),
                closing: ClosingCache::default(),
                shutdown: parts.shutdown,
                tasks: TaskTracker::new(),
                cluster: std::sync::OnceLock::new(),
            }),
        }
    }

    /// A state with an empty hub, a memory store, the bundled universe and default settings.
    ///
    /// ```
    /// # use market_feed_server::state::AppState;
    /// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
    /// assert!(!state.universe().is_empty());
    /// ```
    pub fn for_tests(clock: MarketClock) -> Self {
        Self::new(Parts {
            clock,
            hub: Arc::new(Hub::default()),
            store: Arc::new(market_feed::store::MemoryStore::new()),
            universe: LiveUniverse::new(Universe::bundled(), UniverseOrigin::Bundled, None),
            feed: Arc::new(FeedStats::default()),
            sources: Vec::new(),
            access: Access::default(),
            ws: WsSettings::default(),
            http: HttpSettings::default(),
            shutdown: CancellationToken::new(),
        })
    }

    /// The market clock.
    ///
    /// ```
    /// # use market_feed_server::state::AppState;
    /// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
    /// let _status = state.clock().status();
    /// ```
    pub fn clock(&self) -> &MarketClock {
        &self.inner.clock
    }

    /// The hub.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.inner.hub
    }

    /// The snapshot store.
    pub fn store(&self) -> &Arc<dyn SnapshotStore> {
        &self.inner.store
    }

    /// The instruments served now (a cheap copy: a new universe applies at the next session).
    pub fn universe(&self) -> Universe {
        self.inner.universe.current()
    }

    /// The served universe with its origin, fetch time and staged changes.
    ///
    /// ```
    /// # use market_feed_server::state::AppState;
    /// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
    /// assert_eq!(state.live_universe().origin().as_str(), "bundled");
    /// ```
    pub fn live_universe(&self) -> &LiveUniverse {
        &self.inner.universe
    }

    /// The feed's counters.
    pub fn feed(&self) -> &FeedStats {
        &self.inner.feed
    }

    /// Makes this server a cluster node (`--cluster`): `/api/v1/cluster`, `/readyz` and
    /// `/metrics` report `stats`. Only the first call counts.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use market_feed_server::state::AppState;
    /// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
    /// assert!(state.cluster().is_none());
    /// state.set_cluster(Arc::new(market_feed::cluster::ClusterStats::new("c", "a")));
    /// assert_eq!(state.cluster().map(|c| c.node()), Some("a"));
    /// ```
    pub fn set_cluster(&self, stats: Arc<ClusterStats>) {
        let _ = self.inner.cluster.set(stats);
    }

    /// This node's view of its cluster; `None` when standalone.
    ///
    /// See [`AppState::set_cluster`] for an example.
    pub fn cluster(&self) -> Option<&Arc<ClusterStats>> {
        self.inner.cluster.get()
    }

    /// Whether `/readyz` says ready: standalone, the feed's start-up is done; in a cluster, the
    /// node has loaded the cluster's latest values.
    ///
    /// ```
    /// # use market_feed_server::state::AppState;
    /// assert!(!AppState::for_tests(market_feed::clock::MarketClock::system()).is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        match self.cluster() {
            Some(cluster) => cluster.is_ready(),
            None => self.feed().is_ready(),
        }
    }

    /// The instruments the sources cannot quote now (unknown to the broker, or without a
    /// price), by symbol, each key once.
    ///
    /// ```
    /// # use market_feed_server::state::AppState;
    /// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
    /// assert!(state.missing_instruments().is_empty());
    /// ```
    pub fn missing_instruments(&self) -> Vec<MissingInstrument> {
        let mut all: Vec<MissingInstrument> = self
            .inner
            .sources
            .iter()
            .flat_map(|s| s.missing())
            .collect();
        all.sort_by(|a, b| a.symbol.cmp(&b.symbol).then(a.key.cmp(&b.key)));
        all.dedup_by(|a, b| a.key == b.key);
        all
    }

    /// Access rules.
    pub fn access(&self) -> &Access {
        &self.inner.access
    }

    /// WebSocket settings.
    pub fn ws(&self) -> &WsSettings {
        &self.inner.ws
    }

    /// WebSocket counters.
    pub fn ws_stats(&self) -> &WsStats {
        &self.inner.ws_stats
    }

    /// The connection-limit semaphore.
    pub fn connections(&self) -> &Arc<Semaphore> {
        &self.inner.connections
    }

    /// HTTP connection limits.
    pub fn http(&self) -> &HttpSettings {
        &self.inner.http
    }

    /// The HTTP connection-limit semaphore (connections before their upgrade).
    pub fn http_connections(&self) -> &Arc<Semaphore> {
        &self.inner.http_connections
    }

    /// The cache of `/api/v1/closing` answers.
    pub fn closing_cache(&self) -> &ClosingCache {
        &self.inner.closing
    }

    /// HTTP connection counters.
    pub fn http_stats(&self) -> &HttpStats {
        &self.inner.http_stats
    }

    /// The shutdown token.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    /// Tracks WebSocket connection tasks, so shutdown can wait for their close frames.
    pub fn tasks(&self) -> &TaskTracker {
        &self.inner.tasks
    }
}
