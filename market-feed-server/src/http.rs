//! HTTP routing and JSON responses (PROTOCOL.md §4).
//!
//! One function, [`route`], maps a request to a response from the shared [`AppState`]. Errors
//! are JSON objects `{"error":{"code":..,"message":..}}` with a fitting status code.

use std::convert::Infallible;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
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

fn with_body(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    r
}

/// Answers one request.
///
/// ```
/// # use market_feed_server::{http::route, state::AppState};
/// # use market_feed::clock::MarketClock;
/// # use time::macros::datetime;
/// let state = AppState::new(MarketClock::fixed(datetime!(2026-01-29 10:00 +05:30)));
/// let req = http::Request::get("/healthz").body(()).unwrap();
/// let resp = route(&state, &req).unwrap();
/// assert_eq!(resp.status(), 200);
/// ```
pub fn route<B>(state: &AppState, req: &Request<B>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path();
    if req.method() == Method::GET || req.method() == Method::HEAD {
        if let Some((content_type, body)) = crate::dashboard::asset(path) {
            return Ok(with_body(
                StatusCode::OK,
                content_type,
                Bytes::from_static(body),
            ));
        }
    }
    let known = matches!(path, "/healthz" | "/api/v1/market/status");
    if known && req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            &format!("{} is not allowed on {path}: use GET", req.method()),
        ));
    }
    Ok(match path {
        "/healthz" => json(StatusCode::OK, &serde_json::json!({"status": "ok"})),
        "/api/v1/market/status" => json(StatusCode::OK, &state.clock().status()),
        _ => error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("no route for {path}: see docs/protocol.md for the API"),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use market_feed::clock::MarketClock;
    use time::macros::datetime;

    async fn get(state: &AppState, method: Method, path: &str) -> (StatusCode, serde_json::Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .body(())
            .unwrap();
        let resp = route(state, &req).unwrap();
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn routes_and_errors() {
        let state = AppState::new(MarketClock::fixed(datetime!(2026-01-26 10:00 +05:30)));
        let (s, v) = get(&state, Method::GET, "/api/v1/market/status").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["reason"], "holiday: Republic Day");
        let (s, v) = get(&state, Method::GET, "/nope").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(v["error"]["code"], "not_found");
        let (s, v) = get(&state, Method::POST, "/healthz").await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(v["error"]["code"], "method_not_allowed");
    }

    #[tokio::test]
    async fn serves_the_dashboard() {
        let state = AppState::new(MarketClock::fixed(datetime!(2026-01-29 10:00 +05:30)));
        let req = Request::get("/").body(()).unwrap();
        let resp = route(&state, &req).unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(body.starts_with(b"<!doctype html>"));
        let req = Request::get("/app.js").body(()).unwrap();
        let resp = route(&state, &req).unwrap();
        assert_eq!(
            resp.headers()["content-type"],
            "text/javascript; charset=utf-8"
        );
    }
}
