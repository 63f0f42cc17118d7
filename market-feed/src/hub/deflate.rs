//! permessage-deflate payloads (RFC 7692): a frame's JSON compressed once, for every
//! connection that negotiated the extension.
//!
//! The server negotiates `server_no_context_takeover`, so every message is compressed on its
//! own, with a fresh compressor: the compressed bytes of a frame do not depend on what the
//! connection received before, and one compression serves every connection that gets the
//! frame. [`Frame::deflated`](super::Frame::deflated) does it lazily (the first connection
//! that needs it pays, the others share the result), so a server with no deflate clients
//! never compresses anything.
//!
//! The encoding is RFC 7692 §7.2.1: raw DEFLATE (no zlib header) with a 32 KiB window, ended
//! by a sync flush, whose trailing empty stored block `00 00 ff ff` is removed. The level and
//! the backend (zlib-rs through `flate2`) were chosen by measurement (docs/performance.md).

use bytes::Bytes;
use flate2::{Compress, Compression, FlushCompress, Status};

/// Payloads shorter than this are sent uncompressed (RSV1 clear): below it compressing saves
/// a few bytes at best and costs a compressor per message.
pub const MIN_DEFLATE_LEN: usize = 1024;

/// The compression level (1 fastest .. 9 smallest); see docs/performance.md for the measurement.
pub const DEFLATE_LEVEL: u32 = 3;

/// The empty stored block a sync flush ends with, which RFC 7692 §7.2.1 removes.
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Compresses one message payload for permessage-deflate (RFC 7692 §7.2.1), without context
/// takeover: the result inflates to `payload` on its own. Returns `None` when the payload is
/// shorter than [`MIN_DEFLATE_LEN`] or compression would not make it smaller, in which case
/// the message is sent uncompressed.
///
/// ```
/// use market_feed::hub::deflate_message;
/// let json = br#"{"event":"prices_batch","seq":1,"data":[]}"#.repeat(40);
/// let z = deflate_message(&json).expect("compressible");
/// assert!(z.len() < json.len() / 4);
/// // Inflating it (after appending 00 00 ff ff, as a client does) gives the payload back.
/// let mut d = flate2::Decompress::new(false);
/// let mut out = Vec::with_capacity(json.len() + 16);
/// d.decompress_vec(&[&z[..], &[0, 0, 0xff, 0xff]].concat(), &mut out, flate2::FlushDecompress::Sync)?;
/// assert_eq!(out, json);
/// assert!(deflate_message(b"{\"event\":\"pong\"}").is_none());
/// # Ok::<(), flate2::DecompressError>(())
/// ```
pub fn deflate_message(payload: &[u8]) -> Option<Bytes> {
    deflate_with_level(payload, DEFLATE_LEVEL)
}

/// [`deflate_message`] at a given level (0..=9), for benchmarks.
///
/// ```
/// use market_feed::hub::deflate_with_level;
/// let json = br#"{"key":"NSE_EQ|INE002A01018","ltp":1391.2}"#.repeat(40);
/// assert!(deflate_with_level(&json, 1).unwrap().len() >= deflate_with_level(&json, 9).unwrap().len());
/// ```
pub fn deflate_with_level(payload: &[u8], level: u32) -> Option<Bytes> {
    if payload.len() < MIN_DEFLATE_LEN {
        return None;
    }
    let mut z = Compress::new(Compression::new(level.min(9)), false);
    // JSON of quotes compresses to well under half; the loop grows the buffer if not.
    let mut out = Vec::with_capacity(payload.len() / 3 + 64);
    loop {
        let consumed = usize::try_from(z.total_in()).ok()?;
        let status = z
            .compress_vec(&payload[consumed..], &mut out, FlushCompress::Sync)
            .ok()?;
        let done = z.total_in() == payload.len() as u64 && out.len() < out.capacity();
        if done || status == Status::StreamEnd {
            break;
        }
        out.reserve(out.capacity().max(4096));
    }
    if !out.ends_with(&SYNC_TAIL) {
        return None;
    }
    out.truncate(out.len() - SYNC_TAIL.len());
    (out.len() < payload.len()).then(|| Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Decompress, FlushDecompress};

    fn inflate(z: &[u8]) -> Vec<u8> {
        let mut d = Decompress::new(false);
        let input = [z, &SYNC_TAIL[..]].concat();
        let mut out = Vec::with_capacity(1 << 20);
        d.decompress_vec(&input, &mut out, FlushDecompress::Sync)
            .unwrap();
        assert_eq!(d.total_in(), input.len() as u64, "all input consumed");
        out
    }

    #[test]
    fn round_trips_large_and_incompressible_payloads() {
        let json: Vec<u8> = (0..5000)
            .flat_map(|i| {
                format!(r#"{{"key":"NSE_EQ|INE{i:07}","ltp":{}.5}},"#, i * 7).into_bytes()
            })
            .collect();
        let z = deflate_message(&json).unwrap();
        assert!(z.len() * 3 < json.len());
        assert_eq!(inflate(&z), json);
        // Every level gives a valid stream.
        for level in 1..=9 {
            assert_eq!(inflate(&deflate_with_level(&json, level).unwrap()), json);
        }
        // Random bytes do not shrink: sent uncompressed.
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(deflate_message(&noise).is_none());
    }

    #[test]
    fn short_payloads_are_not_compressed_and_long_ones_are() {
        assert!(deflate_message(&[b'a'; MIN_DEFLATE_LEN - 1]).is_none());
        let z = deflate_message(&[b'a'; MIN_DEFLATE_LEN]).unwrap();
        assert_eq!(inflate(&z), vec![b'a'; MIN_DEFLATE_LEN]);
    }

    #[test]
    fn the_same_payload_always_compresses_to_the_same_bytes() {
        let json = br#"{"event":"indices_update","seq":4,"data":[{"key":"NSE_INDEX|Nifty 50"}]}"#
            .repeat(30);
        assert_eq!(deflate_message(&json), deflate_message(&json));
    }
}
