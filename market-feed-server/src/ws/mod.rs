//! The WebSocket endpoint `GET /ws` (`docs/protocol.md` §3).
//!
//! [`upgrade`] checks the request (client token → 401, origin → 403, connection limit → 503,
//! each with a JSON error body), answers `101 Switching Protocols`, and spawns the connection
//! (`connection`): a reader task and a writer task per client. `fastwebsockets` answers the
//! handshake; frames are written by a small buffer-less writer (`writer`) with one vectored
//! write straight from the hub's shared bytes, so a 450 KB `prices_batch` is never copied per
//! client, and read by a small buffer-less reader (`reader`), since clients only send small
//! messages. permessage-deflate ([`deflate`]) is negotiated when offered: hub frames then go out
//! in the compressed form the hub computed once for every connection (`Frame::deflated`).

pub(crate) mod connection;
pub mod deflate;
pub(crate) mod progress;
pub mod protocol;
pub mod rate;
pub(crate) mod reader;
pub(crate) mod subscribe;
pub(crate) mod writer;

use axum::{body::Body, response::Response};
use http::{Request, StatusCode};
use tracing::Instrument;

pub use crate::settings::WsSettings;
pub use crate::stats::{CloseReason, Event, Rejection, WsStats};
use crate::{error::ApiError, state::AppState};

/// Handles `GET /ws`: refuses or upgrades.
///
/// ```
/// # use market_feed_server::{state::AppState, ws::upgrade};
/// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
/// // Not an upgrade request: 400 with a JSON error.
/// let err = upgrade(&state, http::Request::get("/ws").body(()).unwrap()).unwrap_err();
/// assert_eq!(err.status(), 400);
/// ```
pub fn upgrade<B>(state: &AppState, mut req: Request<B>) -> Result<Response, ApiError> {
    let stats = state.ws_stats();
    if !state.access().token_ok(req.headers(), req.uri()) {
        stats.rejected(Rejection::Unauthorized);
        return Err(ApiError::unauthorized());
    }
    if !state.access().origin_ok(req.headers()) {
        stats.rejected(Rejection::Origin);
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden_origin",
            "this Origin is not allowed to open the feed: ask the operator to add it (--allowed-origin)",
        ));
    }
    if !fastwebsockets::upgrade::is_upgrade_request(&req) {
        stats.rejected(Rejection::BadUpgrade);
        return Err(ApiError::bad_request(
            "GET /ws is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)",
        ));
    }
    let Ok(permit) = state.connections().clone().try_acquire_owned() else {
        stats.rejected(Rejection::Limit);
        return Err(ApiError::too_many_connections("connection limit"));
    };
    let (response, fut) = match fastwebsockets::upgrade::upgrade(&mut req) {
        Ok(ok) => ok,
        Err(e) => {
            stats.rejected(Rejection::BadUpgrade);
            return Err(ApiError::bad_request(format!("bad WebSocket upgrade: {e}")));
        }
    };
    let extension = deflate::negotiate(req.headers());
    let state2 = state.clone();
    // The connection keeps the request's span (and so its peer address) in its logs.
    let task = async move {
        match fut.await {
            Ok(ws) => connection::run(state2, ws.into_inner(), permit, extension.is_some()).await,
            Err(e) => tracing::debug!(error = %e, "WebSocket upgrade did not complete"),
        }
    };
    state
        .tasks()
        .spawn(task.instrument(tracing::Span::current()));
    Ok(switching(response, extension))
}

/// The `101 Switching Protocols` answer of an accepted upgrade, with the permessage-deflate
/// answer when one was negotiated (also used by the Socket.IO endpoint).
pub(crate) fn switching<B>(
    response: http::Response<B>,
    extension: Option<&'static str>,
) -> Response {
    let (mut parts, _) = response.into_parts();
    if let Some(value) = extension {
        parts.headers.insert(
            http::header::SEC_WEBSOCKET_EXTENSIONS,
            http::HeaderValue::from_static(value),
        );
    }
    Response::from_parts(parts, Body::empty())
}
