//! The REST API (PROTOCOL.md §4): market status, indices, quotes, instruments (and those the
//! broker cannot quote), closing prices, and the paths kept for clients of the original
//! application.
//!
//! Every handler reads the hub's latest values (never the broker); closing prices come from the
//! store. Errors are `{"error":{"code":..,"message":..}}` with a fitting status.

use http::{Method, StatusCode, Uri};
use market_feed::{
    clock::parse_date,
    model::{Quote, Topic},
};
use serde::Serialize;

use crate::{
    http::{Body, error, json},
    route::Route,
    state::AppState,
};

type Response = http::Response<Body>;

/// The body of `/api/v1/indices` and `/api/v1/quotes`.
#[derive(Debug, Serialize)]
struct QuotesBody {
    live: bool,
    as_of: Option<i64>,
    data: Vec<Quote>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unknown: Vec<String>,
}

fn query_param<'a>(uri: &'a Uri, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    uri.query()?
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| decode(v))
}

fn decode(s: &str) -> std::borrow::Cow<'_, str> {
    // '+' is a space in query strings; keys such as "NSE_INDEX|Nifty 50" arrive either way.
    if s.contains('+') {
        let spaced = s.replace('+', " ");
        std::borrow::Cow::Owned(
            percent_encoding::percent_decode_str(&spaced)
                .decode_utf8_lossy()
                .into_owned(),
        )
    } else {
        percent_encoding::percent_decode_str(s).decode_utf8_lossy()
    }
}

/// The `?topic=` parameter: `Ok(None)` when absent, `Err(text)` when not a topic.
fn topic_param(uri: &Uri) -> Result<Option<Topic>, String> {
    match query_param(uri, "topic") {
        None => Ok(None),
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|_| format!("unknown topic {t:?}: use ?topic=indices or ?topic=prices")),
    }
}

/// `GET /api/v1/indices` (and `/indices/all`).
pub fn indices(state: &AppState) -> Response {
    let view = state.hub().view(Topic::Indices);
    json(
        StatusCode::OK,
        &QuotesBody {
            live: view.live,
            as_of: view.meta.as_of,
            data: view.data,
            unknown: Vec::new(),
        },
    )
}

/// `GET /api/v1/quotes?symbols=RELIANCE,TCS`.
pub fn quotes(state: &AppState, uri: &Uri) -> Response {
    let Some(list) = query_param(uri, "symbols").filter(|s| !s.trim().is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "missing ?symbols=: give symbols or keys separated by commas, e.g. ?symbols=RELIANCE,TCS",
        );
    };
    let asked: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if asked.len() > crate::ws::protocol::MAX_SYMBOLS {
        return error(
            StatusCode::BAD_REQUEST,
            "too_many_symbols",
            &format!(
                "{} symbols; ask for at most {} at once",
                asked.len(),
                crate::ws::protocol::MAX_SYMBOLS
            ),
        );
    }
    let hub = state.hub();
    let mut data = Vec::with_capacity(asked.len());
    let mut unknown = Vec::new();
    for s in asked {
        match hub.quote(s) {
            Some(q) if !data.iter().any(|d: &Quote| d.key == q.key) => data.push(q),
            Some(_) => {}
            None => unknown.push(s.to_owned()),
        }
    }
    if data.is_empty() {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!(
                "no quote for {}: check the symbols (GET /api/v1/instruments lists them)",
                unknown.join(", ")
            ),
        );
    }
    json(
        StatusCode::OK,
        &QuotesBody {
            live: state.clock().is_live_at(state.clock().now()),
            as_of: data.iter().map(|q| q.ts).max(),
            data,
            unknown,
        },
    )
}

/// `GET /api/v1/quotes/{symbol or key}` (and `/stocks/detail/{symbol}`); `wanted` is decoded.
pub fn quote(state: &AppState, wanted: &str) -> Response {
    match state.hub().quote(wanted) {
        Some(q) => json(StatusCode::OK, &q),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!(
                "no quote for {wanted:?}: check the symbol or key (GET /api/v1/instruments lists them)"
            ),
        ),
    }
}

/// `GET /api/v1/instruments?topic=prices`.
pub fn instruments(state: &AppState, uri: &Uri) -> Response {
    // The universe served now: a refreshed one shows from the session it applies to.
    let universe = state.universe();
    match topic_param(uri) {
        Err(why) => error(StatusCode::BAD_REQUEST, "bad_request", &why),
        Ok(Some(topic)) => json(StatusCode::OK, universe.instruments(topic)),
        Ok(None) => {
            let all: Vec<_> = universe.iter().map(|(_, i)| i).collect();
            json(StatusCode::OK, &all)
        }
    }
}

/// `GET /api/v1/closing/{YYYY-MM-DD}?topic=indices|prices`.
pub async fn closing(state: &AppState, day: &str, uri: &Uri) -> Response {
    let Some(date) = parse_date(day) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            &format!(
                "{day:?} is not a date: use YYYY-MM-DD, e.g. /api/v1/closing/2026-01-29?topic=prices"
            ),
        );
    };
    let topic = match topic_param(uri) {
        Err(why) => return error(StatusCode::BAD_REQUEST, "bad_request", &why),
        Ok(Some(t)) => t,
        Ok(None) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "missing ?topic=: use ?topic=indices or ?topic=prices",
            );
        }
    };
    let today = market_feed::clock::ist_date(state.clock().now());
    let cache = state.closing_cache();
    match cache.get(&**state.store(), topic, date, today).await {
        Ok(Some(body)) => crate::http::with_body(StatusCode::OK, "application/json", body),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!(
                "no {topic} closing prices stored for {day}: it was not a trading day, or is before the store's first snapshot"
            ),
        ),
        Err(e) => {
            tracing::error!(error = %market_feed::Report::new(&e), "the store failed to load closing prices");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the snapshot store is not answering; try again shortly",
            )
        }
    }
}

/// Answers a REST route ([`Route::is_api`]); `None` for other routes.
pub async fn route(
    state: &AppState,
    method: &Method,
    route: &Route,
    uri: &Uri,
) -> Option<Response> {
    if !route.is_api() {
        return None;
    }
    let path = uri.path();
    if method != Method::GET && method != Method::HEAD {
        return Some(error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            &format!("{method} is not allowed on {path}: the API is read-only, use GET"),
        ));
    }
    Some(match route {
        Route::MarketStatus => json(StatusCode::OK, &state.clock().status()),
        Route::Indices => indices(state),
        Route::Quotes => quotes(state, uri),
        Route::Quote(s) => quote(state, s),
        Route::Instruments => instruments(state, uri),
        Route::MissingInstruments => json(StatusCode::OK, &state.missing_instruments()),
        Route::Closing(day) => closing(state, day, uri).await,
        _ => error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("no API path {path}: see docs/protocol.md for the list"),
        ),
    })
}
