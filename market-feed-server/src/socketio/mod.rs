//! The Socket.IO endpoint `/socket.io/` (`docs/protocol.md`, "Socket.IO"): Engine.IO 4 and
//! Socket.IO 4 on the default namespace, over HTTP long-polling with an upgrade to WebSocket,
//! or over WebSocket alone, so an unchanged `socket.io-client` 4.x connects with its defaults.
//!
//! The events are those of `/ws` (`welcome`, `snapshot`, `indices_update`, ...), each body the
//! `/ws` message without its `event` field. A hub frame's packet `42["prices_batch",{...}]` is
//! built once per frame and shared by every client ([`market_feed::hub::Frame::socket_io`]),
//! compressed once when clients negotiated permessage-deflate.
//!
//! A small Engine.IO layer of our own rather than `socketioxide`: it reuses the `/ws` write
//! path (one vectored write from the shared bytes, deflate computed once per frame), reader,
//! flood limiter and slow-consumer rule; see `docs/architecture.md`.
//!
//! - `engine_packet` and `socket_packet`: the two packet layers;
//! - `session`: one session's task (subscription, heartbeat, limits, events and acks);
//! - `mailbox`: the packets a long-polling session holds for the next poll;
//! - `polling` and `websocket`: the two transports; `registry`: sessions by id;
//! - `inbound`: what transports tell sessions.
//!
//! Access as on `/ws`: an `Origin` off the allow-list gets 403, a new session over the
//! connection limit gets 503 (sessions are counted, not requests), and a token is taken from
//! the handshake (`Authorization: Bearer`, `?token=`) or from the client's `auth: {token}`;
//! without one, the connect gets the `CONNECT_ERROR` `{"message":"unauthorized"}`.

mod engine_packet;
mod inbound;
mod mailbox;
mod polling;
mod registry;
mod session;
mod socket_packet;
mod websocket;

use axum::{
    extract::Request,
    response::{IntoResponse, Response},
};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use crate::{error::ApiError, path::query_param, state::AppState, stats::Rejection};

/// The endpoint: the open sessions of one router.
///
/// ```
/// use market_feed_server::{socketio::Endpoint, state::AppState};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
/// let endpoint = Endpoint::default();
/// let req = axum::extract::Request::get("/socket.io/?EIO=4&transport=polling")
///     .body(axum::body::Body::empty())
///     .unwrap();
/// let r = endpoint.handle(&state, req).await;
/// assert_eq!(r.status(), 200);
/// let body = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
/// assert!(body.starts_with(br#"0{"sid":""#));
/// # });
/// ```
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    sessions: registry::Sessions,
}

impl Endpoint {
    /// Answers one request to `/socket.io/` (any method); CORS headers for an allowed
    /// `Origin`.
    ///
    /// See [`Endpoint`] for an example.
    pub async fn handle(&self, state: &AppState, req: Request) -> Response {
        let origin = req.headers().get(header::ORIGIN).cloned();
        let mut response = match self.answer(state, req).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        };
        if let Some(origin) = origin {
            let h = response.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            h.insert(header::VARY, HeaderValue::from_static("Origin"));
        }
        response
    }

    async fn answer(&self, state: &AppState, req: Request) -> Result<Response, ApiError> {
        if !state.access().origin_ok(req.headers()) {
            state.ws_stats().rejected(Rejection::Origin);
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden_origin",
                "this Origin is not allowed to open the feed: ask the operator to add it (--allowed-origin)",
            ));
        }
        if req.method() == Method::OPTIONS {
            return Ok(preflight(req.headers()));
        }
        let uri = req.uri().clone();
        if query_param(&uri, "EIO").as_deref() != Some("4") {
            return Err(ApiError::bad_request(
                "unsupported Engine.IO version: connect with socket.io-client 4.x (EIO=4)",
            ));
        }
        let transport = query_param(&uri, "transport");
        let sid = query_param(&uri, "sid");
        let get = req.method() == Method::GET;
        match (transport.as_deref(), sid) {
            (Some("websocket"), None) if get => {
                let opening = websocket::Opening::New {
                    permit: self.permit(state)?,
                    handshake_auth: state.access().token_ok(req.headers(), &uri),
                };
                websocket::upgrade(state, &self.sessions, req, opening)
            }
            (Some("websocket"), Some(sid)) if get => {
                let handle = self.sessions.get(&sid).ok_or_else(polling::unknown_sid)?;
                if handle.mailbox.upgraded() {
                    return Err(ApiError::bad_request(
                        "this session is on WebSocket already",
                    ));
                }
                websocket::upgrade(
                    state,
                    &self.sessions,
                    req,
                    websocket::Opening::Upgrade(handle),
                )
            }
            (Some("polling"), None) if get => {
                let permit = self.permit(state)?;
                let auth = state.access().token_ok(req.headers(), &uri);
                Ok(polling::handshake(state, &self.sessions, auth, permit))
            }
            (Some("polling"), Some(sid)) if get => polling::poll(&self.sessions, &sid).await,
            (Some("polling"), Some(sid)) if req.method() == Method::POST => {
                polling::post(&self.sessions, &sid, req.into_body()).await
            }
            (Some("polling" | "websocket"), _) => Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Socket.IO polling takes GET and POST (with a sid), WebSocket a GET upgrade",
            )),
            _ => Err(ApiError::bad_request(
                "unknown transport: use transport=polling or transport=websocket",
            )),
        }
    }

    /// A place under the connection limit for a new session.
    fn permit(&self, state: &AppState) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        state
            .connections()
            .clone()
            .try_acquire_owned()
            .map_err(|_| {
                state.ws_stats().rejected(Rejection::Limit);
                ApiError::too_many_connections("connection limit")
            })
    }
}

/// The answer to a CORS preflight (the origin was checked).
fn preflight(headers: &HeaderMap) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    let asked = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        asked.unwrap_or_else(|| HeaderValue::from_static("authorization, content-type")),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    r
}
