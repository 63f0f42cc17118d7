//! One connection of the fake feed: the handshake (one-use code, refusals), `market_info`,
//! the subscribe frame, `initial_feed`, ticks, pings, and the controls' effects.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use futures::{SinkExt, StreamExt};
use prost::Message as _;
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{
    Message,
    handshake::server::{ErrorResponse, Request, Response},
    http,
    protocol::{CloseFrame, frame::coding::CloseCode},
};

use super::{FeedSubscription, WS_PATH};
use crate::{
    source::upstox::stream::{
        MAX_LTPC_KEYS,
        proto::{Feed, FeedResponse, FeedType, FeedUnion, Ltpc, MarketInfo, RequestMode},
    },
    testing::fake_upstox::State,
};

/// How often a connection looks at the controls and sends ticks.
const STEP: Duration = Duration::from_millis(20);

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Deserialize)]
struct SubscribeFrame {
    method: Option<String>,
    data: Option<SubscribeData>,
}

#[derive(Deserialize)]
struct SubscribeData {
    mode: Option<String>,
    #[serde(rename = "instrumentKeys", default)]
    instrument_keys: Vec<String>,
}

fn forbidden() -> ErrorResponse {
    let mut r = http::Response::new(Some("Forbidden".to_owned()));
    *r.status_mut() = http::StatusCode::FORBIDDEN;
    r
}

/// Accepts the handshake only for a fresh code, unless told to refuse it.
fn check_handshake(state: &Mutex<State>, req: &Request) -> bool {
    let code = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|p| p.strip_prefix("code="))
        .unwrap_or("")
        .to_owned();
    let mut s = lock(state);
    let feed = &mut s.feed;
    // The code is used up even by a refused handshake.
    let fresh = req.uri().path() == WS_PATH && feed.codes.remove(&code);
    let refuse = feed.refuse_handshakes > 0;
    feed.refuse_handshakes = feed.refuse_handshakes.saturating_sub(1);
    if !fresh || refuse {
        feed.refused += 1;
        return false;
    }
    feed.handshakes += 1;
    true
}

// The handshake callback's error type is tungstenite's `ErrorResponse`, not ours to shrink.
#[allow(clippy::result_large_err)]
pub(super) async fn serve(state: Arc<Mutex<State>>, stream: TcpStream) {
    let check = |req: &Request, resp: Response| {
        if check_handshake(&state, req) {
            Ok(resp)
        } else {
            Err(forbidden())
        }
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, check).await else {
        return;
    };
    let (id, epoch, ping_every, info) = {
        let mut s = lock(&state);
        let feed = &mut s.feed;
        feed.current += 1;
        feed.open += 1;
        let info = FeedResponse {
            r#type: FeedType::MarketInfo as i32,
            current_ts: now_ms(),
            market_info: Some(MarketInfo {
                segment_status: feed
                    .segments
                    .iter()
                    .map(|(k, v)| (k.clone(), *v as i32))
                    .collect(),
            }),
            ..FeedResponse::default()
        };
        (feed.current, feed.drop_epoch, feed.ping_every, info)
    };
    let _ = run(&state, &mut ws, id, epoch, ping_every, info).await;
    lock(&state).feed.open -= 1;
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

async fn run(
    state: &Mutex<State>,
    ws: &mut Ws,
    id: u64,
    epoch: u64,
    ping_every: Duration,
    info: FeedResponse,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    ws.send(Message::Binary(info.encode_to_vec().into()))
        .await?;
    let mut subscribed: Vec<String> = Vec::new();
    let mut cursor = 0usize;
    let mut weights = Weights::new(0, 0.0);
    let mut owed = 0.0f64;
    let mut step = tokio::time::interval(STEP);
    let mut ping = tokio::time::interval(ping_every);
    ping.tick().await;
    loop {
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Binary(bytes))) => {
                    if let Some(keys) = subscribe(state, &bytes, true) {
                        if keys.len() > MAX_LTPC_KEYS {
                            let frame = CloseFrame { code: CloseCode::Policy, reason: "subscription limit exceeded for ltpc".into() };
                            ws.send(Message::Close(Some(frame))).await?;
                            return Ok(());
                        }
                        let initial = feed_frame(state, FeedType::InitialFeed, &keys, false);
                        subscribed.extend(keys);
                        ws.send(Message::Binary(initial.into())).await?;
                    }
                }
                Some(Ok(Message::Text(text))) => {
                    // Recorded, not acted on: the real feed wants binary frames.
                    let _ = subscribe(state, text.as_bytes(), false);
                }
                Some(Ok(Message::Pong(_))) => lock(state).feed.pongs += 1,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Ok(()),
            },
            _ = ping.tick() => ws.send(Message::Ping(Vec::new().into())).await?,
            _ = step.tick() => {
                let (current, dropped, silent, rate, skew) = {
                    let s = lock(state);
                    (s.feed.current, s.feed.drop_epoch, s.feed.silent, s.feed.tick_rate, s.feed.tick_skew)
                };
                if dropped != epoch {
                    // No close frame: the TCP connection just ends.
                    return Ok(());
                }
                if current != id {
                    let frame = CloseFrame { code: CloseCode::Normal, reason: "another connection of this user opened".into() };
                    ws.send(Message::Close(Some(frame))).await?;
                    return Ok(());
                }
                if silent || subscribed.is_empty() {
                    owed = 0.0;
                    continue;
                }
                owed += rate * STEP.as_secs_f64();
                let n = (owed.floor() as usize).min(subscribed.len());
                owed -= n as f64;
                if n == 0 {
                    continue;
                }
                let keys: Vec<String> = if skew > 0.0 {
                    if weights.skew != skew || weights.cumulative.len() != subscribed.len() {
                        weights = Weights::new(subscribed.len(), skew);
                    }
                    (0..n).map(|_| subscribed[weights.pick()].clone()).collect()
                } else {
                    let keys = (0..n).map(|k| subscribed[(cursor + k) % subscribed.len()].clone()).collect();
                    cursor = (cursor + n) % subscribed.len();
                    keys
                };
                let frame = feed_frame(state, FeedType::LiveFeed, &keys, true);
                ws.send(Message::Binary(frame.into())).await?;
            }
        }
    }
}

