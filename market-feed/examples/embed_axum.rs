//! Embedding the feed in an existing axum application, next to the application's own routes.
//!
//! The application builds the library's parts itself (a [`Hub`], a snapshot store, a
//! [`SimulatedSource`] and a [`Feed`] with one job per topic), spawns `feed.run(token)`, and
//! serves, beside its own `/hello`:
//!
//! - `GET /prices/{symbol}`: the latest quote of a stock or index (by symbol or key), read
//!   with `hub.quote(...)`: `curl http://127.0.0.1:3000/prices/RELIANCE`;
//! - `GET /stream/{topic}`: Server-Sent Events carrying the hub's frames for `indices` or
//!   `prices` (a `snapshot` first, then every update, plus `market_status` and `feed_status`),
//!   straight from the `Stream` that `hub.subscribe(...)` returns; `?symbols=RELIANCE,TCS`
//!   narrows `prices`: `curl -N http://127.0.0.1:3000/stream/indices`.
//!
//! You can run this with:
//!
//! ```text
//! cargo run -p market-feed --example embed_axum
//! cargo run -p market-feed --example embed_axum -- --clock at:2026-01-29T10:00:00+05:30x10
//! cargo run -p market-feed --example embed_axum -- --listen 127.0.0.1:3001 --sqlite feed.db
//! ```
//!
//! It serves until Ctrl-C. Options: `--listen ADDR` (default `127.0.0.1:3000`), `--clock
//! real|at:<RFC3339>[x<SPEED>]` (default `real`; outside market hours the feed only loads the
//! last closing prices, so use a shifted clock to watch prices move), `--sqlite PATH` (keep
//! the end-of-day snapshots in SQLite instead of memory). With the environment variable
//! `EXAMPLE_RUN_SECONDS=N` it also stops by itself after N seconds (for smoke tests).

use std::{
    convert::Infallible, error::Error, net::SocketAddr, path::PathBuf, sync::Arc,
    time::Duration as StdDuration,
};

use axum::{
    Router,
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::{
        IntoResponse, Json, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::get,
};
use futures::{Stream, StreamExt};
use market_feed::{
    clock::{Calendar, ClockSpec, Exchange, MarketClock, TimeSource},
    feed::{Feed, Job},
    hub::{Frame, Hub},
    model::Topic,
    source::SimulatedSource,
    store::{MemoryStore, SnapshotStore, SqliteStore},
    universe::Universe,
};
use tokio_util::sync::CancellationToken;

/// The command line.
#[derive(Debug)]
struct Options {
    listen: SocketAddr,
    clock: ClockSpec,
    sqlite: Option<PathBuf>,
    /// From `EXAMPLE_RUN_SECONDS`: stop by itself after this long.
    run_for: Option<StdDuration>,
}

impl Options {
    fn parse() -> Result<Self, Box<dyn Error>> {
        let mut opts = Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            clock: ClockSpec::Real,
            sqlite: None,
            run_for: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--listen" => {
                    let v = value()?;
                    opts.listen = v
                        .parse()
                        .map_err(|e| format!("--listen {v:?}: {e}: give an address such as 127.0.0.1:3000"))?;
                }
                "--clock" => opts.clock = value()?.parse().map_err(|e| format!("--clock: {e}"))?,
                "--sqlite" => opts.sqlite = Some(PathBuf::from(value()?)),
                other => {
                    return Err(format!(
                        "unknown option {other:?}: use --listen ADDR, --clock real|at:<RFC3339>[xSPEED], --sqlite PATH"
                    )
                    .into())
                }
            }
        }
        if let Ok(secs) = std::env::var("EXAMPLE_RUN_SECONDS") {
            let secs: f64 = secs.parse().map_err(|_| {
                format!("EXAMPLE_RUN_SECONDS={secs:?}: give a number of seconds, such as 5")
            })?;
            opts.run_for = Some(StdDuration::try_from_secs_f64(secs).map_err(|e| {
                format!("EXAMPLE_RUN_SECONDS={secs}: {e}: give a positive number of seconds")
            })?);
        }
        Ok(opts)
    }
}

/// What the handlers share: the host application's own state would sit here too.
#[derive(Debug, Clone)]
struct AppState {
    hub: Hub,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let opts = Options::parse()?;

