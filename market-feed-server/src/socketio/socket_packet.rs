//! Socket.IO 4 packets, as carried in Engine.IO message packets: a type digit (`0` connect,
//! `1` disconnect, `2` event, `3` ack, `4` connect error, `5`/`6` binary event/ack), then an
//! optional namespace (`/name,`), an optional acknowledgement id, and JSON. The server speaks
//! the default namespace `/` and JSON only (no binary attachments).
//!
//! Encoders return whole Engine.IO packet texts (with the leading `4`), ready to send.

use bytes::Bytes;
use serde_json::Value;

/// A packet a client sends.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SocketPacket {
    /// `0`: join a namespace, with the `auth` object if any.
    Connect {
        /// The namespace (`/` by default).
        nsp: String,
        /// The `auth` option of the client.
        auth: Option<Value>,
    },
    /// `1`: leave a namespace.
    Disconnect,
    /// `2`: an event, `emit(name, ...args)`, with an id when the client wants an answer.
    Event {
        /// The namespace.
        nsp: String,
        /// The acknowledgement id.
        id: Option<u64>,
        /// The event name.
        name: String,
        /// The arguments after the name.
        args: Vec<Value>,
    },
    /// Anything the server does not take (acks, binary packets, connect errors).
    Unsupported,
}

/// Why a packet could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) &'static str);

/// Parses one Socket.IO packet (the data of an Engine.IO message).
pub(crate) fn parse(text: &str) -> Result<SocketPacket, Malformed> {
    let kind = text
        .as_bytes()
        .first()
        .copied()
        .ok_or(Malformed("an empty packet"))?;
    let mut rest = &text[1..];
    if matches!(kind, b'3' | b'4' | b'5' | b'6') {
        return Ok(SocketPacket::Unsupported);
    }
    let mut nsp = String::from("/");
    if rest.starts_with('/') {
        let end = rest.find(',').unwrap_or(rest.len());
        nsp = rest[..end].to_owned();
        rest = rest.get(end + 1..).unwrap_or("");
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = match digits {
        0 => None,
        _ => Some(
            rest[..digits]
                .parse()
                .map_err(|_| Malformed("an acknowledgement id too large"))?,
        ),
    };
    rest = &rest[digits..];
    let json =
        || serde_json::from_str::<Value>(rest).map_err(|_| Malformed("data that is not JSON"));
    match kind {
        b'0' => Ok(SocketPacket::Connect {
            nsp,
            auth: if rest.is_empty() { None } else { Some(json()?) },
        }),
        b'1' => Ok(SocketPacket::Disconnect),
        b'2' => {
            let Value::Array(mut items) = json()? else {
                return Err(Malformed("an event that is not a JSON array"));
            };
            if items.is_empty() {
                return Err(Malformed("an event without a name"));
            }
            let Value::String(name) = items.remove(0) else {
                return Err(Malformed("an event whose name is not a string"));
            };
            Ok(SocketPacket::Event {
                nsp,
                id,
                name,
                args: items,
            })
        }
        _ => Err(Malformed("an unknown packet type")),
    }
}

/// `40{"sid":"..."}`: the namespace is joined.
pub(crate) fn connected(sid: &str) -> Bytes {
    packet("40", &serde_json::json!({ "sid": sid }))
}

/// `44{"message":"..."}` (`44/nsp,{...}` for another namespace): the connect is refused.
pub(crate) fn connect_error(nsp: &str, message: &str) -> Bytes {
    let head = if nsp == "/" {
        "44".to_owned()
    } else {
        format!("44{nsp},")
    };
    packet(&head, &serde_json::json!({ "message": message }))
}

/// `43<id>[value]`: the answer to an event sent with an acknowledgement callback.
pub(crate) fn ack(id: u64, value: &Value) -> Bytes {
    packet(&format!("43{id}"), &Value::Array(vec![value.clone()]))
}

fn packet(head: &str, value: &Value) -> Bytes {
    let mut out = head.as_bytes().to_vec();
    // A `Value` always serializes.
    let _ = serde_json::to_writer(&mut out, value);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn client_packets() {
        assert_eq!(
            parse("0").unwrap(),
            SocketPacket::Connect {
                nsp: "/".into(),
                auth: None
            }
        );
        assert_eq!(
            parse(r#"0{"token":"t"}"#).unwrap(),
            SocketPacket::Connect {
                nsp: "/".into(),
                auth: Some(json!({"token":"t"}))
            }
        );
        assert_eq!(
            parse("0/admin,").unwrap(),
            SocketPacket::Connect {
                nsp: "/admin".into(),
                auth: None
            }
        );
        assert_eq!(
            parse(r#"212["subscribe",{"topics":["prices"]}]"#).unwrap(),
            SocketPacket::Event {
                nsp: "/".into(),
                id: Some(12),
                name: "subscribe".into(),
                args: vec![json!({"topics":["prices"]})],
            }
        );
        assert_eq!(
            parse(r#"2/x,["a"]"#).unwrap(),
            SocketPacket::Event {
                nsp: "/x".into(),
                id: None,
                name: "a".into(),
                args: vec![]
            }
        );
        assert_eq!(parse("1").unwrap(), SocketPacket::Disconnect);
        assert_eq!(parse("51-[\"a\",{}]").unwrap(), SocketPacket::Unsupported);
        for bad in [
            "",
            "2",
            "2{}",
            "2[]",
            "2[1]",
            "2[\"a\"",
            "9",
            "299999999999999999999[\"a\"]",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn server_packets() {
        assert_eq!(&connected("s1")[..], br#"40{"sid":"s1"}"#);
        assert_eq!(
            &connect_error("/", "unauthorized")[..],
            br#"44{"message":"unauthorized"}"#
        );
        assert_eq!(
            &connect_error("/x", "Invalid namespace")[..],
            br#"44/x,{"message":"Invalid namespace"}"#
        );
        assert_eq!(&ack(7, &json!({"ok":true}))[..], br#"437[{"ok":true}]"#);
    }
}