/// Cumulative Zipf weights over ranks `1..=n` (exponent `skew`), for skewed ticking.
struct Weights {
    skew: f64,
    cumulative: Vec<f64>,
}

impl Weights {
    fn new(n: usize, skew: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|k| {
                total += 1.0 / (k as f64).powf(skew);
                total
            })
            .collect();
        Self { skew, cumulative }
    }

    /// A random rank (0-based) by weight.
    fn pick(&self) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rand::random::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c < x)
            .min(self.cumulative.len().saturating_sub(1))
    }
}

/// Records a subscribe request; the keys of an `ltpc` `sub` sent as binary.
fn subscribe(state: &Mutex<State>, bytes: &[u8], binary: bool) -> Option<Vec<String>> {
    let frame: SubscribeFrame = serde_json::from_slice(bytes).ok()?;
    let method = frame.method.unwrap_or_default();
    let (mode, keys) = frame
        .data
        .map_or((None, Vec::new()), |d| (d.mode, d.instrument_keys));
    lock(state).feed.subscriptions.push(FeedSubscription {
        binary,
        method: method.clone(),
        mode: mode.clone(),
        keys: keys.clone(),
    });
    (binary && method == "sub" && mode.as_deref() == Some("ltpc")).then_some(keys)
}

/// A `FeedResponse` with the current values of the known `keys`; `tick` moves each price
/// first (by 0.05 %, up and down in turn) and counts the ticks.
fn feed_frame(state: &Mutex<State>, kind: FeedType, keys: &[String], tick: bool) -> Vec<u8> {
    let mut s = lock(state);
    let mut feeds = HashMap::with_capacity(keys.len());
    let mut sent = 0u64;
    let start = s.feed.ticks_sent;
    for key in keys {
        let Some(i) = s.instruments.get_mut(key) else {
            continue;
        };
        if tick {
            let up = (start + sent) % 2 == 0;
            let moved = i.last_price * if up { 1.0005 } else { 0.9995 };
            let mut next = crate::model::round2(moved);
            if next == i.last_price {
                next = crate::model::round2(i.last_price + if up { 0.05 } else { -0.05 });
            }
            i.last_price = next;
            i.high = i.high.max(next);
            i.low = i.low.min(next);
            sent += 1;
        }
        let ltpc = Ltpc {
            ltp: i.last_price,
            ltt: now_ms(),
            ltq: 1,
            cp: i.prev_close,
        };
        feeds.insert(
            key.clone(),
            Feed {
                feed_union: Some(FeedUnion::Ltpc(ltpc)),
                request_mode: RequestMode::Ltpc as i32,
            },
        );
    }
    s.feed.ticks_sent += sent;
    FeedResponse {
        r#type: kind as i32,
        feeds,
        current_ts: now_ms(),
        market_info: None,
    }
    .encode_to_vec()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
