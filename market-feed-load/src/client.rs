//! One measuring connection: connect, read the welcome (clock offset), subscribe, then account for
//! every frame until told to stop. Speaks market-feed's protocol or Socket.IO (Engine.IO v4 over
//! WebSocket; `polling` does long-polling).
//!
//! Latency of a batch = local receive time of the whole message, corrected by the server's clock
//! offset, minus the `ts` of the batch's first quote. The simulated source and the floor stamp
//! every quote of a batch with one instant, so first, max and min `ts` coincide there.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use crate::deflate_ws::{DeflateWs, Incoming};
use crate::inflated::Inflated;
use crate::scan::{int_field, socketio_event, str_field};
use crate::stats::{ConnStats, Outcome, event_index, topic_index};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Measuring phases, shared by all connections.
pub(crate) const WARMUP: u8 = 0;
pub(crate) const RECORDING: u8 = 1;
pub(crate) const DONE: u8 = 2;

/// The state all connections share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// [`WARMUP`], [`RECORDING`] or [`DONE`].
    pub(crate) phase: AtomicU8,
    /// The best estimate of server clock minus local clock, µs: the largest welcome offset seen
    /// (the welcome that travelled fastest).
    pub(crate) skew_us: AtomicI64,
    /// Connections that are established or have failed.
    pub(crate) settled: AtomicUsize,
    /// Stops every connection.
    pub(crate) cancel: CancellationToken,
    /// Cancelled mid-window: the connections chosen by `--resume` drop and resume then.
    pub(crate) drop_now: CancellationToken,
}

/// What every connection does.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) url: String,
    pub(crate) socketio: bool,
    /// Socket.IO on the long-polling transport (run by `polling::run` instead of [`run`]).
    pub(crate) polling: bool,
    pub(crate) connect_timeout: Duration,
    pub(crate) read_buffer: usize,
    /// Offer permessage-deflate (own client; market-feed protocol only).
    pub(crate) deflate: bool,
    /// The texts the `--deflate` connections share (`None`: `--inflate-each`).
    pub(crate) inflated: Option<Arc<Inflated>>,
    /// How long a dropping connection (`--resume`) stays away before it reconnects.
    pub(crate) resume_gap: Duration,
}

