//! A minimal WebSocket client that offers permessage-deflate (RFC 7692), for `--deflate`:
//! `tokio-tungstenite` does not implement the extension (it refuses frames with RSV1 set).
//!
//! It performs the opening handshake with
//! `Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits`, reads whole server
//! messages (reassembling fragments), inflates compressed ones with a fresh inflater per message
//! when the server negotiated `server_no_context_takeover` (and with one kept for the
//! connection otherwise), answers pings, and sends masked uncompressed text. Every message
//! reports its wire size (payload bytes as received) next to its text. Messages compressed
//! without context takeover that are byte for byte ones another connection just inflated reuse
//! that text ([`Inflated`]).

use std::sync::Arc;

use bytes::Bytes;
use flate2::{Decompress, FlushDecompress, Status};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::inflated::Inflated;

/// One message from the server.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A text message (inflated if it was compressed) and its size on the wire.
    Text { text: Bytes, wire: usize },
    /// The server closed, with its code if any.
    Close(Option<u16>),
}

/// A connection that negotiated (or was refused) permessage-deflate.
#[derive(Debug)]
pub(crate) struct DeflateWs {
    io: BufReader<TcpStream>,
    /// Whether the server accepted the extension.
    pub(crate) negotiated: bool,
    /// The inflater kept across messages when the server takes over its context.
    context: Option<Decompress>,
    /// The texts shared with the run's other connections (`None`: `--inflate-each`).
    shared: Option<Arc<Inflated>>,
}

/// `ws://host:port/path` → (`host:port`, `/path`).
fn split_url(url: &str) -> Result<(&str, &str), String> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| format!("--deflate needs a ws:// URL, not {url}"))?;
    Ok(match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    })
}

impl DeflateWs {
    /// Connects and performs the handshake, offering the extension. `shared`: the texts
    /// inflated by the run's other connections, reused for byte-identical messages.
    pub(crate) async fn connect(
        url: &str,
        read_buffer: usize,
        shared: Option<Arc<Inflated>>,
    ) -> Result<Self, String> {
        let (host, path) = split_url(url)?;
        let stream = TcpStream::connect(host)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        let mut io = BufReader::with_capacity(read_buffer, stream);
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        );
        io.get_mut()
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("handshake write: {e}"))?;
        let mut head = Vec::with_capacity(256);
        while !head.ends_with(b"\r\n\r\n") {
            let b = io
                .read_u8()
                .await
                .map_err(|e| format!("handshake read: {e}"))?;
            head.push(b);
            if head.len() > 16 * 1024 {
                return Err("handshake answer too long".into());
            }
        }
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        if !head.starts_with("http/1.1 101") {
            return Err(format!(
                "not upgraded: {}",
                head.lines().next().unwrap_or("")
            ));
        }
        let ext = head
            .lines()
            .find_map(|l| l.strip_prefix("sec-websocket-extensions:"))
            .map(str::trim)
            .unwrap_or("");
        let negotiated = ext.starts_with("permessage-deflate");
        let takeover = negotiated && !ext.contains("server_no_context_takeover");
        Ok(Self {
            io,
            negotiated,
            context: takeover.then(|| Decompress::new(false)),
            shared,
        })
    }

    /// Sends a masked text frame.
    pub(crate) async fn send_text(&mut self, text: &str) -> Result<(), String> {
        self.send(0x1, text.as_bytes()).await
    }

    async fn send(&mut self, opcode: u8, payload: &[u8]) -> Result<(), String> {
        let mask = rand::random::<[u8; 4]>();
        let mut out = Vec::with_capacity(payload.len() + 14);
        out.push(0x80 | opcode);
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
        self.io
            .get_mut()
            .write_all(&out)
            .await
            .map_err(|e| format!("write: {e}"))
    }

    /// The next text message or the close; answers pings on the way.
    pub(crate) async fn next(&mut self) -> Result<Incoming, String> {
        let mut message: Option<(bool, Vec<u8>)> = None;
        loop {
            let b0 = self.io.read_u8().await.map_err(|e| format!("read: {e}"))?;
            let b1 = self.io.read_u8().await.map_err(|e| format!("read: {e}"))?;
            let len = match b1 & 0x7f {
                126 => u64::from(self.io.read_u16().await.map_err(|e| format!("read: {e}"))?),
                127 => self.io.read_u64().await.map_err(|e| format!("read: {e}"))?,
                n => u64::from(n),
            };
            let len = usize::try_from(len).map_err(|_| "frame too long".to_string())?;
            if len > 256 << 20 {
                return Err(format!("a {len}-byte frame: over 256 MiB"));
            }
            let mut payload = vec![0u8; len];
            self.io
                .read_exact(&mut payload)
                .await
                .map_err(|e| format!("read: {e}"))?;
            let (fin, rsv1, opcode) = (b0 & 0x80 != 0, b0 & 0x40 != 0, b0 & 0x0f);
            match opcode {
                0x9 => self.send(0xA, &payload).await?,
                0x8 => {
                    let code =
                        (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                    return Ok(Incoming::Close(code));
                }
                0x1 | 0x2 => message = Some((rsv1, payload)),
                0x0 => match message.as_mut() {
                    Some((_, buf)) => buf.extend_from_slice(&payload),
                    None => return Err("a continuation without a message".into()),
                },
                _ => {}
            }
            if fin && matches!(opcode, 0x0..=0x2) {
                let (compressed, wire) = message.take().unwrap_or_default();
                let wire_len = wire.len();
                let text = if compressed {
                    if !self.negotiated {
                        return Err("RSV1 without the extension".into());
                    }
                    match (&self.shared, &self.context) {
                        (Some(shared), None) => {
                            shared.get_or_inflate(&wire, |z| inflate(&mut fresh(), z))?
                        }
                        _ => Bytes::from(self.inflate(&wire)?),
                    }
                } else {
                    Bytes::from(wire)
                };
                return Ok(Incoming::Text {
                    text,
                    wire: wire_len,
                });
            }
        }
    }

    fn inflate(&mut self, z: &[u8]) -> Result<Vec<u8>, String> {
        match self.context.as_mut() {
            Some(d) => inflate(d, z),
            None => inflate(&mut fresh(), z),
        }
    }
}

