//! One measuring Socket.IO client on Engine.IO's HTTP long-polling transport
//! (`--protocol socketio-polling`): the handshake `GET`, the connect and subscribe `POST`s, then
//! one long poll after another on a single HTTP/1.1 connection, answering the server's pings,
//! accounting for every event as the WebSocket clients do.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::client::{Plan, Shared, account, count_other, now_us, settle};
use crate::scan::{int_field, socketio_event};
use crate::stats::{ConnStats, Outcome};

/// One HTTP/1.1 connection to the server and the session's URL.
struct Poller {
    sender: SendRequest<Full<Bytes>>,
    host: String,
    path: String,
}

impl Poller {
    async fn connect(host: &str) -> Result<Poller, String> {
        let stream = TcpStream::connect(host)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("http handshake: {e}"))?;
        tokio::spawn(conn);
        Ok(Poller {
            sender,
            host: host.to_owned(),
            path: "/socket.io/?EIO=4&transport=polling".to_owned(),
        })
    }

    /// One request; the body of a 200 answer.
    async fn request(&mut self, post: Option<String>) -> Result<Bytes, String> {
        let builder = http::Request::builder()
            .uri(&self.path)
            .header(http::header::HOST, &self.host);
        let req = match post {
            Some(body) => builder
                .method(http::Method::POST)
                .body(Full::new(Bytes::from(body))),
            None => builder
                .method(http::Method::GET)
                .body(Full::new(Bytes::new())),
        }
        .map_err(|e| format!("request: {e}"))?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| format!("http: {e}"))?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        if status != http::StatusCode::OK {
            return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)));
        }
        Ok(body)
    }

    async fn post(&mut self, packet: String) -> Result<(), String> {
        self.request(Some(packet)).await.map(|_| ())
    }
}

/// The packets of a polling payload.
fn packets(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    body.split(|&b| b == 0x1e)
}

/// Handshake, connect, welcome (clock offset), subscribe.
async fn establish(plan: &Plan, subscribe: &str) -> Result<(Poller, i64), String> {
    let host = plan
        .url
        .strip_prefix("ws://")
        .and_then(|r| r.split('/').next())
        .ok_or_else(|| format!("not a ws:// URL: {}", plan.url))?;
    let mut p = Poller::connect(host).await?;
    let open = p.request(None).await?;
    let open: serde_json::Value = open
        .strip_prefix(b"0")
        .and_then(|o| serde_json::from_slice(o).ok())
        .ok_or_else(|| "engine.io: expected an open packet".to_string())?;
    let sid = open["sid"].as_str().ok_or("engine.io: no sid")?.to_owned();
    p.path = format!("{}&sid={sid}", p.path);
    p.post("40".into()).await?;
    loop {
        let body = p.request(None).await?;
        for packet in packets(&body) {
            if packet.starts_with(b"44") {
                return Err("socket.io connect refused".into());
            }
            if let Some((b"welcome", rest)) = socketio_event(packet) {
                let arrived = now_us();
                let server_time =
                    int_field(rest, "server_time").ok_or("welcome without server_time")?;
                p.post(format!("42[\"subscribe\",{subscribe}]")).await?;
                return Ok((p, server_time.saturating_mul(1000).saturating_sub(arrived)));
            }
        }
    }
}

/// Runs one polling connection to completion and returns what it saw.
pub(crate) async fn run(plan: Arc<Plan>, subscribe: String, shared: Arc<Shared>) -> ConnStats {
    let started = Instant::now();
    let setup = establish(&plan, &subscribe);
    let (mut p, mut stats) = match settle(&plan, &shared, started, setup).await {
        Ok(ok) => ok,
        Err(failed) => return failed,
    };
    stats.outcome = 'run: loop {
        let body = tokio::select! {
            biased;
            () = shared.cancel.cancelled() => break Outcome::Open,
            b = p.request(None) => match b {
                Ok(b) => b,
                Err(e) => break Outcome::Closed(e),
            },
        };
        let mut ping = false;
        for packet in packets(&body) {
            match packet {
                b"2" => ping = true,
                b"1" => break 'run Outcome::Closed("engine.io close".into()),
                b"6" => {}
                p => match socketio_event(p) {
                    Some((name, rest)) => account(&mut stats, &shared, name, rest, p.len()),
                    None => count_other(&mut stats, &shared, p.len()),
                },
            }
        }
        if ping {
            if let Err(e) = p.post("3".into()).await {
                break Outcome::Closed(e);
            }
        }
    };
    stats
}
