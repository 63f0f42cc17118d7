//! Writing server frames (RFC 6455 §5.2): unmasked, whole (never fragmented), with RSV1 set on
//! permessage-deflate messages (RFC 7692 §6).
//!
//! Every frame is written with one vectored write of its header and the hub's shared bytes, so
//! a 450 KB `prices_batch` (or its compressed form) is never copied per connection. The writer
//! keeps no buffer: a copy buffer for small frames would sit in every connection's task.

use std::io::{self, IoSlice};

use tokio::io::{AsyncWrite, AsyncWriteExt};

/// The frame opcodes the server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpCode {
    Text = 0x1,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
}

/// The longest header: 2 bytes, then a 64-bit length (server frames are not masked).
const MAX_HEAD: usize = 10;

/// Formats the header of an unmasked, final frame into `head`; returns its length.
fn head(head: &mut [u8; MAX_HEAD], opcode: OpCode, rsv1: bool, len: usize) -> usize {
    head[0] = 0x80 | (u8::from(rsv1) << 6) | opcode as u8;
    if len < 126 {
        head[1] = len as u8;
        2
    } else if let Ok(short) = u16::try_from(len) {
        head[1] = 126;
        head[2..4].copy_from_slice(&short.to_be_bytes());
        4
    } else {
        head[1] = 127;
        head[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    }
}

/// The write half of a server connection.
#[derive(Debug)]
pub(crate) struct FrameWriter<W> {
    io: W,
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    pub(crate) fn new(io: W) -> Self {
        Self { io }
    }

    /// Writes one whole frame; `rsv1` marks a compressed message (data frames only).
    pub(crate) async fn write(
        &mut self,
        opcode: OpCode,
        rsv1: bool,
        payload: &[u8],
    ) -> io::Result<()> {
        let mut h = [0u8; MAX_HEAD];
        let size = head(&mut h, opcode, rsv1, payload.len());
        let total = size + payload.len();
        let mut n = 0;
        // The header and the shared payload in one system call when the socket takes them.
        while n < size {
            let bufs = [IoSlice::new(&h[n..size]), IoSlice::new(payload)];
            match self.io.write_vectored(&bufs).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                w => n += w,
            }
        }
        if n < total {
            self.io.write_all(&payload[n - size..]).await?;
        }
        self.io.flush().await
    }

    /// Writes a close frame with `code` and `reason` (at most 123 bytes, RFC 6455 §5.5).
    pub(crate) async fn close(&mut self, code: u16, reason: &str) -> io::Result<()> {
        let mut payload = Vec::with_capacity(2 + reason.len());
        payload.extend_from_slice(&code.to_be_bytes());
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        payload.extend_from_slice(&reason.as_bytes()[..end]);
        self.write(OpCode::Close, false, &payload).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    async fn written(opcode: OpCode, rsv1: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        FrameWriter::new(&mut out)
            .write(opcode, rsv1, payload)
            .await
            .unwrap();
        out
    }

    #[tokio::test]
    async fn headers_for_every_length_class_and_rsv1() {
        let out = written(OpCode::Text, false, b"hi").await;
        assert_eq!(out, [0x81, 2, b'h', b'i']);
        let out = written(OpCode::Text, true, &[7; 125]).await;
        assert_eq!(&out[..2], [0xC1, 125]);
        let out = written(OpCode::Text, true, &[7; 600]).await;
        assert_eq!(&out[..4], [0xC1, 126, 0x02, 0x58]);
        assert_eq!(out.len(), 604);
        let out = written(OpCode::Text, false, &[7; 70_000]).await;
        assert_eq!(&out[..10], [0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
        assert_eq!(out.len(), 70_010);
        assert!(out[10..].iter().all(|&b| b == 7));
        let out = written(OpCode::Ping, false, b"hb").await;
        assert_eq!(out, [0x89, 2, b'h', b'b']);
    }

    #[tokio::test]
    async fn close_frames_carry_the_code_and_a_bounded_reason() {
        let mut out = Vec::new();
        FrameWriter::new(&mut out)
            .close(1008, "slow consumer")
            .await
            .unwrap();
        assert_eq!(&out[..4], [0x88, 15, 0x03, 0xF0]);
        assert_eq!(&out[4..], b"slow consumer");
        let mut out = Vec::new();
        FrameWriter::new(&mut out)
            .close(1001, &"é".repeat(100))
            .await
            .unwrap();
        assert_eq!(
            out[1],
            2 + 122,
            "cut at a character boundary under 123 bytes"
        );
    }

    /// A writer that accepts at most 3 bytes per call: partial vectored writes are resumed.
    struct Trickle(Vec<u8>);

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<io::Result<usize>> {
            let n = buf.len().min(3);
            self.0.extend_from_slice(&buf[..n]);
            std::task::Poll::Ready(Ok(n))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn partial_writes_are_resumed_without_losing_bytes() {
        let payload: Vec<u8> = (0..2000u32).map(|i| i as u8).collect();
        let mut w = FrameWriter::new(Trickle(Vec::new()));
        w.write(OpCode::Text, true, &payload).await.unwrap();
        let out = w.io.0;
        assert_eq!(&out[..4], [0xC1, 126, 0x07, 0xD0]);
        assert_eq!(&out[4..], &payload[..]);
    }
}
