//! WebSocket clients for the tests: a well-behaved one on `tokio-tungstenite` (a different
//! implementation from the server's), and a raw one on a bare TCP socket that can misbehave
//! (never read, never answer pings, send oversized or half frames, vanish).

use std::{net::SocketAddr, time::Duration};

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{self, Message, client::IntoClientRequest},
};

/// How long any single expectation may take.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// What the next read gave.
#[derive(Debug)]
pub enum Next {
    /// A JSON text message.
    Event(Value),
    /// The connection ended: with the close frame's code, or without one (reset, EOF).
    Closed(Option<u16>),
}

/// A well-behaved client: reads everything and answers pings (tungstenite does).
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// Why an upgrade was refused: the HTTP status and the JSON body.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: Value,
}

impl Client {
    /// Connects to `url` (e.g. `ws://127.0.0.1:1234/ws`); panics if refused.
    pub async fn connect(url: &str) -> Client {
        Self::try_connect(url, &[])
            .await
            .unwrap_or_else(|r| panic!("the upgrade was refused: {r:?}"))
    }

    /// Connects with extra request headers; `Err` with the status and body if refused.
    pub async fn try_connect(url: &str, headers: &[(&str, &str)]) -> Result<Client, Refused> {
        let mut request = url.into_client_request().unwrap();
        for (name, value) in headers {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        match tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(request))
            .await
            .expect("the handshake completes in time")
        {
            Ok((ws, _)) => Ok(Client { ws }),
            Err(tungstenite::Error::Http(resp)) => {
                let status = resp.status().as_u16();
                let body = resp
                    .body()
                    .as_deref()
                    .map(|b| serde_json::from_slice(b).expect("a JSON error body"))
                    .unwrap_or(Value::Null);
                Err(Refused { status, body })
            }
            Err(e) => panic!("the WebSocket handshake failed: {e}"),
        }
    }

    /// Connects and reads the `welcome`.
    pub async fn connect_welcomed(url: &str) -> (Client, Value) {
        let mut c = Self::connect(url).await;
        let welcome = c.event().await;
        assert_eq!(welcome["event"], "welcome", "{welcome}");
        (c, welcome)
    }

