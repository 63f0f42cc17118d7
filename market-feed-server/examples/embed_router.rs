//! The whole market-feed service inside an existing axum application.
//!
//! The application serves its own `GET /hello` and mounts everything the reference server
//! serves under `/feed`: the WebSocket feed (`/feed/ws`), the REST API (`/feed/api/v1/...`),
//! health checks, `/feed/metrics` and the dashboard (`/feed/`). It builds the library's parts
//! itself (clock, universe, hub, memory store, the simulated source and a [`Feed`]), wraps them
//! in the server's [`AppState`], and mounts [`market_feed_server::router`].
//!
//! You can run this with:
//!
//! ```text
//! cargo run -p market-feed-server --example embed_router -- --clock at:2026-01-29T10:00:00+05:30x10
//! curl http://127.0.0.1:3000/hello
//! curl http://127.0.0.1:3000/feed/api/v1/indices
//! cargo run -p market-feed-server --example terminal_client -- --url ws://127.0.0.1:3000/feed/ws
//! ```
//!
//! Options: `--listen ADDR` (default `127.0.0.1:3000`) and `--clock real|at:<RFC3339>[xSPEED]`
//! (default `real`; outside market hours the feed only loads the last closes, so use a shifted
//! clock to watch prices move). It serves until Ctrl-C, or for `EXAMPLE_RUN_SECONDS=N`
//! seconds.

use std::{error::Error, net::SocketAddr, sync::Arc, time::Duration as StdDuration};

use axum::{Router, routing::get};
use market_feed::{
    clock::{Calendar, ClockSpec, Exchange, MarketClock, TimeSource},
    feed::{Feed, Job},
    hub::Hub,
    model::Topic,
    source::{PriceSource, SimulatedSource},
    store::{MemoryStore, SnapshotStore},
    universe::{LiveUniverse, Universe, UniverseOrigin},
};
use market_feed_server::state::{AppState, Parts};
use tokio_util::sync::CancellationToken;

/// The command line.
#[derive(Debug)]
struct Options {
    listen: SocketAddr,
    clock: ClockSpec,
    /// From `EXAMPLE_RUN_SECONDS`: stop by itself after this long.
    run_for: Option<StdDuration>,
}

impl Options {
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, Box<dyn Error>> {
        let mut opts = Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            clock: ClockSpec::Real,
            run_for: None,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--listen" => {
                    let v = value()?;
                    opts.listen = v.parse().map_err(|e| {
                        format!("--listen {v:?}: {e}: give an address such as 127.0.0.1:3000")
                    })?;
                }
                "--clock" => opts.clock = value()?.parse().map_err(|e| format!("--clock: {e}"))?,
                other => {
                    return Err(format!(
                        "unknown option {other:?}: use --listen ADDR, --clock real|at:<RFC3339>[xSPEED]"
                    )
                    .into());
                }
            }
        }
        if let Ok(secs) = std::env::var("EXAMPLE_RUN_SECONDS") {
            let n: f64 = secs.parse().map_err(|_| {
                format!("EXAMPLE_RUN_SECONDS={secs:?}: give a number of seconds, such as 5")
            })?;
            opts.run_for = Some(StdDuration::try_from_secs_f64(n).map_err(|e| {
                format!("EXAMPLE_RUN_SECONDS={secs}: {e}: give a positive number of seconds")
            })?);
        }
        Ok(opts)
    }
}

/// The feed and the application built around it.
pub(crate) struct Embedded {
    /// The application: `/hello` and the service under `/feed`.
    pub(crate) app: Router,
    /// The feed, to run in the background.
    pub(crate) feed: Feed,
    /// The service's state (its shutdown token closes WebSocket clients with 1001).
    pub(crate) state: AppState,
}

