//! One Engine.IO session and its Socket.IO connection to the default namespace: a task that
//! owns the hub [`Subscription`], reads what its transports tell it ([`Inbound`]) and writes
//! to its transport, first the long-polling [`Mailbox`], then (after an upgrade, or from the
//! start) the WebSocket, from the hub's shared bytes.
//!
//! Heartbeat: the server pings every `pingInterval` and closes a session whose pong does not
//! come within `pingTimeout`; a session that has not joined the namespace within
//! [`CONNECT_TIMEOUT`] is closed too. Limits as on `/ws`: every packet counts toward the
//! 20 messages/s flood limit, a packet over 16 KiB closes the session, and a WebSocket that
//! accepts no bytes for the slow-consumer timeout is closed.

mod namespace;

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use futures::StreamExt;
use market_feed::hub::{Frame, Subscription, socket_io_packet};
use tokio::{
    sync::{OwnedSemaphorePermit, mpsc},
    time::Instant,
};

use super::{
    engine_packet::{self, ClientPacket, PING},
    inbound::{Inbound, WsOut},
    mailbox::Mailbox,
    registry::Sessions,
};
use crate::{
    state::AppState,
    stats::{CloseReason, Event},
    ws::{
        connection::{DRAIN_TIME, WriteFailure, write},
        protocol::{ErrorCode, Refusal},
        rate::{Limiter, Verdict},
        writer::OpCode,
    },
};

/// How long a session may stay without joining the namespace (Socket.IO's default).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(45);

/// Why and how a session ends: the WebSocket close code and reason, and the cause.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stop(u16, &'static str, CloseReason);

const GONE: Stop = Stop(1000, "", CloseReason::Client);
const SHUTDOWN: Stop = Stop(1001, "server shutting down", CloseReason::Shutdown);

/// What a session starts with.
#[derive(Debug)]
pub(crate) struct Start {
    pub(crate) state: AppState,
    pub(crate) sessions: Sessions,
    pub(crate) sid: String,
    /// The handshake carried an accepted token (or none is required).
    pub(crate) handshake_auth: bool,
    pub(crate) permit: OwnedSemaphorePermit,
    pub(crate) rx: mpsc::Receiver<Inbound>,
    pub(crate) mailbox: Arc<Mailbox>,
    /// The WebSocket of a WebSocket-only session (it gets the `open` packet first).
    pub(crate) ws: Option<WsOut>,
}

struct Session {
    state: AppState,
    sid: String,
    handshake_auth: bool,
    mailbox: Arc<Mailbox>,
    ws: Option<WsOut>,
    sub: Option<Subscription>,
    /// Subscribed to both topics because the client has not chosen yet.
    implicit: bool,
    limiter: Limiter,
    next_ping: Option<Instant>,
    pong_due: Option<Instant>,
    connect_due: Option<Instant>,
}

/// Runs a session to its end.
pub(crate) async fn run(start: Start, open: Option<Bytes>) {
    let Start {
        state,
        sessions,
        sid,
        handshake_auth,
        permit,
        rx,
        mailbox,
        ws,
    } = start;
    state.ws_stats().opened();
    let now = Instant::now();
    let mut s = Session {
        next_ping: Some(now + state.ws().heartbeat),
        connect_due: Some(now + CONNECT_TIMEOUT),
        state,
        sid,
        handshake_auth,
        mailbox,
        ws,
        sub: None,
        implicit: false,
        limiter: Limiter::new(std::time::Instant::now()),
        pong_due: None,
    };
    let stop = match open {
        Some(open) => match s.send(None, &open, None).await {
            Ok(()) => s.run_loop(rx).await,
            Err(stop) => stop,
        },
        None => s.run_loop(rx).await,
    };
    s.state.ws_stats().closed(stop.2);
    sessions.remove(&s.sid);
    s.finish(stop).await;
    tracing::debug!(reason = stop.2.label(), "Socket.IO session closed");
    drop(permit);
}

/// The next frame of the subscription, if there is one.
async fn next_frame(sub: &mut Option<Subscription>) -> Option<Frame> {
    match sub {
        Some(sub) => sub.next().await,
        None => std::future::pending().await,
    }
}

