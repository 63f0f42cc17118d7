//! Tests of the frame reader: valid frames, fragments, limits and RFC 6455 violations.

use super::*;

/// A masked client frame.
fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

async fn read_all(bytes: Vec<u8>, max: usize) -> Vec<Result<Incoming, ReadError>> {
    let mut r = FrameReader::new(&bytes[..], max);
    let mut out = Vec::new();
    loop {
        let item = r.next().await;
        let stop = item.is_err();
        out.push(item);
        if stop {
            return out;
        }
    }
}

#[tokio::test]
async fn messages_fragments_and_control_frames() {
    let mut bytes = frame(true, 0x1, b"{\"op\":\"ping\"}");
    bytes.extend(frame(false, 0x1, b"ab"));
    bytes.extend(frame(true, 0x9, b"hb")); // a ping between fragments is allowed
    bytes.extend(frame(true, 0x0, b"cd"));
    bytes.extend(frame(true, 0xA, b""));
    bytes.extend(frame(true, 0x2, &[1, 2]));
    bytes.extend(frame(true, 0x8, &1000u16.to_be_bytes()));
    let got = read_all(bytes, 16 * 1024).await;
    assert_eq!(
        got,
        vec![
            Ok(Incoming::Text(b"{\"op\":\"ping\"}".to_vec())),
            Ok(Incoming::Fragment),
            Ok(Incoming::Ping(b"hb".to_vec())),
            Ok(Incoming::Text(b"abcd".to_vec())),
            Ok(Incoming::Pong),
            Ok(Incoming::Binary(vec![1, 2])),
            Ok(Incoming::Close(Some(1000))),
            Err(ReadError::Gone),
        ]
    );
}

#[tokio::test]
async fn limits_are_checked_from_the_header() {
    let max = 16 * 1024;
    // Exactly the limit is fine; one more byte is refused before the payload is read.
    let ok = read_all(frame(true, 0x1, &vec![b'a'; max]), max).await;
    assert!(matches!(ok[0], Ok(Incoming::Text(ref t)) if t.len() == max));
    let mut big = frame(true, 0x1, &vec![b'a'; max + 1]);
    big.truncate(10); // the payload never needs to arrive
    assert_eq!(read_all(big, max).await[0], Err(ReadError::TooBig));
    // Fragments count together.
    let mut frags = frame(false, 0x1, &vec![b'a'; max]);
    frags.extend(frame(true, 0x0, b"b"));
    assert_eq!(read_all(frags, max).await[1], Err(ReadError::TooBig));
    // A 64-bit length is refused too.
    let mut huge = vec![0x81, 0x80 | 127];
    huge.extend_from_slice(&u64::MAX.to_be_bytes());
    assert_eq!(read_all(huge, max).await[0], Err(ReadError::TooBig));
}

#[tokio::test]
async fn protocol_violations() {
    let cases: [(Vec<u8>, &str); 10] = [
        (vec![0x81, 0x02, b'h', b'i'], "masked"),
        (vec![0xC1, 0x80, 0, 0, 0, 0], "reserved"),
        (frame(false, 0x9, b"x"), "control"),
        (frame(true, 0x9, &[b'x'; 126]), "125"),
        (frame(true, 0x0, b"x"), "continuation"),
        (frame(true, 0x3, b"x"), "opcode"),
        (frame(true, 0xB, b""), "opcode"),
        (frame(true, 0x8, &[3]), "1-byte"),
        (frame(true, 0x8, &1005u16.to_be_bytes()), "close code"),
        (
            [frame(false, 0x1, b"a"), frame(true, 0x2, b"b")].concat(),
            "new message",
        ),
    ];
    for (bytes, why) in cases {
        let got = read_all(bytes, 1024).await;
        assert!(
            matches!(got.last(), Some(Err(ReadError::Protocol(m))) if m.contains(why)),
            "{why}: {got:?}"
        );
    }
}

