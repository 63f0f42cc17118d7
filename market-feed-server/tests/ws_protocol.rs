//! docs/protocol.md §3 over a real socket: the server runs in-process on an ephemeral port with
//! simulated prices on a scaled clock, and a `tokio-tungstenite` client (not the server's
//! WebSocket implementation) drives it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{collections::HashSet, time::Duration};

use futures::SinkExt;

use market_feed::model::Topic;
use serde_json::{Value, json};
use support::{
    inproc::{TestServer, eventually},
    ws::{CONTINUATION, Client, Raw, TEXT},
};

fn seq(v: &Value) -> u64 {
    v["seq"].as_u64().unwrap_or_else(|| panic!("no seq in {v}"))
}

fn keys(v: &Value) -> HashSet<String> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["key"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_quote_shape(q: &Value) {
    assert!(q["key"].as_str().is_some_and(|k| k.contains('|')), "{q}");
    assert!(q["symbol"].is_string(), "{q}");
    assert!(q["ltp"].is_number(), "{q}");
    assert!(q["ts"].is_i64(), "{q}");
    for field in [
        "prev_close",
        "change",
        "change_pct",
        "open",
        "high",
        "low",
        "volume",
    ] {
        assert!(
            q.get(field).is_some(),
            "{field} missing (null is fine): {q}"
        );
    }
}

/// Tracks `seq` per topic across a client's messages: each batch must follow the last one,
/// and a snapshot resets the count.
#[derive(Default)]
struct SeqCheck {
    indices: Option<u64>,
    prices: Option<u64>,
}

impl SeqCheck {
    fn see(&mut self, v: &Value) {
        let slot = match v["event"].as_str().unwrap() {
            "snapshot" => {
                let s = if v["topic"] == "indices" {
                    &mut self.indices
                } else {
                    &mut self.prices
                };
                *s = Some(seq(v));
                return;
            }
            "indices_update" => &mut self.indices,
            "prices_batch" => &mut self.prices,
            _ => return,
        };
        let last = slot.expect("an update before the topic's snapshot");
        assert_eq!(
            seq(v),
            last + 1,
            "seq gap without a snapshot: {}",
            v["event"]
        );
        *slot = Some(seq(v));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn welcome_snapshots_updates_ping_and_unsubscribe() {
    let server = TestServer::start_live(&[]).await;
    let (mut c, welcome) = Client::connect_welcomed(&server.ws_url()).await;
    assert_eq!(welcome["protocol"], 1);
    let now = server.state.clock().now_ms();
    let server_time = welcome["server_time"].as_i64().unwrap();
    // The scaled clock's time (2026-01-29 10:00 IST onwards), not the machine's.
    assert!(
        (now - server_time).abs() < 120_000,
        "{server_time} vs {now}"
    );
    assert_eq!(welcome["market"]["phase"], "open");
    assert_eq!(welcome["market"]["live"], true);
    assert_eq!(welcome["market"]["trading_day"], "2026-01-29");
    assert_eq!(welcome["market"]["exchange"], "NSE");

    // Nothing is sent on a topic before subscribing: the next message is the pong.
    c.send(json!({"op": "ping", "id": 123})).await;
    let pong = c.event().await;
    assert_eq!(pong["event"], "pong");
    assert_eq!(pong["id"], 123);
    assert!(pong["server_time"].as_i64().unwrap() >= server_time);
    c.send(json!({"op": "ping", "id": "abc"})).await;
    assert_eq!(c.event().await["id"], "abc", "any JSON id is echoed");

    c.send(json!({"op": "subscribe", "topics": ["indices", "prices"]}))
        .await;
    let mut check = SeqCheck::default();
    let mut snapshots = Vec::new();
    while snapshots.len() < 2 {
        let v = c.event().await;
        assert_eq!(
            v["event"], "snapshot",
            "snapshots come first: {}",
            v["event"]
        );
        check.see(&v);
        snapshots.push(v);
    }
    let topics: HashSet<&str> = snapshots
        .iter()
        .map(|s| s["topic"].as_str().unwrap())
        .collect();
    assert_eq!(
        topics,
        HashSet::from(["indices", "prices"]),
        "one per topic"
    );
    for s in &snapshots {
        assert_eq!(s["live"], true);
        assert_eq!(s["source"], "live");
        assert_eq!(s["trading_day"], "2026-01-29");
        assert!(s["as_of"].is_i64());
        let data = s["data"].as_array().unwrap();
        assert!(!data.is_empty());
        data.iter().for_each(assert_quote_shape);
    }
    let universe = server.state.universe();
    let by_topic = |t: &str| snapshots.iter().find(|s| s["topic"] == t).unwrap();
    assert_eq!(
        by_topic("indices")["data"].as_array().unwrap().len(),
        universe.indices().len()
    );
    assert_eq!(
        by_topic("prices")["data"].as_array().unwrap().len(),
        universe.prices().len()
    );

    // Updates follow with continuous seq on each topic.
    let (mut indices, mut prices) = (0, 0);
    while prices < 3 || indices < 5 {
        let v = c.event().await;
        check.see(&v);
        match v["event"].as_str().unwrap() {
            "indices_update" => indices += 1,
            "prices_batch" => prices += 1,
            other => panic!("unexpected {other}: {v}"),
        }
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .for_each(assert_quote_shape);
    }

    // After unsubscribing from prices (and the pong proving it was handled), no prices_batch
    // comes for more than two price intervals: 12 index updates are 12 s of clock time, and
    // prices are refreshed every 5 s.
    c.send(json!({"op": "unsubscribe", "topics": ["prices"]}))
        .await;
    let pong = c.roundtrip(7).await;
    assert_eq!(pong["id"], 7);
    let prices_seq = server.state.hub().seq(Topic::Prices);
    let mut updates = 0;
    while updates < 12 {
        let v = c.event().await;
        assert_ne!(v["event"], "prices_batch", "unsubscribed: {}", v["event"]);
        if v["event"] == "indices_update" {
            updates += 1;
        }
    }
    assert!(
        server.state.hub().seq(Topic::Prices) >= prices_seq + 2,
        "prices were published meanwhile"
    );

    // Subscribing again gives a fresh snapshot, also for a topic already subscribed.
    c.send(json!({"op": "subscribe", "topics": ["prices"]}))
        .await;
    let snap = c
        .until_match("a prices snapshot", |v| {
            v["event"] == "snapshot" && v["topic"] == "prices"
        })
        .await;
    assert!(seq(&snap) >= prices_seq + 2);
    c.send(json!({"op": "subscribe", "topics": ["indices"]}))
        .await;
    c.until_match("a second indices snapshot", |v| {
        v["event"] == "snapshot" && v["topic"] == "indices"
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symbol_filters_narrow_prices_and_a_later_subscribe_replaces_them() {
    let server = TestServer::start_live(&[]).await;
    let (mut c, _) = Client::connect_welcomed(&server.ws_url()).await;
    let reliance = server
        .state
        .universe()
        .resolve("RELIANCE")
        .unwrap()
        .key
        .to_string();
    let hdfc = "NSE_EQ|INE040A01034".to_owned();
    c.send(json!({"op": "subscribe", "topics": ["indices", "prices"],
                  "symbols": ["RELIANCE", hdfc, "NOPE"]}))
        .await;
    let (mut error, mut prices_snap, mut indices_snap) = (None, None, None);
    while error.is_none() || prices_snap.is_none() || indices_snap.is_none() {
        let v = c.event().await;
        match (v["event"].as_str().unwrap(), v["topic"].as_str()) {
            ("error", _) => error = Some(v),
            ("snapshot", Some("prices")) => prices_snap = Some(v),
            ("snapshot", Some("indices")) => indices_snap = Some(v),
            _ => {}
        }
    }
    let error = error.unwrap();
    assert_eq!(error["code"], "unknown_symbol");
    assert!(
        error["message"].as_str().unwrap().contains("NOPE"),
        "{error}"
    );
    let wanted = HashSet::from([reliance.clone(), hdfc.clone()]);
    assert_eq!(
        keys(&prices_snap.unwrap()),
        wanted,
        "the known ones are subscribed"
    );
    assert_eq!(
        keys(&indices_snap.unwrap()).len(),
        server.state.universe().indices().len(),
        "symbols narrow prices only"
    );
    for _ in 0..2 {
        let batch = c.until("prices_batch").await;
        assert_eq!(keys(&batch), wanted, "only the client's symbols");
    }

    c.send(json!({"op": "subscribe", "topics": ["prices"], "symbols": ["TCS"]}))
        .await;
    let snap = c
        .until_match("a prices snapshot", |v| {
            v["event"] == "snapshot" && v["topic"] == "prices"
        })
        .await;
    let tcs = HashSet::from([server
        .state
        .universe()
        .resolve("TCS")
        .unwrap()
        .key
        .to_string()]);
    assert_eq!(keys(&snap), tcs, "the new list replaces the old");

    // 600 symbols: too_many_symbols, and nothing changes.
    let many: Vec<String> = server
        .state
        .universe()
        .prices()
        .iter()
        .take(600)
        .map(|i| i.symbol.to_string())
        .collect();
    assert_eq!(many.len(), 600);
    c.send(json!({"op": "subscribe", "topics": ["prices"], "symbols": many}))
        .await;
    let refusal = c
        .until_match("an error", |v| {
            v["event"] == "error" || v["event"] == "snapshot"
        })
        .await;
    assert_eq!(
        refusal["event"], "error",
        "no snapshot for a refused subscription"
    );
    assert_eq!(refusal["code"], "too_many_symbols");
    assert!(refusal["message"].as_str().unwrap().contains("500"));
    for _ in 0..2 {
        let v = c
            .until_match("a prices message", |v| {
                v["event"] == "prices_batch" || v["event"] == "snapshot"
            })
            .await;
        assert_eq!(v["event"], "prices_batch");
        assert_eq!(keys(&v), tcs, "the earlier list still holds");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_messages_get_their_error_code_and_keep_the_connection() {
    let server = TestServer::start_live(&[]).await;
    let (mut c, _) = Client::connect_welcomed(&server.ws_url()).await;
    let cases: [(&str, &str); 8] = [
        ("hello", "bad_request"),
        ("[1,2,3]", "bad_request"),
        (r#"{"op":"dance"}"#, "bad_request"),
        (r#"{"topics":["prices"]}"#, "bad_request"),
        (r#"{"op":"subscribe"}"#, "bad_request"),
        (r#"{"op":"subscribe","topics":["news"]}"#, "unknown_topic"),
        (
            r#"{"op":"unsubscribe","topics":["prices","weather"]}"#,
            "unknown_topic",
        ),
        (
            r#"{"op":"subscribe","topics":["prices"],"symbols":[1]}"#,
            "bad_request",
        ),
    ];
    for (i, (text, code)) in cases.into_iter().enumerate() {
        c.send_text(text.to_owned()).await;
        let v = c.event().await;
        assert_eq!(v["event"], "error", "{text}: {v}");
        assert_eq!(v["code"], code, "{text}: {v}");
        assert!(!v["message"].as_str().unwrap().is_empty());
        // Still open, and nothing was subscribed by the refused message.
        let pong = ping_then_next(&mut c, i as i64).await;
        assert_eq!(pong["event"], "pong", "{text}: got {pong}");
    }
    // A binary frame is refused the same way.
    c.ws.send(tokio_tungstenite::tungstenite::Message::binary(
        b"{}".to_vec(),
    ))
    .await
    .unwrap();
    assert_eq!(c.event().await["code"], "bad_request");
    assert_eq!(ping_then_next(&mut c, 99).await["event"], "pong");
    assert_eq!(server.state.ws_stats().refusals(), 9);
    server.stop().await;
}

/// Sends a ping op and returns the very next message.
async fn ping_then_next(c: &mut Client, id: i64) -> Value {
    c.send(json!({"op": "ping", "id": id})).await;
    c.event().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_over_16_kib_close_with_1009() {
    let server = TestServer::start_live(&[]).await;
    // Exactly 16 KiB is accepted.
    let (mut c, _) = Client::connect_welcomed(&server.ws_url()).await;
    let prefix = r#"{"op":"ping","id":""#;
    let pad = 16 * 1024 - prefix.len() - 2;
    let text = format!("{prefix}{}\"}}", "x".repeat(pad));
    assert_eq!(text.len(), 16 * 1024);
    c.send_text(text).await;
    let pong = c.event().await;
    assert_eq!(pong["event"], "pong");
    assert_eq!(pong["id"].as_str().unwrap().len(), pad);

    // One byte more: refused at the frame header, closed with 1009.
    let mut raw = Raw::connect(server.addr).await;
    let mut bytes = Raw::frame_header(TEXT, true, 16 * 1024 + 1);
    bytes.extend_from_slice(b"{\"op\":\"ping\"");
    raw.send_bytes(&bytes).await;
    let ending = raw.read_until_close().await;
    assert_eq!(ending.code, Some(1009), "{ending:?}");
    assert_eq!(ending.texts[0]["event"], "welcome");

    // Fragments adding up to more than 16 KiB: also 1009.
    let mut raw = Raw::connect(server.addr).await;
    raw.send_frame(TEXT, false, &[b' '; 10_000]).await;
    raw.send_frame(CONTINUATION, false, &[b' '; 10_000]).await;
    let ending = raw.read_until_close().await;
    assert_eq!(ending.code, Some(1009), "{ending:?}");

    // A fragmented message within the limit is reassembled and answered.
    let mut raw = Raw::connect(server.addr).await;
    raw.send_frame(TEXT, false, br#"{"op":"pi"#).await;
    raw.send_frame(CONTINUATION, true, br#"ng","id":5}"#).await;
    let pong = loop {
        let (op, payload) = raw.read_frame().await.expect("the pong");
        let v: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
        if op == TEXT && v["event"] == "pong" {
            break v;
        }
    };
    assert_eq!(pong["id"], 5);

    // (A close for abuse is counted once the server stops draining the client, within 1 s.)
    let state = server.state.clone();
    eventually(Duration::from_secs(5), "two too-big closes", || {
        (state
            .ws_stats()
            .closes(market_feed_server::ws::CloseReason::TooBig)
            == 2)
            .then_some(())
    })
    .await;
    // The first client was not disturbed.
    assert_eq!(c.roundtrip(8).await["id"], 8);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_keep_answering_peers_and_close_silent_ones() {
    let server = TestServer::start_live(&["--heartbeat-interval", "200ms"]).await;
    // A client that never answers pings: closed after two unanswered ones.
    let mut silent = Raw::connect(server.addr).await;
    let ending = silent.read_until_close().await;
    assert_eq!(ending.code, Some(1008), "{ending:?}");
    assert!(ending.pings >= 2, "{ending:?}");
    assert!(ending.reason.contains("heartbeat"), "{ending:?}");
    assert_eq!(
        server
            .state
            .ws_stats()
            .closes(market_feed_server::ws::CloseReason::Heartbeat),
        1
    );

    // tungstenite answers pings while it reads: such a client stays through many intervals.
    let (mut c, _) = Client::connect_welcomed(&server.ws_url()).await;
    let mut pings = 0;
    while pings < 6 {
        match tokio::time::timeout(Duration::from_secs(5), futures::StreamExt::next(&mut c.ws))
            .await
            .expect("a message within 5 s")
        {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Ping(_))) => pings += 1,
            Some(Ok(_)) => {}
            other => panic!("the answering client was closed: {other:?}"),
        }
    }
    assert_eq!(c.roundtrip(1).await["event"], "pong");
    assert_eq!(
        server
            .state
            .ws_stats()
            .closes(market_feed_server::ws::CloseReason::Heartbeat),
        1,
        "only the silent client was closed"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_origins_and_the_connection_limit_are_checked_before_the_upgrade() {
    let server = TestServer::start_live(&[
        "--auth-token",
        "s3cret-one",
        "--auth-token",
        "s3cret-two",
        "--allowed-origin",
        "https://ok.example",
        "--max-connections",
        "2",
    ])
    .await;
    let url = server.ws_url();
    for headers in [
        &[][..],
        &[("authorization", "Bearer wrong")][..],
        &[("authorization", "Basic czNjcmV0LW9uZQ==")][..],
    ] {
        let refused = Client::try_connect(&url, headers).await.err().unwrap();
        assert_eq!(refused.status, 401, "{headers:?}");
        assert_eq!(refused.body["error"]["code"], "unauthorized");
        assert!(
            refused.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Bearer")
        );
    }
    let refused = Client::try_connect(&format!("{url}?token=nope"), &[])
        .await
        .err()
        .unwrap();
    assert_eq!(refused.status, 401);

    // An origin outside the allow-list: 403 even with a good token.
    let refused = Client::try_connect(
        &url,
        &[
            ("authorization", "Bearer s3cret-one"),
            ("origin", "https://evil.example"),
        ],
    )
    .await
    .err()
    .unwrap();
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body["error"]["code"], "forbidden_origin");

    // Header token with an allowed origin, and query token without an origin (not a browser).
    let mut first = Client::try_connect(
        &url,
        &[
            ("authorization", "Bearer s3cret-one"),
            ("origin", "https://ok.example"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(first.event().await["event"], "welcome");
    let mut second = Client::connect(&format!("{url}?token=s3cret-two")).await;
    assert_eq!(second.event().await["event"], "welcome");

    // The limit: 503 with a JSON body.
    let refused = Client::try_connect(&format!("{url}?token=s3cret-two"), &[])
        .await
        .err()
        .unwrap();
    assert_eq!(refused.status, 503);
    assert_eq!(refused.body["error"]["code"], "too_many_connections");

    // A closed connection frees its place.
    first.ws.close(None).await.unwrap();
    assert_eq!(first.closed().await, Some(1000));
    let stats = server.state.ws_stats();
    eventually(Duration::from_secs(10), "the close to be counted", || {
        (stats.open() == 1).then_some(())
    })
    .await;
    let mut third = Client::connect(&format!("{url}?token=s3cret-one")).await;
    assert_eq!(third.event().await["event"], "welcome");
    assert_eq!(second.roundtrip(1).await["event"], "pong");

    // The REST API is guarded by the same tokens; health, readiness and metrics stay open.
    let http = reqwest::Client::new();
    let r = http
        .get(server.url("/api/v1/indices"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(
        http.get(server.url("/stocks/detail/TCS"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let r = http
        .get(server.url("/api/v1/indices"))
        .bearer_auth("s3cret-two")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .get(server.url("/indices/all?token=s3cret-one"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for open in ["/healthz", "/readyz", "/metrics", "/"] {
        let r = http.get(server.url(open)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{open} stays open");
    }
    let text = http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("s3cret"), "tokens never appear in metrics");
    for line in [
        "market_feed_ws_rejected_total{reason=\"unauthorized\"} 4",
        "market_feed_ws_rejected_total{reason=\"origin\"} 1",
        "market_feed_ws_rejected_total{reason=\"limit\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_every_client_with_1001() {
    let server = TestServer::start_live(&[]).await;
    let (mut a, _) = Client::connect_welcomed(&server.ws_url()).await;
    let (mut b, _) = Client::connect_welcomed(&server.ws_url()).await;
    b.send(json!({"op": "subscribe", "topics": ["indices", "prices"]}))
        .await;
    b.until("indices_update").await;
    let stats = server.state.ws_stats();
    assert_eq!(stats.open(), 2);
    let closing = tokio::spawn(async move { (a.closed().await, b.closed().await) });
    let state = server.state.clone();
    server.stop().await;
    let (code_a, code_b) = closing.await.unwrap();
    assert_eq!(code_a, Some(1001));
    assert_eq!(code_b, Some(1001));
    assert_eq!(
        state
            .ws_stats()
            .closes(market_feed_server::ws::CloseReason::Shutdown),
        2
    );
}
