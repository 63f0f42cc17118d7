//! Smoke test of the `embed_router` example: the application it builds (its own `/hello`, the
//! whole market-feed service under `/feed`) served on loopback, driven over HTTP and
//! WebSocket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

/// The example itself: this test drives the router its `build` function returns.
#[allow(dead_code)]
#[path = "../examples/embed_router.rs"]
mod example;

use std::{net::SocketAddr, sync::Arc};

use market_feed::clock::{Calendar, Exchange, MarketClock, TimeSource};
use serde_json::{Value, json};
use support::ws::{Client, Next, PATIENCE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_the_feed_api_and_a_websocket_under_the_prefix() {
    let at = time::macros::datetime!(2026-01-29 10:00:00 +05:30);
    let clock = MarketClock::new(
        Arc::new(Calendar::bundled(Exchange::Nse)),
        TimeSource::scaled(at, 10.0),
    );
    let example::Embedded { app, feed, state } = example::build(clock).await;
    let shutdown = state.shutdown().clone();
    let feed_task = tokio::spawn(feed.run(shutdown.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stopping = shutdown.clone();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stopping.cancelled().await })
        .await
    });
    let url = |path: &str| format!("http://{addr}{path}");

    // The application's own route.
    let hello = reqwest::get(url("/hello")).await.unwrap();
    assert_eq!(hello.status(), 200);
    assert!(hello.text().await.unwrap().contains("/feed"));

    // The feed's REST API, its JSON errors and its health check, under the prefix.
    let indices = reqwest::get(url("/feed/api/v1/indices")).await.unwrap();
    assert_eq!(indices.status(), 200);
    assert_eq!(indices.headers()["access-control-allow-origin"], "*");
    let body: Value = indices.json().await.unwrap();
    assert!(body["data"].is_array(), "{body}");
    let missing = reqwest::get(url("/feed/api/v1/nothing")).await.unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found", "{body}");
    assert_eq!(
        reqwest::get(url("/feed/healthz")).await.unwrap().status(),
        200
    );
    // The dashboard under the prefix: `/feed` is redirected to `/feed/` (its relative URLs
    // need the slash), which serves the page; its assets resolve under the prefix.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let bare = no_redirects.get(url("/feed?token=t")).send().await.unwrap();
    assert_eq!(bare.status(), 308);
    assert_eq!(bare.headers()["location"], "/feed/?token=t");
    let page = reqwest::get(url("/feed/")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("app.js"));
    assert_eq!(
        reqwest::get(url("/feed/app.js")).await.unwrap().status(),
        200
    );
    // Outside the prefix the feed is not served.
    assert_eq!(
        reqwest::get(url("/api/v1/indices")).await.unwrap().status(),
        404
    );

    // The WebSocket under the prefix: welcome, then live index updates.
    let (mut client, welcome) = Client::connect_welcomed(&format!("ws://{addr}/feed/ws")).await;
    assert_eq!(welcome["market"]["phase"], "open", "{welcome}");
    client
        .send(json!({"op": "subscribe", "topics": ["indices"]}))
        .await;
    let snapshot = client.until("snapshot").await;
    assert_eq!(snapshot["topic"], "indices", "{snapshot}");
    client.until("indices_update").await;

    // Shutdown: the client gets 1001, the feed and the server stop.
    shutdown.cancel();
    loop {
        match client.recv().await {
            Next::Closed(code) => {
                assert_eq!(code, Some(1001));
                break;
            }
            Next::Event(_) => {}
        }
    }
    tokio::time::timeout(PATIENCE, feed_task)
        .await
        .unwrap()
        .unwrap();
    tokio::time::timeout(PATIENCE, server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
