//! Who may use what: client tokens, WebSocket origins and CORS (`docs/protocol.md` §3-§5).
//!
//! Tokens are compared in constant time and never logged; a refused request gets a JSON error
//! that says what to send.

use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method, Uri, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

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
#[derive(Debug, Clone)]
pub struct Access {
    tokens: Vec<Secret>,
    ws_origins: Vec<String>,
    cors: CorsLayer,
}

impl Default for Access {
    /// Open: no tokens, any WebSocket origin, CORS for any origin.
    fn default() -> Self {
        Self::new(Vec::new(), Vec::new(), Vec::new())
    }
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
            cors: cors_layer(&cors_origins),
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
            .any(|given| self.accepts(&given))
    }

    /// Whether `token` is an accepted client token, or none is required (the Socket.IO
    /// endpoint's `auth: {token}`).
    ///
    /// ```
    /// # use market_feed_server::{access::Access, config::Secret};
    /// let a = Access::new(vec![Secret::new("t1")], vec![], vec![]);
    /// assert!(a.accepts("t1") && !a.accepts("t2"));
    /// assert!(Access::default().accepts(""));
    /// ```
    pub fn accepts(&self, token: &str) -> bool {
        self.tokens.is_empty()
            || self
                .tokens
                .iter()
                .any(|t| constant_time_eq(t.expose().as_bytes(), token.as_bytes()))
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

    /// The CORS rules of the API routes, as tower-http's [`CorsLayer`]: origin `*` without
    /// an allow-list, else the listed origins echoed back; methods `GET, HEAD, OPTIONS`;
    /// headers `Authorization, Content-Type`; preflights cached for 10 minutes. The router
    /// puts it in front of the token check, so a preflight (sent without credentials) is
    /// answered and an API response carries the headers.
    ///
    /// ```
    /// # use market_feed_server::access::Access;
    /// use tower::{Layer, ServiceExt};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let api = tower::service_fn(|_req: http::Request<axum::body::Body>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(axum::body::Body::empty()))
    /// });
    /// let preflight = http::Request::options("/api/v1/indices")
    ///     .header("origin", "https://app.example")
    ///     .header("access-control-request-method", "GET")
    ///     .body(axum::body::Body::empty())
    ///     .unwrap();
    /// let r = Access::default().cors().layer(api).oneshot(preflight).await.unwrap();
    /// assert_eq!(r.headers()["access-control-allow-origin"], "*");
    /// assert_eq!(r.headers()["access-control-allow-methods"], "GET,HEAD,OPTIONS");
    /// # });
    /// ```
    pub fn cors(&self) -> CorsLayer {
        self.cors.clone()
    }
}

/// The layer for `origins` (none: any origin). Origins that are not valid header values were
/// refused by the configuration; any left are skipped.
fn cors_layer(origins: &[String]) -> CorsLayer {
    let allow_origin = if origins.is_empty() {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .filter(|o| o != "*"),
        )
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600))
}

/// Why a `--cors-origin` value cannot be used: it must be an origin as browsers send it,
/// `scheme://host[:port]`, with no path and no trailing slash.
///
/// ```
/// # use market_feed_server::access::cors_origin_problem;
/// assert!(cors_origin_problem("https://app.example:8443").is_none());
/// assert!(cors_origin_problem("https://app.example/").unwrap().contains("trailing"));
/// assert!(cors_origin_problem("*").unwrap().contains("leave out"));
/// ```
pub fn cors_origin_problem(origin: &str) -> Option<String> {
    if origin == "*" {
        return Some(
            "\"*\": leave out --cors-origin to allow any origin, or list the exact origins".into(),
        );
    }
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Some(format!(
            "{origin:?}: write an origin as the browser sends it, scheme://host[:port], e.g. https://app.example"
        ));
    };
    if !matches!(scheme, "http" | "https") || rest.is_empty() {
        return Some(format!(
            "{origin:?}: the scheme must be http or https and a host must follow, e.g. https://app.example"
        ));
    }
    if rest.ends_with('/') {
        return Some(format!(
            "{origin:?}: remove the trailing slash (browsers send none)"
        ));
    }
    if rest.contains(['/', '?', '#']) || HeaderValue::from_str(origin).is_err() {
        return Some(format!(
            "{origin:?}: an origin has no path, query or spaces: scheme://host[:port]"
        ));
    }
    None
}
