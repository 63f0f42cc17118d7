//! Route resolution: one parse of a request path into the [`Route`] it serves.
//!
//! The router and the access guard both use the [`Route`] resolved here, so a path is
//! protected exactly when it resolves to a protected route, however it is spelled: repeated
//! slashes, a trailing slash, `.` and `..` segments and percent-encoded characters all resolve
//! to the same route as the plain spelling (`//api/v1/indices`, `/api/./v1/indices/` and
//! `/%61pi/v1/indices` are all [`Route::Indices`]).

use std::borrow::Cow;

/// What a request path resolves to.
///
/// ```
/// use market_feed_server::route::Route;
/// assert_eq!(Route::resolve("//api/v1/indices"), Route::Indices);
/// assert_eq!(Route::resolve("/stocks/detail/TCS"), Route::Quote("TCS".into()));
/// assert!(Route::resolve("/api/v1/%71uotes/").protected());
/// assert!(!Route::resolve("/healthz").protected());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/ws`: the WebSocket endpoint.
    Ws,
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
            ["healthz"] => Route::Healthz,
            ["readyz"] => Route::Readyz,
            ["metrics"] => Route::Metrics,
            ["api", "v1", "market", "status"] => Route::MarketStatus,
            ["api", "v1", "indices"] | ["indices", "all"] => Route::Indices,
            ["api", "v1", "quotes"] => Route::Quotes,
            ["api", "v1", "quotes", s] | ["stocks", "detail", s] => Route::Quote((*s).to_owned()),
            ["api", "v1", "instruments"] => Route::Instruments,
            ["api", "v1", "instruments", "missing"] => Route::MissingInstruments,
            ["api", "v1", "closing", day] => Route::Closing((*day).to_owned()),
            ["api" | "indices" | "stocks", ..] => Route::ApiNotFound,
            _ => {
                let canonical = format!("/{}", seg.join("/"));
                if crate::dashboard::asset(&canonical).is_some() {
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
    /// use market_feed_server::route::Route;
    /// assert!(Route::Ws.protected() && Route::ApiNotFound.protected());
    /// assert!(!Route::Metrics.protected() && !Route::NotFound.protected());
    /// ```
    pub fn protected(&self) -> bool {
        self.is_api() || *self == Route::Ws
    }

    /// Whether this is a REST route (CORS headers, preflights, GET only).
    ///
    /// ```
    /// use market_feed_server::route::Route;
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
                | Route::ApiNotFound
        )
    }
}

/// The path's segments, percent-decoded, without empty and `.` segments, with `..` applied
/// (RFC 3986 §5.2.4; `..` never climbs above the root). A decoded segment that contains `/`
/// stays one segment, so it names no known route.
fn canonical_segments(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in path.split('/') {
        let seg = decode_segment(raw);
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

/// Percent-decodes one segment; `+` is read as a space, as the API always has for keys such
/// as `NSE_INDEX|Nifty+50`.
fn decode_segment(s: &str) -> Cow<'_, str> {
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
    }
}
