//! Wiring: from a validated [`Config`] to a running server, and an orderly shutdown.
//!
//! [`App::build`] loads the universe, opens the store, chooses the sources, and builds the
//! hub, the feed and the shared state; [`App::run`] serves until the shutdown future completes,
//! then closes every WebSocket with 1001, stops the feed (which stores a due end-of-day
//! snapshot first) and returns.

use std::{future::Future, sync::Arc, time::Duration as StdDuration};

use market_feed::{
    clock::MarketClock,
    cluster::{ClusterNode, LeaseGuard, LeasedSource, LeasedStream},
    feed::{Feed, Job, StreamJob},
    hub::{Hub, HubConfig},
    model::Topic,
    source::{
        PriceSource, PriceStream, SimulatedSource,
        replay::{DemoDay, ReplayStream},
        upstox::{TokenProvider, UpstoxConfig, UpstoxSource},
    },
    store::{self, SnapshotStore},
    universe::{
        Instrument, LiveUniverse, Universe, UniverseOrigin, UniverseRefresher,
        upstox::{InstrumentFile, InstrumentFileConfig},
    },
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    access::Access,
    config::{Config, SourceKind, UniverseChoice},
    settings::{HttpSettings, WsSettings},
    state::{AppState, Parts},
};

pub use crate::start_error::StartError;

/// A built server, ready to run.
#[derive(Debug)]
pub struct App {
    state: AppState,
    feed: Feed,
    listener: TcpListener,
    calendar: Arc<market_feed::reference::CalendarRefresher>,
    refresher: Option<UniverseRefresher>,
    /// `--cluster`: the node that runs the feed only while it leads.
    cluster: Option<ClusterNode>,
}

