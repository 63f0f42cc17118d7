//! Request paths in canonical form: the one spelling the route table matches.
//!
//! Repeated slashes, a trailing slash, `.` and `..` segments and percent-encoded characters
//! all canonicalise to the plain spelling (`//api/v1/indices`, `/api/./v1/indices/` and
//! `/%61pi/v1/indices` are all `["api", "v1", "indices"]`), so a route and its access rule
//! cannot be reached by another spelling.

use std::borrow::Cow;

/// The path's segments, percent-decoded, without empty and `.` segments, with `..` applied
/// (RFC 3986 §5.2.4; `..` never climbs above the root). A decoded segment that contains `/`
/// stays one segment, so it names no known route.
///
/// ```
/// use market_feed_server::path::canonical_segments;
/// assert_eq!(canonical_segments("//api/./v1/x/../%69ndices/"), ["api", "v1", "indices"]);
/// assert_eq!(canonical_segments("/api%2Fv1"), ["api/v1"]);
/// ```
pub fn canonical_segments(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in path.split('/') {
        let seg = decode(raw);
        match seg.as_ref() {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            _ => out.push(seg.into_owned()),
        }
    }
    out
}

/// Percent-decodes a path segment or query value; `+` is read as a space, as the API always
/// has for keys such as `NSE_INDEX|Nifty+50`.
///
/// ```
/// use market_feed_server::path::decode;
/// assert_eq!(decode("NSE_INDEX%7CNifty+50"), "NSE_INDEX|Nifty 50");
/// ```
pub fn decode(s: &str) -> Cow<'_, str> {
    if s.contains('+') {
        let spaced = s.replace('+', " ");
        Cow::Owned(
            percent_encoding::percent_decode_str(&spaced)
                .decode_utf8_lossy()
                .into_owned(),
        )
    } else {
        percent_encoding::percent_decode_str(s).decode_utf8_lossy()
    }
}

/// The decoded value of query parameter `name`, if present (`?a` counts as `a=`).
///
/// ```
/// use market_feed_server::path::query_param;
/// let uri: http::Uri = "/api/v1/quotes?symbols=TCS,INFY&x".parse().unwrap();
/// assert_eq!(query_param(&uri, "symbols").as_deref(), Some("TCS,INFY"));
/// assert_eq!(query_param(&uri, "x").as_deref(), Some(""));
/// assert_eq!(query_param(&uri, "topic"), None);
/// ```
pub fn query_param<'a>(uri: &'a http::Uri, name: &str) -> Option<Cow<'a, str>> {
    uri.query()?
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| decode(v))
}
