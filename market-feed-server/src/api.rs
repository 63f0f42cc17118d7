//! The REST handlers (docs/protocol.md §4): market status, indices, quotes, instruments (and
//! those the broker cannot quote), closing prices. They are leaves: the route table
//! ([`mod@crate::router`]) calls them after the access check.
//!
//! Every handler reads the hub's latest values (never the broker); closing prices come from the
//! store through [`crate::closing_cache`]. Errors are [`ApiError`]s.

use axum::response::Response;
use http::{StatusCode, Uri};
use market_feed::{
    clock::parse_date,
    model::{Quote, Topic},
};
use serde::Serialize;

use crate::{
    error::ApiError,
    path::query_param,
    reply::{json, with_body},
    state::AppState,
};

/// What a handler answers.
pub type ApiResult = Result<Response, ApiError>;

/// The most symbols one `GET /api/v1/quotes` may ask for (as one WebSocket subscription).
pub const MAX_SYMBOLS: usize = crate::ws::protocol::MAX_SYMBOLS;

/// The body of `/api/v1/indices` and `/api/v1/quotes`.
#[derive(Debug, Serialize)]
struct QuotesBody {
    live: bool,
    as_of: Option<i64>,
    data: Vec<Quote>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unknown: Vec<String>,
}

/// The `?topic=` parameter: `Ok(None)` when absent.
fn topic_param(uri: &Uri) -> Result<Option<Topic>, ApiError> {
    match query_param(uri, "topic") {
        None => Ok(None),
        Some(t) => t.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "unknown topic {t:?}: use ?topic=indices or ?topic=prices"
            ))
        }),
    }
}

/// `GET /api/v1/market/status`.
///
/// ```
/// # use market_feed_server::{api, state::AppState};
/// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
/// assert_eq!(api::market_status(&state).unwrap().status(), 200);
/// ```
pub fn market_status(state: &AppState) -> ApiResult {
    Ok(json(StatusCode::OK, &state.clock().status()))
}

/// `GET /api/v1/indices` (and `/indices/all`).
///
/// ```
/// # use market_feed_server::{api, state::AppState};
/// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
/// assert_eq!(api::indices(&state).unwrap().status(), 200);
/// ```
pub fn indices(state: &AppState) -> ApiResult {
    let view = state.hub().view(Topic::Indices);
    Ok(json(
        StatusCode::OK,
        &QuotesBody {
            live: view.live,
            as_of: view.meta.as_of,
            data: view.data,
            unknown: Vec::new(),
        },
    ))
}

/// `GET /api/v1/quotes?symbols=RELIANCE,TCS`.
///
/// ```
/// # use market_feed_server::{api, state::AppState};
/// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
/// let err = api::quotes(&state, &"/api/v1/quotes".parse().unwrap()).unwrap_err();
/// assert_eq!(err.code(), "bad_request");
/// ```
pub fn quotes(state: &AppState, uri: &Uri) -> ApiResult {
    let list = query_param(uri, "symbols")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing ?symbols=: give symbols or keys separated by commas, e.g. ?symbols=RELIANCE,TCS",
            )
        })?;
    let asked: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if asked.len() > MAX_SYMBOLS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "too_many_symbols",
            format!(
                "{} symbols; ask for at most {MAX_SYMBOLS} at once",
                asked.len()
            ),
        ));
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
        return Err(ApiError::not_found(format!(
            "no quote for {}: check the symbols (GET /api/v1/instruments lists them)",
            unknown.join(", ")
        )));
    }
    Ok(json(
        StatusCode::OK,
        &QuotesBody {
            live: state.clock().is_live_at(state.clock().now()),
            as_of: data.iter().map(|q| q.ts).max(),
            data,
            unknown,
        },
    ))
}

/// `GET /api/v1/quotes/{symbol or key}` (and `/stocks/detail/{symbol}`); `wanted` is decoded.
///
/// ```
/// # use market_feed_server::{api, state::AppState};
/// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
/// assert_eq!(api::quote(&state, "NOPE").unwrap_err().status(), 404);
/// ```
pub fn quote(state: &AppState, wanted: &str) -> ApiResult {
    match state.hub().quote(wanted) {
        Some(q) => Ok(json(StatusCode::OK, &q)),
        None => Err(ApiError::not_found(format!(
            "no quote for {wanted:?}: check the symbol or key (GET /api/v1/instruments lists them)"
        ))),
    }
}

/// `GET /api/v1/instruments?topic=prices`.
///
/// ```
/// # use market_feed_server::{api, state::AppState};
/// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
/// let uri = "/api/v1/instruments?topic=indices".parse().unwrap();
/// assert_eq!(api::instruments(&state, &uri).unwrap().status(), 200);
/// ```
pub fn instruments(state: &AppState, uri: &Uri) -> ApiResult {
    // The universe served now: a refreshed one shows from the session it applies to.
    let universe = state.universe();
    Ok(match topic_param(uri)? {
        Some(topic) => json(StatusCode::OK, universe.instruments(topic)),
        None => {
            let all: Vec<_> = universe.iter().map(|(_, i)| i).collect();
            json(StatusCode::OK, &all)
        }
    })
}

/// `GET /api/v1/instruments/missing`: the instruments the broker cannot quote now.
///
/// ```
/// # use market_feed_server::{api, state::AppState};
/// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
/// assert_eq!(api::missing_instruments(&state).unwrap().status(), 200);
/// ```
pub fn missing_instruments(state: &AppState) -> ApiResult {
    Ok(json(StatusCode::OK, &state.missing_instruments()))
}

/// `GET /api/v1/cluster`: `{"name","node","role","leader"}`; a server not in a cluster is
/// `standalone` with no name and no leader.
///
/// ```
/// # use market_feed_server::{api, state::AppState};
/// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
/// assert_eq!(api::cluster(&state).unwrap().status(), 200);
/// ```
pub fn cluster(state: &AppState) -> ApiResult {
    let body = match state.cluster() {
        Some(cluster) => json(StatusCode::OK, &cluster.status()),
        None => json(
            StatusCode::OK,
            &serde_json::json!({"name": null, "node": null, "role": "standalone", "leader": null}),
        ),
    };
    Ok(body)
}

/// `GET /api/v1/closing/{YYYY-MM-DD}?topic=indices|prices`.
///
/// ```
/// # use market_feed_server::{api, state::AppState};
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
/// let uri = "/api/v1/closing/yesterday?topic=prices".parse().unwrap();
/// assert_eq!(api::closing(&state, "yesterday", &uri).await.unwrap_err().status(), 400);
/// # });
/// ```
pub async fn closing(state: &AppState, day: &str, uri: &Uri) -> ApiResult {
    let date = parse_date(day).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{day:?} is not a date: use YYYY-MM-DD, e.g. /api/v1/closing/2026-01-29?topic=prices"
        ))
    })?;
    let topic = topic_param(uri)?.ok_or_else(|| {
        ApiError::bad_request("missing ?topic=: use ?topic=indices or ?topic=prices")
    })?;
    let today = market_feed::clock::ist_date(state.clock().now());
    let cache = state.closing_cache();
    match cache.get(&**state.store(), topic, date, today).await {
        Ok(Some(body)) => Ok(with_body(StatusCode::OK, "application/json", body)),
        Ok(None) => Err(ApiError::not_found(format!(
            "no {topic} closing prices stored for {day}: it was not a trading day, or is before the store's first snapshot"
        ))),
        Err(e) => {
            tracing::error!(error = %market_feed::Report::new(&e), "the store failed to load closing prices");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the snapshot store is not answering; try again shortly",
            ))
        }
    }
}