#[tokio::test]
async fn text_and_close_reasons_must_be_utf8() {
    let bad = [0xC3, 0x28];
    assert_eq!(
        read_all(frame(true, 0x1, &bad), 1024).await[0],
        Err(ReadError::InvalidUtf8)
    );
    // Split across fragments: valid as a whole is fine, invalid as a whole is not.
    let euro = "€".as_bytes();
    let ok = [frame(false, 0x1, &euro[..1]), frame(true, 0x0, &euro[1..])].concat();
    assert_eq!(
        read_all(ok, 1024).await[1],
        Ok(Incoming::Text(euro.to_vec()))
    );
    let mut close = 1000u16.to_be_bytes().to_vec();
    close.extend_from_slice(&bad);
    assert_eq!(
        read_all(frame(true, 0x8, &close), 1024).await[0],
        Err(ReadError::InvalidUtf8)
    );
    for code in [1000u16, 1003, 1007, 1011, 3000, 4999] {
        assert_eq!(
            read_all(frame(true, 0x8, &code.to_be_bytes()), 1024).await[0],
            Ok(Incoming::Close(Some(code)))
        );
    }
    for code in [0u16, 999, 1004, 1005, 1006, 1012, 1015, 2999, 5000] {
        assert!(
            matches!(
                read_all(frame(true, 0x8, &code.to_be_bytes()), 1024).await[0],
                Err(ReadError::Protocol(_))
            ),
            "{code}"
        );
    }
    assert_eq!(
        read_all(frame(true, 0x8, b""), 1024).await[0],
        Ok(Incoming::Close(None))
    );
}

/// Hands out bytes in the given chunk sizes (one read each), then the end of the stream.
struct Chunked {
    bytes: Vec<u8>,
    at: usize,
    sizes: Vec<usize>,
    turn: usize,
}

impl AsyncRead for Chunked {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let size = self.sizes[self.turn % self.sizes.len()].max(1);
        self.turn += 1;
        let end = (self.at + size)
            .min(self.bytes.len())
            .min(self.at + buf.remaining());
        buf.put_slice(&self.bytes[self.at..end]);
        self.at = end;
        std::task::Poll::Ready(Ok(()))
    }
}

fn run<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(fut)
}

/// Reads everything; returns the items and the most bytes ever held between reads.
async fn read_chunked(
    bytes: Vec<u8>,
    sizes: Vec<usize>,
    max: usize,
) -> (Vec<Result<Incoming, ReadError>>, usize) {
    let io = Chunked {
        bytes,
        at: 0,
        sizes,
        turn: 0,
    };
    let mut r = FrameReader::new(io, max);
    let (mut out, mut held) = (Vec::new(), 0);
    loop {
        let item = r.next().await;
        held = held.max(r.held());
        if let Ok(Incoming::Text(b) | Incoming::Binary(b) | Incoming::Ping(b)) = &item {
            held = held.max(b.capacity());
        }
        let stop = item.is_err();
        out.push(item);
        if stop {
            return (out, held);
        }
    }
}

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes in arbitrary chunks never panic, never hold more than the limit,
    /// and always end in an error (the stream ends).
    #[test]
    fn arbitrary_bytes_never_panic_or_overallocate(
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
        sizes in proptest::collection::vec(1usize..64, 1..8),
        max in 1usize..2048,
    ) {
        let (items, held) = run(read_chunked(bytes, sizes, max));
        prop_assert!(held <= max.max(125), "held {held} with a limit of {max}");
        prop_assert!(items.last().is_some_and(Result::is_err));
    }

    /// Arbitrary header bytes in front of a large declared length never allocate it.
    #[test]
    fn declared_lengths_are_never_allocated(
        b0 in any::<u8>(),
        len in any::<u64>(),
        tail in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = vec![b0, 0x80 | 127];
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(&[1, 2, 3, 4]);
        bytes.extend(tail);
        let (_, held) = run(read_chunked(bytes, vec![7], 16 * 1024));
        prop_assert!(held <= 64);
    }

    /// Valid frames, fragmented any way and read in any chunks, come back as sent.
    #[test]
    fn valid_frames_round_trip(
        messages in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..600), 1usize..4),
            1..6,
        ),
        sizes in proptest::collection::vec(1usize..300, 1..6),
    ) {
        let mut bytes = Vec::new();
        let mut expected = Vec::new();
        for (text, payload, parts) in messages {
            let payload = if text {
                String::from_utf8_lossy(&payload).into_owned().into_bytes()
            } else {
                payload
            };
            let opcode = if text { 0x1 } else { 0x2 };
            // Split on byte boundaries (a UTF-8 character may straddle fragments).
            let step = payload.len().div_ceil(parts).max(1);
            let pieces: Vec<&[u8]> = if payload.is_empty() {
                vec![&[][..]]
            } else {
                payload.chunks(step).collect()
            };
            for (i, piece) in pieces.iter().enumerate() {
                let first = i == 0;
                let last = i + 1 == pieces.len();
                bytes.extend(frame(last, if first { opcode } else { 0x0 }, piece));
                if !last {
                    expected.push(Ok(Incoming::Fragment));
                }
            }
            bytes.extend(frame(true, 0x9, b"p"));
            expected.push(Ok(if text {
                Incoming::Text(payload.clone())
            } else {
                Incoming::Binary(payload.clone())
            }));
            expected.push(Ok(Incoming::Ping(b"p".to_vec())));
        }
        expected.push(Err(ReadError::Gone));
        let (items, _) = run(read_chunked(bytes, sizes, 16 * 1024));
        prop_assert_eq!(items, expected);
    }
}

