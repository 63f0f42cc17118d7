//! The route table: every path the service answers, the handler behind it, and the access
//! rule of each route.
//!
//! A request's path is canonicalised once ([`crate::path`]) and resolved into a [`Route`];
//! access is a property of the route, so a path is guarded whenever it resolves to a guarded
//! route, however it is spelled. In order, a request gets:
//!
//! 1. a JSON 414/431 when its head is over [`crate::request_limits`];
//! 2. on `/ws`, the upgrade (which checks the token, origin and connection limit itself, to
//!    count refusals); on `/socket.io/`, the Socket.IO endpoint (origin, connection limit and
//!    its own CORS answers; the token may come in the Socket.IO connect packet);
//! 3. on an API route, tower-http's CORS layer: a preflight is answered there, before the
//!    token check (browsers send preflights without credentials), and every other response
//!    gets the CORS headers;
//! 4. on a protected route (`/api/*`, the compatibility paths), a JSON 401 without an accepted
//!    client token;
//! 5. the route's handler, within [`REQUEST_TIMEOUT`] (else a JSON 503 `timeout`).
//!
//! [`router`] returns all of it as an [`axum::Router`] an application can mount under a
//! prefix (see the `embed_router` example).

use std::{convert::Infallible, net::SocketAddr, time::Duration};

use axum::{
    Router,
    extract::{ConnectInfo, Request, State},
    response::{IntoResponse, Response},
};
use http::{HeaderValue, Method, StatusCode, header};
use tower::{Layer, ServiceExt};
use tower_http::trace::TraceLayer;

use crate::{
    api, dashboard, error::ApiError, path::canonical_segments, reply, request_limits,
    state::AppState,
};

/// How long a REST handler may take (a store query that hangs, a PostgreSQL that stopped
/// answering) before the request gets a JSON 503 `timeout`; `/ws` is not limited (the upgrade
/// answers at once and the connection lives on its own).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What a request path resolves to.
///
/// ```
/// use market_feed_server::router::Route;
/// assert_eq!(Route::resolve("//api/v1/indices"), Route::Indices);
/// assert_eq!(Route::resolve("/stocks/detail/TCS"), Route::Quote("TCS".into()));
/// assert!(Route::resolve("/api/v1/%71uotes/").protected());
/// assert!(!Route::resolve("/healthz").protected());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/ws`: the WebSocket endpoint.
    Ws,
    /// `/socket.io/`: the Socket.IO endpoint.
    SocketIo,
    /// `/healthz`.
    Healthz,
    /// `/readyz`.
    Readyz,
    /// `/metrics`.
    Metrics,
    /// `/api/v1/market/status`.
    MarketStatus,
    /// `/api/v1/indices` and `/indices/all`.
    Indices,
    /// `/api/v1/quotes?symbols=..`.
    Quotes,
    /// `/api/v1/quotes/{symbol or key}` and `/stocks/detail/{symbol}` (decoded).
    Quote(String),
    /// `/api/v1/instruments`.
    Instruments,
    /// `/api/v1/instruments/missing`: the instruments the broker cannot quote now.
    MissingInstruments,
    /// `/api/v1/cluster`: this node's cluster, role and leader.
    Cluster,
    /// `/api/v1/closing/{date}` (decoded).
    Closing(String),
    /// Any other path under `/api/`, `/indices/` or `/stocks/`: a JSON 404, behind the token.
    ApiNotFound,
    /// A page of the built-in dashboard, by its canonical path.
    Asset(String),
    /// Nothing: a JSON 404.
    NotFound,
}

impl Route {
    /// Resolves a request path (without its query).
    ///
    /// See [`Route`] for examples.
    pub fn resolve(path: &str) -> Route {
        let segments = canonical_segments(path);
        let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
        match seg.as_slice() {
            ["ws"] => Route::Ws,
            ["socket.io"] => Route::SocketIo,
            ["healthz"] => Route::Healthz,
            ["readyz"] => Route::Readyz,
            ["metrics"] => Route::Metrics,
            ["api", "v1", "market", "status"] => Route::MarketStatus,
            ["api", "v1", "indices"] | ["indices", "all"] => Route::Indices,
            ["api", "v1", "quotes"] => Route::Quotes,
            ["api", "v1", "quotes", s] | ["stocks", "detail", s] => Route::Quote((*s).to_owned()),
            ["api", "v1", "instruments"] => Route::Instruments,
            ["api", "v1", "instruments", "missing"] => Route::MissingInstruments,
            ["api", "v1", "cluster"] => Route::Cluster,
            ["api", "v1", "closing", day] => Route::Closing((*day).to_owned()),
            ["api" | "indices" | "stocks", ..] => Route::ApiNotFound,
            _ => {
                let canonical = format!("/{}", seg.join("/"));
                if dashboard::asset(&canonical).is_some() {
                    Route::Asset(canonical)
                } else {
                    Route::NotFound
                }
            }
        }
    }

