//! Reading client frames: a small RFC 6455 server-side reader that keeps no buffer between
//! messages.
//!
//! The server only reads small client messages (`subscribe`, `ping`), so a read buffer per
//! connection (fastwebsockets keeps 8 KiB) would be most of a connection's memory for nothing.
//! This reader reads each frame's header and mask with exact reads, and the payload in chunks
//! of at most [`CHUNK`] bytes as they arrive, never allocating from a declared length: a header
//! that announces 16 KiB and sends nothing costs nothing. A message over the limit is refused
//! from its header, before its payload is read.
//!
//! It is strict (RFC 6455 §5.1-5.5, §7.4): client frames must be masked, reserved bits clear,
//! opcodes known, control frames short and unfragmented, fragments in order; text must be
//! UTF-8 ([`ReadError::InvalidUtf8`], close 1007); a close frame must have no payload or a
//! valid code with a UTF-8 reason. Each non-final data frame is reported
//! ([`Incoming::Fragment`]) so the caller can count it against the flood limit.
//!
//! With permessage-deflate negotiated ([`FrameReader::with_deflate`]), RSV1 may be set on the
//! first frame of a data message: the whole message is then inflated (RFC 7692 §6.2) and the
//! size limit applies to the inflated bytes (and to the compressed ones as they arrive). RSV1
//! on a control or continuation frame, RSV2/RSV3, or RSV1 without the extension are protocol
//! violations.

use tokio::io::{AsyncRead, AsyncReadExt};

use super::deflate::{InflateError, inflate};

/// The most payload bytes allocated at once: payloads grow as their bytes arrive.
const CHUNK: usize = 4096;

/// A complete client message or control frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// A text message (possibly reassembled from fragments), valid UTF-8.
    Text(Vec<u8>),
    /// A binary message.
    Binary(Vec<u8>),
    /// A non-final fragment of a message was read (the message is still being assembled).
    Fragment,
    /// A ping, with its payload to echo in the pong.
    Ping(Vec<u8>),
    /// A pong (an answer to the server's heartbeat).
    Pong,
    /// A valid close frame, with its status code if it had one.
    Close(Option<u16>),
}

/// Why reading stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// A message longer than the limit (close with 1009).
    TooBig,
    /// A frame that breaks RFC 6455 (close with 1002).
    Protocol(&'static str),
    /// A text message or close reason that is not UTF-8 (close with 1007).
    InvalidUtf8,
    /// The connection ended or failed.
    Gone,
}

impl From<std::io::Error> for ReadError {
    fn from(_: std::io::Error) -> Self {
        ReadError::Gone
    }
}

/// Whether a close code may be sent by a peer (RFC 6455 §7.4).
fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
}

/// A data message being assembled from fragments.
#[derive(Debug, Default)]
struct Partial {
    text: bool,
    /// RSV1 was set on its first frame: `bytes` are DEFLATE data.
    compressed: bool,
    bytes: Vec<u8>,
}

/// Reads frames from the client half of a connection.
#[derive(Debug)]
pub(crate) struct FrameReader<R> {
    io: R,
    max: usize,
    /// Whether permessage-deflate was negotiated (RSV1 marks a compressed message).
    deflate: bool,
    /// A fragmented message being assembled.
    partial: Option<Partial>,
    /// False while a frame is being read, and after a read was cancelled mid-frame.
    between_frames: bool,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader refusing messages longer than `max` bytes.
    pub(crate) fn new(io: R, max: usize) -> Self {
        Self {
            io,
            max,
            deflate: false,
            partial: None,
            between_frames: true,
        }
    }

    /// Accepts compressed messages (permessage-deflate was negotiated).
    pub(crate) fn with_deflate(mut self, deflate: bool) -> Self {
        self.deflate = deflate;
        self
    }

