//! One connection: the authorize call, the handshake, the subscribe frame and the stream of
//! decoded frames.

use std::{
    collections::{HashSet, VecDeque},
    time::Duration,
};

use futures::{SinkExt, StreamExt};
use rand::Rng;
use reqwest::{StatusCode, header};
use serde::Deserialize;
use tokio_tungstenite::tungstenite::{self, Message};

use super::{AUTHORIZE_PATH, Decoder};
use crate::{
    clock::MarketClock,
    source::{
        HttpStatus, Reason, SourceError, StreamEvent, TickStream,
        upstox::{
            Shared,
            request::{REFUSED_BEFORE, TOKEN_INVALID, send_within},
            response::error_code,
        },
    },
    universe::Instrument,
};

#[derive(Deserialize)]
struct AuthorizeBody {
    data: Option<AuthorizeData>,
}

#[derive(Deserialize)]
struct AuthorizeData {
    authorized_redirect_uri: Option<String>,
    #[serde(rename = "authorizedRedirectUri")]
    authorized_redirect_uri_camel: Option<String>,
}

/// The authorize call: the one-use WebSocket URL.
pub(super) async fn authorize(shared: &Shared, timeout: Duration) -> Result<String, SourceError> {
    if !shared.tokens.usable().await {
        return Err(SourceError::Unauthorized(REFUSED_BEFORE.into()));
    }
    shared.limiter.acquire().await;
    let (token, generation) = shared.tokens.snapshot();
    let url = format!(
        "{}{AUTHORIZE_PATH}",
        shared.base_url.as_str().trim_end_matches('/')
    );
    let request = shared
        .http
        .get(&url)
        .bearer_auth(token.expose())
        .header(header::ACCEPT, "application/json");
    let (status, body) = match send_within(request, timeout).await {
        None => {
            return Err(SourceError::Transient(format!(
                "no answer to the market data feed authorize call within {} ms",
                timeout.as_millis()
            )));
        }
        Some(Err(e)) => {
            return Err(SourceError::network(
                "the market data feed authorize call failed",
                e.without_url(),
            ));
        }
        Some(Ok(answer)) => answer,
    };
    let code = error_code(&body);
    if status == StatusCode::UNAUTHORIZED || code.as_ref().is_some_and(|(c, _)| c == TOKEN_INVALID)
    {
        shared.tokens.refuse(generation);
        let http = HttpStatus {
            status: status.as_u16(),
            code: code.as_ref().map(|(c, _)| c.clone()),
            message: code.as_ref().map(|(_, m)| m.clone()),
        };
        return Err(SourceError::Unauthorized(Reason::from_status(
            "the market data feed authorize call was refused",
            http,
        )));
    }
    if status != StatusCode::OK {
        return Err(match status.as_u16() {
            429 => {
                SourceError::RateLimited("HTTP 429 on the market data feed authorize call".into())
            }
            403 | 408 | 500..=599 => SourceError::Http(HttpStatus {
                status: status.as_u16(),
                code: code.as_ref().map(|(c, _)| c.clone()),
                message: Some("the market data feed authorize call was refused".into()),
            }),
            404 | 405 => SourceError::Config(
                format!(
                    "HTTP {} for {AUTHORIZE_PATH}: check the Upstox base URL",
                    status.as_u16()
                )
                .into(),
            ),
            s => SourceError::bad_response(
                format!("unexpected HTTP {s} on the market data feed authorize call"),
                &body,
            )
            .redact(token.expose()),
        });
    }
    shared.tokens.accept(generation);
    let parsed: AuthorizeBody = serde_json::from_slice(&body).map_err(|e| {
        SourceError::undecodable("the authorize answer is not the expected JSON", b"", e)
    })?;
    let uri = parsed
        .data
        .and_then(|d| {
            d.authorized_redirect_uri
                .or(d.authorized_redirect_uri_camel)
        })
        .filter(|u| u.starts_with("wss://") || u.starts_with("ws://"))
        .ok_or_else(|| {
            SourceError::bad_response(
                "the authorize answer has no wss:// or ws:// authorized_redirect_uri",
                b"",
            )
        })?;
    Ok(uri)
}

