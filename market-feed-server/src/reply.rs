//! Successful responses: JSON and static bodies. Errors are [`crate::error::ApiError`].

use axum::{body::Body, response::Response};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::error::ApiError;

/// A JSON response (a value that cannot be encoded becomes a JSON 500).
///
/// ```
/// use market_feed_server::reply::json;
/// let r = json(http::StatusCode::OK, &serde_json::json!({"ok": true}));
/// assert_eq!(r.status(), 200);
/// assert_eq!(r.headers()["content-type"], "application/json");
/// ```
pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => with_body(status, "application/json", Bytes::from(bytes)),
        Err(e) => axum::response::IntoResponse::into_response(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("could not encode the response: {e}"),
        )),
    }
}

/// A response with a body and content type.
///
/// ```
/// use market_feed_server::reply::with_body;
/// let r = with_body(http::StatusCode::OK, "text/plain", bytes::Bytes::from_static(b"ok"));
/// assert_eq!(r.headers()["content-type"], "text/plain");
/// ```
pub fn with_body(status: StatusCode, content_type: &'static str, body: Bytes) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}