    // 1. The library's parts: clock, universe, hub, store, source, feed.
    let clock = MarketClock::new(
        Arc::new(Calendar::bundled(Exchange::Nse)),
        TimeSource::from_spec(opts.clock),
    );
    let universe = Universe::bundled();
    let hub = Hub::default();
    let store: Arc<dyn SnapshotStore> = match &opts.sqlite {
        Some(path) => Arc::new(SqliteStore::open(path.clone()).await?),
        None => Arc::new(MemoryStore::new()),
    };
    let source = Arc::new(SimulatedSource::new(universe.clone(), 42, clock.clone()));
    let feed = Feed::builder(clock.clone(), hub.clone(), store)
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
            source,
        ))
        .build();

    // 2. Run the feed in the background until the token is cancelled.
    let shutdown = CancellationToken::new();
    let feed_task = tokio::spawn(feed.run(shutdown.clone()));

    // 3. The application's router: its own routes and the feed's.
    let app = Router::new()
        .route("/hello", get(hello))
        .route("/prices/{symbol}", get(price))
        .route("/stream/{topic}", get(stream))
        .with_state(AppState { hub: hub.clone() });

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
        "embed_axum: serving on {base} (clock: {}, Ctrl-C to stop)",
        opts.clock
    );
    println!("  curl {base}/hello");
    println!("  curl {base}/prices/RELIANCE");
    println!("  curl -N {base}/stream/indices");
    println!("  curl -N '{base}/stream/prices?symbols=RELIANCE,TCS'");

    tokio::spawn(stop_on_signal(shutdown.clone(), opts.run_for));

    // 4. Shut down in order: stop the feed (it stores a due end-of-day snapshot first), then
    //    close the hub, which ends every SSE stream, so the server's graceful shutdown can
    //    finish its open responses.
    let stopping = shutdown.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            stopping.cancelled().await;
            if let Err(e) = feed_task.await {
                eprintln!("embed_axum: the feed task failed: {e}");
            }
            hub.close();
        })
        .await?;
    println!("embed_axum: stopped");
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
                eprintln!("embed_axum: cannot listen for Ctrl-C ({e}); stopping");
            }
        }
        () = timer => println!("embed_axum: EXAMPLE_RUN_SECONDS elapsed"),
    }
    token.cancel();
}

/// The host application's own route.
async fn hello() -> &'static str {
    "Hello from the host application; the market feed lives next door.\n"
}

/// `GET /prices/{symbol}`: the latest quote, in the wire form of docs/protocol.md §1.
async fn price(State(state): State<AppState>, Path(symbol): Path<String>) -> Response {
    match state.hub.quote(&symbol) {
        Some(quote) => Json(quote).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({
                "error": format!("no price for {symbol:?} yet: use a symbol such as RELIANCE or a key such as NSE_EQ|INE002A01018")
            })),
        )
            .into_response(),
    }
}

/// `GET /stream/{topic}[?symbols=A,B]`: the hub's frames as Server-Sent Events.
async fn stream(
    State(state): State<AppState>,
    Path(topic): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, (StatusCode, String)> {
    let topic: Topic = topic.parse().map_err(|_| {
        (
            StatusCode::NOT_FOUND,
            format!("unknown topic {topic:?}: use /stream/indices or /stream/prices\n"),
        )
    })?;
    let symbols: Vec<String> = query
        .iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|pair| pair.strip_prefix("symbols="))
        .flat_map(|list| list.split(','))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let filter = if symbols.is_empty() || topic != Topic::Prices {
        None
    } else {
        let resolved = state.hub.resolve_filter(&symbols);
        if !resolved.unknown.is_empty() {
            return Err((
                StatusCode::NOT_FOUND,
                format!(
                    "unknown symbols {:?}: use NSE trading symbols such as RELIANCE\n",
                    resolved.unknown
                ),
            ));
        }
        Some(resolved.filter)
    };
    // A `Subscription` is a `Stream` of ready-serialized frames: each becomes one SSE event.
    let frames = state.hub.subscribe(&[topic], filter);
    let events = frames.map(|frame| Ok(to_event(&frame)));
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// One frame as an SSE event named after the frame's `event` (`snapshot`, `indices_update`...).
fn to_event(frame: &Frame) -> Event {
    Event::default()
        .event(frame.kind().event())
        .data(String::from_utf8_lossy(frame.bytes()))
}
