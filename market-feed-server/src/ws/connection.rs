//! One WebSocket client: a reader task and a writer task.
//!
//! The **reader** reads client frames (reassembling fragments up to 16 KiB), applies the flood
//! limiter, parses `op`s and hands them to the writer through a small bounded channel. It never
//! writes: pongs and close echoes go through the writer too, so exactly one task owns the
//! socket's write half.
//!
//! The **writer** owns the hub [`Subscription`] and the write half. It sends `welcome`, then
//! multiplexes: shutdown (close 1001), commands from the reader, hub frames, heartbeats. Frames
//! are written straight from the hub's shared bytes (no copy per client). While a client does
//! not read, the writer waits on its socket and does not poll the subscription, so the hub
//! discards that client's backlog and later sends it one fresh snapshot; if the socket accepts
//! no bytes for the slow-consumer timeout, the connection is dropped.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering::Relaxed},
    },
    time::{Duration, Instant},
};

use futures::StreamExt;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use market_feed::hub::{self, Subscription};
use tokio::{
    io::{ReadHalf, WriteHalf},
    sync::{OwnedSemaphorePermit, mpsc},
};
use tokio_util::sync::CancellationToken;

use super::{
    progress::{Progress, ProgressIo},
    protocol::{self, ClientOp, ErrorCode, Refusal},
    rate::{Limiter, Verdict},
    reader::{FrameReader, Incoming, ReadError},
    writer::{FrameWriter, OpCode},
};
use crate::{
    state::AppState,
    stats::{CloseReason, Event},
};

/// The upgraded connection, with its write progress recorded.
pub(crate) type Io = ProgressIo<TokioIo<Upgraded>>;
/// The read half of a connection.
pub(crate) type Reader = FrameReader<ReadHalf<Io>>;
/// The write half of a connection.
pub(crate) type Writer = FrameWriter<WriteHalf<Io>>;

