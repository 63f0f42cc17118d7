//! The size limits of a request head answered by the server itself: a longer request target
//! gets a JSON 414, more or larger header fields a JSON 431.
//!
//! hyper enforces its own, larger parse limits before any handler runs; those answers are
//! turned into the same JSON by [`crate::head_guard`].

use http::Request;

use crate::error::ApiError;

/// The longest request target answered normally; longer gets a JSON 414.
pub const MAX_URI: usize = 8 * 1024;
/// The most header bytes (names and values) answered normally; more gets a JSON 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The most header fields answered normally; more gets a JSON 431.
pub const MAX_HEADERS: usize = 64;

/// The 414 or 431 error for a request over [`MAX_URI`], [`MAX_HEADER_BYTES`] or
/// [`MAX_HEADERS`]; `None` for a request within them.
///
/// ```
/// use market_feed_server::request_limits::check;
/// let ok = http::Request::get("/healthz").body(()).unwrap();
/// assert!(check(&ok).is_none());
/// let long = http::Request::get(format!("/{}", "a".repeat(9000))).body(()).unwrap();
/// assert_eq!(check(&long).unwrap().status(), 414);
/// ```
pub fn check<B>(req: &Request<B>) -> Option<ApiError> {
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI {
        return Some(ApiError::new(
            http::StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request target is {uri_len} bytes; at most {MAX_URI} are accepted"),
        ));
    }
    let headers = req.headers();
    let bytes: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Some(ApiError::new(
            http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!(
                "{} header fields, {bytes} bytes; at most {MAX_HEADERS} fields and {MAX_HEADER_BYTES} bytes are accepted",
                headers.len()
            ),
        ));
    }
    None
}
