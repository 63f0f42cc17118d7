//! The Socket.IO endpoint over loopback, packet by packet: the long-polling handshake and
//! polls, the upgrade to WebSocket, WebSocket alone, the implicit subscription, subscribe with
//! and without acknowledgements, tokens, origins, the connection limit, the heartbeat and the
//! message limits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{
    inproc::TestServer,
    socketio::{Next, Polling, SioWs, event_of},
};

fn addr(server: &TestServer) -> String {
    server.addr.to_string()
}

fn is_event(name: &'static str) -> impl FnMut(&str) -> bool {
    move |p| event_of(p).is_some_and(|(n, _)| n == name)
}

#[tokio::test]
async fn long_polling_handshake_connect_and_events() {
    let server = TestServer::start_live(&["--heartbeat-interval", "2s"]).await;
    let c = Polling::handshake(&addr(&server), "").await;
    assert_eq!(c.open["upgrades"], json!(["websocket"]));
    assert_eq!(c.open["pingInterval"], 2000);
    assert_eq!(c.open["pingTimeout"], 2000);
    assert_eq!(c.open["maxPayload"], 16384);
    assert_eq!(c.sid.len(), 22);
    assert_eq!(c.post(&["40"]).await, 200);
    let seen = c.until("the welcome", is_event("welcome")).await;
    assert!(seen[0].starts_with(r#"40{"sid":""#), "{seen:?}");
    let (_, welcome) = event_of(seen.last().unwrap()).unwrap();
    assert_eq!(welcome["protocol"], 1);
    assert!(
        welcome.get("event").is_none(),
        "the body has no event field"
    );
    // Never subscribed: a snapshot of both topics, then both topics' updates.
    let mut topics = Vec::new();
    let seen = c
        .until("both snapshots", |p| {
            if let Some(("snapshot", body)) = event_of(p).as_ref().map(|(n, b)| (n.as_str(), b)) {
                topics.push(body["topic"].as_str().unwrap().to_owned());
            }
            topics.len() == 2
        })
        .await;
    topics.sort();
    assert_eq!(topics, ["indices", "prices"], "{seen:?}");
    c.until("an indices_update", is_event("indices_update"))
        .await;
    c.until("a prices_batch", is_event("prices_batch")).await;
    // Unknown sessions and versions are refused.
    let r = c
        .http
        .get(format!("{}&sid=nope", c.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .http
        .get(c.url().replace("EIO=4", "EIO=3"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    server.stop().await;
}

#[tokio::test]
async fn polling_upgrades_to_websocket() {
    let server = TestServer::start_live(&[]).await;
    let a = addr(&server);
    let c = Polling::handshake(&a, "").await;
    c.post(&["40"]).await;
    c.until("the welcome", is_event("welcome")).await;
    let mut ws = SioWs::connect(&a, &format!("&sid={}", c.sid), &[])
        .await
        .unwrap();
    ws.send("2probe").await;
    assert_eq!(ws.packet().await, "3probe");
    // While upgrading, a poll returns at once (a noop when nothing waits).
    let polled = tokio::time::timeout(Duration::from_secs(5), c.get())
        .await
        .expect("the poll returns");
    assert!(!polled.is_empty());
    ws.send("5").await;
    ws.until(
        "an indices_update over WebSocket",
        is_event("indices_update"),
    )
    .await;
    // The polling transport is gone.
    let r = c.http.get(c.url()).send().await.unwrap();
    assert_eq!(r.status(), 400);
    // Events work over the new transport.
    ws.send(r#"421["subscribe",{"topics":["indices"]}]"#).await;
    ws.until("the ack", |p| p == r#"431[{"ok":true}]"#).await;
    server.stop().await;
}

#[tokio::test]
async fn websocket_alone_and_the_implicit_subscription_replaced_by_the_first_subscribe() {
    let server = TestServer::start_live(&[]).await;
    let (mut ws, seen) = SioWs::joined(&addr(&server), "", "40").await;
    let open: Value = serde_json::from_str(&seen[0][1..]).unwrap();
    assert_eq!(open["upgrades"], json!([]), "no upgrade from WebSocket");
    assert!(seen[1].starts_with("40{\"sid\":"), "{seen:?}");
    let first = ws.until_event("snapshot").await;
    let second = ws.until_event("snapshot").await;
    let mut topics = [first["topic"].clone(), second["topic"].clone()];
    topics.sort_by_key(|t| t.to_string());
    assert_eq!(topics, [json!("indices"), json!("prices")]);
    ws.until_event("indices_update").await;
    // The first subscribe replaces the implicit one: prices, one symbol, acknowledged.
    ws.send(r#"427["subscribe",{"topics":["prices"],"symbols":["RELIANCE"]}]"#)
        .await;
    ws.until("the ack", |p| p == r#"437[{"ok":true}]"#).await;
    let snapshot = ws.until_event("snapshot").await;
    assert_eq!(snapshot["topic"], "prices");
    assert_eq!(snapshot["data"].as_array().unwrap().len(), 1);
    // From now on, only prices (indices refresh five times as often).
    for _ in 0..2 {
        let p = ws.until("a hub frame", |p| p.starts_with("42")).await;
        let (name, body) = event_of(&p).unwrap();
        assert_eq!(name, "prices_batch", "{p}");
        assert!(body["data"].as_array().unwrap().len() <= 1);
    }
    server.stop().await;
}

#[tokio::test]
async fn refusals_are_acknowledged_or_sent_as_error_events() {
    let server = TestServer::start_live(&[]).await;
    let (mut ws, _) = SioWs::joined(&addr(&server), "", "40").await;
    ws.send(r#"423["subscribe",{"topics":["news"]}]"#).await;
    let ack = ws.until("the ack", |p| p.starts_with("433")).await;
    let answer: Value = serde_json::from_str(&ack[3..]).unwrap();
    assert_eq!(answer[0]["ok"], false);
    assert_eq!(answer[0]["error"]["code"], "unknown_topic");
    assert!(
        answer[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("indices")
    );
    ws.send(r#"42["subscribe",{"topics":["news"]}]"#).await;
    let error = ws.until_event("error").await;
    assert_eq!(error["code"], "unknown_topic");
    ws.send(r#"42["dance",{}]"#).await;
    assert_eq!(ws.until_event("error").await["code"], "bad_request");
    ws.send(r#"424["subscribe",{"topics":["prices"],"symbols":["RELIANCE","NOPE"]}]"#)
        .await;
    let ack = ws.until("the ack", |p| p.starts_with("434")).await;
    assert!(
        ack.contains("unknown_symbol") && ack.contains("NOPE"),
        "{ack}"
    );
    let snapshot = ws.until_event("snapshot").await;
    assert_eq!(
        snapshot["data"].as_array().unwrap().len(),
        1,
        "the known symbol is subscribed"
    );
    ws.send(r#"425["unsubscribe",{"topics":["prices"]}]"#).await;
    ws.until("the ack", |p| p == r#"435[{"ok":true}]"#).await;
    server.stop().await;
}

#[tokio::test]
async fn tokens_from_the_connect_packet_or_the_handshake() {
    let server = TestServer::start_live(&["--auth-token", "s3cret"]).await;
    let a = addr(&server);
    // Without a token the session opens, but the connect is refused.
    let c = Polling::handshake(&a, "").await;
    c.post(&["40"]).await;
    let seen = c.until("the connect error", |p| p.starts_with("44")).await;
    assert_eq!(seen.last().unwrap(), r#"44{"message":"unauthorized"}"#);
    assert!(!seen.iter().any(|p| p.contains("welcome")));
    c.post(&[r#"40{"token":"wrong"}"#]).await;
    c.until("the connect error", |p| p.starts_with("44")).await;
    c.post(&[r#"40{"token":"s3cret"}"#]).await;
    c.until("the welcome", is_event("welcome")).await;
    // In the handshake's query, or as a bearer token.
    let (mut ws, _) = SioWs::joined(&a, "&token=s3cret", "40").await;
    ws.until_event("snapshot").await;
    let mut ws = SioWs::connect(&a, "", &[("authorization", "Bearer s3cret")])
        .await
        .unwrap();
    ws.packet().await;
    ws.send("40").await;
    ws.until_event("welcome").await;
    let mut ws = SioWs::connect(&a, "&token=nope", &[]).await.unwrap();
    ws.packet().await;
    ws.send("40").await;
    assert_eq!(ws.packet().await, r#"44{"message":"unauthorized"}"#);
    server.stop().await;
}

#[tokio::test]
async fn origins_and_the_connection_limit() {
    let server = TestServer::start_live(&[
        "--allowed-origin",
        "https://app.example",
        "--max-connections",
        "2",
    ])
    .await;
    let a = addr(&server);
    let http = reqwest::Client::new();
    let url = format!("http://{a}/socket.io/?EIO=4&transport=polling");
    let r = http
        .get(&url)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden_origin");
    let refused = SioWs::connect(&a, "", &[("origin", "https://evil.example")])
        .await
        .err()
        .unwrap();
    assert_eq!(refused.status, 403);
    let r = http
        .get(&url)
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let preflight = http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert!(
        preflight.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    // Two sessions (the one above and this one) fill the limit of 2.
    let _ws = SioWs::connect(&a, "", &[]).await.unwrap();
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_connections");
    server.stop().await;
}

#[tokio::test]
async fn sessions_that_miss_pongs_are_closed_and_answering_ones_stay() {
    let server = TestServer::start_live(&["--heartbeat-interval", "500ms"]).await;
    let a = addr(&server);
    let (mut silent, _) = SioWs::joined(&a, "", "40").await;
    let (mut answering, _) = SioWs::joined(&a, "", "40").await;
    // The answering one answers every ping "2" with "3", in its own task.
    let answering = tokio::spawn(async move {
        let mut pings = 0;
        while pings < 5 {
            if answering.packet().await == "2" {
                pings += 1;
                answering.send("3").await;
            }
        }
        answering
    });
    // The silent one reads but never answers.
    let code = loop {
        match silent.recv().await {
            Next::Packet(_) => {}
            Next::Closed(code) => break code,
        }
    };
    assert_eq!(code, Some(1008));
    let mut answering = answering.await.unwrap();
    answering.until_event("indices_update").await;
    // A polling session whose client stops polling ends too: its sid is then unknown.
    let c = Polling::handshake(&a, "").await;
    c.post(&["40"]).await;
    let status = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let r = c.http.get(c.url()).send().await.unwrap();
            if r.status() != 200 {
                return r.status();
            }
        }
    })
    .await
    .expect("the session ends");
    assert_eq!(status, 400);
    server.stop().await;
}

#[tokio::test]
async fn message_limits_per_packet() {
    let server = TestServer::start_live(&[]).await;
    let a = addr(&server);
    // A packet over 16 KiB closes the WebSocket with 1009.
    let (mut ws, _) = SioWs::joined(&a, "", "40").await;
    let big = format!(
        r#"42["subscribe",{{"topics":["prices"],"pad":"{}"}}]"#,
        "x".repeat(17 * 1024)
    );
    ws.send(&big).await;
    assert_eq!(ws.closed().await, Some(1009));
    // A flood: one rate_limited error, then 1008.
    let (mut ws, _) = SioWs::joined(&a, "", "40").await;
    for _ in 0..300 {
        ws.send("6").await;
    }
    let error = ws.until_event("error").await;
    assert_eq!(error["code"], "rate_limited");
    assert_eq!(ws.closed().await, Some(1008));
    // Over long-polling: an oversized body is refused with 413 and ends the session.
    let c = Polling::handshake(&a, "").await;
    c.post(&["40"]).await;
    let status = c.post(&[&"4".repeat(70 * 1024)]).await;
    assert_eq!(status, 413);
    let r = c.http.get(c.url()).send().await.unwrap();
    let (status, body) = (r.status(), r.text().await.unwrap());
    assert!(
        status == 400 || body == "1",
        "the session is over: {status} {body}"
    );
    // A packet over 16 KiB in a payload within the body limit closes it too.
    let c = Polling::handshake(&a, "").await;
    c.post(&["40"]).await;
    assert_eq!(c.post(&["3", &"4".repeat(17 * 1024)]).await, 200);
    let r = c.http.get(c.url()).send().await.unwrap();
    let (status, body) = (r.status(), r.text().await.unwrap());
    assert!(
        status == 400 || body.ends_with('1'),
        "the session is over: {status} {body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_websockets_with_1001_and_answers_polls_with_the_close_packet() {
    // A Saturday: after the snapshots nothing flows, so the poll below is waiting at shutdown.
    let server = TestServer::start(&[
        "--store",
        "memory",
        "--source",
        "simulated",
        "--clock",
        "at:2026-01-31T10:00:00+05:30",
    ])
    .await;
    let a = addr(&server);
    let (mut ws, _) = SioWs::joined(&a, "", "40").await;
    let c = Polling::handshake(&a, "").await;
    c.post(&["40"]).await;
    let mut snapshots = 0;
    c.until("two snapshots", |p| {
        snapshots += usize::from(is_event("snapshot")(p));
        snapshots == 2
    })
    .await;
    let (sent, polling) = tokio::sync::oneshot::channel();
    let poll = tokio::spawn(async move {
        let _ = sent.send(());
        c.get().await
    });
    ws.until_event("snapshot").await;
    polling.await.unwrap();
    // A margin for the poll to reach the server (it then waits: nothing flows on a Saturday).
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.stop().await;
    assert_eq!(ws.closed().await, Some(1001));
    let packets = tokio::time::timeout(Duration::from_secs(15), poll)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(packets.last().unwrap(), "1");
}