/// Authorize, handshake, subscribe; the frames as a [`TickStream`].
pub(super) async fn open(
    shared: &Shared,
    timeout: Duration,
    instruments: &[Instrument],
) -> Result<TickStream, SourceError> {
    let uri = authorize(shared, timeout).await?;
    let handshake = tokio_tungstenite::connect_async(uri.as_str());
    let (mut ws, _) = match tokio::time::timeout(timeout, handshake).await {
        Err(_) => {
            return Err(SourceError::Transient(format!(
                "the market data feed handshake did not finish within {} ms",
                timeout.as_millis()
            )));
        }
        Ok(Err(e)) => return Err(handshake_error(shared, e)),
        Ok(Ok(ws)) => ws,
    };
    let subscribe = subscribe_frame(instruments);
    tokio::time::timeout(timeout, ws.send(Message::Binary(subscribe.into())))
        .await
        .map_err(|_| {
            SourceError::Transient("the subscribe frame could not be sent in time".into())
        })?
        .map_err(|e| SourceError::network("cannot send the subscribe frame", e))?;
    tracing::info!(
        instruments = instruments.len(),
        "connected to the Upstox market data feed; subscribed in ltpc mode"
    );
    let state = Reader {
        segments: instruments
            .iter()
            .map(|i| i.key.segment().to_owned())
            .collect(),
        ws,
        decoder: Decoder::new(instruments),
        clock: shared.clock.clone(),
        pending: VecDeque::new(),
        done: false,
    };
    Ok(futures::stream::unfold(state, Reader::next).boxed())
}

fn handshake_error(shared: &Shared, e: tungstenite::Error) -> SourceError {
    match e {
        tungstenite::Error::Http(response) => {
            let status = response.status().as_u16();
            if status == 401 {
                let (_, generation) = shared.tokens.snapshot();
                shared.tokens.refuse(generation);
                SourceError::Unauthorized(Reason::from_status(
                    "the market data feed refused the WebSocket handshake",
                    HttpStatus::new(401),
                ))
            } else {
                // 403 happens while the token works for REST: retried like any failure.
                SourceError::Http(HttpStatus {
                    status,
                    code: None,
                    message: Some("the market data feed refused the WebSocket handshake".into()),
                })
            }
        }
        // The error's text may quote the one-use URL: say what failed, not where.
        tungstenite::Error::Url(_) => {
            SourceError::bad_response("the authorized market data feed URL is not usable", b"")
        }
        other => SourceError::Transient(format!(
            "the market data feed handshake failed: {}",
            kind_of(&other)
        )),
    }
}

fn kind_of(e: &tungstenite::Error) -> &'static str {
    match e {
        tungstenite::Error::Io(_) => "I/O error",
        tungstenite::Error::Tls(_) => "TLS error",
        tungstenite::Error::Protocol(_) => "WebSocket protocol error",
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            "connection closed"
        }
        _ => "unexpected error",
    }
}

/// `{"guid":…,"method":"sub","data":{"mode":"ltpc","instrumentKeys":[…]}}`, sent as binary.
pub(crate) fn subscribe_frame(instruments: &[Instrument]) -> Vec<u8> {
    let guid: u64 = rand::thread_rng().r#gen();
    let keys: Vec<&str> = instruments.iter().map(|i| i.key.as_str()).collect();
    let frame = serde_json::json!({
        "guid": format!("{guid:016x}"),
        "method": "sub",
        "data": {"mode": "ltpc", "instrumentKeys": keys},
    });
    frame.to_string().into_bytes()
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Reader {
    /// The segments of the subscribed instruments: the only statuses passed on.
    segments: HashSet<String>,
    ws: Ws,
    decoder: Decoder,
    clock: MarketClock,
    pending: VecDeque<StreamEvent>,
    done: bool,
}

impl Reader {
    async fn next(mut self) -> Option<(Result<StreamEvent, SourceError>, Self)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if self.done {
                return None;
            }
            match self.ws.next().await {
                None => return None,
                Some(Err(e)) => {
                    self.done = true;
                    let e = SourceError::network("the market data feed connection failed", e);
                    return Some((Err(e), self));
                }
                Some(Ok(Message::Binary(bytes))) => {
                    match self.decoder.decode(&bytes, self.clock.now_ms()) {
                        Ok(decoded) => {
                            let segments: Vec<_> = decoded
                                .segments
                                .into_iter()
                                .filter(|s| self.segments.contains(&s.segment))
                                .collect();
                            if !segments.is_empty() {
                                self.pending.push_back(StreamEvent::Segments(segments));
                            }
                            self.pending.push_back(StreamEvent::Ticks(decoded.quotes));
                        }
                        Err(e) => {
                            // One bad frame is not the connection's end.
                            tracing::warn!(error = %crate::Report::new(&e), "skipping an undecodable market data feed frame");
                        }
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let why = frame.map_or_else(
                        || "no reason given".to_owned(),
                        |f| format!("code {}: {}", u16::from(f.code), f.reason),
                    );
                    self.done = true;
                    let e = SourceError::Transient(format!(
                        "the broker closed the market data feed connection ({why})"
                    ));
                    return Some((Err(e), self));
                }
                // Pings are answered by the WebSocket layer; neither they nor pongs are data.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Text(text))) => {
                    tracing::debug!(
                        len = text.len(),
                        "ignoring a text frame from the market data feed"
                    );
                }
            }
        }
    }
}