impl App {
    /// Builds everything from the configuration and binds the listener.
    ///
    /// # Errors
    /// [`StartError::Config`] for a bad universe file; [`StartError::Fatal`] for a store that
    /// cannot be opened or an address that cannot be bound.
    pub async fn build(config: &Config) -> Result<Self, StartError> {
        // A bad universe file is a configuration error, reported before the store is opened.
        let fixed = load_fixed_universe(config).await?;
        let store = store::open(&config.store).await.map_err(|e| {
            StartError::Fatal(format!("error: --store: {}", market_feed::Report::new(&e)))
        })?;
        let clock = config.clock.clone();
        // The stored and fresh broker holiday lists before the feed plans its first day.
        // In a cluster every broker call is guarded by the lease: none leaves a node whose
        // lease deadline has passed.
        let guard = LeaseGuard::default();
        let cluster_guard = config.cluster.as_ref().map(|_| &guard);
        let calendar = crate::calendar_refresh::build(config, &store, cluster_guard)?;
        calendar.start().await;
        let (live, refresher) = match fixed {
            Some(live) => (live, None),
            None => {
                let refresher = upstox_universe(config, store.clone(), &clock).await?;
                (refresher.live().clone(), Some(refresher))
            }
        };
        // A replay serves exactly the recorded stocks and the indices derived from them.
        let live = if config.source.kind.is_replay() {
            let base = live.current();
            let universe = crate::demo::universe(&base).map_err(|e| {
                StartError::Fatal(format!("error: the bundled recording is unreadable: {e}"))
            })?;
            LiveUniverse::new(universe, live.origin(), None)
        } else {
            live
        };
        let universe = live.current();
        let hub = Arc::new(Hub::new(
            HubConfig::default().with_resume_window(config.resume_window),
        ));
        let (indices, prices, stream) = sources(config, &universe, &clock)?;
        let (indices, prices, stream) = match &config.cluster {
            Some(_) => {
                let leased = |s: Arc<dyn PriceSource>| -> Arc<dyn PriceSource> {
                    Arc::new(LeasedSource::new(s, guard.clone()))
                };
                let stream = stream.map(|s| -> Arc<dyn PriceStream> {
                    Arc::new(LeasedStream::new(s, guard.clone()))
                });
                (leased(indices), leased(prices), stream)
            }
            None => (indices, prices, stream),
        };
        if let Some(stream) = &stream {
            let all: Vec<Instrument> = universe.iter().map(|(_, i)| i.clone()).collect();
            stream
                .check(&all)
                .map_err(|e| StartError::Config(format!("--source upstox-stream: {e}")))?;
        }
        let job_sources = vec![indices.clone(), prices.clone()];
        tracing::info!(
            source = config.source.kind.as_str(),
            "price source: {} ({})",
            config.source.kind.as_str(),
            config.source.reason
        );
        let interval =
            |d: StdDuration| time::Duration::try_from(d).unwrap_or(time::Duration::seconds(5));
        let price_instruments: Vec<Instrument> = universe.prices().to_vec();
        let feed = Feed::builder(clock.clone(), hub.clone(), store.clone())
            .job(Job::new(
                Topic::Indices,
                universe.indices().to_vec(),
                interval(config.indices_interval),
                indices,
            ))
            .job(Job::new(
                Topic::Prices,
                price_instruments,
                interval(config.prices_interval),
                prices,
            ))
            .checkpoint_interval(interval(config.checkpoint_interval))
            .retention(config.retention_days)
            .universe(live.clone());
        let feed = match stream {
            Some(stream) => feed.stream(stream_job(config, stream)),
            None => feed,
        };
        // A demo stores nothing for the day before the one it replays.
        let feed = match (config.demo, replay_day()) {
            (true, Some(day)) => feed.first_day(day),
            _ => feed,
        }
        .build();
        // Load the stored closes before accepting clients: the first snapshots show them.
        feed.prepare().await;
        if config.demo {
            crate::demo::announce_and_seed(&clock, &universe, &hub).map_err(|e| {
                StartError::Fatal(format!("error: the bundled recording is unreadable: {e}"))
            })?;
        }
        let cluster = match &config.cluster {
            Some(settings) => Some(
                crate::cluster::join(settings, hub.clone(), feed.clone(), guard.clone()).await?,
            ),
            None => None,
        };
        let listener = TcpListener::bind(config.listen).await.map_err(|e| {
            StartError::Fatal(format!(
                "error: --listen: cannot listen on {}: {e}",
                config.listen
            ))
        })?;
        let state = AppState::new(Parts {
            clock,
            hub,
            store: store.clone(),
            universe: live,
            feed: feed.stats(),
            sources: job_sources,
            access: Access::new(
                config.auth_tokens.clone(),
                config.allowed_origins.clone(),
                config.cors_origins.clone(),
            ),
            ws: WsSettings {
                max_connections: config.max_connections,
                heartbeat: config.heartbeat_interval,
                slow_consumer_timeout: config.slow_consumer_timeout,
                ..WsSettings::default()
            },
            http: HttpSettings {
                header_timeout: config.header_timeout,
                max_connections: config.max_http_connections,
                replay_of: if config.demo { replay_day() } else { None },
            },
            shutdown: CancellationToken::new(),
        });
        if let Some(node) = &cluster {
            state.set_cluster(node.stats());
        }
        Ok(Self {
            state,
            feed,
            listener,
            calendar,
            refresher,
            cluster,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// The shared state (for tests and embedding).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then shuts down in order: WebSocket clients get
    /// 1001, the feed stops (storing a due end-of-day snapshot first), open HTTP requests
    /// drain.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let App {
            state,
            feed,
            listener,
            calendar,
            refresher,
            cluster,
        } = self;
        if state.access().requires_token() {
            tracing::info!(
                "client auth: on: /ws, /api/* and the compatibility paths need a configured token"
            );
        } else {
            tracing::info!(
                "client auth: off (no --auth-token): /ws and /api/* are open to anyone who can connect"
            );
        }
        let stop = state.shutdown().clone();
        let calendar_task = tokio::spawn(calendar.run_daily(stop.clone()));
        // In a cluster the node runs the feed while it leads, and relays the leader's otherwise.
        let feed_task = match cluster {
            Some(node) => tokio::spawn(node.run(stop.clone())),
            None => tokio::spawn(feed.run(stop.clone())),
        };
        let universe_task = refresher.map(|r| tokio::spawn(r.run(stop.clone())));
        let replay_task = if state.http().replay_of.is_some() {
            crate::demo::spawn_end_of_replay(state.clock())
        } else {
            None
        };
        let serving = crate::server::serve(listener, state.clone(), async move {
            shutdown.await;
            stop.cancel();
        });
        serving.await;
        state.tasks().close();
        if tokio::time::timeout(StdDuration::from_secs(5), state.tasks().wait())
            .await
            .is_err()
        {
            tracing::warn!("some WebSocket connections did not close within 5 s");
        }
        if let Err(e) = feed_task.await {
            tracing::error!(error = %e, "the feed task failed");
        }
        calendar_task.abort();
        if let Some(task) = replay_task {
            task.abort();
        }
        if let Some(task) = universe_task {
            // Stops at its next await on shutdown; a download in flight is abandoned.
            task.abort();
        }
        state.hub().close();
    }
}

/// The universe the configuration names: fixed (bundled, a file), or from Upstox's instrument
/// file with its refresher (the download at start-up, else the stored copy, else the bundled
/// list). For `check`: `load_universe(..).await?.0.report()` says which is used and why.
///
/// # Errors
/// [`StartError::Config`] for a bad universe file or assets URL.
pub async fn load_universe(
    config: &Config,
    store: Arc<dyn SnapshotStore>,
    clock: &MarketClock,
) -> Result<(LiveUniverse, Option<UniverseRefresher>), StartError> {
    match load_fixed_universe(config).await? {
        Some(live) => Ok((live, None)),
        None => {
            let refresher = upstox_universe(config, store, clock).await?;
            Ok((refresher.live().clone(), Some(refresher)))
        }
    }
}

/// The bundled or file universe; `None` for `--universe upstox`.
async fn load_fixed_universe(config: &Config) -> Result<Option<LiveUniverse>, StartError> {
    match config.universe.clone() {
        UniverseChoice::Bundled => Ok(Some(LiveUniverse::new(
            Universe::bundled(),
            UniverseOrigin::Bundled,
            None,
        ))),
        UniverseChoice::File(path) => {
            let universe = tokio::task::spawn_blocking(move || Universe::from_path(&path))
                .await
                .map_err(|e| StartError::Fatal(format!("error: loading the universe failed: {e}")))?
                .map_err(|e| StartError::Config(format!("--universe: {e}")))?;
            Ok(Some(LiveUniverse::new(
                universe,
                UniverseOrigin::File,
                None,
            )))
        }
        UniverseChoice::Upstox => Ok(None),
    }
}

async fn upstox_universe(
    config: &Config,
    store: Arc<dyn SnapshotStore>,
    clock: &MarketClock,
) -> Result<UniverseRefresher, StartError> {
    let file = InstrumentFile::new(InstrumentFileConfig {
        assets_url: config.upstox_assets_url.clone(),
        ..InstrumentFileConfig::default()
    })
    .map_err(|e| StartError::Config(format!("--upstox-assets-url: {e}")))?;
    Ok(UniverseRefresher::start_up(file, store, clock.clone()).await)
}

/// The indices' and stocks' poll sources, and the stream with `--source upstox-stream`.
type Sources = (
    Arc<dyn PriceSource>,
    Arc<dyn PriceSource>,
    Option<Arc<dyn PriceStream>>,
);

/// The Upstox source of the configuration (token from the file, else the variable).
pub(crate) fn upstox_source(
    config: &Config,
    clock: &MarketClock,
) -> Result<UpstoxSource, StartError> {
    // The file wins over the token the configuration read from UPSTOX_ACCESS_TOKEN.
    let tokens = match (&config.upstox.token_file, &config.upstox.token) {
        (None, Some(token)) => TokenProvider::fixed(token.expose()),
        (file, _) => TokenProvider::resolve(file.as_deref()),
    }
    .map_err(|e| StartError::Config(format!("upstox token: {e}")))?;
    UpstoxSource::new(
        UpstoxConfig {
            base_url: config.upstox.base_url.clone(),
            ..UpstoxConfig::default()
        },
        tokens,
        clock.clone(),
    )
    .map_err(|e| StartError::Config(e.to_string()))
}

fn sources(
    config: &Config,
    universe: &Universe,
    clock: &MarketClock,
) -> Result<Sources, StartError> {
    match config.source.kind {
        SourceKind::Upstox => {
            // The feed gives each job its own deadline, derived from the job's interval.
            let upstox: Arc<dyn PriceSource> = Arc::new(upstox_source(config, clock)?);
            Ok((upstox.clone(), upstox, None))
        }
        SourceKind::UpstoxStream => {
            // One token and rate limiter for the polls and the stream's authorize calls.
            let rest = upstox_source(config, clock)?;
            let stream: Arc<dyn PriceStream> = Arc::new(rest.stream());
            let upstox: Arc<dyn PriceSource> = Arc::new(rest);
            Ok((upstox.clone(), upstox, Some(stream)))
        }
        SourceKind::Simulated => {
            let sim: Arc<dyn PriceSource> =
                Arc::new(SimulatedSource::new(universe.clone(), 2026, clock.clone()));
            Ok((sim.clone(), sim, None))
        }
        kind @ (SourceKind::Replay | SourceKind::ReplayStream) => {
            // Each index is derived from its own members' replayed quotes.
            let demo = DemoDay::bundled().map_err(|e| {
                StartError::Fatal(format!("error: the bundled recording is unreadable: {e}"))
            })?;
            let (indices, stocks) = demo.sources(universe, clock);
            let stream = (kind == SourceKind::ReplayStream).then(|| {
                Arc::new(ReplayStream::new(indices.clone(), stocks.clone())) as Arc<dyn PriceStream>
            });
            Ok((indices, stocks, stream))
        }
    }
}

/// The stream's job: both topics; the polls it pauses while it is up, and its stall watchdog.
fn stream_job(config: &Config, stream: Arc<dyn PriceStream>) -> StreamJob {
    let every = time::Duration::try_from(config.stream_interval).unwrap_or(time::Duration::SECOND);
    let job = StreamJob::new(stream, [Topic::Indices, Topic::Prices]).interval(every);
    if config.source.kind == SourceKind::ReplayStream {
        // The replay carries volume too: no poll while it plays. It ticks every 500 ms of real
        // time, which the demo clock's speed (up to ~60x in the session) makes half a minute
        // of clock time: its watchdog allows half an hour.
        let mut job = job.pause_polls([Topic::Indices, Topic::Prices]);
        job.stall_after = time::Duration::minutes(30);
        job
    } else {
        // Indices come from the stream while it is up; stocks keep their REST poll.
        job.pause_polls([Topic::Indices])
    }
}

/// The day the bundled recording replays.
fn replay_day() -> Option<time::Date> {
    DemoDay::bundled().ok().map(|d| d.day())
}