impl Session {
    async fn run_loop(&mut self, mut rx: mpsc::Receiver<Inbound>) -> Stop {
        let shutdown = self.state.shutdown().clone();
        let cancelled = shutdown.cancelled();
        tokio::pin!(cancelled);
        let mailbox = self.mailbox.clone();
        // One timer for the session, moved only when the next deadline changes (no timer
        // registration per frame).
        let timer = tokio::time::sleep_until(self.deadline());
        tokio::pin!(timer);
        loop {
            // Over long-polling, the next hub frame waits until the client took the last one.
            let takes_frames = self.sub.is_some() && (self.ws.is_some() || mailbox.is_empty());
            let deadline = self.deadline();
            if timer.deadline() != deadline {
                timer.as_mut().reset(deadline);
            }
            let step = tokio::select! {
                biased;
                () = &mut cancelled => Err(SHUTDOWN),
                inbound = rx.recv() => match inbound {
                    Some(inbound) => self.inbound(inbound).await,
                    None => Err(GONE),
                },
                () = mailbox.drained(), if self.ws.is_none() && !takes_frames => Ok(()),
                frame = next_frame(&mut self.sub), if takes_frames => match frame {
                    Some(frame) => self.frame(&frame).await,
                    None => Err(SHUTDOWN),
                },
                () = &mut timer => self.tick().await,
            };
            if let Err(stop) = step {
                return stop;
            }
        }
    }

