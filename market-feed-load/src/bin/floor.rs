//! `market-feed-floor`: the smallest server that produces market-feed's broadcast workload.
//!
//! It accepts WebSocket upgrades on hyper 1.x, sends a `welcome` with `server_time`, then writes
//! every `indices_update` (9 quotes, every `--indices-interval`) and `prices_batch` (~2,100
//! quotes, every `--prices-interval`) to every socket: each frame is serialized once per tick and
//! the same bytes go to every connection. It never reads from a socket after the upgrade and
//! keeps no per-connection queue (a lagging connection skips ahead). It is the best any server
//! can do on this machine with this wire format.
//!
//! `--ws` picks how frames are written, to compare WebSocket crates on the same server:
//! `raw` (a pre-framed buffer written with `write_all`, the floor proper), `tungstenite`
//! (tokio-tungstenite `Message::Text` sharing one `Utf8Bytes`) or `fastwebsockets`
//! (`Frame::text` borrowing the shared payload, written with `writev`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use futures::SinkExt;
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use market_feed_load::cli::parse_duration;
use market_feed_load::workload::{DEFAULT_STOCKS, Universe, now_ms};
use tokio::io::AsyncWriteExt;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// How frames are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Writer {
    /// One pre-framed buffer (header + payload) written as is.
    Raw,
    /// tokio-tungstenite.
    Tungstenite,
    /// fastwebsockets.
    Fastwebsockets,
}

#[derive(Debug, Parser)]
#[command(
    name = "market-feed-floor",
    about = "Baseline WebSocket broadcaster of the market-feed workload."
)]
struct Options {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9001")]
    listen: SocketAddr,
    /// How frames are written.
    #[arg(long = "ws", value_enum, default_value = "raw")]
    writer: Writer,
    /// Period of `indices_update`.
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    indices_interval: Duration,
    /// Period of `prices_batch`.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    prices_interval: Duration,
    /// Stocks in a `prices_batch`.
    #[arg(long, default_value_t = DEFAULT_STOCKS)]
    stocks: usize,
    /// Runtime worker threads (default: the number of cores).
    #[arg(long)]
    workers: Option<usize>,
    /// Keep writing through hyper's `Upgraded` wrapper instead of taking the `TcpStream` back
    /// out of it (the wrapper keeps hyper's 8 KiB read buffer alive until the first read).
    #[arg(long)]
    keep_hyper_io: bool,
}

/// One broadcast frame, serialized once: the JSON text and the same text already framed.
#[derive(Debug)]
struct Prepared {
    text: Utf8Bytes,
    json: Bytes,
    framed: Bytes,
}

impl Prepared {
    fn new(json: Vec<u8>) -> Option<Arc<Self>> {
        let json = Bytes::from(json);
        let text = Utf8Bytes::try_from(json.clone()).ok()?;
        let framed = Bytes::from(frame_text(&json));
        Some(Arc::new(Self { text, json, framed }))
    }
}

