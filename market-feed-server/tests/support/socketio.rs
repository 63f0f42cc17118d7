//! Socket.IO test clients speaking raw Engine.IO packets: over WebSocket (`tokio-tungstenite`)
//! and over HTTP long-polling (`reqwest`), so a test sees every packet the server sends.

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

use super::ws::{Client, PATIENCE, Refused};

/// The `[name, body]` of an event packet `42[...]`.
pub fn event_of(packet: &str) -> Option<(String, Value)> {
    let array: Value = serde_json::from_str(packet.strip_prefix("42")?).ok()?;
    Some((array[0].as_str()?.to_owned(), array[1].clone()))
}

/// What the next WebSocket read gave.
#[derive(Debug)]
pub enum Next {
    /// An Engine.IO packet.
    Packet(String),
    /// The connection ended: with the close frame's code, or without one.
    Closed(Option<u16>),
}

/// A Socket.IO client on the WebSocket transport.
pub struct SioWs {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl SioWs {
    /// Opens `ws://addr/socket.io/?EIO=4&transport=websocket` plus `query`.
    pub async fn connect(
        addr: &str,
        query: &str,
        headers: &[(&str, &str)],
    ) -> Result<SioWs, Refused> {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket{query}");
        Client::try_connect(&url, headers)
            .await
            .map(|c| SioWs { ws: c.ws })
    }

    /// Opens a WebSocket-only session and joins the default namespace with `connect` (`"40"`
    /// or `40{"token":..}`); returns the client and the packets up to the `welcome` event.
    pub async fn joined(addr: &str, query: &str, connect: &str) -> (SioWs, Vec<String>) {
        let mut c = SioWs::connect(addr, query, &[])
            .await
            .expect("the upgrade is accepted");
        let open = c.packet().await;
        assert!(open.starts_with("0{"), "{open}");
        c.send(connect).await;
        let mut seen = vec![open];
        loop {
            let p = c.packet().await;
            let welcome = event_of(&p).is_some_and(|(name, _)| name == "welcome");
            seen.push(p);
            if welcome {
                return (c, seen);
            }
        }
    }

    pub async fn send(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_owned()))
            .await
            .expect("sent");
    }

    /// The next packet or the end (control frames skipped).
    pub async fn recv(&mut self) -> Next {
        tokio::time::timeout(PATIENCE, async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Text(t))) => return Next::Packet(t.as_str().to_owned()),
                    Some(Ok(Message::Close(frame))) => {
                        return Next::Closed(frame.map(|f| u16::from(f.code)));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return Next::Closed(None),
                }
            }
        })
        .await
        .expect("a packet or the end within the patience")
    }

    /// The next packet; panics if the connection ends.
    pub async fn packet(&mut self) -> String {
        match self.recv().await {
            Next::Packet(p) => p,
            Next::Closed(code) => panic!("the connection ended (close code {code:?})"),
        }
    }

    /// Skips packets until `pred` holds; answers the server's pings on the way.
    pub async fn until(&mut self, what: &str, mut pred: impl FnMut(&str) -> bool) -> String {
        tokio::time::timeout(PATIENCE, async {
            loop {
                let p = self.packet().await;
                if pred(&p) {
                    return p;
                }
                if p == "2" {
                    self.send("3").await;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no {what} within {PATIENCE:?}"))
    }

    /// Skips packets until the event `name`; its body.
    pub async fn until_event(&mut self, name: &str) -> Value {
        let p = self
            .until(name, |p| event_of(p).is_some_and(|(n, _)| n == name))
            .await;
        event_of(&p).unwrap().1
    }

    /// Skips packets until the connection ends; the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            if let Next::Closed(code) = self.recv().await {
                return code;
            }
        }
    }
}

/// A Socket.IO client on the long-polling transport.
pub struct Polling {
    pub http: reqwest::Client,
    pub base: String,
    pub sid: String,
    pub open: Value,
}

impl Polling {
    /// The handshake `GET /socket.io/?EIO=4&transport=polling` plus `query`.
    pub async fn handshake(addr: &str, query: &str) -> Polling {
        let http = reqwest::Client::builder()
            .timeout(PATIENCE)
            .build()
            .unwrap();
        let base = format!("http://{addr}/socket.io/?EIO=4&transport=polling");
        let r = http.get(format!("{base}{query}")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let body = r.text().await.unwrap();
        let open: Value =
            serde_json::from_str(body.strip_prefix('0').expect("an open packet")).unwrap();
        let sid = open["sid"].as_str().unwrap().to_owned();
        Polling {
            http,
            base,
            sid,
            open,
        }
    }

    pub fn url(&self) -> String {
        format!("{}&sid={}", self.base, self.sid)
    }

    /// One long poll: the packets it returned.
    pub async fn get(&self) -> Vec<String> {
        let r = self.http.get(self.url()).send().await.unwrap();
        assert_eq!(r.status(), 200, "a poll succeeds");
        let body = r.text().await.unwrap();
        body.split('\x1e').map(str::to_owned).collect()
    }

    /// Posts packets (joined by `\x1e`); the status.
    pub async fn post(&self, packets: &[&str]) -> u16 {
        let r = self
            .http
            .post(self.url())
            .body(packets.join("\x1e"))
            .send()
            .await
            .unwrap();
        r.status().as_u16()
    }

    /// Polls (answering pings) until `pred` holds for a packet; every packet seen.
    pub async fn until(&self, what: &str, mut pred: impl FnMut(&str) -> bool) -> Vec<String> {
        tokio::time::timeout(PATIENCE, async {
            let mut seen = Vec::new();
            loop {
                for p in self.get().await {
                    if p == "2" {
                        assert_eq!(self.post(&["3"]).await, 200);
                    }
                    let done = pred(&p);
                    seen.push(p);
                    if done {
                        return seen;
                    }
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no {what} within {PATIENCE:?}"))
    }
}