    /// Whether a client token is required (when tokens are configured): the WebSocket, the
    /// REST API and the compatibility paths, found or not.
    ///
    /// ```
    /// use market_feed_server::router::Route;
    /// assert!(Route::Ws.protected() && Route::ApiNotFound.protected());
    /// assert!(!Route::Metrics.protected() && !Route::NotFound.protected());
    /// ```
    pub fn protected(&self) -> bool {
        self.is_api() || *self == Route::Ws
    }

    /// Whether this is a REST route (CORS headers, preflights, GET only).
    ///
    /// ```
    /// use market_feed_server::router::Route;
    /// assert!(Route::Indices.is_api() && !Route::Ws.is_api());
    /// ```
    pub fn is_api(&self) -> bool {
        matches!(
            self,
            Route::MarketStatus
                | Route::Indices
                | Route::Quotes
                | Route::Quote(_)
                | Route::Instruments
                | Route::MissingInstruments
                | Route::Closing(_)
                | Route::Cluster
                | Route::ApiNotFound
        )
    }
}

/// The whole service (REST API, `/ws`, health checks, `/metrics`, the dashboard) as a router
/// an application can serve or mount under a prefix with [`Router::nest`]. Serve it with
/// upgrades enabled (`axum::serve` does) so that `/ws` works; WebSocket connections close
/// with 1001 when the state's shutdown token is cancelled.
///
/// ```
/// use market_feed_server::{router::router, state::AppState};
/// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
/// let app: axum::Router = axum::Router::new().nest("/feed", router(state));
/// # let _ = app;
/// ```
pub fn router(state: AppState) -> Router {
    let service = Service {
        state,
        socket_io: crate::socketio::Endpoint::default(),
    };
    Router::new()
        .fallback(dispatch)
        .with_state(service)
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
}

/// The span of one request: method, path and, when the server provides it, the peer address.
fn request_span(req: &Request) -> tracing::Span {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    tracing::debug_span!("request", method = %req.method(), path = %req.uri().path(), peer = ?peer)
}

/// What the router's handler holds: the shared state and the Socket.IO sessions.
#[derive(Debug, Clone)]
struct Service {
    state: AppState,
    socket_io: crate::socketio::Endpoint,
}

/// Answers one request (see the module documentation for the order of checks).
async fn dispatch(State(service): State<Service>, req: Request) -> Response {
    let Service { state, socket_io } = service;
    if let Some(refused) = request_limits::check(&req) {
        let mut r = refused.into_response();
        // The rest of such a connection is not worth reading.
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return r;
    }
    let route = Route::resolve(req.uri().path());
    if route == Route::Ws {
        return crate::ws::upgrade(&state, req).unwrap_or_else(IntoResponse::into_response);
    }
    if route == Route::SocketIo {
        return socket_io.handle(&state, req).await;
    }
    // tower-http's CORS answers every `OPTIONS` as a preflight; one without
    // `Access-Control-Request-Method` is an ordinary request (token checked, then 405).
    let is_preflight = req.method() != Method::OPTIONS
        || req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if !(route.is_api() && is_preflight) {
        return guarded(state, route, req).await;
    }
    let cors = state.access().cors();
    let api = tower::service_fn(move |req: Request| {
        let (state, route) = (state.clone(), route.clone());
        async move { Ok::<_, Infallible>(guarded(state, route, req).await) }
    });
    match cors.layer(api).oneshot(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The token check of a protected route, then the route's handler under the request timeout.
async fn guarded(state: AppState, route: Route, req: Request) -> Response {
    // The body is not read by any route (and is not `Sync`, so it is not held across awaits).
    let (req, _body) = req.into_parts();
    if route.protected() && !state.access().token_ok(&req.headers, &req.uri) {
        return ApiError::unauthorized().into_response();
    }
    match tokio::time::timeout(REQUEST_TIMEOUT, handle(&state, &route, &req)).await {
        Ok(answer) => answer.unwrap_or_else(IntoResponse::into_response),
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "{} took longer than {} s to answer (is the store reachable?): try again",
                req.uri.path(),
                REQUEST_TIMEOUT.as_secs()
            ),
        )
        .into_response(),
    }
}

/// A page of the built-in dashboard.
fn asset(path: &str, method: &Method, uri: &http::Uri) -> api::ApiResult {
    match dashboard::asset(path) {
        Some((content_type, body)) => Ok(reply::with_body(
            StatusCode::OK,
            content_type,
            bytes::Bytes::from_static(body),
        )),
        None => Err(not_found(method, uri)),
    }
}

