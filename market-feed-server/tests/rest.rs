//! docs/protocol.md §4 over real HTTP (reqwest): every path, the JSON error shape, CORS, health,
//! readiness and metrics. The server runs in-process with simulated prices on a scaled clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{collections::HashSet, time::Duration};

use serde_json::Value;
use support::{
    inproc::{TestServer, eventually},
    ws::Client,
};

async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    let resp = reqwest::get(server.url(path)).await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/json"), "{path}: {ct}");
    (status, resp.json().await.unwrap())
}

/// The JSON error shape: `{"error":{"code":..,"message":..}}`.
fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.len() > 10),
        "{body}"
    );
}

fn keys(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["key"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_indices_and_quotes() {
    let server = TestServer::start_live(&[]).await;
    let (status, body) = get(&server, "/api/v1/market/status").await;
    assert_eq!(status, 200);
    for field in [
        "exchange",
        "phase",
        "live",
        "trading_day",
        "next_change",
        "next_phase",
        "reason",
    ] {
        assert!(body.get(field).is_some(), "{field} missing: {body}");
    }
    assert_eq!(body["phase"], "open");

    let (status, indices) = get(&server, "/api/v1/indices").await;
    assert_eq!(status, 200);
    assert_eq!(indices["live"], true);
    assert!(indices["as_of"].is_i64());
    let universe = server.state.universe();
    assert_eq!(keys(&indices).len(), universe.indices().len());
    let (status, compat) = get(&server, "/indices/all").await;
    assert_eq!(status, 200);
    assert_eq!(
        keys(&compat),
        keys(&indices),
        "the same data as /api/v1/indices"
    );
    assert_eq!(compat["live"], true);

    let (status, body) = get(
        &server,
        "/api/v1/quotes?symbols=RELIANCE,NSE_EQ%7CINE467B01029,NOPE",
    )
    .await;
    assert_eq!(status, 200);
    let reliance = universe.resolve("RELIANCE").unwrap().key.to_string();
    assert_eq!(
        keys(&body).into_iter().collect::<HashSet<_>>(),
        HashSet::from([reliance.clone(), "NSE_EQ|INE467B01029".to_owned()])
    );
    assert_eq!(body["unknown"], serde_json::json!(["NOPE"]));
    assert_eq!(body["live"], true);
    assert!(body["as_of"].is_i64());
    let (status, body) = get(&server, "/api/v1/quotes?symbols=RELIANCE").await;
    assert_eq!(status, 200);
    assert!(
        body.get("unknown").is_none(),
        "no unknown list when all are known"
    );
    let (status, body) = get(&server, "/api/v1/quotes?symbols=NOPE,ZZZZ").await;
    assert_eq!(status, 404);
    assert_error(&body, "not_found");
    let (status, body) = get(&server, "/api/v1/quotes").await;
    assert_eq!(status, 400);
    assert_error(&body, "bad_request");

    let (status, by_symbol) = get(&server, "/api/v1/quotes/RELIANCE").await;
    assert_eq!(status, 200);
    assert_eq!(by_symbol["key"], reliance.as_str());
    assert_eq!(by_symbol["symbol"], "RELIANCE");
    assert!(by_symbol["ltp"].is_number() && by_symbol["ts"].is_i64());
    let encoded = reliance.replace('|', "%7C");
    let (status, by_key) = get(&server, &format!("/api/v1/quotes/{encoded}")).await;
    assert_eq!(status, 200);
    assert_eq!(by_key["key"], reliance.as_str());
    let (status, nifty) = get(&server, "/api/v1/quotes/NSE_INDEX%7CNifty%2050").await;
    assert_eq!(status, 200);
    assert_eq!(nifty["symbol"], "NIFTY 50");
    let (status, compat) = get(&server, "/stocks/detail/RELIANCE").await;
    assert_eq!(status, 200);
    assert_eq!(compat["key"], reliance.as_str());
    for missing in ["/api/v1/quotes/NOPE", "/stocks/detail/NOPE"] {
        let (status, body) = get(&server, missing).await;
        assert_eq!(status, 404, "{missing}");
        assert_error(&body, "not_found");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instruments_closing_errors_and_cors() {
    let server = TestServer::start_live(&[]).await;
    let universe = server.state.universe();
    let (status, list) = get(&server, "/api/v1/instruments?topic=prices").await;
    assert_eq!(status, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), universe.prices().len());
    for field in ["key", "symbol", "name", "isin", "segment"] {
        assert!(list[0].get(field).is_some(), "{field} missing: {}", list[0]);
    }
    let (_, indices) = get(&server, "/api/v1/instruments?topic=indices").await;
    assert_eq!(indices.as_array().unwrap().len(), universe.indices().len());
    let (status, body) = get(&server, "/api/v1/instruments?topic=bonds").await;
    assert_eq!(status, 400);
    assert_error(&body, "bad_request");

    // Closing prices: 404 when none is stored, 400 without a valid topic or date.
    let (status, body) = get(&server, "/api/v1/closing/2025-06-02?topic=prices").await;
    assert_eq!(status, 404);
    assert_error(&body, "not_found");
    for bad in [
        "/api/v1/closing/2026-01-29",
        "/api/v1/closing/2026-01-29?topic=bonds",
        "/api/v1/closing/29-01-2026?topic=prices",
        "/api/v1/closing/2026-02-30?topic=prices",
    ] {
        let (status, body) = get(&server, bad).await;
        assert_eq!(status, 400, "{bad}");
        assert_error(&body, "bad_request");
    }
    let (status, body) = get(&server, "/api/v1/no/such/path").await;
    assert_eq!(status, 404);
    assert_error(&body, "not_found");
    let http = reqwest::Client::new();
    let resp = http
        .post(server.url("/api/v1/indices"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_error(&resp.json().await.unwrap(), "method_not_allowed");

    // CORS on GET (any origin by default), and the preflight.
    let resp = http
        .get(server.url("/api/v1/market/status"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    let allow = resp.headers()["access-control-allow-origin"]
        .to_str()
        .unwrap();
    assert!(allow == "*" || allow == "https://app.example", "{allow}");
    let resp = http
        .request(reqwest::Method::OPTIONS, server.url("/api/v1/indices"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("GET")
    );
    server.stop().await;
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} missing from\n{text}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_dashboard_and_metrics() {
    let server = TestServer::start_live(&[]).await;
    let (status, _) = get(&server, "/healthz").await;
    assert_eq!(status, 200);
    let state = server.state.clone();
    eventually(Duration::from_secs(10), "readiness", || {
        state.feed().is_ready().then_some(())
    })
    .await;
    let (status, body) = get(&server, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    // A server alone is its own feed: standalone, no cluster, no leader.
    let (status, body) = get(&server, "/api/v1/cluster").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"name": null, "node": null, "role": "standalone", "leader": null})
    );
    let page = reqwest::get(server.url("/")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    let scrape = || async {
        let resp = reqwest::get(server.url("/metrics")).await.unwrap();
        assert_eq!(resp.status(), 200);
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            ct.starts_with("application/openmetrics-text; version=1.0.0"),
            "{ct}"
        );
        resp.text().await.unwrap()
    };
    let before = scrape().await;
    for family in [
        "# TYPE market_feed_ws_connections gauge",
        "# TYPE market_feed_ws_frames_sent counter",
        "# TYPE market_feed_source_latency_seconds histogram",
        "market_feed_market_phase{phase=\"open\"} 1",
        "market_feed_live 1",
        "market_feed_ready 1",
        "market_feed_cluster_role{role=\"standalone\"} 1",
    ] {
        assert!(before.contains(family), "{family} missing from\n{before}");
    }
    check_exposition(&before);
    let welcome = "market_feed_ws_frames_sent_total{event=\"welcome\"}";
    let updates = "market_feed_ws_frames_sent_total{event=\"indices_update\"}";
    let (mut c, _) = Client::connect_welcomed(&server.ws_url()).await;
    c.send(serde_json::json!({"op":"subscribe","topics":["indices"]}))
        .await;
    for _ in 0..3 {
        c.until("indices_update").await;
    }
    let after = scrape().await;
    assert_eq!(metric(&after, welcome), metric(&before, welcome) + 1.0);
    assert!(metric(&after, updates) >= metric(&before, updates) + 3.0);
    assert_eq!(metric(&after, "market_feed_ws_connections"), 1.0);
    assert!(
        metric(&after, "market_feed_hub_frames_published_total")
            > metric(&before, "market_feed_hub_frames_published_total")
    );
    assert!(
        metric(
            &after,
            "market_feed_source_requests_total{topic=\"indices\"}"
        ) > metric(
            &before,
            "market_feed_source_requests_total{topic=\"indices\"}"
        )
    );
    server.stop().await;
}

/// The exposition is well-formed OpenMetrics (every sample under a declared family, with the
/// suffix its type allows, `# EOF` last), and it matches the table in `docs/operations.md`:
/// every exposed family is documented and every documented one is exposed.
fn check_exposition(text: &str) {
    use std::collections::{BTreeMap, BTreeSet};
    assert_eq!(text.lines().last(), Some("# EOF"), "{text}");
    let mut families: BTreeMap<&str, &str> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(
                families.insert(name, kind).is_none(),
                "{name} declared twice"
            );
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let name = line.split(['{', ' ']).next().unwrap();
        let declared = families.iter().any(|(family, kind)| {
            let suffixes: &[&str] = match *kind {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_sum", "_count"],
                _ => &[""],
            };
            suffixes.iter().any(|s| name == format!("{family}{s}"))
        });
        assert!(declared, "sample {line:?} has no family of its type");
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "value of {line:?}");
    }
    // Sample names as written in docs/operations.md's table (counters with `_total`).
    let exposed: BTreeSet<String> = families
        .iter()
        .map(|(family, kind)| match *kind {
            "counter" => format!("{family}_total"),
            _ => (*family).to_owned(),
        })
        .collect();
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/operations.md"),
    )
    .unwrap();
    let documented: BTreeSet<String> = docs
        .lines()
        .filter(|l| l.starts_with("| `market_feed_"))
        .flat_map(|l| {
            let first_column = l.split('|').nth(1).unwrap_or_default().to_owned();
            first_column
                .split('`')
                .filter(|w| w.starts_with("market_feed_"))
                .map(|w| w.split('{').next().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let undocumented: Vec<_> = exposed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "not in docs/operations.md: {undocumented:?}"
    );
    // The universe's age is absent until the instrument file was fetched.
    let conditional = ["market_feed_universe_age_seconds"];
    let unexposed: Vec<_> = documented
        .difference(&exposed)
        .filter(|n| !conditional.contains(&n.as_str()))
        .collect();
    assert!(
        unexposed.is_empty(),
        "documented but not exposed: {unexposed:?}"
    );
}
