//! permessage-deflate (RFC 7692) on `/ws`: negotiating the extension at the upgrade, and
//! inflating the client messages that arrive compressed.
//!
//! The server answers the first acceptable `permessage-deflate` offer with
//! `permessage-deflate; server_no_context_takeover; client_no_context_takeover`:
//!
//! - `server_no_context_takeover`: every server message is compressed on its own, so the hub
//!   compresses each frame once and every connection sends the same compressed bytes
//!   (`market_feed::hub::Frame::deflated`);
//! - `client_no_context_takeover` (a server may always ask for it, §7.1.1.2): every client
//!   message inflates on its own, so a connection holds no inflate window between messages.
//!
//! An offer is declined (and the next one considered) when it has an unknown or repeated
//! parameter, a parameter value that is not allowed (§7.1), or asks for
//! `server_max_window_bits` below 15: the server compresses once for everybody with a 32 KiB
//! window. An offer of `server_max_window_bits=15` is accepted and the parameter echoed
//! (§7.1.2.1). `client_max_window_bits` is accepted with or without a value and never answered
//! (the client then may use any window, which the inflater handles). No acceptable offer:
//! the connection works without the extension, as for a client that offered none.

use flate2::{Decompress, FlushDecompress, Status};
use http::HeaderMap;

/// The response header value when the extension is accepted.
const ACCEPT: &str = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
/// The same, for an offer that named `server_max_window_bits=15`.
const ACCEPT_MAX_BITS: &str = "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15";

/// Picks the first acceptable `permessage-deflate` offer of the request's
/// `Sec-WebSocket-Extensions` headers; returns the response header value, or `None` to go
/// without the extension.
///
/// ```
/// # use market_feed_server::ws::deflate::negotiate;
/// let mut h = http::HeaderMap::new();
/// h.insert("sec-websocket-extensions", "permessage-deflate; client_max_window_bits".parse().unwrap());
/// assert_eq!(negotiate(&h), Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover"));
/// ```
pub fn negotiate(headers: &HeaderMap) -> Option<&'static str> {
    headers
        .get_all(http::header::SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(split_outside_quotes(','))
        .find_map(accept_offer)
}

/// Splits on `sep` outside double quotes.
fn split_outside_quotes(sep: char) -> impl Fn(&str) -> Vec<&str> {
    move |s: &str| {
        let mut parts = Vec::new();
        let (mut start, mut quoted) = (0, false);
        for (i, c) in s.char_indices() {
            match c {
                '"' => quoted = !quoted,
                c if c == sep && !quoted => {
                    parts.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&s[start..]);
        parts
    }
}

/// The response to one offer (`name; param; param=value`), if it is acceptable.
fn accept_offer(offer: &str) -> Option<&'static str> {
    let mut items = split_outside_quotes(';')(offer).into_iter().map(str::trim);
    if !items.next()?.eq_ignore_ascii_case("permessage-deflate") {
        return None;
    }
    let mut seen: Vec<String> = Vec::new();
    let mut echo_max_bits = false;
    for param in items {
        let (name, value) = match param.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (param, None),
        };
        let name = name.to_ascii_lowercase();
        if seen.contains(&name) {
            return None;
        }
        match (name.as_str(), value) {
            ("server_no_context_takeover" | "client_no_context_takeover", None) => {}
            ("client_max_window_bits", None) => {}
            ("client_max_window_bits", Some(v)) => {
                window_bits(v)?;
            }
            ("server_max_window_bits", Some(v)) => {
                if window_bits(v)? < 15 {
                    return None;
                }
                echo_max_bits = true;
            }
            _ => return None,
        }
        seen.push(name);
    }
    Some(if echo_max_bits {
        ACCEPT_MAX_BITS
    } else {
        ACCEPT
    })
}

/// A window-bits value: 1*DIGIT in 8..=15 without leading zeros (RFC 7692 §7.1.2).
fn window_bits(v: &str) -> Option<u8> {
    if v.starts_with('0') || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok().filter(|b| (8..=15).contains(b))
}

/// Why a compressed client message could not be inflated.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// It inflates to more than the limit.
    TooBig,
    /// It is not valid DEFLATE data.
    Corrupt,
}