/// Mounted under a prefix (`/feed`), the page's relative URLs (`app.js`, `ws`) need the
/// trailing slash: `/feed` is redirected to `/feed/` (308), its query kept.
fn slash_redirect(req: &http::request::Parts) -> Option<Response> {
    let original = req.extensions.get::<axum::extract::OriginalUri>()?;
    let path = original.0.path();
    if path.ends_with('/') {
        return None;
    }
    let target = match original.0.query() {
        Some(q) => format!("{path}/?{q}"),
        None => format!("{path}/"),
    };
    let location = HeaderValue::from_str(&target).ok()?;
    let mut r = StatusCode::PERMANENT_REDIRECT.into_response();
    r.headers_mut().insert(header::LOCATION, location);
    Some(r)
}

/// The table: which handler answers which route and method.
async fn handle(state: &AppState, route: &Route, req: &http::request::Parts) -> api::ApiResult {
    let method = &req.method;
    let uri = &req.uri;
    let get = method == Method::GET || method == Method::HEAD;
    if route.is_api() && !get {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!(
                "{method} is not allowed on {}: the API is read-only, use GET",
                uri.path()
            ),
        ));
    }
    match route {
        Route::Healthz if get => Ok(reply::json(
            StatusCode::OK,
            &serde_json::json!({"status": "ok"}),
        )),
        Route::Readyz if get => readyz(state),
        Route::Metrics if get => Ok(reply::with_body(
            StatusCode::OK,
            crate::metrics::CONTENT_TYPE,
            crate::metrics::render(state).into(),
        )),
        Route::Asset(path) if get && path == "/" => match slash_redirect(req) {
            Some(redirect) => Ok(redirect),
            None => Ok(reply::with_body(
                StatusCode::OK,
                "text/html; charset=utf-8",
                crate::dashboard::page(state.http().replay_of),
            )),
        },
        Route::Asset(path) if get => asset(path, method, uri),
        Route::MarketStatus => api::market_status(state),
        Route::Indices => api::indices(state),
        Route::Quotes => api::quotes(state, uri),
        Route::Quote(s) => api::quote(state, s),
        Route::Instruments => api::instruments(state, uri),
        Route::MissingInstruments => api::missing_instruments(state),
        Route::Closing(day) => api::closing(state, day, uri).await,
        Route::Cluster => api::cluster(state),
        Route::ApiNotFound => Err(ApiError::not_found(format!(
            "no API path {}: see docs/protocol.md for the list",
            uri.path()
        ))),
        _ => Err(not_found(method, uri)),
    }
}

/// `GET /readyz`: 200 once the feed is ready, else a JSON 503.
fn readyz(state: &AppState) -> api::ApiResult {
    if state.is_ready() {
        Ok(reply::json(
            StatusCode::OK,
            &serde_json::json!({"status": "ready"}),
        ))
    } else {
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            if state.cluster().is_some() {
                "starting: the cluster's latest values are not loaded yet (is NATS reachable?)"
            } else {
                "starting: the store is opening or the latest closing prices are not loaded yet"
            },
        ))
    }
}

fn not_found(method: &Method, uri: &http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "no route for {method} {}: see docs/protocol.md for the API",
        uri.path()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_route_resolve_alike() {
        for p in [
            "/api/v1/indices",
            "//api/v1/indices",
            "///api//v1///indices",
            "/api/v1/indices/",
            "/./api/v1/./indices",
            "/x/../api/v1/indices",
            "/%61pi/v1/ind%69ces",
            "/api/v1/%2E/indices",
        ] {
            assert_eq!(Route::resolve(p), Route::Indices, "{p}");
        }
        // An encoded slash stays inside its segment: no route, no data.
        assert_eq!(Route::resolve("/api%2Fv1%2Findices"), Route::NotFound);
        assert_eq!(Route::resolve("/api/v1%2Findices"), Route::ApiNotFound);
        assert_eq!(
            Route::resolve("/api/v1/quotes/NSE_INDEX%7CNifty+50"),
            Route::Quote("NSE_INDEX|Nifty 50".into())
        );
        assert_eq!(Route::resolve("/../healthz"), Route::Healthz);
        assert_eq!(Route::resolve("/"), Route::Asset("/".into()));
        assert_eq!(Route::resolve("//app.js"), Route::Asset("/app.js".into()));
        assert_eq!(Route::resolve("/secret"), Route::NotFound);
        assert_eq!(Route::resolve("//ws/"), Route::Ws);
        assert_eq!(Route::resolve("/socket.io/"), Route::SocketIo);
        assert_eq!(Route::resolve("/socket.io"), Route::SocketIo);
    }
}
