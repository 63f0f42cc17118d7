//! Epoch and resume (docs/protocol.md §7) over a real socket: a client that drops and comes
//! back within the window gets the batches it missed, in order, instead of a snapshot; in
//! every other case it gets a snapshot.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use market_feed::model::Topic;
use serde_json::{Value, json};
use support::{
    inproc::{TestServer, eventually},
    ws::Client,
};

fn seq(v: &Value) -> u64 {
    v["seq"].as_u64().unwrap()
}

/// The next `indices` frame (snapshot or update), skipping the others.
async fn next_indices(c: &mut Client) -> Value {
    loop {
        let v = c.event().await;
        if v["event"] == "indices_update" || (v["event"] == "snapshot" && v["topic"] == "indices") {
            return v;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_drops_resumes_with_the_batches_it_missed() {
    let server = TestServer::start_live(&["--resume-window", "1000"]).await;
    let hub = server.state.hub().clone();
    let (mut c, welcome) = Client::connect_welcomed(&server.ws_url()).await;
    let epoch = welcome["epoch"].as_str().unwrap().to_owned();
    assert_eq!(epoch, hub.epoch());
    c.send(json!({"op": "subscribe", "topics": ["indices"]}))
        .await;
    let snap = next_indices(&mut c).await;
    assert_eq!(
        (snap["event"].as_str(), snap["epoch"].as_str()),
        (Some("snapshot"), Some(epoch.as_str()))
    );
    let mut last = seq(&snap);
    for _ in 0..2 {
        let v = next_indices(&mut c).await;
        assert_eq!(seq(&v), last + 1);
        last = seq(&v);
    }
    drop(c);

    // Several batches go by while the client is away.
    eventually(Duration::from_secs(15), "three more index batches", || {
        (hub.seq(Topic::Indices) >= last + 3).then_some(())
    })
    .await;
    let (mut c, welcome) = Client::connect_welcomed(&server.ws_url()).await;
    assert_eq!(
        welcome["epoch"],
        epoch.as_str(),
        "the same server incarnation"
    );
    c.send(json!({"op": "subscribe", "topics": ["indices"],
        "resume": {"indices": {"epoch": epoch, "seq": last}}}))
        .await;
    // Every missed batch, in order, then live ones: never a snapshot.
    let target = hub.seq(Topic::Indices) + 1;
    while last < target {
        let v = next_indices(&mut c).await;
        assert_eq!(
            v["event"], "indices_update",
            "a resume within the window is not a snapshot"
        );
        assert_eq!(seq(&v), last + 1, "replayed in order with the original seq");
        last = seq(&v);
    }
    let stats = hub.stats();
    assert_eq!((stats.resumes, stats.resume_fallbacks), (1, 0));
    assert!(stats.batches_replayed >= 3);

    // Another epoch (as after a server restart), or a seq too old: a snapshot.
    c.send(json!({"op": "subscribe", "topics": ["indices"],
        "resume": {"indices": {"epoch": "0000000000000000", "seq": last}}}))
        .await;
    assert_eq!(next_indices(&mut c).await["event"], "snapshot");
    server.stop().await;

    let server = TestServer::start_live(&["--resume-window", "1"]).await;
    let hub = server.state.hub().clone();
    assert_ne!(hub.epoch(), epoch, "a new incarnation, a new epoch");
    let (mut c, welcome) = Client::connect_welcomed(&server.ws_url()).await;
    let epoch = welcome["epoch"].as_str().unwrap().to_owned();
    eventually(Duration::from_secs(15), "a few index batches", || {
        (hub.seq(Topic::Indices) >= 4).then_some(())
    })
    .await;
    c.send(json!({"op": "subscribe", "topics": ["indices"],
        "resume": {"indices": {"epoch": epoch, "seq": 1}}}))
        .await;
    let v = next_indices(&mut c).await;
    assert_eq!(v["event"], "snapshot", "batch 2 is no longer kept: {v}");
    assert!(seq(&v) >= 4);
    // A malformed resume is refused and changes nothing.
    c.send(json!({"op": "subscribe", "topics": ["indices"], "resume": {"indices": {"seq": 1}}}))
        .await;
    let err = c.until("error").await;
    assert_eq!(err["code"], "bad_request");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_rate_ms_merges_updates_into_one_per_period() {
    // Indices every 0.1 s of real time; the client asks for at most one update per 1 s.
    let server = TestServer::start_live(&[]).await;
    let hub = server.state.hub().clone();
    let (mut c, _) = Client::connect_welcomed(&server.ws_url()).await;
    c.send(json!({"op": "subscribe", "topics": ["indices"], "max_rate_ms": 1000}))
        .await;
    let snap = next_indices(&mut c).await;
    assert_eq!(snap["event"], "snapshot");
    let start = hub.seq(Topic::Indices);
    // Wait until at least 25 batches were published, reading everything meanwhile.
    let mut updates = Vec::new();
    while hub.seq(Topic::Indices) < start + 25 {
        let v = next_indices(&mut c).await;
        assert_eq!(v["event"], "indices_update");
        updates.push(seq(&v));
    }
    // About 2.5 s of batches at 10 per second arrived as a few merged updates (the first one
    // at once, then at most one per second), with increasing seq that skips batches.
    assert!(
        updates.len() <= 5,
        "{} updates for 25 batches: {updates:?}",
        updates.len()
    );
    assert!(updates.windows(2).all(|w| w[1] > w[0] + 1), "{updates:?}");
    server.stop().await;
}
