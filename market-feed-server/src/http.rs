//! HTTP routing and JSON responses (PROTOCOL.md §4).
//!
//! [`handle`] maps a request to a response: the WebSocket upgrade, the REST API, health,
//! metrics and the dashboard. Every path is resolved once into a [`Route`]; client tokens guard
//! the routes of `/ws`, `/api/*` and the compatibility paths, whatever the path's spelling.
//! CORS headers are added to API responses, and preflights are answered before the token check.
//! Requests over [`MAX_URI`] or [`MAX_HEADER_BYTES`] get JSON 414 and 431 errors.

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use serde::Serialize;

use crate::{route::Route, state::AppState};

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

/// The longest request target answered normally; longer gets a JSON 414.
pub const MAX_URI: usize = 8 * 1024;
/// The most header bytes (names and values) answered normally; more gets a JSON 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The most header fields answered normally; more gets a JSON 431.
pub const MAX_HEADERS: usize = 64;

/// A JSON 414 or 431 for a request over [`MAX_URI`], [`MAX_HEADER_BYTES`] or [`MAX_HEADERS`].
fn too_large<B>(req: &Request<B>) -> Option<Response<Body>> {
    too_large_error(req).map(|mut r| {
        // The rest of such a connection is not worth reading.
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        r
    })
}

fn too_large_error<B>(req: &Request<B>) -> Option<Response<Body>> {
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI {
        return Some(error(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            &format!("the request target is {uri_len} bytes; at most {MAX_URI} are accepted"),
        ));
    }
    let headers = req.headers();
    let bytes: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Some(error(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            &format!(
                "{} header fields, {bytes} bytes; at most {MAX_HEADERS} fields and {MAX_HEADER_BYTES} bytes are accepted",
                headers.len()
            ),
        ));
    }
    None
}

/// Answers one request.
///
/// The path is resolved once ([`Route::resolve`]); access is a property of the route, so a
/// path is guarded whenever it resolves to a guarded route, however it is spelled. CORS
/// preflights are answered before the token check (browsers send them without credentials).
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
    if let Some(refused) = too_large(&req) {
        return Ok(refused);
    }
    let route = Route::resolve(req.uri().path());
    let method = req.method().clone();
    let is_preflight = method == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if is_preflight && route.is_api() {
        return Ok(preflight(&state, req.headers()));
    }
    if route == Route::Ws {
        // The upgrade checks the token itself, to count refusals.
        return Ok(crate::ws::upgrade(&state, req));
    }
    if route.protected() && !state.access().token_ok(req.headers(), req.uri()) {
        return Ok(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a client token is required: send Authorization: Bearer <token> or ?token=<token>",
        ));
    }
    let get = method == Method::GET || method == Method::HEAD;
    let mut response = match &route {
        Route::Healthz if get => json(StatusCode::OK, &serde_json::json!({"status": "ok"})),
        Route::Readyz if get => {
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
        Route::Metrics if get => with_body(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            Bytes::from(crate::metrics::render(&state)),
        ),
        Route::Asset(path) if get => match crate::dashboard::asset(path) {
            Some((content_type, body)) => {
                with_body(StatusCode::OK, content_type, Bytes::from_static(body))
            }
            None => not_found(&method, req.uri()),
        },
        _ => match crate::api::route(&state, &method, &route, req.uri()).await {
            Some(r) => r,
            None => not_found(&method, req.uri()),
        },
    };
    if route.is_api() {
        if let Some(origin) = state.access().cors_origin(req.headers()) {
            let h = response.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
    Ok(response)
}

fn not_found(method: &Method, uri: &http::Uri) -> Response<Body> {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        &format!(
            "no route for {method} {}: see docs/protocol.md for the API",
            uri.path()
        ),
    )
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
        HeaderValue::from_static("Authorization, Content-Type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    r
}
