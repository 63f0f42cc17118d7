//! Reading client frames: a small RFC 6455 server-side reader that keeps no buffer between
//! messages.
//!
//! The server only reads small client messages (`subscribe`, `ping`), so a read buffer per
//! connection (fastwebsockets keeps 8 KiB) would be most of a connection's memory for nothing.
//! This reader reads each frame's header, mask and payload with exact reads, allocates the
//! payload per message, and refuses a message over the limit from its header, before reading it.
//! It is strict: client frames must be masked, reserved bits clear, control frames short and
//! unfragmented (RFC 6455 §5.1-5.5).

use tokio::io::{AsyncRead, AsyncReadExt};

/// A complete client message or control frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// A text message (possibly reassembled from fragments).
    Text(Vec<u8>),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping, with its payload to echo in the pong.
    Ping(Vec<u8>),
    /// A pong (an answer to the server's heartbeat).
    Pong,
    /// A close frame, with its status code if it had one.
    Close(Option<u16>),
}

/// Why reading stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// A message longer than the limit (close with 1009).
    TooBig,
    /// A frame that breaks RFC 6455 (close with 1002).
    Protocol(&'static str),
    /// The connection ended or failed.
    Gone,
}

impl From<std::io::Error> for ReadError {
    fn from(_: std::io::Error) -> Self {
        ReadError::Gone
    }
}

/// Reads frames from the client half of a connection.
#[derive(Debug)]
pub(crate) struct FrameReader<R> {
    io: R,
    max: usize,
    /// A fragmented message being assembled: (is text, bytes so far).
    partial: Option<(bool, Vec<u8>)>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader refusing messages longer than `max` bytes.
    pub(crate) fn new(io: R, max: usize) -> Self {
        Self {
            io,
            max,
            partial: None,
        }
    }

    /// The next message or control frame.
    pub(crate) async fn next(&mut self) -> Result<Incoming, ReadError> {
        loop {
            let mut head = [0u8; 2];
            self.io.read_exact(&mut head).await?;
            let fin = head[0] & 0x80 != 0;
            let opcode = head[0] & 0x0F;
            if head[0] & 0x70 != 0 {
                return Err(ReadError::Protocol("reserved bits are set"));
            }
            if head[1] & 0x80 == 0 {
                return Err(ReadError::Protocol("client frames must be masked"));
            }
            let len = match head[1] & 0x7F {
                126 => u64::from(self.io.read_u16().await?),
                127 => self.io.read_u64().await?,
                n => u64::from(n),
            };
            let control = opcode & 0x08 != 0;
            if control && (!fin || len > 125) {
                return Err(ReadError::Protocol(
                    "control frames must be whole and at most 125 bytes",
                ));
            }
            let so_far = self.partial.as_ref().map_or(0, |(_, b)| b.len());
            let len = usize::try_from(len).map_err(|_| ReadError::TooBig)?;
            if !control && len.saturating_add(so_far) > self.max {
                return Err(ReadError::TooBig);
            }
            let mut mask = [0u8; 4];
            self.io.read_exact(&mut mask).await?;
            let mut payload = vec![0u8; len];
            self.io.read_exact(&mut payload).await?;
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
            match opcode {
                0x8 => {
                    let code =
                        (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                    return Ok(Incoming::Close(code));
                }
                0x9 => return Ok(Incoming::Ping(payload)),
                0xA => return Ok(Incoming::Pong),
                0x1 | 0x2 => {
                    if self.partial.is_some() {
                        return Err(ReadError::Protocol(
                            "a new message began before the fragmented one ended",
                        ));
                    }
                    let text = opcode == 0x1;
                    if fin {
                        return Ok(if text {
                            Incoming::Text(payload)
                        } else {
                            Incoming::Binary(payload)
                        });
                    }
                    self.partial = Some((text, payload));
                }
                0x0 => {
                    let Some((_, buf)) = self.partial.as_mut() else {
                        return Err(ReadError::Protocol(
                            "a continuation frame without a message",
                        ));
                    };
                    buf.extend_from_slice(&payload);
                    if fin {
                        if let Some((text, buf)) = self.partial.take() {
                            return Ok(if text {
                                Incoming::Text(buf)
                            } else {
                                Incoming::Binary(buf)
                            });
                        }
                    }
                }
                _ => return Err(ReadError::Protocol("unknown opcode")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(read_all(frags, max).await[0], Err(ReadError::TooBig));
        // A 64-bit length is refused too.
        let mut huge = vec![0x81, 0x80 | 127];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(read_all(huge, max).await[0], Err(ReadError::TooBig));
    }

    #[tokio::test]
    async fn protocol_violations() {
        let cases: [(Vec<u8>, &str); 5] = [
            (vec![0x81, 0x02, b'h', b'i'], "masked"),
            (vec![0xC1, 0x80, 0, 0, 0, 0], "reserved"),
            (frame(false, 0x9, b"x"), "control"),
            (frame(true, 0x0, b"x"), "continuation"),
            (frame(true, 0x3, b"x"), "opcode"),
        ];
        for (bytes, why) in cases {
            let got = read_all(bytes, 1024).await;
            assert!(
                matches!(got[0], Err(ReadError::Protocol(m)) if m.contains(why)),
                "{why}: {got:?}"
            );
        }
    }
}