    pub async fn send(&mut self, value: Value) {
        self.send_text(value.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws
            .send(Message::text(text))
            .await
            .expect("the message is sent");
    }

    /// The next JSON message or the end of the connection (control frames are skipped).
    pub async fn recv(&mut self) -> Next {
        tokio::time::timeout(PATIENCE, async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Text(t))) => {
                        return Next::Event(serde_json::from_str(t.as_str()).unwrap_or_else(|e| {
                            panic!("the server sent a text frame that is not JSON ({e})")
                        }));
                    }
                    Some(Ok(Message::Binary(_))) => panic!("the server sent a binary frame"),
                    Some(Ok(Message::Close(frame))) => {
                        return Next::Closed(frame.map(|f| u16::from(f.code)));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return Next::Closed(None),
                }
            }
        })
        .await
        .expect("a message or the end of the connection within the patience")
    }

    /// The next JSON message; panics if the connection ends.
    pub async fn event(&mut self) -> Value {
        match self.recv().await {
            Next::Event(v) => v,
            Next::Closed(code) => panic!("the connection ended (close code {code:?})"),
        }
    }

    /// Skips messages until one has `"event": name`.
    pub async fn until(&mut self, name: &str) -> Value {
        self.until_match(name, |v| v["event"] == name).await
    }

    /// Skips messages until `pred` holds.
    pub async fn until_match(&mut self, what: &str, mut pred: impl FnMut(&Value) -> bool) -> Value {
        tokio::time::timeout(PATIENCE, async {
            loop {
                let v = self.event().await;
                if pred(&v) {
                    return v;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no {what} within {PATIENCE:?}"))
    }

    /// Skips messages until the connection ends; the close code, if a close frame came.
    pub async fn closed(&mut self) -> Option<u16> {
        tokio::time::timeout(PATIENCE, async {
            loop {
                if let Next::Closed(code) = self.recv().await {
                    return code;
                }
            }
        })
        .await
        .expect("the connection ends within the patience")
    }

    /// Sends a `ping` op and returns the matching `pong` (skipping other messages).
    pub async fn roundtrip(&mut self, id: i64) -> Value {
        self.send(serde_json::json!({"op": "ping", "id": id})).await;
        self.until_match("pong", |v| v["event"] == "pong" && v["id"] == id)
            .await
    }
}

/// A hand-made client on a bare socket.
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    /// Opens a TCP connection and performs the WebSocket handshake.
    pub async fn connect(addr: SocketAddr) -> Raw {
        Self::connect_with(addr, None).await
    }

    /// Like [`Raw::connect`], with a small socket receive buffer when given (so a client
    /// that does not read stalls the server's writes sooner).
    pub async fn connect_with(addr: SocketAddr, recv_buffer: Option<u32>) -> Raw {
        Self::connect_full(addr, recv_buffer, "").await.0
    }

    /// Like [`Raw::connect`], sending `extra` header lines (each ending in `\r\n`); returns
    /// the response head too.
    pub async fn connect_headers(addr: SocketAddr, extra: &str) -> (Raw, String) {
        Self::connect_full(addr, None, extra).await
    }

    async fn connect_full(
        addr: SocketAddr,
        recv_buffer: Option<u32>,
        extra: &str,
    ) -> (Raw, String) {
        let socket = TcpSocket::new_v4().unwrap();
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).unwrap();
        }
        let mut stream = socket.connect(addr).await.unwrap();
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        let end = tokio::time::timeout(PATIENCE, async {
            loop {
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    return i + 4;
                }
                let mut chunk = [0u8; 1024];
                let n = stream.read(&mut chunk).await.unwrap();
                assert!(n > 0, "the server closed during the handshake");
                buf.extend_from_slice(&chunk[..n]);
            }
        })
        .await
        .expect("the handshake answer comes in time");
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        assert!(head.starts_with("HTTP/1.1 101"), "not upgraded: {head}");
        buf.drain(..end);
        (Raw { stream, buf }, head)
    }

    /// The bytes of one client frame (masked, with an all-zero key so the payload is sent as
    /// is), `len` being the length announced in its header.
    pub fn frame_header(opcode: u8, fin: bool, len: u64) -> Vec<u8> {
        let mut out = vec![(u8::from(fin) << 7) | opcode];
        if len < 126 {
            out.push(0x80 | len as u8);
        } else if len <= u64::from(u16::MAX) {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(0x80 | 127);
            out.extend_from_slice(&len.to_be_bytes());
        }
        out.extend_from_slice(&[0, 0, 0, 0]);
        out
    }

    /// Sends one complete frame.
    pub async fn send_frame(&mut self, opcode: u8, fin: bool, payload: &[u8]) {
        let mut bytes = Self::frame_header(opcode, fin, payload.len() as u64);
        bytes.extend_from_slice(payload);
        self.stream.write_all(&bytes).await.unwrap();
    }

    /// Sends raw bytes.
    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    async fn fill(&mut self, at_least: usize) -> bool {
        while self.buf.len() < at_least {
            let mut chunk = vec![0u8; 64 * 1024];
            match self.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
        true
    }

    /// Reads one server frame: `(opcode, payload)`, or `None` at EOF or reset. Never answers.
    pub async fn read_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        let (first, payload) = self.read_frame_head().await?;
        assert_eq!(first & 0x70, 0, "no reserved bit without an extension");
        Some((first & 0x0f, payload))
    }

    /// Reads one server frame: `(its first header byte (FIN, RSV1-3, opcode), payload)`.
    pub async fn read_frame_head(&mut self) -> Option<(u8, Vec<u8>)> {
        if !self.fill(2).await {
            return None;
        }
        let first = self.buf[0];
        assert_eq!(self.buf[1] & 0x80, 0, "server frames are not masked");
        let (len, header) = match self.buf[1] & 0x7f {
            126 => {
                if !self.fill(4).await {
                    return None;
                }
                (
                    usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]])),
                    4,
                )
            }
            127 => {
                if !self.fill(10).await {
                    return None;
                }
                let mut b = [0u8; 8];
                b.copy_from_slice(&self.buf[2..10]);
                (usize::try_from(u64::from_be_bytes(b)).unwrap(), 10)
            }
            n => (usize::from(n), 2),
        };
        if !self.fill(header + len).await {
            return None;
        }
        let payload = self.buf[header..header + len].to_vec();
        self.buf.drain(..header + len);
        Some((first, payload))
    }

    /// Sends `bytes` while reading, then reads until a close frame or the end of the
    /// connection: a flood that the server cuts short still lets the close frame be read.
    pub async fn send_and_read_until_close(&mut self, bytes: &[u8]) -> Ending {
        let (mut rd, mut wr) = self.stream.split();
        let write = async {
            // The server may close before everything is written: a broken pipe is expected.
            let _ = wr.write_all(bytes).await;
        };
        let read = async {
            let mut all = Vec::new();
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                match rd.read(&mut chunk).await {
                    Ok(0) | Err(_) => return all,
                    Ok(n) => all.extend_from_slice(&chunk[..n]),
                }
            }
        };
        let ((), all) = tokio::time::timeout(PATIENCE, async { tokio::join!(write, read) })
            .await
            .expect("the server ends the connection within the patience");
        self.buf.extend_from_slice(&all);
        self.read_until_close().await
    }

    /// Reads (without answering anything) until a close frame or the end of the connection.
    pub async fn read_until_close(&mut self) -> Ending {
        let mut ending = Ending::default();
        tokio::time::timeout(PATIENCE, async {
            loop {
                match self.read_frame().await {
                    None => return,
                    Some((8, payload)) => {
                        ending.code = (payload.len() >= 2)
                            .then(|| u16::from_be_bytes([payload[0], payload[1]]));
                        ending.reason =
                            String::from_utf8_lossy(payload.get(2..).unwrap_or(&[])).into_owned();
                        return;
                    }
                    Some((1, payload)) => ending
                        .texts
                        .push(serde_json::from_slice(&payload).expect("JSON text")),
                    Some((9, _)) => ending.pings += 1,
                    Some((10, _)) => ending.pongs += 1,
                    Some(_) => {}
                }
            }
        })
        .await
        .expect("the server ends the connection within the patience");
        ending
    }
}

/// How a raw connection ended, and what came before.
#[derive(Debug, Default)]
pub struct Ending {
    /// The close frame's code, if one came.
    pub code: Option<u16>,
    /// The close frame's reason.
    pub reason: String,
    /// The text messages before it.
    pub texts: Vec<Value>,
    /// WebSocket pings received (never answered).
    pub pings: usize,
    /// WebSocket pongs received.
    pub pongs: usize,
}

/// Opcodes of RFC 6455.
pub const TEXT: u8 = 1;
pub const CONTINUATION: u8 = 0;
