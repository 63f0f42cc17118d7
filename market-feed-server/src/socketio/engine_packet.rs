//! Engine.IO 4 packets (the transport layer under Socket.IO): one packet is a type digit and
//! its data, `0` open, `1` close, `2` ping, `3` pong, `4` message, `5` upgrade, `6` noop. On
//! WebSocket each packet is one text message; over HTTP long-polling a payload carries several,
//! separated by the record separator `\x1e`.

use bytes::Bytes;
use serde::Serialize;

/// The separator of packets in a long-polling payload.
pub(crate) const SEPARATOR: char = '\x1e';
/// The server's heartbeat ping.
pub(crate) const PING: Bytes = Bytes::from_static(b"2");
/// Answers a long poll that has nothing to carry (during an upgrade).
pub(crate) const NOOP: Bytes = Bytes::from_static(b"6");
/// Tells a long-polling client that the session is over.
pub(crate) const CLOSE: Bytes = Bytes::from_static(b"1");
/// The answer to the WebSocket probe of an upgrade.
pub(crate) const PROBE_PONG: &[u8] = b"3probe";

/// A packet a client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientPacket<'a> {
    /// `1`: the client leaves.
    Close,
    /// `2` with data: a ping (`2probe` during an upgrade).
    Ping(&'a str),
    /// `3`: the answer to the server's ping.
    Pong,
    /// `4` with a Socket.IO packet.
    Message(&'a str),
    /// `5`: the upgrade to WebSocket is done.
    Upgrade,
    /// `6`: nothing.
    Noop,
}

/// Parses one packet; `None` for an empty text, an unknown type, an `open` from a client or
/// a binary packet (`b...`, not used by this server).
pub(crate) fn parse(text: &str) -> Option<ClientPacket<'_>> {
    let mut chars = text.chars();
    let kind = chars.next()?;
    let data = chars.as_str();
    Some(match kind {
        '1' => ClientPacket::Close,
        '2' => ClientPacket::Ping(data),
        '3' => ClientPacket::Pong,
        '4' => ClientPacket::Message(data),
        '5' => ClientPacket::Upgrade,
        '6' => ClientPacket::Noop,
        _ => return None,
    })
}

/// The `open` packet's data: the session id and the session's timers and limits.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Open<'a> {
    pub(crate) sid: &'a str,
    pub(crate) upgrades: &'a [&'a str],
    pub(crate) ping_interval: u128,
    pub(crate) ping_timeout: u128,
    pub(crate) max_payload: usize,
}

impl Open<'_> {
    /// The packet text, `0{"sid":...}`.
    pub(crate) fn packet(&self) -> Bytes {
        let mut out = b"0".to_vec();
        // A struct of strings and numbers always serializes.
        let _ = serde_json::to_writer(&mut out, self);
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn packets_by_type() {
        assert_eq!(parse("2probe"), Some(ClientPacket::Ping("probe")));
        assert_eq!(parse("3"), Some(ClientPacket::Pong));
        assert_eq!(
            parse("42[\"subscribe\",{}]"),
            Some(ClientPacket::Message("2[\"subscribe\",{}]"))
        );
        assert_eq!(parse("5"), Some(ClientPacket::Upgrade));
        for bad in ["", "0{}", "7", "bAQID", "x"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_open_packet_names_what_clients_read() {
        let open = Open {
            sid: "abc",
            upgrades: &["websocket"],
            ping_interval: 25_000,
            ping_timeout: 20_000,
            max_payload: 16_384,
        }
        .packet();
        assert_eq!(
            &open[..],
            br#"0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":16384}"#
        );
    }
}