    /// The next heartbeat or connect deadline.
    fn deadline(&self) -> Instant {
        [self.next_ping, self.pong_due, self.connect_due]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| Instant::now() + CONNECT_TIMEOUT)
    }

    /// Writes one Engine.IO packet to the transport; `event` counts it in the statistics.
    async fn send(
        &mut self,
        event: Option<Event>,
        text: &Bytes,
        deflated: Option<&Bytes>,
    ) -> Result<(), Stop> {
        let stats = self.state.ws_stats();
        let Some(ws) = self.ws.as_mut() else {
            self.mailbox.push(text.clone());
            if let Some(event) = event {
                stats.sent_as(event, text.len(), text.len());
            }
            return Ok(());
        };
        let z = deflated.filter(|_| ws.deflate);
        let wire = match z {
            Some(z) => (OpCode::Text, true, &z[..]),
            None => (OpCode::Text, false, &text[..]),
        };
        let timeout = self.state.ws().slow_consumer_timeout;
        match write(&mut ws.writer, wire, &ws.progress, timeout).await {
            Ok(()) => {
                if let Some(event) = event {
                    stats.sent_as(event, text.len(), z.map_or(text.len(), |z| z.len()));
                }
                Ok(())
            }
            Err(WriteFailure::Slow) => {
                tracing::info!(
                    "closing a slow Socket.IO consumer: its socket accepted no bytes for {timeout:?}"
                );
                Err(Stop(1008, "slow consumer", CloseReason::SlowConsumer))
            }
            Err(WriteFailure::Io) => Err(GONE),
        }
    }

    async fn frame(&mut self, frame: &Frame) -> Result<(), Stop> {
        let deflated = match &self.ws {
            Some(ws) if ws.deflate => frame.socket_io_deflated(),
            _ => None,
        };
        self.send(Some(Event::Hub(frame.kind())), frame.socket_io(), deflated)
            .await
    }

    /// A server message of §3 (`welcome`, `error`) as an event packet.
    async fn event(&mut self, event: Event, message: &[u8]) -> Result<(), Stop> {
        match socket_io_packet(message) {
            Some(packet) => self.send(Some(event), &packet, None).await,
            None => Ok(()),
        }
    }

    async fn refuse(&mut self, refusal: &Refusal) -> Result<(), Stop> {
        self.state.ws_stats().refused();
        if self.sub.is_none() {
            // Not in the namespace: the client would not listen.
            return Ok(());
        }
        self.event(Event::Error, &refusal.to_json()).await
    }

    async fn tick(&mut self) -> Result<(), Stop> {
        let now = Instant::now();
        if self.connect_due.is_some_and(|due| now >= due) {
            return Err(Stop(1008, "no Socket.IO connect", CloseReason::Heartbeat));
        }
        if self.pong_due.is_some_and(|due| now >= due) {
            return Err(Stop(1008, "ping timeout", CloseReason::Heartbeat));
        }
        if self.next_ping.is_some_and(|at| now >= at) {
            self.send(None, &PING, None).await?;
            self.next_ping = None;
            self.pong_due = Some(now + self.state.ws().heartbeat);
        }
        Ok(())
    }

    async fn inbound(&mut self, inbound: Inbound) -> Result<(), Stop> {
        match inbound {
            Inbound::Packet(text) => self.packet(&text).await,
            Inbound::Binary => {
                self.limit().await?;
                let refusal = Refusal::new(
                    ErrorCode::BadRequest,
                    "binary packets are not understood: emit JSON",
                );
                self.refuse(&refusal).await
            }
            Inbound::WsPing(payload) => {
                self.limit().await?;
                if let Some(ws) = self.ws.as_mut() {
                    let timeout = self.state.ws().slow_consumer_timeout;
                    let pong = (OpCode::Pong, false, &payload[..]);
                    write(&mut ws.writer, pong, &ws.progress, timeout)
                        .await
                        .map_err(|_| GONE)?;
                }
                Ok(())
            }
            Inbound::Probe(ok) => {
                self.mailbox.start_upgrade(ok);
                Ok(())
            }
            Inbound::Upgrade(ws) => {
                let waiting = self.mailbox.finish_upgrade();
                self.ws = Some(*ws);
                for packet in waiting {
                    self.send(None, &packet, None).await?;
                }
                Ok(())
            }
            Inbound::Close(code, why, reason) => Err(Stop(code, why, reason)),
            Inbound::Gone => Err(GONE),
        }
    }

    /// Applies the flood limit to one client packet: `Err` closes, `Ok(false)` drops it.
    async fn limit(&mut self) -> Result<bool, Stop> {
        match self.limiter.check(std::time::Instant::now()) {
            Verdict::Accept => Ok(true),
            Verdict::Warn => {
                let refusal = Refusal::new(
                    ErrorCode::RateLimited,
                    format!(
                        "more than {} messages per second: slow down; messages over the limit are dropped, and a continued flood closes the connection",
                        crate::ws::rate::RATE
                    ),
                );
                self.refuse(&refusal).await.map(|()| false)
            }
            Verdict::Drop => Ok(false),
            Verdict::Close => Err(Stop(1008, "rate limit exceeded", CloseReason::RateLimited)),
        }
    }

    async fn packet(&mut self, text: &str) -> Result<(), Stop> {
        if text.len() > self.state.ws().max_message {
            return Err(Stop(
                1009,
                "message too big: at most 16 KiB",
                CloseReason::TooBig,
            ));
        }
        if !self.limit().await? {
            return Ok(());
        }
        match engine_packet::parse(text) {
            None => {
                let refusal = Refusal::new(
                    ErrorCode::BadRequest,
                    "not an Engine.IO packet: use a Socket.IO 4 client",
                );
                self.refuse(&refusal).await
            }
            Some(ClientPacket::Close) => Err(GONE),
            Some(ClientPacket::Pong) => {
                self.pong_due = None;
                self.next_ping = Some(Instant::now() + self.state.ws().heartbeat);
                Ok(())
            }
            Some(ClientPacket::Ping(data)) => {
                let pong = Bytes::from(format!("3{data}"));
                self.send(None, &pong, None).await
            }
            Some(ClientPacket::Upgrade | ClientPacket::Noop) => Ok(()),
            Some(ClientPacket::Message(m)) => self.socket(m).await,
        }
    }

    /// Closes the transport: the WebSocket with a close frame (after which the reader drains
    /// what the client still sends), or the next poll with the close packet.
    async fn finish(&mut self, stop: Stop) {
        self.mailbox.close();
        let Some(mut ws) = self.ws.take() else {
            return;
        };
        let Stop(code, why, _) = stop;
        let _ = tokio::time::timeout(Duration::from_secs(1), ws.writer.close(code, why)).await;
        ws.closing.cancel();
        if let Some(reader) = ws.reader.as_mut() {
            let _ = tokio::time::timeout(DRAIN_TIME, &mut *reader).await;
            reader.abort();
        }
    }
}
