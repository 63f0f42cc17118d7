//! HTTP routing and JSON responses (PROTOCOL.md §4).
//!
//! [`handle`] maps a request to a response: the WebSocket upgrade, the REST API, health,
//! metrics and the dashboard. Client tokens guard `/ws`, `/api/*` and the compatibility paths;
//! CORS headers are added to GET responses of the API.

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use serde::Serialize;

use crate::state::AppState;

/// The response body type of every route.
pub type Body = Full<Bytes>;

/// Builds a JSON response.
///
/// ```
/// use market_feed_server::http::json;
/// let r = json(http::StatusCode::OK, &serde_json::json!({"ok": true}));
/// assert_eq!(r.status(), 200);
/// assert_eq!(r.headers()["content-type"], "application/json");
/// ```
pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(bytes) => with_body(status, "application/json", Bytes::from(bytes)),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &format!("could not encode the response: {e}"),
        ),
    }
}

/// Builds a JSON error response: `{"error":{"code":..,"message":..}}`.
///
/// ```
/// use market_feed_server::http::error;
/// let r = error(http::StatusCode::NOT_FOUND, "not_found", "no such symbol: FOO");
/// assert_eq!(r.status(), 404);
/// ```
pub fn error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    // Encoding a json! value of strings cannot fail.
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    with_body(status, "application/json", Bytes::from(bytes))
}

/// A response with a body and content type.
///
/// ```
/// use market_feed_server::http::with_body;
/// let r = with_body(http::StatusCode::OK, "text/plain", bytes::Bytes::from_static(b"ok"));
/// assert_eq!(r.headers()["content-type"], "text/plain");
/// ```
pub fn with_body(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn guarded(path: &str) -> bool {
    path == "/ws"
        || path.starts_with("/api/")
        || path.starts_with("/indices/")
        || path.starts_with("/stocks/")
}

/// Answers one request.
///
/// ```
/// # use market_feed_server::{http::handle, state::AppState};
/// # use market_feed::clock::MarketClock;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let state = AppState::for_tests(MarketClock::system());
/// let req = http::Request::get("/healthz").body(()).unwrap();
/// let resp = handle(state, req).await.unwrap();
/// assert_eq!(resp.status(), 200);
/// # });
/// ```
pub async fn handle<B>(state: AppState, req: Request<B>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    if guarded(&path) && !state.access().token_ok(req.headers(), req.uri()) && path != "/ws" {
        return Ok(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a client token is required: send Authorization: Bearer <token> or ?token=<token>",
        ));
    }
    if method == Method::OPTIONS && guarded(&path) {
        return Ok(preflight(&state, req.headers()));
    }
    if path == "/ws" {
        return Ok(crate::ws::upgrade(&state, req));
    }
    let mut response = match (&method, path.as_str()) {
        (&Method::GET | &Method::HEAD, "/healthz") => {
            json(StatusCode::OK, &serde_json::json!({"status": "ok"}))
        }
        (&Method::GET | &Method::HEAD, "/readyz") => {
            if state.feed().is_ready() {
                json(StatusCode::OK, &serde_json::json!({"status": "ready"}))
            } else {
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not_ready",
                    "starting: the store is opening or the latest closing prices are not loaded yet",
                )
            }
        }
        (&Method::GET | &Method::HEAD, "/metrics") => with_body(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            Bytes::from(crate::metrics::render(&state)),
        ),
        _ => match crate::api::route(&state, &method, req.uri()).await {
            Some(r) => r,
            None => match crate::dashboard::asset(&path)
                .filter(|_| method == Method::GET || method == Method::HEAD)
            {
                Some((content_type, body)) => {
                    with_body(StatusCode::OK, content_type, Bytes::from_static(body))
                }
                None => error(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    &format!("no route for {method} {path}: see docs/protocol.md for the API"),
                ),
            },
        },
    };
    if guarded(&path) {
        if let Some(origin) = state.access().cors_origin(req.headers()) {
            let h = response.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
    Ok(response)
}

fn preflight(state: &AppState, headers: &http::HeaderMap) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    let h = r.headers_mut();
    if let Some(origin) = state.access().cors_origin(headers) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    r
}
