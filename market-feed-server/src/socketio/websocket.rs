//! The WebSocket transport: a session opened on WebSocket alone (`transport=websocket`
//! without `sid`), or the upgrade of a long-polling session (with its `sid`: the `2probe` /
//! `3probe` exchange, then the client's `5`). The connection is read by the `/ws` endpoint's
//! strict frame reader and written by its buffer-less writer, with permessage-deflate when
//! the client offers it.

use std::time::Duration;

use axum::response::Response;
use http::Request;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{
    engine_packet::PROBE_PONG,
    inbound::{Inbound, WsOut},
    polling::start_session,
    registry::{Handle, Sessions},
};
use crate::{
    error::ApiError,
    state::AppState,
    stats::{CloseReason, Rejection},
    ws::{
        connection::{Reader, drain},
        deflate,
        progress::{Progress, ProgressIo},
        reader::{FrameReader, Incoming, ReadError},
        writer::{FrameWriter, OpCode},
    },
};

/// How long an upgrading client may take to send `2probe`, then `5`.
const PROBE_TIME: Duration = Duration::from_secs(10);

/// What a WebSocket request opens.
#[derive(Debug)]
pub(crate) enum Opening {
    /// A new session (holding its place under the connection limit).
    New {
        /// The place under the connection limit.
        permit: OwnedSemaphorePermit,
        /// The handshake carried an accepted token.
        handshake_auth: bool,
    },
    /// The upgrade of this long-polling session.
    Upgrade(Handle),
}

/// Answers `101 Switching Protocols` and runs the connection.
pub(crate) fn upgrade<B>(
    state: &AppState,
    sessions: &Sessions,
    mut req: Request<B>,
    opening: Opening,
) -> Result<Response, ApiError> {
    if !fastwebsockets::upgrade::is_upgrade_request(&req) {
        state.ws_stats().rejected(Rejection::BadUpgrade);
        return Err(ApiError::bad_request(
            "transport=websocket needs a WebSocket upgrade (Upgrade: websocket)",
        ));
    }
    let (response, fut) = fastwebsockets::upgrade::upgrade(&mut req).map_err(|e| {
        state.ws_stats().rejected(Rejection::BadUpgrade);
        ApiError::bad_request(format!("bad WebSocket upgrade: {e}"))
    })?;
    let extension = deflate::negotiate(req.headers());
    let compress = extension.is_some();
    let (state2, sessions) = (state.clone(), sessions.clone());
    let task = async move {
        let upgraded = match fut.await {
            Ok(ws) => ws.into_inner(),
            Err(e) => return tracing::debug!(error = %e, "WebSocket upgrade did not complete"),
        };
        match opening {
            Opening::New {
                permit,
                handshake_auth,
            } => {
                let (tx, rx) = mpsc::channel(32);
                let ws = connect(&state2, upgraded, compress, tx.clone());
                start_session(&state2, &sessions, handshake_auth, permit, Some(ws), tx, rx);
            }
            Opening::Upgrade(handle) => probe(&state2, upgraded, compress, handle).await,
        }
    };
    state
        .tasks()
        .spawn(task.instrument(tracing::Span::current()));
    Ok(crate::ws::switching(response, extension))
}

/// Splits the connection: the reader task feeds `tx`; the write half goes to the session.
fn connect(
    state: &AppState,
    upgraded: TokioIo<Upgraded>,
    compress: bool,
    tx: mpsc::Sender<Inbound>,
) -> WsOut {
    let (reader, out) = split(state, upgraded, compress);
    start_reader(state, reader, tx, out)
}

fn split(state: &AppState, upgraded: TokioIo<Upgraded>, compress: bool) -> (Reader, WsOut) {
    let progress = Progress::new();
    let (read, write) = tokio::io::split(ProgressIo::new(upgraded, progress.clone()));
    let reader = FrameReader::new(read, state.ws().max_message).with_deflate(compress);
    let out = WsOut {
        writer: FrameWriter::new(write),
        progress,
        deflate: compress,
        closing: CancellationToken::new(),
        reader: None,
    };
    (reader, out)
}

fn start_reader(
    state: &AppState,
    reader: Reader,
    tx: mpsc::Sender<Inbound>,
    mut out: WsOut,
) -> WsOut {
    let task = read_loop(reader, tx, out.closing.clone());
    out.reader = Some(
        state
            .tasks()
            .spawn(task.instrument(tracing::Span::current())),
    );
    out
}

/// The upgrade of a polling session: answers the probe, then hands the socket to the session.
async fn probe(state: &AppState, upgraded: TokioIo<Upgraded>, compress: bool, handle: Handle) {
    let (mut reader, mut out) = split(state, upgraded, compress);
    let first = tokio::time::timeout(PROBE_TIME, reader.next()).await;
    if !matches!(&first, Ok(Ok(Incoming::Text(t))) if t == b"2probe") {
        let _ = out.writer.close(1002, "expected the 2probe packet").await;
        return;
    }
    if out
        .writer
        .write(OpCode::Text, false, PROBE_PONG)
        .await
        .is_err()
    {
        return;
    }
    let _ = handle.tx.send(Inbound::Probe(true)).await;
    let next = tokio::time::timeout(PROBE_TIME, reader.next()).await;
    if !matches!(&next, Ok(Ok(Incoming::Text(t))) if t == b"5") {
        let _ = handle.tx.send(Inbound::Probe(false)).await;
        let _ = out
            .writer
            .close(1002, "expected the upgrade packet 5")
            .await;
        return;
    }
    let out = start_reader(state, reader, handle.tx.clone(), out);
    let _ = handle.tx.send(Inbound::Upgrade(Box::new(out))).await;
}

/// Reads client frames into the session until the end, a violation, or the session closing
/// (then it drains what the client still sends, as `/ws` does).
async fn read_loop(mut reader: Reader, tx: mpsc::Sender<Inbound>, closing: CancellationToken) {
    let closed = closing.cancelled();
    tokio::pin!(closed);
    loop {
        let read = tokio::select! {
            biased;
            read = reader.next() => read,
            () = &mut closed => {
                let framed = reader.between_frames();
                Box::pin(drain(&mut reader, framed)).await;
                return;
            }
        };
        let inbound = match read {
            Ok(Incoming::Text(bytes)) => match String::from_utf8(bytes) {
                Ok(text) => Inbound::Packet(text),
                Err(_) => Inbound::Close(1007, "not UTF-8", CloseReason::Error),
            },
            Ok(Incoming::Binary(_)) => Inbound::Binary,
            Ok(Incoming::Ping(payload)) => Inbound::WsPing(payload),
            Ok(Incoming::Pong | Incoming::Fragment) => continue,
            Ok(Incoming::Close(_)) | Err(ReadError::Gone) => Inbound::Gone,
            Err(ReadError::TooBig) => {
                Inbound::Close(1009, "message too big: at most 16 KiB", CloseReason::TooBig)
            }
            Err(ReadError::InvalidUtf8) => Inbound::Close(1007, "not UTF-8", CloseReason::Error),
            Err(ReadError::Protocol(why)) => Inbound::Close(1002, why, CloseReason::Error),
        };
        let last = matches!(inbound, Inbound::Gone | Inbound::Close(..));
        if tx.send(inbound).await.is_err() || last {
            // The session closes and cancels `closing`: wait for it, then drain.
            closed.as_mut().await;
            Box::pin(drain(&mut reader, false)).await;
            return;
        }
    }
}
