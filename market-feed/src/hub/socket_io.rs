//! A hub message as a Socket.IO event packet: `{"event":"prices_batch","seq":7,...}` becomes
//! `42["prices_batch",{"seq":7,...}]` (Engine.IO message `4`, Socket.IO event `2`, the default
//! namespace, the body without its `event` field), so the server's `/socket.io/` endpoint
//! sends the same bytes to every client that gets the same frame.
//!
//! The hub writes `"event"` first in every message, so the packet is the message's bytes
//! after the event name, with a short prefix and one closing bracket: one copy per frame.
//! A message whose `event` is not first is re-serialized without it.

use bytes::Bytes;
use serde_json::{Map, Value};

/// The Socket.IO event packet of a server message (a JSON object with an `"event"` string),
/// or `None` when `message` is not such an object.
///
/// ```
/// use market_feed::hub::socket_io_packet;
/// let p = socket_io_packet(br#"{"event":"indices_update","seq":42,"data":[]}"#).unwrap();
/// assert_eq!(&p[..], br#"42["indices_update",{"seq":42,"data":[]}]"#);
/// let p = socket_io_packet(br#"{"seq":1,"event":"pong"}"#).unwrap();
/// assert_eq!(&p[..], br#"42["pong",{"seq":1}]"#);
/// assert!(socket_io_packet(b"[1]").is_none());
/// ```
pub fn socket_io_packet(message: &[u8]) -> Option<Bytes> {
    fast_path(message).or_else(|| slow_path(message))
}

/// `{"event":"NAME",REST` or `{"event":"NAME"}` with a plain name (no escapes).
fn fast_path(message: &[u8]) -> Option<Bytes> {
    const HEAD: &[u8] = br#"{"event":""#;
    let rest = message.strip_prefix(HEAD)?;
    let end = rest.iter().position(|&b| b == b'"')?;
    let name = &rest[..end];
    if name.is_empty() || name.contains(&b'\\') {
        return None;
    }
    let after = &rest[end + 1..];
    let body: &[u8] = match after.first() {
        Some(b',') => &after[1..],
        Some(b'}') if after.len() == 1 => b"}",
        _ => return None,
    };
    let mut out = Vec::with_capacity(name.len() + body.len() + 8);
    out.extend_from_slice(b"42[\"");
    out.extend_from_slice(name);
    out.extend_from_slice(b"\",{");
    out.extend_from_slice(body);
    out.push(b']');
    Some(Bytes::from(out))
}

fn slow_path(message: &[u8]) -> Option<Bytes> {
    let mut object: Map<String, Value> = serde_json::from_slice(message).ok()?;
    let Value::String(name) = object.remove("event")? else {
        return None;
    };
    let mut out = b"42".to_vec();
    serde_json::to_writer(&mut out, &(name, Value::Object(object))).ok()?;
    Some(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_keep_every_field_but_event() {
        let cases: [(&[u8], Option<&[u8]>); 7] = [
            (br#"{"event":"welcome"}"#, Some(br#"42["welcome",{}]"#)),
            (
                br#"{"event":"snapshot","topic":"prices","data":[{"k":"a\"b"}]}"#,
                Some(br#"42["snapshot",{"topic":"prices","data":[{"k":"a\"b"}]}]"#),
            ),
            (
                br#"{"topic":"prices","event":"feed_status"}"#,
                Some(br#"42["feed_status",{"topic":"prices"}]"#),
            ),
            (br#"{"event":7}"#, None),
            (br#"{"seq":1}"#, None),
            (b"not json", None),
            (br#"{"event":"x"} "#, Some(br#"42["x",{}]"#)),
        ];
        for (message, expected) in cases {
            let got = socket_io_packet(message);
            assert_eq!(
                got.as_deref(),
                expected,
                "{}",
                String::from_utf8_lossy(message)
            );
        }
    }

    #[test]
    fn the_packet_is_the_json_array_of_name_and_body() {
        let message = br#"{"event":"prices_batch","seq":7,"data":[{"key":"NSE_EQ|X","ltp":1.5}]}"#;
        let packet = socket_io_packet(message).unwrap();
        let array: Value = serde_json::from_slice(&packet[2..]).unwrap();
        let mut original: Map<String, Value> = serde_json::from_slice(message).unwrap();
        original.remove("event");
        assert_eq!(array, serde_json::json!(["prices_batch", original]));
    }
}