/// What the reader tells the writer.
#[derive(Debug)]
enum Command {
    /// A client op to carry out (boxed, like `Refuse`, to keep `Command` small: the channel
    /// allocates a block of 32 of them per connection).
    Op(Box<ClientOp>),
    /// A refused message: send this `error`.
    Refuse(Box<Refusal>),
    /// Answer the latest WebSocket ping (its payload is in [`Shared::ping`]).
    Pong,
    /// Close with this code and reason, for this cause.
    Close(u16, &'static str, CloseReason),
    /// The client closed or vanished: stop.
    Gone,
}

/// What the reader and the writer of one connection share besides the channel.
#[derive(Debug, Default)]
struct Shared {
    /// Heartbeat pings sent since the client last answered one.
    unanswered: AtomicU32,
    /// The payload of the latest client ping not answered yet: a ping that arrives before the
    /// previous one is answered replaces it, and one pong answers both (RFC 6455 §5.5.3).
    ping: Mutex<Option<Vec<u8>>>,
}

/// Runs one connection to its end; the permit counts it against the connection limit.
/// `deflate`: permessage-deflate was negotiated.
pub(super) async fn run(
    state: AppState,
    upgraded: TokioIo<Upgraded>,
    permit: OwnedSemaphorePermit,
    deflate: bool,
) {
    let stats = state.ws_stats();
    stats.opened();
    if deflate {
        stats.deflate_opened();
    }
    let progress = Progress::new();
    let (read, write) = tokio::io::split(ProgressIo::new(upgraded, progress.clone()));
    // Both halves are buffer-less: frames are written from the hub's shared bytes with one
    // vectored write each, and client frames are read with exact reads.
    let writer = FrameWriter::new(write);
    let reader = FrameReader::new(read, state.ws().max_message).with_deflate(deflate);
    let (tx, rx) = mpsc::channel(32);
    let shared = Arc::new(Shared::default());
    let closing = CancellationToken::new();
    let mut reading = tokio::spawn(read_loop(reader, tx, shared.clone(), closing.clone()));
    let reason = write_loop(&state, writer, rx, progress, shared, deflate).await;
    // Counted when the close frame is sent: draining is the socket's epilogue.
    stats.closed(reason);
    if deflate {
        stats.deflate_closed();
    }
    if reason != CloseReason::Client {
        // The server closed (its close frame is sent or attempted): the reader drains what
        // the client still sends (see `drain`), within DRAIN_TIME.
        closing.cancel();
        let _ = tokio::time::timeout(DRAIN_TIME, &mut reading).await;
    }
    reading.abort();
    tracing::debug!(reason = reason.label(), "WebSocket connection closed");
    drop(permit);
}

/// How long a connection closed by the server keeps reading what the client still sends.
pub(crate) const DRAIN_TIME: Duration = Duration::from_secs(1);
/// The most bytes read and discarded after the server's close frame.
const DRAIN_BYTES: usize = 1 << 20;
/// The most frames read and discarded after the server's close frame (each at most 16 KiB).
const DRAIN_FRAMES: usize = 64;

/// Reads and discards what the client still sends, until its close frame, the end of the
/// stream, or the byte budget (the caller bounds the time). Closing a TCP socket with unread
/// data in it makes the kernel send a reset, and a reset can destroy what the client has not
/// read yet: our `error` and close frame. So whenever the server closes (flood, oversized or
/// invalid message, protocol violation, shutdown, heartbeat, slow consumer), the reader drains
/// first, as RFC 6455 §7.1.1 has the
/// server wait for the client's close. `framed`: whether frames can still be parsed (after a
/// protocol violation or an unread oversized payload they cannot, and bytes are discarded).
///
/// Called boxed (`Box::pin(drain(..))`): its state, with a 1 KiB discard buffer, would otherwise
/// be part of every connection's reader task for its whole life (about 0.8 KiB more RSS per
/// connection, measured at 1,000 connections).
pub(crate) async fn drain(reader: &mut Reader, framed: bool) {
    if framed {
        for _ in 0..DRAIN_FRAMES {
            match reader.next().await {
                Ok(Incoming::Close(_)) | Err(ReadError::Gone) => return,
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    reader.discard(DRAIN_BYTES).await;
}

async fn read_loop(
    mut reader: Reader,
    tx: mpsc::Sender<Command>,
    shared: Arc<Shared>,
    closing: CancellationToken,
) {
    let mut limiter = Limiter::new(Instant::now());
    // One wait on the token for the whole connection (as in the writer): the writer cancels it
    // after a close frame it sent on its own (shutdown, heartbeat, slow consumer).
    let closed_by_writer = closing.cancelled();
    tokio::pin!(closed_by_writer);
    loop {
        let read = tokio::select! {
            biased;
            read = reader.next() => read,
            () = &mut closed_by_writer => {
                let framed = reader.between_frames();
                Box::pin(drain(&mut reader, framed)).await;
                return;
            }
        };
        let incoming = match read {
            Ok(Incoming::Close(_)) => {
                // The client is leaving: echo its close (RFC 6455 §5.5.1).
                let _ = tx.send(Command::Close(1000, "", CloseReason::Client)).await;
                return;
            }
            Ok(incoming) => incoming,
            Err(ReadError::Gone) => {
                let _ = tx.send(Command::Gone).await;
                return;
            }
            Err(e) => {
                let (code, why, reason, framed) = match e {
                    ReadError::TooBig => (
                        1009,
                        "message too big: at most 16 KiB",
                        CloseReason::TooBig,
                        false,
                    ),
                    ReadError::InvalidUtf8 => (1007, "not UTF-8", CloseReason::Error, true),
                    ReadError::Protocol(why) => (1002, why, CloseReason::Error, false),
                    ReadError::Gone => return,
                };
                let _ = tx.send(Command::Close(code, why, reason)).await;
                Box::pin(drain(&mut reader, framed)).await;
                return;
            }
        };
        if incoming == Incoming::Pong {
            shared.unanswered.store(0, Relaxed);
        }
        // Every frame counts toward the flood limit: messages, fragments, pings and pongs.
        let command = match limiter.check(Instant::now()) {
            Verdict::Accept => match incoming {
                Incoming::Ping(payload) => {
                    let mut latest = shared.ping.lock().unwrap_or_else(|p| p.into_inner());
                    // Only the first unanswered ping asks the writer for a pong.
                    latest.replace(payload).is_none().then_some(Command::Pong)
                }
                Incoming::Text(bytes) => Some(match std::str::from_utf8(&bytes) {
                    Ok(text) => match protocol::parse_op(text) {
                        Ok(op) => Command::Op(Box::new(op)),
                        Err(refusal) => Command::Refuse(Box::new(refusal)),
                    },
                    // The reader only returns UTF-8 text.
                    Err(_) => Command::Close(1007, "not UTF-8", CloseReason::Error),
                }),
                Incoming::Binary(_) => Some(Command::Refuse(Box::new(Refusal::new(
                    ErrorCode::BadRequest,
                    "binary frames are not understood: send JSON text frames",
                )))),
                Incoming::Pong | Incoming::Fragment | Incoming::Close(_) => None,
            },
            Verdict::Warn => Some(Command::Refuse(Box::new(Refusal::new(
                ErrorCode::RateLimited,
                format!(
                    "more than {} messages per second: slow down; messages over the limit are dropped, and a continued flood closes the connection",
                    super::rate::RATE
                ),
            )))),
            Verdict::Drop => None,
            Verdict::Close => Some(Command::Close(
                1008,
                "rate limit exceeded",
                CloseReason::RateLimited,
            )),
        };
        if let Some(c) = command {
            let closing = matches!(c, Command::Close(..));
            if tx.send(c).await.is_err() {
                return;
            }
            if closing {
                Box::pin(drain(&mut reader, true)).await;
                return;
            }
        }
    }
}

/// Why a write did not finish.
pub(crate) enum WriteFailure {
    /// The socket accepted no bytes for the slow-consumer timeout.
    Slow,
    /// The connection failed.
    Io,
}

/// Writes one frame, giving up when the socket accepts no bytes for the slow-consumer timeout.
pub(crate) async fn write(
    writer: &mut Writer,
    (opcode, rsv1, payload): (OpCode, bool, &[u8]),
    progress: &Progress,
    timeout: Duration,
) -> Result<(), WriteFailure> {
    progress.reset();
    let fut = writer.write(opcode, rsv1, payload);
    tokio::pin!(fut);
    let check = (timeout / 10).max(Duration::from_millis(10));
    loop {
        tokio::select! {
            // The write first: it usually completes at once, and then the watchdog's timer is
            // never registered (no timer-wheel work per frame and client).
            biased;
            r = &mut fut => return r.map_err(|_| WriteFailure::Io),
            () = tokio::time::sleep(check) => {
                if progress.idle() >= timeout {
                    return Err(WriteFailure::Slow);
                }
            }
        }
    }
}

struct Session<'a> {
    state: &'a AppState,
    writer: Writer,
    progress: Progress,
    sub: Subscription,
    /// permessage-deflate was negotiated: hub frames go compressed when they are large enough.
    deflate: bool,
}

impl Session<'_> {
    /// Sends a message built for this connection alone (`welcome`, `pong`, `error`): small, so
    /// never compressed.
    async fn send(&mut self, event: Event, bytes: &[u8]) -> Result<(), CloseReason> {
        self.send_text(event, bytes, None).await
    }

    /// Sends a hub frame: its shared compressed bytes when the client negotiated deflate and
    /// the frame is worth compressing, else its JSON.
    async fn send_frame(&mut self, frame: &hub::Frame) -> Result<(), CloseReason> {
        let event = Event::Hub(frame.kind());
        match frame.deflated().filter(|_| self.deflate) {
            Some(z) => self.send_text(event, frame.bytes(), Some(z)).await,
            None => self.send_text(event, frame.bytes(), None).await,
        }
    }

    /// Writes a text message: `json`, or its compressed form `deflated` with RSV1 set.
    async fn send_text(
        &mut self,
        event: Event,
        json: &[u8],
        deflated: Option<&[u8]>,
    ) -> Result<(), CloseReason> {
        let timeout = self.state.ws().slow_consumer_timeout;
        let wire = match deflated {
            Some(z) => (OpCode::Text, true, z),
            None => (OpCode::Text, false, json),
        };
        match write(&mut self.writer, wire, &self.progress, timeout).await {
            Ok(()) => {
                let wire = deflated.map_or(json.len(), <[u8]>::len);
                self.state.ws_stats().sent_as(event, json.len(), wire);
                Ok(())
            }
            Err(WriteFailure::Slow) => {
                tracing::info!(
                    "closing a slow consumer: its socket accepted no bytes for {timeout:?}"
                );
                Err(CloseReason::SlowConsumer)
            }
            Err(WriteFailure::Io) => Err(CloseReason::Client),
        }
    }

    async fn close(&mut self, code: u16, reason: &str) {
        // Best effort: a peer that does not read cannot receive it anyway.
        let _ = tokio::time::timeout(Duration::from_secs(1), self.writer.close(code, reason)).await;
    }

    async fn refuse(&mut self, refusal: &Refusal) -> Result<(), CloseReason> {
        self.state.ws_stats().refused();
        self.send(Event::Error, &refusal.to_json()).await
    }

    async fn apply(&mut self, op: ClientOp) -> Result<(), CloseReason> {
        match op {
            ClientOp::Ping { id } => {
                let pong = protocol::pong(&id, self.state.clock().now_ms());
                self.send(Event::Pong, &pong).await
            }
            ClientOp::Unsubscribe { topics } => {
                self.sub.unsubscribe(&topics);
                Ok(())
            }
            ClientOp::Subscribe {
                topics,
                symbols,
                resume,
                max_rate_ms,
            } => {
                let applied = super::subscribe::apply(
                    self.state,
                    &mut self.sub,
                    &topics,
                    symbols,
                    &resume,
                    max_rate_ms,
                );
                match applied {
                    Ok(()) => Ok(()),
                    Err(refusal) => self.refuse(&refusal).await,
                }
            }
        }
    }
}

async fn write_loop(
    state: &AppState,
    writer: Writer,
    mut rx: mpsc::Receiver<Command>,
    progress: Progress,
    shared: Arc<Shared>,
    deflate: bool,
) -> CloseReason {
    let sub = state.hub().subscribe(&[], None);
    let mut s = Session {
        state,
        writer,
        progress,
        sub,
        deflate,
    };
    let welcome = protocol::welcome(
        state.clock().now_ms(),
        state.hub().epoch(),
        &state.clock().status(),
    );
    if let Err(reason) = s.send(Event::Welcome, &welcome).await {
        return reason;
    }
    let period = state.ws().heartbeat;
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // One wait on the shutdown token for the whole connection: a new `cancelled()` per loop
    // turn would register and unregister on the token's shared waiter list for every frame.
    let shutdown = state.shutdown().clone();
    let cancelled = shutdown.cancelled();
    tokio::pin!(cancelled);
    loop {
        let step = tokio::select! {
            biased;
            () = &mut cancelled => {
                s.close(1001, "server shutting down").await;
                return CloseReason::Shutdown;
            }
            command = rx.recv() => match command {
                None | Some(Command::Gone) => return CloseReason::Client,
                Some(Command::Close(code, why, reason)) => {
                    s.close(code, why).await;
                    return reason;
                }
                Some(Command::Pong) => {
                    let payload = shared.ping.lock().unwrap_or_else(|p| p.into_inner()).take();
                    let payload = payload.unwrap_or_default();
                    let pong = (OpCode::Pong, false, &payload[..]);
                    write(&mut s.writer, pong, &s.progress, state.ws().slow_consumer_timeout)
                        .await
                        .map_err(|_| CloseReason::Client)
                }
                Some(Command::Refuse(refusal)) => s.refuse(&refusal).await,
                Some(Command::Op(op)) => s.apply(*op).await,
            },
            frame = s.sub.next() => match frame {
                Some(frame) => s.send_frame(&frame).await,
                None => {
                    s.close(1001, "server shutting down").await;
                    return CloseReason::Shutdown;
                }
            },
            _ = heartbeat.tick() => {
                if shared.unanswered.fetch_add(1, Relaxed) >= 2 {
                    s.close(1008, "no answer to two heartbeats").await;
                    return CloseReason::Heartbeat;
                }
                let ping = (OpCode::Ping, false, &b"hb"[..]);
                write(&mut s.writer, ping, &s.progress, state.ws().slow_consumer_timeout)
                    .await
                    .map_err(|_| CloseReason::Client)
            }
        };
        if let Err(reason) = step {
            if reason == CloseReason::SlowConsumer {
                s.close(1008, "slow consumer").await;
            }
            return reason;
        }
    }
}
