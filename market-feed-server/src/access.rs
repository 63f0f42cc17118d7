//! Who may use what: client tokens, WebSocket origins and CORS (`docs/protocol.md` §3-§5).
//!
//! Tokens are compared in constant time and never logged; a refused request gets a JSON error
//! that says what to send.

use axum::{body::Body, response::Response};
use http::{HeaderMap, HeaderValue, StatusCode, Uri, header};

use crate::config::Secret;

/// Access rules.
///
/// ```
/// use market_feed_server::{access::Access, config::Secret};
/// let open = Access::default();
/// assert!(open.token_ok(&http::HeaderMap::new(), &"/api/v1/indices".parse().unwrap()));
/// let closed = Access::new(vec![Secret::new("t1")], vec![], vec![]);
/// assert!(!closed.token_ok(&http::HeaderMap::new(), &"/api/v1/indices".parse().unwrap()));
/// assert!(closed.token_ok(&http::HeaderMap::new(), &"/api/v1/indices?token=t1".parse().unwrap()));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Access {
    tokens: Vec<Secret>,
    ws_origins: Vec<String>,
    cors_origins: Vec<String>,
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Access {
    /// Rules from the configuration: accepted client tokens (none: open), WebSocket origins
    /// (none: any) and CORS origins (none: `*`).
    ///
    /// See [`Access`] for an example.
    pub fn new(tokens: Vec<Secret>, ws_origins: Vec<String>, cors_origins: Vec<String>) -> Self {
        Self {
            tokens,
            ws_origins,
            cors_origins,
        }
    }

    /// Whether client tokens are required.
    ///
    /// ```
    /// # use market_feed_server::access::Access;
    /// assert!(!Access::default().requires_token());
    /// ```
    pub fn requires_token(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// Whether the request carries an accepted token (`Authorization: Bearer` or `?token=`),
    /// or none is required.
    ///
    /// See [`Access`] for an example.
    pub fn token_ok(&self, headers: &HeaderMap, uri: &Uri) -> bool {
        if self.tokens.is_empty() {
            return true;
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                // The scheme is case-insensitive (RFC 9110 §11.1).
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(token)
            })
            .map(str::trim);
        let query = uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == "token")
                .map(|(_, v)| v)
        });
        let decoded = query.map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        });
        [bearer.map(str::to_owned), decoded]
            .into_iter()
            .flatten()
            .any(|given| {
                self.tokens
                    .iter()
                    .any(|t| constant_time_eq(t.expose().as_bytes(), given.as_bytes()))
            })
    }

    /// Whether a WebSocket upgrade's `Origin` is allowed (no allow-list: any; a request
    /// without `Origin`, i.e. not from a browser, is allowed).
    ///
    /// ```
    /// # use market_feed_server::access::Access;
    /// let a = Access::new(vec![], vec!["https://app.example".into()], vec![]);
    /// let mut h = http::HeaderMap::new();
    /// h.insert("origin", "https://evil.example".parse().unwrap());
    /// assert!(!a.origin_ok(&h));
    /// ```
    pub fn origin_ok(&self, headers: &HeaderMap) -> bool {
        if self.ws_origins.is_empty() {
            return true;
        }
        match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            None => true,
            Some(origin) => self.ws_origins.iter().any(|o| o == origin),
        }
    }

    /// The `Access-Control-Allow-Origin` value for a GET from `Origin`, if any.
    ///
    /// ```
    /// # use market_feed_server::access::Access;
    /// assert_eq!(Access::default().cors_origin(&http::HeaderMap::new()).unwrap(), "*");
    /// ```
    pub fn cors_origin(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        if self.cors_origins.is_empty() {
            return Some(HeaderValue::from_static("*"));
        }
        let origin = headers.get(header::ORIGIN)?;
        let s = origin.to_str().ok()?;
        self.cors_origins
            .iter()
            .any(|o| o == s)
            .then(|| origin.clone())
    }

    /// The answer to a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`) on an
    /// API route: 204 with the allowed origin, methods (`GET, HEAD, OPTIONS`) and headers.
    /// Answered before the token check: browsers send preflights without credentials.
    ///
    /// ```
    /// # use market_feed_server::access::Access;
    /// let r = Access::default().preflight(&http::HeaderMap::new());
    /// assert_eq!(r.status(), 204);
    /// assert_eq!(r.headers()["access-control-allow-methods"], "GET, HEAD, OPTIONS");
    /// ```
    pub fn preflight(&self, headers: &HeaderMap) -> Response {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NO_CONTENT;
        let h = r.headers_mut();
        if let Some(origin) = self.cors_origin(headers) {
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

    /// Adds the CORS headers of an API response to a request from `headers`' `Origin`.
    ///
    /// ```
    /// # use market_feed_server::access::Access;
    /// let mut r = axum::response::Response::new(axum::body::Body::empty());
    /// Access::default().add_cors(&http::HeaderMap::new(), &mut r);
    /// assert_eq!(r.headers()["access-control-allow-origin"], "*");
    /// ```
    pub fn add_cors(&self, headers: &HeaderMap, response: &mut Response) {
        if let Some(origin) = self.cors_origin(headers) {
            let h = response.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
}