/// A fresh raw inflater (a message compressed without context takeover).
fn fresh() -> Decompress {
    Decompress::new(false)
}

/// Inflates one message's payload `z` with `d` (RFC 7692 §7.2.2: the payload plus the
/// removed `00 00 ff ff` tail).
fn inflate(d: &mut Decompress, z: &[u8]) -> Result<Vec<u8>, String> {
    let input = [z, &[0x00, 0x00, 0xff, 0xff][..]].concat();
    let mut out = Vec::with_capacity(z.len() * 5 + 64);
    let start_in = d.total_in();
    loop {
        let used = usize::try_from(d.total_in() - start_in).map_err(|e| e.to_string())?;
        let status = d
            .decompress_vec(&input[used..], &mut out, FlushDecompress::Sync)
            .map_err(|e| format!("inflate: {e}"))?;
        let done = d.total_in() - start_in == input.len() as u64;
        if status == Status::StreamEnd || (done && out.len() < out.capacity()) {
            return Ok(out);
        }
        out.reserve(out.capacity().max(4096));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use flate2::{Compress, Compression, FlushCompress};

    #[test]
    fn urls_split_into_host_and_path() {
        assert_eq!(
            split_url("ws://127.0.0.1:8080/ws").unwrap(),
            ("127.0.0.1:8080", "/ws")
        );
        assert_eq!(
            split_url("ws://127.0.0.1:8080").unwrap(),
            ("127.0.0.1:8080", "/")
        );
        assert!(split_url("wss://x/ws").is_err());
    }

    /// Messages compressed with and without context takeover inflate with the matching mode.
    #[tokio::test]
    async fn inflates_with_and_without_context_takeover() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = tokio::spawn(async move { listener.accept().await.unwrap().0 });
        let stream = TcpStream::connect(addr).await.unwrap();
        let _server = accept.await.unwrap();
        let msg = br#"{"event":"prices_batch","seq":1,"data":[]}"#.repeat(50);
        let mut z = Compress::new(Compression::default(), false);
        let mut parts = Vec::new();
        for _ in 0..2 {
            let mut out = Vec::with_capacity(msg.len());
            z.compress_vec(&msg, &mut out, FlushCompress::Sync).unwrap();
            out.truncate(out.len() - 4);
            parts.push(out);
        }
        assert!(
            parts[1].len() < parts[0].len(),
            "the second message reuses the window"
        );
        let mut takeover = DeflateWs {
            io: BufReader::new(stream),
            negotiated: true,
            context: Some(Decompress::new(false)),
            shared: None,
        };
        assert_eq!(takeover.inflate(&parts[0]).unwrap(), msg);
        assert_eq!(takeover.inflate(&parts[1]).unwrap(), msg);
        takeover.context = None;
        assert_eq!(takeover.inflate(&parts[0]).unwrap(), msg);
    }
}
