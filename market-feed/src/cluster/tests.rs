//! Nodes of one cluster over a [`MemoryRelay`], on tokio's paused time: one poller at a time,
//! the leader's seq on every hub, a cut-off leader stepping down before anyone takes over.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use time::macros::datetime;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::{
    clock::MarketClock,
    feed::{Feed, Job},
    hub::{FeedState, Hub},
    model::Topic,
    source::{Fetched, PriceSource, SimulatedSource, SourceError},
    store::MemoryStore,
    universe::{Instrument, Universe},
};

const LEASE: Duration = Duration::from_secs(3);

/// Every broker call of every node: (node, when).
type Calls = Arc<Mutex<Vec<(&'static str, Instant)>>>;

/// A source that records which node called it, then answers like the simulation.
#[derive(Debug)]
struct Recorded {
    node: &'static str,
    calls: Calls,
    inner: SimulatedSource,
}

#[async_trait]
impl PriceSource for Recorded {
    fn name(&self) -> &str {
        "recorded"
    }

    async fn fetch(&self, instruments: &[Instrument]) -> Result<Fetched, SourceError> {
        self.calls
            .lock()
            .expect("calls")
            .push((self.node, Instant::now()));
        self.inner.fetch(instruments).await
    }
}

struct TestNode {
    hub: Hub,
    stats: Arc<ClusterStats>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

fn clock() -> MarketClock {
    // A Thursday, mid-session.
    MarketClock::scaled(datetime!(2026-01-29 10:00 +05:30), 1.0)
}

fn feed(node: &'static str, calls: &Calls, hub: &Hub, guard: &LeaseGuard) -> Feed {
    let universe = Universe::bundled();
    let clock = clock();
    let source: Arc<dyn PriceSource> = Arc::new(LeasedSource::new(
        Arc::new(Recorded {
            node,
            calls: calls.clone(),
            inner: SimulatedSource::new(universe.clone(), 7, clock.clone()),
        }),
        guard.clone(),
    ));
    Feed::builder(clock, hub.clone(), Arc::new(MemoryStore::new()))
        .job(Job::new(
            Topic::Indices,
            universe.indices().to_vec(),
            time::Duration::seconds(1),
            source,
        ))
        .build()
}

async fn start(node: &'static str, relay: &Arc<MemoryRelay>, calls: &Calls) -> TestNode {
    let hub = Hub::default();
    let guard = LeaseGuard::default();
    let feed = feed(node, calls, &hub, &guard);
    feed.prepare().await;
    let relay: Arc<dyn Relay> = relay.clone();
    let cluster = ClusterNode::new(
        ClusterConfig::new("test", node, LEASE),
        relay,
        hub.clone(),
        feed,
        guard,
    );
    let stats = cluster.stats();
    let stop = CancellationToken::new();
    let task = tokio::spawn(cluster.run(stop.clone()));
    TestNode {
        hub,
        stats,
        stop,
        task,
    }
}

/// Nodes a and b on one bus; a starts first, so it leads.
async fn two_nodes() -> (Arc<MemoryRelay>, Calls, TestNode, TestNode) {
    let relay = Arc::new(MemoryRelay::new(LEASE));
    let calls = Calls::default();
    let a = start("a", &relay, &calls).await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    let b = start("b", &relay, &calls).await;
    (relay, calls, a, b)
}

/// Stops the nodes.
async fn stop(nodes: impl IntoIterator<Item = TestNode>) {
    for n in nodes {
        n.stop.cancel();
        n.task.await.expect("node");
    }
}

/// The nodes that called, one entry per run of calls by the same node.
fn runs(calls: &Calls) -> Vec<&'static str> {
    let mut runs = Vec::new();
    for (node, _) in calls.lock().expect("calls").iter() {
        if runs.last() != Some(node) {
            runs.push(*node);
        }
    }
    runs
}

#[tokio::test(start_paused = true)]
async fn one_node_polls_and_the_others_serve_its_frames_with_its_seq() {
    let (_relay, calls, a, b) = two_nodes().await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(a.stats.role(), Role::Leader);
    assert_eq!(b.stats.role(), Role::Follower);
    assert_eq!(b.stats.leader().as_deref(), Some("a"));
    assert!(b.stats.is_ready());
    assert_eq!(runs(&calls), ["a"]);
    let seq = a.hub.seq(Topic::Indices);
    assert!(seq >= 5, "the leader published {seq} batches");
    assert_eq!(b.hub.seq(Topic::Indices), seq);
    let day = a.hub.meta(Topic::Indices).trading_day;
    assert!(day.is_some());
    assert_eq!(b.hub.meta(Topic::Indices).trading_day, day);
    assert_eq!(
        b.hub.quote("NIFTY 50").map(|q| q.ltp),
        a.hub.quote("NIFTY 50").map(|q| q.ltp)
    );
    stop([a, b]).await;
}

#[tokio::test(start_paused = true)]
async fn a_leader_cut_off_stops_polling_before_another_node_takes_over_and_seq_continues() {
    let (relay, calls, a, b) = two_nodes().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(a.stats.role(), Role::Leader);

    // Cut a off alone: a second relay for b would need a shared bus, so cut the one bus, let
    // a's lease run out, and heal it for b only after a has stepped down.
    relay.set_connected(false);
    let cut = Instant::now();
    tokio::time::sleep(LEASE).await;
    assert_eq!(
        a.stats.role(),
        Role::Follower,
        "a stepped down within the lease"
    );
    let last_a = calls
        .lock()
        .expect("calls")
        .iter()
        .filter(|(n, _)| *n == "a")
        .map(|(_, t)| *t)
        .max()
        .expect("a polled");
    assert!(last_a < cut + LEASE, "a polled after its lease could lapse");
    let seq_before = b.hub.seq(Topic::Indices);
    relay.set_connected(true);
    tokio::time::sleep(LEASE * 2).await;
    let leader = [&a, &b]
        .iter()
        .find(|n| n.stats.role() == Role::Leader)
        .map(|n| n.stats.node().to_owned());
    assert!(leader.is_some(), "someone leads again");
    assert_eq!(a.stats.leader(), leader);
    assert_eq!(b.stats.leader(), leader);
    // Runs never interleave, and the numbering continued: both hubs are past the cut's seq.
    let r = runs(&calls);
    for (i, n) in r.iter().enumerate() {
        assert!(!r[i + 1..].contains(n), "pollers overlapped: {r:?}");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(b.hub.seq(Topic::Indices) > seq_before);
    assert_eq!(a.hub.seq(Topic::Indices), b.hub.seq(Topic::Indices));
    stop([a, b]).await;
}

#[tokio::test(start_paused = true)]
async fn a_leader_that_shuts_down_releases_the_lease_at_once() {
    let (_relay, _calls, a, b) = two_nodes().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(a.stats.role(), Role::Leader);
    a.stop.cancel();
    a.task.await.expect("node");
    let stopped = Instant::now();
    while b.stats.role() != Role::Leader {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Within one attempt period (a third of the lease), not a whole lease.
    assert!(stopped.elapsed() <= LEASE / 3 + Duration::from_millis(100));
    assert_eq!(b.stats.failovers(), 1);
    b.stop.cancel();
    b.task.await.expect("node");
}

#[tokio::test(start_paused = true)]
async fn a_feed_whose_lease_deadline_passed_makes_no_call() {
    let calls = Calls::default();
    let hub = Hub::default();
    let guard = LeaseGuard::default();
    // Held once, and the deadline passed while nobody looked (a process paused past it).
    guard.hold_until(Instant::now() + Duration::from_millis(1));
    tokio::time::sleep(Duration::from_millis(2)).await;
    let feed = feed("a", &calls, &hub, &guard);
    let stop = CancellationToken::new();
    let task = tokio::spawn(feed.run(stop.clone()));
    tokio::time::sleep(Duration::from_secs(10)).await;
    stop.cancel();
    task.await.expect("feed");
    assert!(calls.lock().expect("calls").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_node_that_stepped_down_can_lead_again_and_runs_its_feed_anew() {
    let relay = Arc::new(MemoryRelay::new(LEASE));
    let calls = Calls::default();
    let a = start("a", &relay, &calls).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(a.stats.role(), Role::Leader);
    relay.set_connected(false);
    tokio::time::sleep(LEASE * 2).await;
    assert_eq!(a.stats.role(), Role::Follower);
    let polled = calls.lock().expect("calls").len();
    let seq = a.hub.seq(Topic::Indices);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        calls.lock().expect("calls").len(),
        polled,
        "a follower polled"
    );
    relay.set_connected(true);
    tokio::time::sleep(LEASE * 2).await;
    assert_eq!(a.stats.role(), Role::Leader);
    assert_eq!(a.stats.leaderships(), 2);
    assert!(
        calls.lock().expect("calls").len() > polled,
        "the feed runs again"
    );
    assert!(
        a.hub.seq(Topic::Indices) > seq,
        "and its numbering continues"
    );
    a.stop.cancel();
    a.task.await.expect("node");
}

#[tokio::test(start_paused = true)]
async fn a_follower_cut_off_in_market_hours_serves_its_last_values_as_stale_until_the_bus_is_back()
{
    let (relay, _calls, a, b) = two_nodes().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        b.hub.view(Topic::Indices).live,
        "the leader's market status says live"
    );
    relay.set_connected(false);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(b.hub.feed_status(Topic::Indices).state, FeedState::Stale);
    assert!(
        b.hub.quote("NIFTY 50").is_some(),
        "the last values are still served"
    );
    relay.set_connected(true);
    tokio::time::sleep(LEASE * 2).await;
    assert_eq!(b.hub.feed_status(Topic::Indices).state, FeedState::Ok);
    stop([a, b]).await;
}