    /// Bytes held for a message being assembled (its allocation).
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.partial.as_ref().map_or(0, |p| p.bytes.capacity())
    }

    /// Appends `len` payload bytes to `buf`, unmasked, growing it as they arrive.
    async fn read_payload(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        mask: [u8; 4],
    ) -> Result<(), ReadError> {
        let start = buf.len();
        let end = start + len;
        while buf.len() < end {
            let want = (end - buf.len()).min(CHUNK);
            buf.reserve_exact(want);
            let n = (&mut self.io).take(want as u64).read_buf(buf).await?;
            if n == 0 {
                return Err(ReadError::Gone);
            }
        }
        for (i, b) in buf[start..].iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
        Ok(())
    }

    /// Reads and discards what the peer sends, for at most `budget` bytes or until the end of
    /// the stream. Used after a close, when frames can no longer be parsed.
    pub(crate) async fn discard(&mut self, budget: usize) {
        let mut sink = [0u8; 1024];
        let mut left = budget;
        while left > 0 {
            match self.io.read(&mut sink[..left.min(1024)]).await {
                Ok(0) | Err(_) => return,
                Ok(n) => left -= n,
            }
        }
    }

    /// Whether the stream is at a frame boundary: false after a [`FrameReader::next`] was
    /// cancelled mid-frame (its bytes can then only be discarded).
    pub(crate) fn between_frames(&self) -> bool {
        self.between_frames
    }

    /// The next message or control frame.
    pub(crate) async fn next(&mut self) -> Result<Incoming, ReadError> {
        self.between_frames = false;
        let read = self.next_frame().await;
        self.between_frames = true;
        read
    }

    async fn next_frame(&mut self) -> Result<Incoming, ReadError> {
        let mut head = [0u8; 2];
        self.io.read_exact(&mut head).await?;
        let fin = head[0] & 0x80 != 0;
        let opcode = head[0] & 0x0F;
        let rsv1 = head[0] & 0x40 != 0;
        if head[0] & 0x30 != 0 || (rsv1 && !(self.deflate && matches!(opcode, 0x1 | 0x2))) {
            return Err(ReadError::Protocol("reserved bits are set"));
        }
        if head[1] & 0x80 == 0 {
            return Err(ReadError::Protocol("client frames must be masked"));
        }
        if !matches!(opcode, 0x0..=0x2 | 0x8..=0xA) {
            return Err(ReadError::Protocol("unknown opcode"));
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
        match (opcode, self.partial.is_some()) {
            (0x0, false) => {
                return Err(ReadError::Protocol(
                    "a continuation frame without a message",
                ));
            }
            (0x1 | 0x2, true) => {
                return Err(ReadError::Protocol(
                    "a new message began before the fragmented one ended",
                ));
            }
            _ => {}
        }
        let so_far = self.partial.as_ref().map_or(0, |p| p.bytes.len());
        let len = usize::try_from(len).map_err(|_| ReadError::TooBig)?;
        if !control && len.saturating_add(so_far) > self.max {
            return Err(ReadError::TooBig);
        }
        let mut mask = [0u8; 4];
        self.io.read_exact(&mut mask).await?;
        if opcode == 0x0 {
            // Appended in place: no allocation per fragment.
            let mut partial = self.partial.take().unwrap_or_default();
            let read = self.read_payload(&mut partial.bytes, len, mask).await;
            self.partial = Some(partial);
            read?;
            if !fin {
                return Ok(Incoming::Fragment);
            }
            let partial = self.partial.take().unwrap_or_default();
            return self.message(partial);
        }
        let mut payload = Vec::new();
        self.read_payload(&mut payload, len, mask).await?;
        match opcode {
            0x8 => Self::close(&payload),
            0x9 => Ok(Incoming::Ping(payload)),
            0xA => Ok(Incoming::Pong),
            _ => {
                let partial = Partial {
                    text: opcode == 0x1,
                    compressed: rsv1,
                    bytes: payload,
                };
                if fin {
                    self.message(partial)
                } else {
                    self.partial = Some(partial);
                    Ok(Incoming::Fragment)
                }
            }
        }
    }

    fn message(&self, partial: Partial) -> Result<Incoming, ReadError> {
        let Partial {
            text,
            compressed,
            mut bytes,
        } = partial;
        if compressed {
            bytes = inflate(&bytes, self.max).map_err(|e| match e {
                InflateError::TooBig => ReadError::TooBig,
                InflateError::Corrupt => {
                    ReadError::Protocol("a compressed message that does not inflate")
                }
            })?;
        }
        if !text {
            return Ok(Incoming::Binary(bytes));
        }
        if std::str::from_utf8(&bytes).is_err() {
            return Err(ReadError::InvalidUtf8);
        }
        Ok(Incoming::Text(bytes))
    }

    fn close(payload: &[u8]) -> Result<Incoming, ReadError> {
        match payload {
            [] => Ok(Incoming::Close(None)),
            [_] => Err(ReadError::Protocol("a close frame with a 1-byte payload")),
            [a, b, reason @ ..] => {
                let code = u16::from_be_bytes([*a, *b]);
                if !valid_close_code(code) {
                    return Err(ReadError::Protocol("a close code that may not be sent"));
                }
                if std::str::from_utf8(reason).is_err() {
                    return Err(ReadError::InvalidUtf8);
                }
                Ok(Incoming::Close(Some(code)))
            }
        }
    }
}

#[cfg(test)]
mod tests;
