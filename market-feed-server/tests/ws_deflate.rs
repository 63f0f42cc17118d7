//! permessage-deflate (RFC 7692) on `/ws` over real sockets: the negotiation, RSV1 frames whose
//! compressed bytes are identical for clients with the same subscription and inflate to the
//! JSON that clients without the extension receive, and compressed client messages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use market_feed::model::Topic;
use serde_json::{Value, json};
use support::{
    inproc::TestServer,
    ws::{Raw, TEXT},
};

const OFFER: &str = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

/// The `Sec-WebSocket-Extensions` value of a response head, if any.
fn extension(head: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("sec-websocket-extensions")
            .then(|| value.trim().to_owned())
    })
}

/// Inflates a server message the way a client does (RFC 7692 §7.2.2), with a fresh
/// inflater: the server does not take over its context.
fn inflate(z: &[u8]) -> Vec<u8> {
    let mut d = Decompress::new(false);
    let input = [z, &[0, 0, 0xff, 0xff][..]].concat();
    let mut out = Vec::with_capacity(4 << 20);
    d.decompress_vec(&input, &mut out, FlushDecompress::Sync)
        .unwrap();
    assert_eq!(d.total_in(), input.len() as u64);
    out
}

/// A text message as received: `(rsv1, wire payload, JSON)`.
struct Msg {
    rsv1: bool,
    wire: Vec<u8>,
    json: Value,
}

async fn read_msg(raw: &mut Raw) -> Msg {
    loop {
        let (first, payload) = tokio::time::timeout(Duration::from_secs(20), raw.read_frame_head())
            .await
            .expect("a frame in time")
            .expect("the connection is open");
        assert_eq!(first & 0x30, 0, "RSV2/RSV3 stay clear");
        match first & 0x0f {
            0x1 => {
                let rsv1 = first & 0x40 != 0;
                let text = if rsv1 {
                    inflate(&payload)
                } else {
                    payload.clone()
                };
                let json = serde_json::from_slice(&text).expect("a JSON message");
                return Msg {
                    rsv1,
                    wire: payload,
                    json,
                };
            }
            0x9 => assert_eq!(first & 0x40, 0, "control frames are never compressed"),
            op => panic!("unexpected opcode {op}"),
        }
    }
}

/// Reads until the `event` with `seq`.
async fn until(raw: &mut Raw, event: &str, seq: u64) -> Msg {
    loop {
        let m = read_msg(raw).await;
        if m.json["event"] == event && m.json["seq"] == seq {
            return m;
        }
        assert!(
            !(m.json["event"] == event && m.json["seq"].as_u64() > Some(seq)),
            "missed {event} {seq}"
        );
    }
}

