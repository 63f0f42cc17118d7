//! [`ApiError`]: every error the server answers over HTTP, as one JSON shape.
//!
//! Each error has a status, a stable machine-readable `code` and an actionable `message`,
//! and is sent as `{"error":{"code":..,"message":..}}` with `content-type: application/json`,
//! whichever part of the server refuses the request: a handler, the access check, the
//! WebSocket upgrade, the request limits or the accept loop.

use axum::{
    body::Body,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

/// An error answered to an HTTP client.
///
/// ```
/// use axum::response::IntoResponse;
/// use market_feed_server::error::ApiError;
/// let e = ApiError::not_found("no quote for \"FOO\"");
/// assert_eq!(e.status(), 404);
/// assert_eq!(e.code(), "not_found");
/// let response = e.into_response();
/// assert_eq!(response.headers()["content-type"], "application/json");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// An error with any status and code.
    ///
    /// ```
    /// # use market_feed_server::error::ApiError;
    /// let e = ApiError::new(http::StatusCode::CONFLICT, "conflict", "try again");
    /// assert_eq!(e.message(), "try again");
    /// ```
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `bad_request`.
    ///
    /// ```
    /// # use market_feed_server::error::ApiError;
    /// assert_eq!(ApiError::bad_request("missing ?topic=").status(), 400);
    /// ```
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 `not_found`.
    ///
    /// ```
    /// # use market_feed_server::error::ApiError;
    /// assert_eq!(ApiError::not_found("no such day").code(), "not_found");
    /// ```
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 401 `unauthorized`: the request carries no accepted client token (the message says
    /// what to send, never what was sent).
    ///
    /// ```
    /// # use market_feed_server::error::ApiError;
    /// assert_eq!(ApiError::unauthorized().status(), 401);
    /// ```
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a client token is required: send Authorization: Bearer <token> or ?token=<token>",
        )
    }

    /// 503 `too_many_connections`: a connection limit is reached (`what` names it).
    ///
    /// ```
    /// # use market_feed_server::error::ApiError;
    /// let e = ApiError::too_many_connections("connection limit");
    /// assert!(e.message().contains("connection limit"));
    /// ```
    pub fn too_many_connections(what: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_connections",
            format!("the server is at its {what}: retry later with backoff"),
        )
    }

    /// The HTTP status.
    ///
    /// ```
    /// # use market_feed_server::error::ApiError;
    /// assert_eq!(ApiError::bad_request("x").status(), http::StatusCode::BAD_REQUEST);
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine-readable code (`not_found`, `unauthorized`, ...).
    ///
    /// ```
    /// # use market_feed_server::error::ApiError;
    /// assert_eq!(ApiError::unauthorized().code(), "unauthorized");
    /// ```
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message for people: what is wrong and what to do.
    ///
    /// ```
    /// # use market_feed_server::error::ApiError;
    /// assert!(ApiError::unauthorized().message().contains("Bearer"));
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON body: `{"error":{"code":..,"message":..}}`.
    ///
    /// ```
    /// # use market_feed_server::error::ApiError;
    /// let body = ApiError::not_found("gone").body();
    /// assert_eq!(&body[..], br#"{"error":{"code":"not_found","message":"gone"}}"#);
    /// ```
    pub fn body(&self) -> Bytes {
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        // Encoding a json! value of strings cannot fail.
        Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
    }

    /// The whole HTTP/1.1 answer as bytes, for the places that write to a socket before any
    /// HTTP handling (the accept loop's 503, the JSON rewrite of hyper's own 4xx): the status
    /// line (`status` gives its reason phrase), the JSON body, `connection: close`, and
    /// `extra` header lines (each ending in `\r\n`).
    ///
    /// ```
    /// # use market_feed_server::error::ApiError;
    /// let raw = ApiError::too_many_connections("HTTP connection limit").raw_response("retry-after: 1\r\n");
    /// let text = String::from_utf8(raw).unwrap();
    /// assert!(text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
    /// assert!(text.ends_with("}}"));
    /// ```
    pub fn raw_response(&self, extra: &str) -> Vec<u8> {
        let body = self.body();
        let mut out = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n",
            self.status.as_str(),
            self.status.canonical_reason().unwrap_or(""),
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(&body);
        out
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = Response::new(Body::from(self.body()));
        *r.status_mut() = self.status;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    }
}
