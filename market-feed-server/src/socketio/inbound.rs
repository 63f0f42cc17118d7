//! What a session's transports tell it ([`Inbound`]), and the WebSocket a session writes to
//! once it has one ([`WsOut`]).

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{
    stats::CloseReason,
    ws::{connection::Writer, progress::Progress},
};

/// A message from a transport to its session.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// One Engine.IO packet (a WebSocket text message, or one packet of a `POST` payload).
    Packet(String),
    /// A binary WebSocket message or `POST` packet (not understood).
    Binary,
    /// A WebSocket ping frame, with its payload for the pong.
    WsPing(Vec<u8>),
    /// The WebSocket probe of an upgrade answered (`true`), or the probing socket failed.
    Probe(bool),
    /// The client finished the upgrade: write to this WebSocket from now on.
    Upgrade(Box<WsOut>),
    /// The transport saw a violation: close with this code, reason and cause.
    Close(u16, &'static str, CloseReason),
    /// The transport ended (the client closed or vanished).
    Gone,
}

/// A session's WebSocket: the write half, and the reader task feeding the session.
#[derive(Debug)]
pub(crate) struct WsOut {
    /// The write half.
    pub(crate) writer: Writer,
    /// When the socket last accepted bytes (the slow-consumer rule).
    pub(crate) progress: Progress,
    /// permessage-deflate was negotiated.
    pub(crate) deflate: bool,
    /// Cancelled when the session closes: the reader drains and stops.
    pub(crate) closing: CancellationToken,
    /// The reader task, once started.
    pub(crate) reader: Option<JoinHandle<()>>,
}

impl Drop for WsOut {
    /// A socket dropped without a session (an upgrade that came too late) stops its reader.
    fn drop(&mut self) {
        self.closing.cancel();
    }
}