/// Raw DEFLATE of `data` as a permessage-deflate sender produces it (tail removed).
fn deflated(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::Compress::new(flate2::Compression::default(), false);
    let mut out = Vec::with_capacity(data.len() + 64);
    z.compress_vec(data, &mut out, flate2::FlushCompress::Sync)
        .unwrap();
    out.truncate(out.len() - 4);
    out
}

async fn read_deflate(bytes: Vec<u8>, max: usize) -> Vec<Result<Incoming, ReadError>> {
    let mut r = FrameReader::new(&bytes[..], max).with_deflate(true);
    let mut out = Vec::new();
    loop {
        let item = r.next().await;
        let stop = item.is_err();
        out.push(item);
        if stop {
            return out;
        }
    }
}

#[tokio::test]
async fn compressed_messages_whole_and_fragmented_are_inflated() {
    let msg = br#"{"op":"subscribe","topics":["indices","prices"]}"#;
    let z = deflated(msg);
    let mut bytes = frame(true, 0x1, &z);
    bytes[0] |= 0x40;
    // Fragmented: RSV1 on the first frame only.
    let mut first = frame(false, 0x1, &z[..3]);
    first[0] |= 0x40;
    bytes.extend(first);
    bytes.extend(frame(true, 0x0, &z[3..]));
    // An uncompressed message on the same connection.
    bytes.extend(frame(true, 0x1, b"{}"));
    let got = read_deflate(bytes, 16 * 1024).await;
    assert_eq!(
        got,
        vec![
            Ok(Incoming::Text(msg.to_vec())),
            Ok(Incoming::Fragment),
            Ok(Incoming::Text(msg.to_vec())),
            Ok(Incoming::Text(b"{}".to_vec())),
            Err(ReadError::Gone),
        ]
    );
}

#[tokio::test]
async fn compressed_messages_are_limited_after_inflating_and_rsv1_is_checked() {
    let max = 16 * 1024;
    let mut bomb = frame(true, 0x1, &deflated(&vec![b' '; max + 1]));
    bomb[0] |= 0x40;
    assert_eq!(read_deflate(bomb, max).await[0], Err(ReadError::TooBig));
    let mut garbage = frame(true, 0x1, &[0xff, 0xff, 0xff]);
    garbage[0] |= 0x40;
    assert!(matches!(
        read_deflate(garbage, max).await[0],
        Err(ReadError::Protocol(_))
    ));
    // Compressed text must still be UTF-8.
    let mut latin1 = frame(true, 0x1, &deflated(&[0xe9; 8]));
    latin1[0] |= 0x40;
    assert_eq!(
        read_deflate(latin1, max).await[0],
        Err(ReadError::InvalidUtf8)
    );
    // RSV1 without the extension, on a continuation or a control frame: protocol errors.
    let mut no_ext = frame(true, 0x1, &deflated(b"{}"));
    no_ext[0] |= 0x40;
    assert!(matches!(
        read_all(no_ext, max).await[0],
        Err(ReadError::Protocol(_))
    ));
    let mut cont = frame(false, 0x1, b"{");
    let mut tail = frame(true, 0x0, b"}");
    tail[0] |= 0x40;
    cont.extend(tail);
    assert!(matches!(
        read_deflate(cont, max).await[1],
        Err(ReadError::Protocol(_))
    ));
    let mut ping = frame(true, 0x9, b"x");
    ping[0] |= 0x40;
    assert!(matches!(
        read_deflate(ping, max).await[0],
        Err(ReadError::Protocol(_))
    ));
    let mut rsv2 = frame(true, 0x1, b"{}");
    rsv2[0] |= 0x20;
    assert!(matches!(
        read_deflate(rsv2, max).await[0],
        Err(ReadError::Protocol(_))
    ));
}
