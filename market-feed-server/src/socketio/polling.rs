//! HTTP long-polling, Engine.IO's first transport: the handshake (`GET` without `sid`), the
//! long poll (`GET` with `sid`: the packets waiting, joined by `\x1e`) and the client's packets
//! (`POST` with `sid`, answered `ok`).

use std::sync::Arc;

use axum::{body::Body, response::Response};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use tokio::sync::mpsc;

use super::{
    engine_packet::{Open, SEPARATOR},
    inbound::Inbound,
    mailbox::{Mailbox, PollRefusal},
    registry::{Handle, Sessions, new_sid},
    session::{self, Start},
};
use crate::{error::ApiError, state::AppState, stats::CloseReason};

/// The largest `POST` body read; a body over it closes the session (413).
pub(crate) const MAX_POST: usize = 64 * 1024;

/// `text/plain` answers, as Engine.IO servers send them.
fn text(body: Body) -> Response {
    let mut r = Response::new(body);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    r
}

/// The unknown-session answer (the session ended, or never existed).
pub(crate) fn unknown_sid() -> ApiError {
    ApiError::bad_request("unknown or ended Socket.IO session (sid): connect again")
}

/// The open packet's timers and limit, from the WebSocket settings.
pub(crate) fn open_packet(state: &AppState, sid: &str, upgrades: &[&str]) -> Bytes {
    let ws = state.ws();
    Open {
        sid,
        upgrades,
        ping_interval: ws.heartbeat.as_millis(),
        ping_timeout: ws.heartbeat.as_millis(),
        max_payload: ws.max_message,
    }
    .packet()
}

/// Starts a session (its task tracked by the state) and registers it; returns its id and
/// handle.
pub(crate) fn start_session(
    state: &AppState,
    sessions: &Sessions,
    handshake_auth: bool,
    permit: tokio::sync::OwnedSemaphorePermit,
    ws: Option<super::inbound::WsOut>,
    tx: mpsc::Sender<Inbound>,
    rx: mpsc::Receiver<Inbound>,
) -> String {
    let sid = new_sid();
    let mailbox = Arc::new(Mailbox::default());
    let open = ws.is_some().then(|| open_packet(state, &sid, &[]));
    if ws.is_none() {
        sessions.insert(
            &sid,
            Handle {
                tx,
                mailbox: mailbox.clone(),
            },
        );
    }
    let start = Start {
        state: state.clone(),
        sessions: sessions.clone(),
        sid: sid.clone(),
        handshake_auth,
        permit,
        rx,
        mailbox,
        ws,
    };
    state.tasks().spawn(session::run(start, open));
    sid
}

/// `GET ?EIO=4&transport=polling`: a new session; answers its `open` packet.
pub(crate) fn handshake(
    state: &AppState,
    sessions: &Sessions,
    handshake_auth: bool,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Response {
    let (tx, rx) = mpsc::channel(32);
    let sid = start_session(state, sessions, handshake_auth, permit, None, tx, rx);
    text(Body::from(open_packet(state, &sid, &["websocket"])))
}

/// `GET ?EIO=4&transport=polling&sid=..`: waits for packets and returns them.
pub(crate) async fn poll(sessions: &Sessions, sid: &str) -> Result<Response, ApiError> {
    let handle = sessions.get(sid).ok_or_else(unknown_sid)?;
    match handle.mailbox.poll().await {
        Ok(packets) => {
            let mut body = Vec::with_capacity(packets.iter().map(|p| p.len() + 1).sum());
            for (i, p) in packets.iter().enumerate() {
                if i > 0 {
                    body.push(SEPARATOR as u8);
                }
                body.extend_from_slice(p);
            }
            Ok(text(Body::from(body)))
        }
        Err(PollRefusal::Overlap) => {
            // Two polls at once is a broken client: end the session as Engine.IO servers do.
            let _ = handle.tx.try_send(Inbound::Close(
                1002,
                "overlapping polls",
                CloseReason::Error,
            ));
            Err(ApiError::bad_request(
                "a poll of this session is already waiting: poll one at a time",
            ))
        }
        Err(PollRefusal::Upgraded) => Err(ApiError::bad_request(
            "this session moved to WebSocket: stop polling it",
        )),
    }
}

/// `POST ?EIO=4&transport=polling&sid=..`: the client's packets, to the session.
pub(crate) async fn post(sessions: &Sessions, sid: &str, body: Body) -> Result<Response, ApiError> {
    let handle = sessions.get(sid).ok_or_else(unknown_sid)?;
    let Ok(bytes) = axum::body::to_bytes(body, MAX_POST).await else {
        let _ = handle
            .tx
            .send(Inbound::Close(1009, "message too big", CloseReason::TooBig))
            .await;
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_big",
            "a message over 16 KiB: the session is closed",
        ));
    };
    let Ok(payload) = std::str::from_utf8(&bytes) else {
        let _ = handle.tx.send(Inbound::Binary).await;
        return Ok(text(Body::from("ok")));
    };
    for packet in payload.split(SEPARATOR) {
        let inbound = if packet.starts_with('b') {
            Inbound::Binary
        } else {
            Inbound::Packet(packet.to_owned())
        };
        if handle.tx.send(inbound).await.is_err() {
            return Err(unknown_sid());
        }
    }
    Ok(text(Body::from("ok")))
}