/// A complete unmasked, final text frame around `payload` (RFC 6455 §5.2).
fn frame_text(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.push(0x81);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

fn welcome() -> Vec<u8> {
    format!(
        concat!(
            r#"{{"event":"welcome","protocol":1,"server_time":{},"market":{{"exchange":"NSE","phase":"open","#,
            r#""live":true,"trading_day":"2026-01-29","next_change":1769681400000,"next_phase":"closed","reason":null}}}}"#
        ),
        now_ms()
    )
    .into_bytes()
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    lagged: AtomicU64,
    write_errors: AtomicU64,
}

#[derive(Debug)]
struct State {
    writer: Writer,
    keep_hyper_io: bool,
    tx: broadcast::Sender<Arc<Prepared>>,
    counters: Counters,
}

fn main() -> ExitCode {
    let o = Options::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = o.workers {
        builder.worker_threads(n.max(1));
    }
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(run(o))
}

async fn run(o: Options) -> ExitCode {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let listener = match tokio::net::TcpListener::bind(o.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", o.listen);
            return ExitCode::from(1);
        }
    };
    let (tx, _) = broadcast::channel(16);
    let state = Arc::new(State {
        writer: o.writer,
        keep_hyper_io: o.keep_hyper_io,
        tx,
        counters: Counters::default(),
    });
    tokio::spawn(publish(
        state.clone(),
        o.indices_interval,
        o.prices_interval,
        o.stocks,
    ));
    let local = listener
        .local_addr()
        .map_or_else(|_| o.listen.to_string(), |a| a.to_string());
    eprintln!(
        "market-feed-floor ({:?}) listening on ws://{local}/ws",
        o.writer
    );
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(_) => { tokio::time::sleep(Duration::from_millis(10)).await; continue; }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| upgrade(req, state.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
    let c = &state.counters;
    eprintln!(
        "market-feed-floor: accepted {}, lagged receivers {}, write errors {}",
        c.accepted.load(Ordering::Relaxed),
        c.lagged.load(Ordering::Relaxed),
        c.write_errors.load(Ordering::Relaxed)
    );
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! { _ = term.recv() => {}, _ = tokio::signal::ctrl_c() => {} }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Serializes each tick once and hands the same bytes to every connection.
async fn publish(
    state: Arc<State>,
    indices_every: Duration,
    prices_every: Duration,
    stocks: usize,
) {
    let mut indices = Universe::indices(1);
    let mut prices = Universe::stocks(stocks, 2);
    let mut ti = tokio::time::interval(indices_every);
    let mut tp = tokio::time::interval(prices_every);
    ti.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tp.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut si, mut sp) = (0u64, 0u64);
    let mut logged = false;
    loop {
        // When both are due, the small indices frame goes first: behind a 400 KB prices frame
        // on the same socket it would wait for the whole batch.
        let (frame, is_prices) = tokio::select! {
            biased;
            _ = ti.tick() => { si += 1; (indices.tick_frame("indices_update", si, now_ms()), false) },
            _ = tp.tick() => { sp += 1; (prices.tick_frame("prices_batch", sp, now_ms()), true) },
        };
        if is_prices {
            // Every connection takes the indices frame (and writes it, a few hundred bytes)
            // before any takes the prices frame: otherwise connection k's indices wait behind
            // the prices writes of connections 1..k.
            drain(&state.tx, Duration::from_millis(100)).await;
        }
        if !logged && sp > 0 {
            eprintln!(
                "market-feed-floor: prices_batch frame {} bytes",
                frame.len()
            );
            logged = true;
        }
        if let Some(p) = Prepared::new(frame) {
            // No receivers is fine: nobody is connected yet.
            let _ = state.tx.send(p);
        }
    }
}

/// Waits (at most `limit`) until every receiver has taken every frame sent so far.
async fn drain(tx: &broadcast::Sender<Arc<Prepared>>, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while !tx.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

async fn upgrade(
    mut req: Request<Incoming>,
    state: Arc<State>,
) -> Result<Response<Empty<Bytes>>, Infallible> {
    let bad = |code| {
        let mut r = Response::new(Empty::new());
        *r.status_mut() = code;
        Ok(r)
    };
    let Some(key) = req.headers().get("sec-websocket-key") else {
        return bad(StatusCode::BAD_REQUEST);
    };
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let on_upgrade = hyper::upgrade::on(&mut req);
    let rx = state.tx.subscribe();
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        if state.keep_hyper_io {
            serve(TokioIo::new(upgraded), rx, &state).await;
            return;
        }
        // Take the TcpStream back: drops hyper's buffered-IO wrapper and its 8 KiB read
        // buffer. Bytes the client sent before the 101 (`parts.read_buf`, empty in practice)
        // are dropped with it: the floor never reads.
        match upgraded.downcast::<TokioIo<tokio::net::TcpStream>>() {
            Ok(parts) => serve(parts.io.into_inner(), rx, &state).await,
            Err(upgraded) => serve(TokioIo::new(upgraded), rx, &state).await,
        }
    });
    let mut r = Response::new(Empty::new());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("upgrade"),
    );
    h.insert(
        hyper::header::UPGRADE,
        hyper::header::HeaderValue::from_static("websocket"),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(&accept) {
        h.insert("sec-websocket-accept", v);
    }
    Ok(r)
}

