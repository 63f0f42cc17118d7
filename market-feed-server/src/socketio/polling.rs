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

/// A long-polling payload: the packets joined by the record separator, as a body of the shared
/// packets themselves (a hub frame's packet is not copied per client).
fn payload(packets: Vec<Bytes>) -> Body {
    if let [one] = &packets[..] {
        return Body::from(one.clone());
    }
    let separator = Bytes::from_static(&[SEPARATOR as u8]);
    let parts = packets.into_iter().enumerate().flat_map(move |(i, p)| {
        let sep = (i > 0).then(|| separator.clone());
        sep.into_iter().chain(std::iter::once(p))
    });
    Body::from_stream(futures::stream::iter(
        parts.map(Ok::<_, std::convert::Infallible>),
    ))
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
        Ok(packets) => Ok(text(payload(packets))),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    async fn collected(packets: &[&'static [u8]]) -> Bytes {
        let body = payload(packets.iter().map(|p| Bytes::from_static(p)).collect());
        axum::body::to_bytes(body, 1 << 20).await.unwrap()
    }

    #[tokio::test]
    async fn payloads_join_packets_with_the_record_separator() {
        assert_eq!(collected(&[b"40{}"]).await, &b"40{}"[..]);
        assert_eq!(
            collected(&[b"40{}", b"2", b"42[\"a\",{}]"]).await,
            &b"40{}\x1e2\x1e42[\"a\",{}]"[..]
        );
    }
}
