//! Bad clients (issue 7): each misbehaviour gets its specified outcome (docs/protocol.md §3,
//! "Connection rules"), nobody else is disturbed, and afterwards the server still serves a
//! well-behaved client. The server runs in-process so its counters can be read; big
//! `prices_batch` frames are published straight into its hub to fill socket buffers quickly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use futures::SinkExt;
use market_feed::model::Topic;
use market_feed_server::{state::AppState, ws::CloseReason};
use serde_json::{Value, json};
use support::{
    inproc::{TestServer, eventually},
    ws::{Client, Next, Raw},
};
use tokio_tungstenite::tungstenite::Message;

/// Publishes one full `prices_batch` (every stock, about 450 KB) into the server's hub, as
/// the feed does; returns its seq.
async fn publish_big_batch(state: &AppState) -> u64 {
    let hub = state.hub().clone();
    tokio::task::spawn_blocking(move || {
        let quotes = hub.view(Topic::Prices).data;
        assert!(quotes.len() > 1000, "the full universe is loaded");
        hub.publish(Topic::Prices, quotes).unwrap()
    })
    .await
    .unwrap()
}

fn seq(v: &Value) -> u64 {
    v["seq"].as_u64().unwrap()
}

async fn metrics(server: &TestServer) -> String {
    reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Subscribes to prices and returns the snapshot's seq.
async fn subscribe_prices(c: &mut Client) -> u64 {
    c.send(json!({"op": "subscribe", "topics": ["prices"]}))
        .await;
    let snap = c.until("snapshot").await;
    assert_eq!(snap["topic"], "prices");
    seq(&snap)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_abuse_then_a_well_behaved_client_is_served() {
    let server = TestServer::start_live(&["--slow-consumer-timeout", "2s"]).await;
    let stats = server.state.ws_stats();
    let url = server.ws_url();

    // Refused messages: an error each, the connection stays.
    let (mut c, _) = Client::connect_welcomed(&url).await;
    let too_many: Vec<String> = (0..600).map(|i| format!("SYM{i}")).collect();
    for (text, code) in [
        ("not json".to_owned(), "bad_request"),
        ("[\"subscribe\"]".to_owned(), "bad_request"),
        (r#"{"op":"explode"}"#.to_owned(), "bad_request"),
        (
            r#"{"op":"subscribe","topics":["futures"]}"#.to_owned(),
            "unknown_topic",
        ),
        (
            json!({"op":"subscribe","topics":["prices"],"symbols":too_many}).to_string(),
            "too_many_symbols",
        ),
    ] {
        c.send_text(text.clone()).await;
        let v = c.event().await;
        assert_eq!(
            (v["event"].as_str(), v["code"].as_str()),
            (Some("error"), Some(code)),
            "{text}"
        );
    }
    assert_eq!(c.roundtrip(1).await["event"], "pong");
    c.ws.close(None).await.unwrap();
    assert_eq!(c.closed().await, Some(1000));

    // A 1 MiB frame: closed with 1009 (the client may see the close frame or a reset,
    // depending on how much of the megabyte the server had read; the server counts it).
    let mut big = Client::connect(&url).await;
    let _ = big.ws.send(Message::text("x".repeat(1 << 20))).await;
    match big.recv().await {
        Next::Event(v) => {
            assert_eq!(v["event"], "welcome");
            let code = big.closed().await;
            assert!(matches!(code, Some(1009) | None), "{code:?}");
        }
        Next::Closed(code) => assert!(matches!(code, Some(1009) | None), "{code:?}"),
    }
    eventually(Duration::from_secs(10), "the too-big close", || {
        (stats.closes(CloseReason::TooBig) == 1).then_some(())
    })
    .await;

    // 1,000 messages at once: one rate_limited error, then 1008.
    let mut flood = Client::connect(&url).await;
    for i in 0..1000 {
        if flood
            .ws
            .feed(Message::text(json!({"op":"ping","id":i}).to_string()))
            .await
            .is_err()
        {
            break;
        }
    }
    let _ = flood.ws.flush().await;
    let (mut pongs, mut limited) = (0, 0);
    let code = loop {
        match flood.recv().await {
            Next::Event(v) if v["event"] == "pong" => pongs += 1,
            Next::Event(v) if v["event"] == "error" => {
                assert_eq!(v["code"], "rate_limited", "{v}");
                limited += 1;
            }
            Next::Event(_) => {}
            Next::Closed(code) => break code,
        }
    };
    assert_eq!(
        code,
        Some(1008),
        "the client sees the close ({pongs} pongs)"
    );
    assert_eq!(
        limited, 1,
        "one warning, the rest dropped silently ({pongs} pongs, close {code:?})"
    );
    assert!(
        (20..1000).contains(&pongs),
        "{pongs} pongs: the burst is served, the flood is not"
    );
    eventually(Duration::from_secs(10), "the rate-limit close", || {
        (stats.closes(CloseReason::RateLimited) == 1).then_some(())
    })
    .await;

    // Clients that vanish without a close frame: an orderly TCP close, and a reset.
    let before = stats.open();
    for reset in [false, true] {
        let mut raw = Raw::connect(server.addr).await;
        raw.read_frame().await.expect("the welcome");
        eventually(Duration::from_secs(10), "the connection to count", || {
            (stats.open() == before + 1).then_some(())
        })
        .await;
        if reset {
            raw.stream.set_zero_linger().unwrap();
        }
        drop(raw);
        eventually(
            Duration::from_secs(10),
            "the vanished client to be dropped",
            || (stats.open() == before).then_some(()),
        )
        .await;
    }

    // A client that never reads, next to a well-behaved one: the publisher is not held up,
    // the good client gets every batch in order, the stalled one is closed after 2 s without
    // progress.
    let (mut good, _) = Client::connect_welcomed(&url).await;
    let mut last = subscribe_prices(&mut good).await;
    let mut stalled = Raw::connect_with(server.addr, Some(4096)).await;
    stalled
        .send_frame(1, true, br#"{"op":"subscribe","topics":["prices"]}"#)
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut published = 0;
    while stats.closes(CloseReason::SlowConsumer) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stalled client was not closed ({published} batches published)"
        );
        let target = publish_big_batch(&server.state).await;
        published += 1;
        while last < target {
            let v = good.until("prices_batch").await;
            assert_eq!(seq(&v), last + 1, "the good client's seq is continuous");
            last = seq(&v);
        }
    }
    assert!(published >= 5, "the buffers took {published} batches");
    let text = metrics(&server).await;
    assert!(
        text.contains("market_feed_ws_closed_total{reason=\"slow_consumer\"} 1"),
        "{text}"
    );
    // What the stalled client finally reads ends (its backlog, then the end of the stream).
    let ending = stalled.read_until_close().await;
    assert_eq!(ending.texts[0]["event"], "welcome");
    assert!(matches!(ending.code, Some(1008) | None), "{ending:?}");

    // After all that, a new client is served normally, and so is the one that stayed.
    let (mut fresh, _) = Client::connect_welcomed(&url).await;
    fresh
        .send(json!({"op": "subscribe", "topics": ["indices", "prices"]}))
        .await;
    let mut snapshots = 0;
    let mut indices_seq = None;
    let mut updates = 0;
    while snapshots < 2 || updates < 3 {
        let v = fresh.event().await;
        match v["event"].as_str().unwrap() {
            "snapshot" => {
                snapshots += 1;
                if v["topic"] == "indices" {
                    indices_seq = Some(seq(&v));
                }
                assert!(!v["data"].as_array().unwrap().is_empty());
            }
            "indices_update" => {
                let s = indices_seq.expect("the snapshot comes first");
                assert_eq!(seq(&v), s + 1);
                indices_seq = Some(seq(&v));
                updates += 1;
            }
            _ => {}
        }
    }
    assert_eq!(good.roundtrip(2).await["event"], "pong");
    assert_eq!(stats.open(), 2);
    let text = metrics(&server).await;
    for line in [
        "market_feed_ws_connections 2",
        "market_feed_ws_closed_total{reason=\"too_big\"} 1",
        "market_feed_ws_closed_total{reason=\"rate_limited\"} 1",
        "market_feed_ws_closed_total{reason=\"slow_consumer\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_pauses_gets_a_snapshot_after_the_gap() {
    let server = TestServer::start_live(&[]).await;
    // A client with a small receive buffer, so the server's writes stall soon after it
    // stops reading.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (ws, _) = tokio_tungstenite::client_async(server.ws_url(), stream)
        .await
        .unwrap();
    let mut c = Client { ws };
    assert_eq!(c.event().await["event"], "welcome");
    let mut last = subscribe_prices(&mut c).await;

    // The client pauses while far more batches are published than the socket buffers and
    // the hub's ring (16) can hold.
    let before = server.state.hub().stats();
    for _ in 0..40 {
        publish_big_batch(&server.state).await;
    }
    // It reads again: the batches it still had come in order, then one snapshot replaces
    // what it missed, then updates continue from the snapshot's seq.
    let mut resynced = false;
    let mut after = 0;
    while after < 2 {
        let v = c.event().await;
        match v["event"].as_str().unwrap() {
            "prices_batch" => {
                assert_eq!(seq(&v), last + 1, "continuous except before a snapshot");
                last = seq(&v);
                if resynced {
                    after += 1;
                }
            }
            "snapshot" => {
                assert_eq!(v["topic"], "prices");
                assert!(seq(&v) > last + 1, "the snapshot follows a gap");
                assert!(!v["data"].as_array().unwrap().is_empty());
                last = seq(&v);
                resynced = true;
            }
            _ => {}
        }
    }
    let stats = server.state.hub().stats();
    assert!(
        stats.laggard_snapshots > before.laggard_snapshots,
        "{stats:?}"
    );
    let text = metrics(&server).await;
    assert!(
        !text.contains("market_feed_slow_consumer_snapshots_total 0\n"),
        "the resync is counted"
    );
    assert_eq!(server.state.ws_stats().closes(CloseReason::SlowConsumer), 0);
    server.stop().await;
}

/// A masked client frame (all-zero mask, so the payload goes as is).
fn frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = Raw::frame_header(opcode, fin, payload.len() as u64);
    out.extend_from_slice(payload);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc6455_violations_close_with_their_code_and_the_client_reads_it() {
    let server = TestServer::start(&["--store", "memory"]).await;
    let stats = server.state.ws_stats();
    let mut reserved = frame(1, true, b"{}");
    reserved[0] |= 0x40;
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "text that is not UTF-8",
            frame(1, true, &[0xC3, 0x28]),
            1007,
        ),
        (
            "fragments that are not UTF-8 together",
            [frame(1, false, b"{\"op\""), frame(0, true, &[0xFF])].concat(),
            1007,
        ),
        ("a 1-byte close payload", frame(8, true, &[3]), 1002),
        (
            "close code 1005",
            frame(8, true, &1005u16.to_be_bytes()),
            1002,
        ),
        (
            "close code 1015",
            frame(8, true, &1015u16.to_be_bytes()),
            1002,
        ),
        (
            "close code 2999",
            frame(8, true, &2999u16.to_be_bytes()),
            1002,
        ),
        (
            "close code 5000",
            frame(8, true, &5000u16.to_be_bytes()),
            1002,
        ),
        (
            "a close reason that is not UTF-8",
            frame(8, true, &[0x03, 0xE8, 0xFF, 0xFE]),
            1007,
        ),
        ("an unmasked frame", vec![0x81, 0x02, b'{', b'}'], 1002),
        ("reserved bits", reserved, 1002),
        ("an unknown opcode", frame(3, true, b"x"), 1002),
        ("an unknown control opcode", frame(0xB, true, b""), 1002),
        (
            "a continuation without a message",
            frame(0, true, b"x"),
            1002,
        ),
        (
            "a new message inside a fragmented one",
            [frame(1, false, b"a"), frame(1, true, b"b")].concat(),
            1002,
        ),
        ("a ping over 125 bytes", frame(9, true, &[b'p'; 126]), 1002),
        ("a fragmented ping", frame(9, false, b"p"), 1002),
        (
            "a 1 GiB text header",
            Raw::frame_header(1, true, 1 << 30),
            1009,
        ),
    ];
    for (what, bytes, code) in &cases {
        let mut raw = Raw::connect(server.addr).await;
        // 256 KiB more after the offending frame: unless the server drains them, closing its
        // socket resets the connection and the client may never read the close frame.
        let mut all = bytes.clone();
        all.extend(std::iter::repeat_n(0x55u8, 256 * 1024));
        let ending = raw.send_and_read_until_close(&all).await;
        assert_eq!(
            ending.texts.first().map(|w| w["event"].clone()),
            Some("welcome".into()),
            "{what}"
        );
        assert_eq!(ending.code, Some(*code), "{what}: {ending:?}");
    }
    eventually(Duration::from_secs(10), "every close to be counted", || {
        (stats.closes(CloseReason::Error) == cases.len() as u64 - 1
            && stats.closes(CloseReason::TooBig) == 1)
            .then_some(())
    })
    .await;
    // A valid close gets its echo.
    let mut raw = Raw::connect(server.addr).await;
    let ending = raw
        .send_and_read_until_close(&frame(8, true, &[0x0F, 0xA0, b'o', b'k']))
        .await;
    assert_eq!(ending.code, Some(1000));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_frame_and_fragment_floods_close_with_1008() {
    let server = TestServer::start(&["--store", "memory"]).await;
    let stats = server.state.ws_stats();
    // 3,000 pings: the burst is answered, the flood is not, then 1008.
    let mut raw = Raw::connect(server.addr).await;
    let pings: Vec<u8> = (0..3000).flat_map(|_| frame(9, true, b"p")).collect();
    let ending = raw.send_and_read_until_close(&pings).await;
    assert_eq!(ending.code, Some(1008), "{ending:?}");
    assert!(
        ending.pongs <= 21,
        "{} pongs for a flood of pings",
        ending.pongs
    );
    let warnings = ending
        .texts
        .iter()
        .filter(|t| t["code"] == "rate_limited")
        .count();
    assert!(warnings <= 1, "{ending:?}");
    // Unsolicited pongs count too.
    let mut raw = Raw::connect(server.addr).await;
    let pongs: Vec<u8> = (0..3000).flat_map(|_| frame(10, true, b"")).collect();
    assert_eq!(raw.send_and_read_until_close(&pongs).await.code, Some(1008));
    // 200,000 empty continuation frames of one message.
    let mut raw = Raw::connect(server.addr).await;
    let mut fragments = frame(1, false, b"");
    fragments.extend((0..200_000).flat_map(|_| frame(0, false, b"")));
    assert_eq!(
        raw.send_and_read_until_close(&fragments).await.code,
        Some(1008)
    );
    eventually(Duration::from_secs(10), "the flood closes", || {
        (stats.closes(CloseReason::RateLimited) == 3).then_some(())
    })
    .await;
    // A message in a few fragments is still fine.
    let mut raw = Raw::connect(server.addr).await;
    raw.read_frame().await.expect("the welcome");
    raw.send_bytes(
        &[
            frame(1, false, b"{\"op\":\"pi"),
            frame(0, false, b"ng\",\"id\""),
            frame(0, true, b":7}"),
        ]
        .concat(),
    )
    .await;
    let (opcode, payload) = raw.read_frame().await.unwrap();
    assert_eq!(opcode, 1);
    let pong: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        (pong["event"].as_str(), pong["id"].as_i64()),
        (Some("pong"), Some(7))
    );
    server.stop().await;
}