/// The next frame for this connection; `None` when the publisher is gone.
async fn next(rx: &mut broadcast::Receiver<Arc<Prepared>>, state: &State) -> Option<Arc<Prepared>> {
    loop {
        match rx.recv().await {
            Ok(p) => return Some(p),
            Err(broadcast::error::RecvError::Lagged(_)) => {
                state.counters.lagged.fetch_add(1, Ordering::Relaxed);
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}

/// A connection's byte stream: the plain `TcpStream`, or hyper's `Upgraded` wrapper.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static> Io for T {}

async fn serve<S: Io>(io: S, rx: broadcast::Receiver<Arc<Prepared>>, state: &State) {
    match state.writer {
        Writer::Raw => serve_raw(io, rx, state).await,
        Writer::Tungstenite => serve_tungstenite(io, rx, state).await,
        Writer::Fastwebsockets => {
            let ws = fastwebsockets::WebSocket::after_handshake(io, fastwebsockets::Role::Server);
            serve_fastwebsockets(ws, rx, state).await;
        }
    }
}

async fn serve_raw<S: Io>(mut io: S, mut rx: broadcast::Receiver<Arc<Prepared>>, state: &State) {
    state.counters.accepted.fetch_add(1, Ordering::Relaxed);
    if io.write_all(&frame_text(&welcome())).await.is_err() {
        return;
    }
    while let Some(p) = next(&mut rx, state).await {
        if io.write_all(&p.framed).await.is_err() {
            state.counters.write_errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
}

async fn serve_tungstenite<S: Io>(
    io: S,
    mut rx: broadcast::Receiver<Arc<Prepared>>,
    state: &State,
) {
    state.counters.accepted.fetch_add(1, Ordering::Relaxed);
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(16 << 10));
    let mut ws =
        tokio_tungstenite::WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
    let Ok(w) = String::from_utf8(welcome()) else {
        return;
    };
    if ws.send(Message::text(w)).await.is_err() {
        return;
    }
    while let Some(p) = next(&mut rx, state).await {
        if ws.send(Message::Text(p.text.clone())).await.is_err() {
            state.counters.write_errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
}

async fn serve_fastwebsockets<S: Io>(
    mut ws: fastwebsockets::WebSocket<S>,
    mut rx: broadcast::Receiver<Arc<Prepared>>,
    state: &State,
) {
    use fastwebsockets::{Frame, Payload};
    state.counters.accepted.fetch_add(1, Ordering::Relaxed);
    let w = welcome();
    if ws
        .write_frame(Frame::text(Payload::Borrowed(&w)))
        .await
        .is_err()
    {
        return;
    }
    while let Some(p) = next(&mut rx, state).await {
        if ws
            .write_frame(Frame::text(Payload::Borrowed(&p.json)))
            .await
            .is_err()
        {
            state.counters.write_errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_use_the_three_length_encodings() {
        assert_eq!(frame_text(b"hi"), vec![0x81, 2, b'h', b'i']);
        let f = frame_text(&[b'a'; 300]);
        assert_eq!(&f[..4], &[0x81, 126, 1, 44]);
        let f = frame_text(&vec![b'a'; 70_000]);
        assert_eq!(&f[..10], &[0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
        assert_eq!(f.len(), 70_010);
    }

    #[test]
    fn the_welcome_carries_the_server_time() {
        let v: serde_json::Value = serde_json::from_slice(&welcome()).unwrap();
        assert_eq!(v["event"], "welcome");
        assert!(v["server_time"].as_i64().unwrap() > 1_700_000_000_000);
    }
}