pub(crate) fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Runs one connection to completion and returns what it saw.
pub(crate) async fn run(
    plan: Arc<Plan>,
    subscribe: String,
    shared: Arc<Shared>,
    drops: bool,
) -> ConnStats {
    if plan.deflate {
        return run_deflate(plan, subscribe, shared).await;
    }

    let started = Instant::now();
    let setup = tokio::time::timeout(plan.connect_timeout, establish(&plan, &subscribe));
    let result = tokio::select! {
        r = setup => r.unwrap_or_else(|_| Err("timeout: no welcome within the connect timeout".to_string())),
        () = shared.cancel.cancelled() => Err("stopped before established".to_string()),
    };
    shared.settled.fetch_add(1, Ordering::Relaxed);
    let (mut ws, offset_us, mut epoch) = match result {
        Ok(ok) => ok,
        Err(reason) => return ConnStats::failed(reason),
    };
    let mut stats = ConnStats::failed(String::new());
    stats.connect_us = Some(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
    stats.offset_us = Some(offset_us);
    shared.skew_us.fetch_max(offset_us, Ordering::Relaxed);
    let mut drops = drops && !plan.socketio;
    // Per topic: the first frame after a resume is still to be classified.
    let mut resuming = [false; 2];
    stats.outcome = loop {
        let msg = tokio::select! {
            biased;
            () = shared.cancel.cancelled() => break Outcome::Open,
            () = shared.drop_now.cancelled(), if drops => {
                drops = false;
                drop(ws);
                tokio::time::sleep(plan.resume_gap).await;
                let again = resume_message(&subscribe, &epoch, &stats);
                match tokio::time::timeout(plan.connect_timeout, establish(&plan, &again)).await {
                    Ok(Ok((w, _, e))) => {
                        ws = w;
                        epoch = e;
                        stats.resumes += 1;
                        resuming = [true; 2];
                        continue;
                    }
                    Ok(Err(e)) => break Outcome::Closed(format!("resume: {e}")),
                    Err(_) => break Outcome::Closed("resume: timeout".into()),
                }
            }
            m = ws.next() => m,
        };
        match msg {
            Some(Ok(Message::Text(t))) if !plan.socketio && resuming.contains(&true) => {
                let f = t.as_bytes();
                let name = str_field(f, "event").unwrap_or_default();
                classify_resume(&mut stats, &mut resuming, name, f);
                account(&mut stats, &shared, name, f, f.len());
            }
            Some(Ok(Message::Text(t))) => {
                if plan.socketio {
                    match t.as_bytes() {
                        b"2" => {
                            if let Err(e) = ws.send(Message::text("3")).await {
                                break Outcome::Closed(format!("write: {e}"));
                            }
                        }
                        b"1" | b"41" => break Outcome::Closed("socket.io disconnect".into()),
                        p => match socketio_event(p) {
                            Some((name, rest)) => {
                                account(&mut stats, &shared, name, rest, rest.len());
                            }
                            None => count_other(&mut stats, &shared, p.len()),
                        },
                    }
                } else {
                    let f = t.as_bytes();
                    let name = str_field(f, "event").unwrap_or_default();
                    account(&mut stats, &shared, name, f, f.len());
                }
            }
            Some(Ok(Message::Close(frame))) => {
                let why = frame.map_or_else(
                    || "close frame".to_string(),
                    |f| format!("close {}", f.code),
                );
                break Outcome::Closed(why);
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => break Outcome::Closed(format!("read: {e}")),
            None => break Outcome::Closed("eof".into()),
        }
    };
    stats
}

pub(crate) fn count_other(stats: &mut ConnStats, shared: &Shared, len: usize) {
    if shared.phase.load(Ordering::Relaxed) == RECORDING {
        stats.other_msgs += 1;
        stats.other_bytes += len as u64;
    }
}

/// Like [`run`], over [`DeflateWs`] (`--deflate`): offers permessage-deflate and counts each
/// message's wire bytes next to its inflated bytes.
async fn run_deflate(plan: Arc<Plan>, subscribe: String, shared: Arc<Shared>) -> ConnStats {
    let started = Instant::now();
    let setup = async {
        let mut ws = DeflateWs::connect(&plan.url, plan.read_buffer, plan.inflated.clone()).await?;
        if !ws.negotiated {
            return Err("the server did not accept permessage-deflate".to_string());
        }
        let welcome = loop {
            match ws.next().await? {
                Incoming::Text { text, .. } if str_field(&text, "event") == Some(b"welcome") => {
                    break text;
                }
                Incoming::Text { .. } => {}
                Incoming::Close(code) => return Err(format!("closed during handshake: {code:?}")),
            }
        };
        let arrived = now_us();
        let server_time = int_field(&welcome, "server_time")
            .ok_or_else(|| "welcome without server_time".to_string())?;
        ws.send_text(&subscribe).await?;
        Ok((ws, server_time.saturating_mul(1000).saturating_sub(arrived)))
    };
    let (mut ws, mut stats) = match settle(&plan, &shared, started, setup).await {
        Ok(ok) => ok,
        Err(failed) => return failed,
    };
    stats.outcome = loop {
        let msg = tokio::select! {
            biased;
            () = shared.cancel.cancelled() => break Outcome::Open,
            m = ws.next() => m,
        };
        match msg {
            Ok(Incoming::Text { text, wire }) => {
                let name = str_field(&text, "event").unwrap_or_default();
                account(&mut stats, &shared, name, &text, wire);
            }
            Ok(Incoming::Close(code)) => break Outcome::Closed(format!("close {code:?}")),
            Err(e) => break Outcome::Closed(e),
        }
    };
    stats
}

/// Waits for a connection's `setup` (its socket and clock offset) within the connect timeout,
/// unless the run stops first; counts the connection as settled and starts its statistics
/// (connect time, offset, the run's skew). `Err`: the statistics of a failed connection.
pub(crate) async fn settle<T>(
    plan: &Plan,
    shared: &Shared,
    started: Instant,
    setup: impl std::future::Future<Output = Result<(T, i64), String>>,
) -> Result<(T, ConnStats), ConnStats> {
    let setup = tokio::time::timeout(plan.connect_timeout, setup);
    let result = tokio::select! {
        r = setup => r.unwrap_or_else(|_| Err("timeout: no welcome within the connect timeout".to_string())),
        () = shared.cancel.cancelled() => Err("stopped before established".to_string()),
    };
    shared.settled.fetch_add(1, Ordering::Relaxed);
    let (conn, offset_us) = result.map_err(ConnStats::failed)?;
    let mut stats = ConnStats::failed(String::new());
    stats.connect_us = Some(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
    stats.offset_us = Some(offset_us);
    shared.skew_us.fetch_max(offset_us, Ordering::Relaxed);
    Ok((conn, stats))
}

/// Accounts for one event frame: `frame` holds the event's fields (`seq`, `data`, ...); `wire`
/// is its size on the wire.
pub(crate) fn account(
    stats: &mut ConnStats,
    shared: &Shared,
    name: &[u8],
    frame: &[u8],
    wire: usize,
) {
    let Some(i) = event_index(name) else {
        if name == b"snapshot" {
            if let Some(t) = str_field(frame, "topic").and_then(topic_index) {
                stats.events[t].see_snapshot(int_field(frame, "seq"));
            }
        }
        count_other(stats, shared, frame.len());
        return;
    };
    let e = &mut stats.events[i];
    if let Some(seq) = int_field(frame, "seq") {
        e.see_seq(seq);
    }
    if shared.phase.load(Ordering::Relaxed) != RECORDING {
        return;
    }
    e.msgs += 1;
    e.bytes += frame.len() as u64;
    e.wire_bytes += wire as u64;
    match int_field(frame, "ts") {
        Some(ts) => {
            let server_now = now_us().saturating_add(shared.skew_us.load(Ordering::Relaxed));
            let lat = server_now.saturating_sub(ts.saturating_mul(1000));
            if lat < 0 {
                e.negative += 1;
            }
            e.lat_us.push(u64::try_from(lat).unwrap_or(0));
        }
        None => e.no_ts += 1,
    }
}

/// `subscribe` with `"resume"` for its topics, from the last `seq` seen on each (none seen: no
/// resume for that topic).
fn resume_message(subscribe: &str, epoch: &str, stats: &ConnStats) -> String {
    let Ok(mut msg) = serde_json::from_str::<serde_json::Value>(subscribe) else {
        return subscribe.to_string();
    };
    let mut resume = serde_json::Map::new();
    for (t, name) in ["indices", "prices"].into_iter().enumerate() {
        if let Some(seq) = stats.events[t].last_seq {
            resume.insert(name.into(), serde_json::json!({"epoch": epoch, "seq": seq}));
        }
    }
    if !epoch.is_empty() && !resume.is_empty() {
        msg["resume"] = serde_json::Value::Object(resume);
    }
    msg.to_string()
}

/// The first frame of each topic after a resume: a snapshot (the server could not replay) or
/// a batch (replayed).
fn classify_resume(stats: &mut ConnStats, resuming: &mut [bool; 2], name: &[u8], frame: &[u8]) {
    let topic = match name {
        b"snapshot" => str_field(frame, "topic").and_then(topic_index),
        b"indices_update" => Some(0),
        b"prices_batch" => Some(1),
        _ => None,
    };
    let Some(t) = topic.filter(|&t| resuming[t]) else {
        return;
    };
    resuming[t] = false;
    if name == b"snapshot" {
        stats.resume_snapshots += 1;
        stats.resume_snapshot_bytes += frame.len() as u64;
    } else {
        stats.resume_replays += 1;
        stats.resume_replay_bytes += frame.len() as u64;
    }
}

/// Connects, reads the welcome and subscribes; returns the socket, the clock offset and the
/// server's epoch (empty if it has none).
async fn establish(plan: &Plan, subscribe: &str) -> Result<(Ws, i64, String), String> {
    let config = WebSocketConfig::default()
        .read_buffer_size(plan.read_buffer)
        .write_buffer_size(0)
        .max_message_size(Some(256 << 20))
        .max_frame_size(Some(256 << 20));
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(plan.url.as_str(), Some(config), true)
            .await
            .map_err(|e| format!("connect: {e}"))?;
    let welcome = if plan.socketio {
        socketio_handshake(&mut ws).await?
    } else {
        loop {
            let t = next_text(&mut ws).await?;
            if str_field(t.as_bytes(), "event") == Some(b"welcome") {
                break t;
            }
        }
    };
    let arrived = now_us();
    let server_time = int_field(welcome.as_bytes(), "server_time")
        .ok_or_else(|| "welcome without server_time".to_string())?;
    let offset = server_time.saturating_mul(1000).saturating_sub(arrived);
    let epoch = str_field(welcome.as_bytes(), "epoch")
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .unwrap_or_default();
    let msg = if plan.socketio {
        format!("42[\"subscribe\",{subscribe}]")
    } else {
        subscribe.to_string()
    };
    ws.send(Message::text(msg))
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    Ok((ws, offset, epoch))
}

/// Engine.IO open (`0{..}`), Socket.IO connect (`40` / `40{..}`), then the `welcome` event.
async fn socketio_handshake(ws: &mut Ws) -> Result<String, String> {
    let open = next_text(ws).await?;
    if !open.starts_with('0') {
        return Err(format!(
            "engine.io: expected an open packet, got {open:.20}"
        ));
    }
    ws.send(Message::text("40"))
        .await
        .map_err(|e| format!("socket.io connect: {e}"))?;
    loop {
        let t = next_text(ws).await?;
        match t.as_bytes() {
            b"2" => ws
                .send(Message::text("3"))
                .await
                .map_err(|e| format!("engine.io pong: {e}"))?,
            p if p.starts_with(b"44") => return Err(format!("socket.io connect refused: {t:.60}")),
            p => {
                if let Some((b"welcome", _)) = socketio_event(p) {
                    return Ok(t);
                }
            }
        }
    }
}

async fn next_text(ws: &mut Ws) -> Result<String, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_string()),
            Some(Ok(Message::Close(f))) => return Err(format!("closed during handshake: {f:?}")),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("read: {e}")),
            None => return Err("eof during handshake".into()),
        }
    }
}