/// Builds the library's parts on `clock` with the simulated source, and the application's
/// router with the whole market-feed service mounted under `/feed`.
pub(crate) async fn build(clock: MarketClock) -> Embedded {
    let universe = Universe::bundled();
    let hub = Arc::new(Hub::default());
    let store: Arc<dyn SnapshotStore> = Arc::new(MemoryStore::new());
    let source: Arc<dyn PriceSource> =
        Arc::new(SimulatedSource::new(universe.clone(), 42, clock.clone()));
    let live = LiveUniverse::new(universe.clone(), UniverseOrigin::Bundled, None);
    let feed = Feed::builder(clock.clone(), hub.clone(), store.clone())
        .job(Job::new(
            Topic::Indices,
            universe.indices().to_vec(),
            time::Duration::seconds(5),
            source.clone(),
        ))
        .job(Job::new(
            Topic::Prices,
            universe.prices().to_vec(),
            time::Duration::minutes(1),
            source.clone(),
        ))
        .universe(live.clone())
        .build();
    // Loads the stored closes, so the first snapshots show them.
    feed.prepare().await;
    let state = AppState::new(Parts {
        clock,
        hub,
        store,
        universe: live,
        feed: feed.stats(),
        sources: vec![source],
        // Open to anyone, like the reference server without --auth-token.
        access: Default::default(),
        ws: Default::default(),
        http: Default::default(),
        shutdown: CancellationToken::new(),
    });
    let app = Router::new()
        .route("/hello", get(hello))
        // axum's nest serves `/feed` and `/feed/...` but not the bare `/feed/`, where the
        // dashboard lives (the service redirects `/feed` there): serve its page.
        .route("/feed/", get(dashboard_page))
        .nest("/feed", market_feed_server::router(state.clone()));
    Embedded { app, feed, state }
}

/// The dashboard's page at `/feed/`.
async fn dashboard_page() -> axum::response::Response {
    use axum::response::IntoResponse;
    match market_feed_server::dashboard::asset("/") {
        Some((content_type, body)) => {
            ([(axum::http::header::CONTENT_TYPE, content_type)], body).into_response()
        }
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// The host application's own route.
async fn hello() -> &'static str {
    "Hello from the host application; the market feed is under /feed.\n"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let opts = Options::parse(std::env::args().skip(1))?;
    let clock = MarketClock::new(
        Arc::new(Calendar::bundled(Exchange::Nse)),
        TimeSource::from_spec(opts.clock),
    );
    let Embedded { app, feed, state } = build(clock).await;
    let shutdown = state.shutdown().clone();
    let feed_task = tokio::spawn(feed.run(shutdown.clone()));

    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}: {e}: pick another --listen",
                opts.listen
            )
        })?;
    let base = format!("http://{}", listener.local_addr()?);
    println!(
        "embed_router: serving on {base} (clock: {}, Ctrl-C to stop)",
        opts.clock
    );
    println!("  curl {base}/hello");
    println!("  curl {base}/feed/api/v1/indices");
    println!("  WebSocket: ws://{}/feed/ws", listener.local_addr()?);
    tokio::spawn(stop_on_signal(shutdown.clone(), opts.run_for));

    // Cancelling the token closes WebSocket clients with 1001 and stops the feed (which stores
    // a due end-of-day snapshot first); then the server finishes its open requests.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.cancelled().await;
        if let Err(e) = feed_task.await {
            eprintln!("embed_router: the feed task failed: {e}");
        }
    })
    .await?;
    state.hub().close();
    println!("embed_router: stopped");
    Ok(())
}

/// Cancels `token` on Ctrl-C, or after `run_for` when it is set.
async fn stop_on_signal(token: CancellationToken, run_for: Option<StdDuration>) {
    let timer = async {
        match run_for {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        r = tokio::signal::ctrl_c() => {
            if let Err(e) = r {
                eprintln!("embed_router: cannot listen for Ctrl-C ({e}); stopping");
            }
        }
        () = timer => println!("embed_router: EXAMPLE_RUN_SECONDS elapsed"),
    }
    token.cancel();
}
