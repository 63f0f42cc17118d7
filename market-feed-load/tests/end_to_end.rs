//! The load tool against real servers on loopback: the floor binary (market-feed protocol), a
//! scripted Engine.IO v4 / Socket.IO server, and a port where nothing listens.

use std::process::Stdio;
use std::time::Duration;

use clap::Parser;
use futures::{SinkExt, StreamExt};
use market_feed_load::cli::{Options, run};
use market_feed_load::workload::now_ms;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

fn options(args: &[&str]) -> Options {
    let mut all = vec!["market-feed-load", "--json"];
    all.extend_from_slice(args);
    Options::parse_from(all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measures_the_floor_without_losses() {
    let mut floor = tokio::process::Command::new(env!("CARGO_BIN_EXE_market-feed-floor"))
        .args(["--listen", "127.0.0.1:0", "--indices-interval", "100ms"])
        .args([
            "--prices-interval",
            "300ms",
            "--stocks",
            "50",
            "--workers",
            "1",
        ])
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(floor.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next_line().await.unwrap().expect("floor exited");
        if let Some(at) = line.find("ws://") {
            break line[at..].to_string();
        }
    };
    let pid = floor.id().unwrap().to_string();
    let o = options(&[
        "--url",
        &url,
        "-n",
        "5",
        "--warmup",
        "200ms",
        "--duration",
        "1s",
    ]);
    let o = Options {
        server_pid: pid.parse().ok(),
        ..o
    };
    let r = run(o).await.unwrap();
    floor.kill().await.unwrap();

    assert_eq!(r["connections"]["established"], 5, "{r}");
    assert_eq!(r["connections"]["failed"], 0);
    assert_eq!(r["connections"]["closed_early"], 0);
    for event in ["indices_update", "prices_batch"] {
        let e = &r["events"][event];
        assert_eq!(e["lost"], 0, "{event}: {e}");
        assert!(e["per_conn_min"].as_u64().unwrap() >= 2, "{event}: {e}");
        let p99 = e["latency_ms"]["p99"].as_f64().unwrap();
        assert!((0.0..1000.0).contains(&p99), "{event}: {e}");
    }
    assert!(r["events"]["prices_batch"]["bytes"].as_u64().unwrap() > 5 * 2 * 50 * 150);
    assert!(r["server"]["cpu_s"].is_number(), "{r}");
    assert!(r["server"]["hwm_kib"].as_u64().unwrap() > 0);
    assert!(r["client"]["cpu_s"].is_number());
}

/// A Socket.IO server in miniature: Engine.IO open, namespace connect, a welcome whose clock is
/// one hour ahead, one ping, then `indices_update` batches with a gap in `seq`.
#[allow(clippy::unwrap_used)] // a test fixture: any failure is the test failing
async fn socketio_server(listener: tokio::net::TcpListener) {
    let (tcp, _) = listener.accept().await.unwrap();
    // Without it, Nagle holds the welcome behind the un-acked `40{..}` for a delayed ACK (40 ms).
    tcp.set_nodelay(true).unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    let ahead = 3_600_000;
    ws.send(Message::text(
        r#"0{"sid":"x","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#,
    ))
    .await
    .unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("40"));
    ws.send(Message::text(r#"40{"sid":"y"}"#)).await.unwrap();
    let welcome = format!(
        r#"42["welcome",{{"event":"welcome","protocol":1,"server_time":{}}}]"#,
        now_ms() + ahead
    );
    ws.send(Message::text(welcome)).await.unwrap();
    let sub = ws.next().await.unwrap().unwrap();
    assert!(
        sub.to_text()
            .unwrap()
            .starts_with(r#"42["subscribe",{"op":"subscribe""#),
        "{sub}"
    );
    ws.send(Message::text("2")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("3"));
    for seq in [1, 2, 4, 5, 6, 7, 8, 9, 10] {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let ts = now_ms() + ahead - 100;
        let m = format!(
            r#"42["indices_update",{{"event":"indices_update","seq":{seq},"data":[{{"key":"K","ts": {ts}}}]}}]"#
        );
        if ws.send(Message::text(m)).await.is_err() {
            return;
        }
    }
    // Keep the socket open until the client leaves.
    while let Some(Ok(_)) = ws.next().await {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speaks_socketio_and_corrects_the_clock_offset() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(socketio_server(listener));
    let o = options(&[
        "--url",
        &url,
        "--protocol",
        "socketio",
        "-n",
        "1",
        "--warmup",
        "0s",
        "--duration",
        "700ms",
    ]);
    let r = run(o).await.unwrap();
    server.abort();

    assert_eq!(r["connections"]["established"], 1, "{r}");
    assert!(
        r["url"]
            .as_str()
            .unwrap()
            .ends_with("/socket.io/?EIO=4&transport=websocket")
    );
    let offset = r["clock_offset_ms"].as_f64().unwrap();
    assert!((3_599_000.0..3_600_001.0).contains(&offset), "{offset}");
    let e = &r["events"]["indices_update"];
    assert_eq!(e["lost"], 1, "{e}");
    // ts is 100 ms before the server's clock: latency is about 100 ms, not an hour.
    let p50 = e["latency_ms"]["p50"].as_f64().unwrap();
    assert!((50.0..600.0).contains(&p50), "{e}");
    assert_eq!(e["negative_latency"], 0, "{e}");
}

#[tokio::test]
async fn counts_connections_that_cannot_be_made() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    drop(listener);
    let o = options(&[
        "--url",
        &url,
        "-n",
        "3",
        "--warmup",
        "0s",
        "--duration",
        "10ms",
        "--connect-timeout",
        "2s",
    ]);
    let r = run(o).await.unwrap();
    assert_eq!(r["connections"]["failed"], 3, "{r}");
    let reasons = r["failures"].as_object().unwrap();
    assert!(
        reasons.keys().all(|k| k.starts_with("connect:")),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn refuses_targets_off_this_machine() {
    let o = options(&["--url", "ws://192.0.2.1:8080/ws"]);
    let e = run(o).await.unwrap_err();
    assert!(e.to_string().contains("loopback"), "{e}");
}

/// A long-polling Socket.IO server in miniature: the handshake, then one scripted answer per
/// poll (connect and a welcome one hour ahead, a ping), then an `indices_update` every 50 ms;
/// every `POST` body is kept.
async fn polling_server(
    listener: tokio::net::TcpListener,
    posts: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use http_body_util::{BodyExt, Full};
    let ahead = 3_600_000;
    let polls = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::from(
        vec![
            format!(
                "40{{\"sid\":\"y\"}}\x1e42[\"welcome\",{{\"protocol\":1,\"server_time\":{}}}]",
                now_ms() + ahead
            ),
            "2".to_owned(),
        ],
    )));
    let seq = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (tcp, _) = listener.accept().await.expect("a client");
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let (polls, posts, seq) = (polls.clone(), posts.clone(), seq.clone());
        async move {
            let handshake = !req.uri().query().unwrap_or_default().contains("sid=");
            let post = req.method() == hyper::Method::POST;
            let body = req.into_body().collect().await?.to_bytes();
            let answer = if handshake {
                r#"0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":16384}"#.to_owned()
            } else if post {
                posts
                    .lock()
                    .expect("posts")
                    .push(String::from_utf8_lossy(&body).into_owned());
                "ok".to_owned()
            } else {
                let next = polls.lock().expect("polls").pop_front();
                match next {
                    Some(p) => p,
                    None => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        let seq = seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        let ts = now_ms() + ahead - 100;
                        format!(
                            "42[\"indices_update\",{{\"seq\":{seq},\"data\":[{{\"key\":\"K\",\"ts\":{ts}}}]}}]"
                        )
                    }
                }
            };
            Ok::<_, hyper::Error>(hyper::Response::new(Full::new(bytes::Bytes::from(answer))))
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speaks_socketio_over_long_polling() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let posts = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let server = tokio::spawn(polling_server(listener, posts.clone()));
    let o = options(&[
        "--url",
        &url,
        "--protocol",
        "socketio-polling",
        "-n",
        "1",
        "--warmup",
        "0s",
        "--duration",
        "700ms",
    ]);
    let r = run(o).await.unwrap();
    server.abort();
    assert_eq!(r["connections"]["established"], 1, "{r}");
    assert_eq!(r["protocol"], "socketio-polling");
    let posts = posts.lock().unwrap().clone();
    assert_eq!(posts[0], "40");
    assert!(
        posts[1].starts_with(r#"42["subscribe",{"op":"subscribe""#),
        "{posts:?}"
    );
    assert_eq!(posts[2], "3", "the ping is answered");
    let offset = r["clock_offset_ms"].as_f64().unwrap();
    assert!((3_599_000.0..3_600_001.0).contains(&offset), "{offset}");
    let e = &r["events"]["indices_update"];
    assert!(e["messages"].as_u64().unwrap() >= 3, "{e}");
    assert_eq!(e["lost"], 0, "{e}");
    let p50 = e["latency_ms"]["p50"].as_f64().unwrap();
    assert!((50.0..600.0).contains(&p50), "{e}");
}