/// A client message compressed as a browser sends it (RSV1 set, masked with a zero key).
async fn send_compressed(raw: &mut Raw, value: &Value) {
    let text = value.to_string();
    let mut z = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(text.len() + 64);
    z.compress_vec(text.as_bytes(), &mut out, FlushCompress::Sync)
        .unwrap();
    out.truncate(out.len() - 4);
    let mut bytes = Raw::frame_header(TEXT, true, out.len() as u64);
    bytes[0] |= 0x40;
    bytes.extend_from_slice(&out);
    raw.send_bytes(&bytes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_with_the_same_subscription_get_identical_compressed_frames() {
    let server = TestServer::start_live(&[]).await;
    let hub = server.state.hub().clone();
    let symbols: Vec<String> = hub
        .instruments(Topic::Prices)
        .iter()
        .take(40)
        .map(|(_, s)| s.to_string())
        .collect();
    let whole = json!({"op": "subscribe", "topics": ["indices", "prices"]});
    let filtered = json!({"op": "subscribe", "topics": ["prices"], "symbols": symbols});

    let mut clients = Vec::new();
    for _ in 0..2 {
        let (mut raw, head) = Raw::connect_headers(server.addr, OFFER).await;
        assert_eq!(
            extension(&head).as_deref(),
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        );
        let welcome = read_msg(&mut raw).await;
        assert!(!welcome.rsv1, "a welcome under 1 KiB goes uncompressed");
        assert_eq!(welcome.json["event"], "welcome");
        clients.push(raw);
    }
    let mut filtered_clients = Vec::new();
    for _ in 0..2 {
        let (mut raw, _) = Raw::connect_headers(server.addr, OFFER).await;
        read_msg(&mut raw).await;
        filtered_clients.push(raw);
    }
    let (mut plain, head) = Raw::connect_headers(server.addr, "").await;
    assert_eq!(extension(&head), None, "no offer, no extension");
    read_msg(&mut plain).await;

    // A batch published at least one refresh after every subscription below is served.
    let seq = hub.seq(Topic::Prices) + 2;
    // Client messages may be compressed (one client of each pair compresses its subscribe).
    send_compressed(&mut clients[0], &whole).await;
    clients[1]
        .send_frame(TEXT, true, whole.to_string().as_bytes())
        .await;
    send_compressed(&mut filtered_clients[0], &filtered).await;
    filtered_clients[1]
        .send_frame(TEXT, true, filtered.to_string().as_bytes())
        .await;
    plain
        .send_frame(TEXT, true, whole.to_string().as_bytes())
        .await;

    // That prices batch, as every client receives it.
    let a = until(&mut clients[0], "prices_batch", seq).await;
    let b = until(&mut clients[1], "prices_batch", seq).await;
    let p = until(&mut plain, "prices_batch", seq).await;
    assert!(a.rsv1 && b.rsv1, "a prices batch goes compressed");
    assert_eq!(a.wire, b.wire, "one compression shared by both connections");
    assert!(!p.rsv1);
    assert_eq!(a.json, p.json, "the same message after inflating");
    assert!(
        a.wire.len() * 100 <= p.wire.len() * 30,
        "compressed {} of {} bytes",
        a.wire.len(),
        p.wire.len()
    );
    assert!(a.json["data"].as_array().unwrap().len() > 100);

    // The filtered pair: the filtered frame is compressed once too.
    let fa = until(&mut filtered_clients[0], "prices_batch", seq).await;
    let fb = until(&mut filtered_clients[1], "prices_batch", seq).await;
    assert!(fa.rsv1 && fb.rsv1);
    assert_eq!(fa.wire, fb.wire);
    assert_ne!(fa.wire, a.wire);
    let got: Vec<&str> = fa.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(got.len(), symbols.len());
    assert!(got.iter().all(|s| symbols.iter().any(|x| x == s)));

    // /metrics counts the deflate connections, and wire bytes below payload bytes.
    let ws = server.state.ws_stats();
    assert_eq!(ws.deflate_open(), 4);
    let prices = market_feed_server::ws::Event::Hub(market_feed::hub::FrameKind::PricesBatch);
    assert!(ws.wire_bytes(prices) < ws.bytes(prices));
    let text = reqwest::get(format!("http://{}/metrics", server.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("market_feed_ws_deflate_connections 4"),
        "{text}"
    );
    assert!(text.contains("market_feed_ws_wire_bytes_sent_total{event=\"prices_batch\"}"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_the_server_cannot_honour_get_todays_frames() {
    let server = TestServer::start_live(&[]).await;
    for offer in [
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate; unknown_param\r\n",
        "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n",
    ] {
        let (mut raw, head) = Raw::connect_headers(server.addr, offer).await;
        assert_eq!(extension(&head), None, "{offer}");
        read_msg(&mut raw).await;
        raw.send_frame(TEXT, true, br#"{"op":"subscribe","topics":["prices"]}"#)
            .await;
        let snapshot = read_msg(&mut raw).await;
        assert_eq!(snapshot.json["event"], "snapshot");
        assert!(!snapshot.rsv1);
        // RSV1 without the extension is a protocol error (1002).
        let mut bytes = Raw::frame_header(TEXT, true, 2);
        bytes[0] |= 0x40;
        bytes.extend_from_slice(b"{}");
        let ending = raw.send_and_read_until_close(&bytes).await;
        assert_eq!(ending.code, Some(1002), "{offer}");
    }
    // Several offers: the first acceptable one is taken, with server_max_window_bits echoed.
    let (_raw, head) = Raw::connect_headers(
        server.addr,
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=9, permessage-deflate; server_max_window_bits=15\r\n",
    )
    .await;
    assert_eq!(
        extension(&head).as_deref(),
        Some(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15"
        )
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_message_over_16_kib_after_inflating_closes_with_1009() {
    let server = TestServer::start_live(&[]).await;
    let (mut raw, _) = Raw::connect_headers(server.addr, OFFER).await;
    read_msg(&mut raw).await;
    let text = format!(r#"{{"op":"ping","id":"{}"}}"#, "x".repeat(16 * 1024));
    let mut z = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(text.len());
    z.compress_vec(text.as_bytes(), &mut out, FlushCompress::Sync)
        .unwrap();
    out.truncate(out.len() - 4);
    assert!(out.len() < 1024, "small on the wire");
    let mut bytes = Raw::frame_header(TEXT, true, out.len() as u64);
    bytes[0] |= 0x40;
    bytes.extend_from_slice(&out);
    let ending = raw.send_and_read_until_close(&bytes).await;
    assert_eq!(ending.code, Some(1009));
    server.stop().await;
}
