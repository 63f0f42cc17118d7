//! HTTP as an attacker sends it (raw TCP on loopback against the real server): path spellings
//! that must not bypass the client token, CORS preflights with auth on, heads that never
//! complete, the HTTP connection cap, oversized heads answered with JSON, and the closing-price
//! cache in front of the store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{sync::Arc, time::Duration};

use market_feed::{
    model::{Quote, Topic},
    store::SnapshotStore,
};
use serde_json::Value;
use support::inproc::TestServer;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// How long any one answer may take.
const PATIENCE: Duration = Duration::from_secs(10);

/// Sends `request` on a fresh connection and reads until the server closes it.
async fn raw(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, s.read_to_end(&mut out))
        .await
        .expect("the server answers and closes in time");
    String::from_utf8_lossy(&out).into_owned()
}

/// A `GET` with `Connection: close` and extra header lines.
async fn get(addr: std::net::SocketAddr, target: &str, headers: &str) -> (u16, String) {
    let req = format!("GET {target} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n");
    let text = raw(addr, req.as_bytes()).await;
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn error_code(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"));
    v["error"]["code"].as_str().unwrap().to_owned()
}

/// Every protected route, in the plain spelling and one with data to leak.
const PROTECTED: &[&str] = &[
    "/api/v1/indices",
    "/indices/all",
    "/stocks/detail/RELIANCE",
    "/api/v1/quotes?symbols=RELIANCE",
    "/api/v1/quotes/RELIANCE",
    "/api/v1/market/status",
    "/api/v1/instruments?topic=indices",
    "/api/v1/closing/2026-01-28?topic=prices",
];

/// Spellings of `path` that resolve to the same route.
fn variants(path: &str) -> Vec<String> {
    let (p, q) = path.split_once('?').map_or((path, ""), |(p, q)| (p, q));
    let q = if q.is_empty() {
        String::new()
    } else {
        format!("?{q}")
    };
    let first = &p[1..2];
    let encoded_first = format!("%{:02X}", first.as_bytes()[0]);
    vec![
        format!("{p}{q}"),
        format!("/{p}{q}"),
        format!("//{p}{q}"),
        format!("{p}/{q}"),
        format!("/.{p}{q}"),
        format!("{}{q}", p.replacen('/', "//", 2)),
        format!("/x/..{p}{q}"),
        format!("/{encoded_first}{}{q}", &p[2..]),
        format!("{}{q}", p.replace('/', "/./")),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_spelling_of_a_protected_route_needs_the_token() {
    let server = TestServer::start_live(&["--auth-token", "s3cret"]).await;
    for path in PROTECTED {
        for spelled in variants(path) {
            let (status, body) = get(server.addr, &spelled, "").await;
            assert_eq!(status, 401, "{spelled}: {body}");
            assert_eq!(error_code(&body), "unauthorized", "{spelled}");
            let sep = if spelled.contains('?') { '&' } else { '?' };
            let (status, _) = get(server.addr, &format!("{spelled}{sep}token=wrong"), "").await;
            assert_eq!(status, 401, "{spelled} with a wrong ?token=");
            let (status, _) = get(server.addr, &spelled, "Authorization: Bearer wrong\r\n").await;
            assert_eq!(status, 401, "{spelled} with a wrong bearer");
            // With the token, every spelling reaches the route (a stored close may be 404).
            for auth in ["Bearer s3cret", "bearer s3cret", "BEARER s3cret"] {
                let (status, body) =
                    get(server.addr, &spelled, &format!("Authorization: {auth}\r\n")).await;
                assert!(
                    status == 200 || (status == 404 && spelled.contains("closing")),
                    "{spelled} {auth}: {status} {body}"
                );
            }
        }
    }
    // The WebSocket upgrade, however spelled.
    let upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    for path in ["/ws", "//ws", "/ws/", "/./ws", "/%77s", "/ws?token=wrong"] {
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{upgrade}\r\n");
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(req.as_bytes()).await.unwrap();
        let mut head = [0u8; 12];
        tokio::time::timeout(PATIENCE, s.read_exact(&mut head))
            .await
            .expect("an answer in time")
            .unwrap();
        assert_eq!(&head, b"HTTP/1.1 401", "{path}");
    }
    // Unknown API paths stay behind the token too; open routes stay open.
    for path in ["//api/v2/secret", "/api/v1/indices/extra", "//stocks/"] {
        assert_eq!(get(server.addr, path, "").await.0, 401, "{path}");
    }
    for path in ["//healthz", "/readyz/", "//metrics", "/./"] {
        assert_eq!(get(server.addr, path, "").await.0, 200, "{path}");
    }
    // An encoded slash is no route at all.
    let (status, body) = get(server.addr, "/api%2Fv1%2Findices", "").await;
    assert_eq!(status, 404, "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflights_are_answered_before_auth() {
    let server = TestServer::start(&[
        "--store",
        "memory",
        "--auth-token",
        "s3cret",
        "--cors-origin",
        "https://app.example",
    ])
    .await;
    for path in [
        "/api/v1/indices",
        "//api/v1/quotes/TCS",
        "/stocks/detail/TCS",
    ] {
        let req = format!(
            "OPTIONS {path} HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n\
             Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: authorization\r\n\
             Connection: close\r\n\r\n"
        );
        let text = raw(server.addr, req.as_bytes()).await.to_ascii_lowercase();
        assert!(text.starts_with("http/1.1 200"), "{path}: {text}");
        for line in [
            "access-control-allow-origin: https://app.example",
            "access-control-allow-methods: get,head,options",
            "access-control-allow-headers: authorization,content-type",
            "access-control-max-age: 600",
            "vary: origin",
        ] {
            assert!(text.contains(line), "{path}: {line} missing in {text}");
        }
    }
    // An OPTIONS that is not a preflight is an ordinary request: the token is checked.
    let text = raw(
        server.addr,
        b"OPTIONS /api/v1/indices HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
    server.stop().await;
}

/// Whether the server closes `s` within `within` (EOF or reset), discarding what it sends.
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heads_that_never_complete_are_closed_after_the_header_timeout() {
    let server = TestServer::start(&["--store", "memory", "--header-timeout", "300ms"]).await;
    let started = tokio::time::Instant::now();
    let mut idle = Vec::new();
    for sent in [
        &b""[..],
        b"G",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM",
    ] {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(sent).await.unwrap();
        idle.push((sent, s));
    }
    for (sent, s) in &mut idle {
        assert!(
            closed_within(s, Duration::from_secs(5)).await,
            "a connection that sent {:?} stays open",
            String::from_utf8_lossy(sent)
        );
    }
    assert!(started.elapsed() >= Duration::from_millis(250));
    // After a complete request on a kept-alive connection, the timer applies again.
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    s.write_all(b"GET /hea").await.unwrap();
    assert!(closed_within(&mut s, Duration::from_secs(5)).await);
    // A well-behaved client is still served, and the timeouts are counted.
    assert_eq!(get(server.addr, "/healthz", "").await.0, 200);
    let (_, metrics) = get(server.addr, "/metrics", "").await;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("market_feed_http_refused_total{reason=\"header_timeout\"}"))
        .unwrap();
    let n: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 4, "{line}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_connections_are_capped_with_a_json_503() {
    let server = TestServer::start(&["--store", "memory", "--max-http-connections", "2"]).await;
    let a = TcpStream::connect(server.addr).await.unwrap();
    let b = TcpStream::connect(server.addr).await.unwrap();
    // Give the accept loop a moment to take both (bounded poll: the third must be refused).
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (status, body) = get(server.addr, "/healthz", "").await;
        if status == 503 {
            assert_eq!(error_code(&body), "too_many_connections");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never refused: {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop((a, b));
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while get(server.addr, "/healthz", "").await.0 != 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slots never came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_heads_get_json_414_and_431() {
    let server = TestServer::start(&["--store", "memory"]).await;
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (
            format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9_000)).into_bytes(),
            414,
            "uri_too_long",
        ),
        (
            format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000)).into_bytes(),
            414,
            "uri_too_long",
        ),
        (
            format!(
                "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
                (0..80).map(|i| format!("X-{i}: y\r\n")).collect::<String>()
            )
            .into_bytes(),
            431,
            "headers_too_large",
        ),
        (
            format!(
                "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
                (0..300)
                    .map(|i| format!("X-{i}: y\r\n"))
                    .collect::<String>()
            )
            .into_bytes(),
            431,
            "headers_too_large",
        ),
        (
            format!(
                "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
                "a".repeat(20_000)
            )
            .into_bytes(),
            431,
            "headers_too_large",
        ),
        (
            format!(
                "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
                "a".repeat(500_000)
            )
            .into_bytes(),
            431,
            "headers_too_large",
        ),
    ];
    let mut cases = cases;
    for garbage in [
        &b"PRI * HTTP/2.0\r\n\r\n"[..],
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
    ] {
        cases.push((garbage.to_vec(), 400, "bad_request"));
    }
    for (request, status, code) in cases {
        let text = raw(server.addr, &request).await;
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("{text:?}"));
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{head}"
        );
        assert_eq!(error_code(body), code, "{head}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_closes_are_served_from_memory() {
    let store = Arc::new(market_feed::testing::CountingStore::default());
    let past = time::macros::date!(2026 - 01 - 28);
    let key = "NSE_EQ|INE002A01018".parse().unwrap();
    store
        .save_close(
            Topic::Prices,
            past,
            &[Quote::new(key, "RELIANCE", 1234.5, 1)],
        )
        .await
        .unwrap();
    let state = state_with_store(store.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(market_feed_server::server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let mut requests = Vec::new();
    for _ in 0..50 {
        requests.push(get(addr, "/api/v1/closing/2026-01-28?topic=prices", ""));
    }
    for (status, body) in futures::future::join_all(requests).await {
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["trading_day"], "2026-01-28");
        assert_eq!(v["data"][0]["symbol"], "RELIANCE");
    }
    assert_eq!(store.close_loads(), 1, "one store read for 50 requests");
    // A day not stored: 404, and a flood of them is one read per cache period.
    for _ in 0..20 {
        let (status, _) = get(addr, "/api/v1/closing/2026-01-27?topic=prices", "").await;
        assert_eq!(status, 404);
    }
    assert_eq!(store.close_loads(), 2);
    let _ = stop.send(());
    tokio::time::timeout(PATIENCE, task).await.unwrap().unwrap();
}

/// A test state on the system clock whose store is `store`.
fn state_with_store(
    store: Arc<market_feed::testing::CountingStore>,
) -> market_feed_server::state::AppState {
    use market_feed_server::state::{AppState, Parts};
    let base = AppState::for_tests(market_feed::clock::MarketClock::system());
    AppState::new(Parts {
        clock: base.clock().clone(),
        hub: base.hub().clone(),
        store,
        universe: base.live_universe().clone(),
        feed: Arc::new(market_feed::feed::FeedStats::default()),
        sources: Vec::new(),
        access: Default::default(),
        ws: Default::default(),
        http: Default::default(),
        shutdown: Default::default(),
    })
}

#[tokio::test(start_paused = true)]
async fn a_store_that_stops_answering_gets_a_json_503_timeout() {
    use tower::ServiceExt;
    let store = Arc::new(market_feed::testing::CountingStore::default());
    store.stall_loads();
    let app = market_feed_server::router::router(state_with_store(store.clone()));
    let started = tokio::time::Instant::now();
    let response = app
        .oneshot(
            http::Request::get("/api/v1/closing/2026-01-28?topic=prices")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        started.elapsed(),
        market_feed_server::router::REQUEST_TIMEOUT,
        "answered when the request timeout ran out (paused clock)"
    );
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    let body = std::str::from_utf8(&body).unwrap();
    assert_eq!(error_code(body), "timeout", "{body}");
    assert_eq!(store.close_loads(), 1);
}