/// Inflates one compressed client message (RFC 7692 §7.2.2: the payload plus `00 00 ff ff`,
/// without context from earlier messages), refusing more than `max` bytes of output.
pub(crate) fn inflate(compressed: &[u8], max: usize) -> Result<Vec<u8>, InflateError> {
    let input = [compressed, &[0x00, 0x00, 0xff, 0xff][..]].concat();
    let mut d = Decompress::new(false);
    let mut out = Vec::with_capacity(max.min(input.len().saturating_mul(4)) + 1);
    loop {
        let before = (d.total_in(), d.total_out());
        let used = usize::try_from(before.0).map_err(|_| InflateError::Corrupt)?;
        let status = d
            .decompress_vec(&input[used..], &mut out, FlushDecompress::Sync)
            .map_err(|_| InflateError::Corrupt)?;
        if out.len() > max {
            return Err(InflateError::TooBig);
        }
        // A final block (RFC 7692 §7.2.3.3) ends the message: the tail after it is ignored.
        let all_in = d.total_in() == input.len() as u64;
        if status == Status::StreamEnd || (all_in && out.len() < out.capacity()) {
            return Ok(out);
        }
        if out.len() == out.capacity() {
            out.reserve((max + 1 - out.len()).clamp(1, out.capacity().max(1024)));
        } else if (d.total_in(), d.total_out()) == before {
            return Err(InflateError::Corrupt);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn offer(values: &[&str]) -> Option<&'static str> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(http::header::SEC_WEBSOCKET_EXTENSIONS, v.parse().unwrap());
        }
        negotiate(&h)
    }

    #[test]
    fn browsers_offers_are_accepted_with_both_no_context_takeovers() {
        // Chromium's and Firefox's offers.
        assert_eq!(
            offer(&["permessage-deflate; client_max_window_bits"]),
            Some(ACCEPT)
        );
        assert_eq!(offer(&["permessage-deflate"]), Some(ACCEPT));
        assert_eq!(
            offer(&["Permessage-Deflate; Server_No_Context_Takeover; client_no_context_takeover"]),
            Some(ACCEPT)
        );
        assert_eq!(
            offer(&["permessage-deflate; client_max_window_bits=\"10\""]),
            Some(ACCEPT)
        );
        assert_eq!(
            offer(&["permessage-deflate; server_max_window_bits=15"]),
            Some(ACCEPT_MAX_BITS)
        );
    }

    #[test]
    fn nothing_acceptable_means_no_extension() {
        assert_eq!(offer(&[]), None);
        assert_eq!(offer(&["x-webkit-deflate-frame"]), None);
        assert_eq!(
            offer(&["permessage-deflate; server_max_window_bits=10"]),
            None
        );
        assert_eq!(offer(&["permessage-deflate; server_max_window_bits"]), None);
        assert_eq!(
            offer(&["permessage-deflate; client_max_window_bits=16"]),
            None
        );
        assert_eq!(
            offer(&["permessage-deflate; client_max_window_bits=09"]),
            None
        );
        assert_eq!(
            offer(&["permessage-deflate; server_no_context_takeover=1"]),
            None
        );
        assert_eq!(offer(&["permessage-deflate; mystery"]), None);
        assert_eq!(
            offer(&["permessage-deflate; client_max_window_bits; client_max_window_bits"]),
            None
        );
    }

    #[test]
    fn the_first_acceptable_of_several_offers_wins_across_headers() {
        assert_eq!(
            offer(&[
                "permessage-deflate; server_max_window_bits=10, permessage-deflate; client_max_window_bits"
            ]),
            Some(ACCEPT)
        );
        assert_eq!(
            offer(&[
                "foo; bar=\"a,b\"",
                "permessage-deflate; server_max_window_bits=15, permessage-deflate"
            ]),
            Some(ACCEPT_MAX_BITS)
        );
    }

    fn compress(data: &[u8]) -> Vec<u8> {
        let mut z = flate2::Compress::new(flate2::Compression::default(), false);
        let mut out = Vec::with_capacity(data.len() + 64);
        z.compress_vec(data, &mut out, flate2::FlushCompress::Sync)
            .unwrap();
        assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
        out.truncate(out.len() - 4);
        out
    }

    #[test]
    fn inflates_within_the_limit_and_refuses_beyond_it_or_garbage() {
        let msg = br#"{"op":"subscribe","topics":["prices"]}"#;
        assert_eq!(inflate(&compress(msg), 16 * 1024).unwrap(), msg);
        let big = vec![b' '; 16 * 1024 + 1];
        let z = compress(&big);
        assert!(z.len() < 200, "a bomb: tiny compressed, big inflated");
        assert_eq!(inflate(&z, 16 * 1024), Err(InflateError::TooBig));
        assert_eq!(
            inflate(&compress(&big[1..]), 16 * 1024).unwrap().len(),
            16 * 1024
        );
        assert_eq!(
            inflate(&[0xff, 0xff, 0xff], 1024),
            Err(InflateError::Corrupt)
        );
        // A message ending in a final block (RFC 7692 §7.2.3.3) inflates too.
        let mut z = flate2::Compress::new(flate2::Compression::default(), false);
        let mut fin = Vec::with_capacity(128);
        z.compress_vec(msg, &mut fin, flate2::FlushCompress::Finish)
            .unwrap();
        fin.push(0x00);
        assert_eq!(inflate(&fin, 1024).unwrap(), msg);
    }
}
