//! Three server processes in a cluster over the real NATS JetStream (127.0.0.1:4222) and the
//! real PostgreSQL, polling a fake Upstox: one leader at a time calls the broker; the leader
//! killed, paused past its lease, restarted or cut off from NATS is replaced within two leases;
//! clients of the other nodes stay connected and their `seq` never goes back.
//!
//! Each node reads its own token file (`token-<node>`), so the fake's request log tells which
//! node called the broker: the log must never interleave two nodes' calls.
//!
//! When NATS or PostgreSQL is not reachable the suite prints one NOTE and passes, unless
//! `MARKET_FEED_REQUIRE_NATS=1` (CI), which makes it fail.

#![cfg(feature = "nats")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    net::SocketAddr,
    sync::{
        Arc, Once,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use market_feed::{cluster::NatsRelay, testing::FakeUpstox, universe::Universe};
use serde_json::{Value, json};
use support::{ServerProcess, ws::Client};
use tokio::net::{TcpListener, TcpStream};

const NATS: &str = "127.0.0.1:4222";
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
const LEASE: Duration = Duration::from_secs(2);
const INDICES: &str = "/v3/market-quote/ltp";

/// Whether NATS and PostgreSQL are there; prints the NOTE once, or fails under
/// `MARKET_FEED_REQUIRE_NATS=1`.
async fn services_or_skip() -> bool {
    static NOTE: Once = Once::new();
    let nats = TcpStream::connect(NATS).await.is_ok();
    let pg = tokio_postgres::connect(POSTGRES, tokio_postgres::NoTls)
        .await
        .is_ok();
    if nats && pg {
        return true;
    }
    let why = if nats {
        format!("PostgreSQL is not reachable at {POSTGRES}")
    } else {
        format!("NATS with JetStream is not reachable at {NATS} (run nats-server -js)")
    };
    if std::env::var("MARKET_FEED_REQUIRE_NATS").as_deref() == Ok("1") {
        panic!("MARKET_FEED_REQUIRE_NATS=1 but the cluster suite cannot run: {why}");
    }
    NOTE.call_once(|| eprintln!("NOTE: the cluster suite did not run: {why}"));
    false
}

/// One test's cluster: a unique name, schema, fake broker and token files; cleaned up on
/// `finish`.
struct Cluster {
    name: String,
    schema: String,
    fake: FakeUpstox,
    dir: tempfile::TempDir,
    /// The clock every node shares: this market instant at this wall instant.
    clock_at: time::OffsetDateTime,
    started: Instant,
    speed: f64,
}

impl Cluster {
    async fn new(clock_at: time::OffsetDateTime, speed: f64) -> Self {
        let suffix = format!("{:016x}", rand_u64());
        let fake = FakeUpstox::with_universe(&Universe::bundled())
            .await
            .unwrap();
        Self {
            name: format!("mf-test-{suffix}"),
            schema: format!("mf_cluster_{suffix}"),
            fake,
            dir: tempfile::tempdir().unwrap(),
            clock_at,
            started: Instant::now(),
            speed,
        }
    }

    /// The `--clock` of a node started now: the same market time as every other node.
    fn clock(&self) -> String {
        let elapsed = self.started.elapsed().as_secs_f64() * self.speed;
        let at = self.clock_at + time::Duration::seconds_f64(elapsed);
        let at = at.to_offset(time::macros::offset!(+05:30));
        let text = at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        format!("at:{text}x{}", self.speed)
    }

    /// Starts node `id` with `--cluster nats://<nats>`.
    async fn start(&self, id: &str, nats: &str) -> ServerProcess {
        self.start_via(
            id,
            nats,
            &["--indices-interval", "500ms", "--prices-interval", "3s"],
        )
        .await
    }

    /// Starts node `id` on the local NATS with `extra` options.
    async fn start_with(&self, id: &str, extra: &[&str]) -> ServerProcess {
        self.start_via(id, NATS, extra).await
    }

    async fn start_via(&self, id: &str, nats: &str, extra: &[&str]) -> ServerProcess {
        let token = self.dir.path().join(format!("{id}.token"));
        std::fs::write(&token, format!("token-{id}\n")).unwrap();
        let store = format!("{POSTGRES}?schema={}", self.schema);
        let lease = format!("{}ms", LEASE.as_millis());
        let clock = self.clock();
        let base = self.fake.base_url();
        let mut args = vec![
            "--source",
            "upstox",
            "--upstox-base-url",
            &base,
            "--upstox-token-file",
            token.to_str().unwrap(),
            "--store",
            &store,
            "--clock",
            &clock,
            "--cluster-name",
            &self.name,
            "--node-id",
            id,
            "--cluster-lease",
            &lease,
        ];
        args.extend_from_slice(extra);
        let nats = format!("nats://{nats}");
        args.extend_from_slice(&["--cluster", &nats]);
        ServerProcess::start(&args).await
    }

    /// The nodes that called the broker, in the order of the fake's log, one entry per run of
    /// calls by the same node.
    fn poller_runs(&self) -> Vec<String> {
        let mut runs: Vec<String> = Vec::new();
        for r in self.fake.requests() {
            if r.path != INDICES {
                continue;
            }
            let who = r
                .authorization
                .unwrap_or_default()
                .trim_start_matches("Bearer token-")
                .to_owned();
            if runs.last() != Some(&who) {
                runs.push(who);
            }
        }
        runs
    }

    /// How many times node `id` called the broker between `from` and `until`.
    fn calls_by(&self, id: &str, from: Instant, until: Instant) -> usize {
        let token = format!("Bearer token-{id}");
        self.fake
            .requests()
            .into_iter()
            .filter(|r| {
                r.received > from
                    && r.received < until
                    && r.authorization.as_deref() == Some(token.as_str())
            })
            .count()
    }

    /// Fails if two nodes' broker calls interleave (a node that polled, stopped, and polled
    /// again while another node polled in between).
    fn assert_one_poller_at_a_time(&self) {
        let runs = self.poller_runs();
        for (i, who) in runs.iter().enumerate() {
            assert!(
                !runs[i + 1..].contains(who),
                "two pollers overlapped: the broker saw calls from {runs:?} (in that order)"
            );
        }
    }

    /// Stops `nodes` (each must exit 0 on SIGTERM), then cleans up.
    async fn stop(self, nodes: impl IntoIterator<Item = ServerProcess>) {
        for n in nodes {
            assert_eq!(n.terminate().await, 0);
        }
        self.finish().await;
    }

    /// Starts nodes a, b, c on the local NATS.
    async fn three(&self) -> Vec<ServerProcess> {
        vec![
            self.start("a", NATS).await,
            self.start("b", NATS).await,
            self.start("c", NATS).await,
        ]
    }

    /// Drops the schema and the NATS bucket and stream.
    async fn finish(self) {
        if let Ok((client, conn)) = tokio_postgres::connect(POSTGRES, tokio_postgres::NoTls).await {
            tokio::spawn(conn);
            let _ = client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
                .await;
        }
        if let Ok(relay) = NatsRelay::connect(&format!("nats://{NATS}"), &self.name, LEASE).await {
            let _ = relay.remove().await;
        }
    }
}

fn rand_u64() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    nanos ^ (u64::from(std::process::id()) << 32)
}

async fn get_text(url: &str) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

async fn get_json(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

async fn cluster_view(node: &ServerProcess) -> Option<Value> {
    let r = reqwest::get(node.url("/api/v1/cluster")).await.ok()?;
    r.json().await.ok()
}

/// Waits until every node in `nodes` names the same leader and that leader says so itself;
/// returns the index of the leader.
async fn one_leader(nodes: &[&ServerProcess], within: Duration) -> usize {
    let start = Instant::now();
    loop {
        let mut views = Vec::new();
        for n in nodes {
            views.push(cluster_view(n).await.unwrap_or(Value::Null));
        }
        let leaders: Vec<usize> = views
            .iter()
            .enumerate()
            .filter(|(_, v)| v["role"] == "leader")
            .map(|(i, _)| i)
            .collect();
        if let [i] = leaders.as_slice() {
            let id = views[*i]["node"].clone();
            if views.iter().all(|v| v["leader"] == id) {
                return *i;
            }
        }
        assert!(
            start.elapsed() < within,
            "no single leader within {within:?}: {views:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A WebSocket client of `node` subscribed to indices, checking that `seq` never goes back.
struct Watcher {
    client: Client,
    last_seq: u64,
}

impl Watcher {
    async fn connect(node: &ServerProcess) -> Self {
        let (mut client, _) = Client::connect_welcomed(&format!("ws://{}/ws", node.addr)).await;
        client
            .send(json!({"op": "subscribe", "topics": ["indices"]}))
            .await;
        let snapshot = client.until("snapshot").await;
        Self {
            client,
            last_seq: snapshot["seq"].as_u64().unwrap(),
        }
    }

    /// Reads until an `indices_update` newer than `after` arrives; every `seq` on the way must
    /// not go back.
    async fn update_after(&mut self, after: u64) -> u64 {
        loop {
            let v = self.client.event().await;
            let Some(seq) = v["seq"].as_u64() else {
                continue;
            };
            match v["event"].as_str() {
                Some("indices_update") => {
                    assert!(
                        seq > self.last_seq,
                        "seq went back or repeated: {seq} after {}",
                        self.last_seq
                    );
                    self.last_seq = seq;
                    if seq > after {
                        return seq;
                    }
                }
                Some("snapshot") => {
                    assert!(
                        seq >= self.last_seq,
                        "a snapshot went back: {seq} after {}",
                        self.last_seq
                    );
                    self.last_seq = seq;
                }
                _ => {}
            }
        }
    }
}

fn kill(node: &ServerProcess, signal: &str) {
    let pid = node.child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// A Thursday, mid-session.
fn mid_session() -> time::OffsetDateTime {
    time::macros::datetime!(2026-01-29 10:00 +05:30)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_within_two_leases_and_seq_never_goes_back() {
    if !services_or_skip().await {
        return;
    }
    let cluster = Cluster::new(mid_session(), 1.0).await;
    let mut nodes = cluster.three().await;
    let leader = one_leader(&nodes.iter().collect::<Vec<_>>(), LEASE * 5).await;
    let followers: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    // Followers serve the leader's values: same seq, same prices.
    let mut watchers = Vec::new();
    for &f in &followers {
        let mut w = Watcher::connect(&nodes[f]).await;
        w.update_after(0).await;
        watchers.push(w);
    }
    let ready = reqwest::get(nodes[followers[0]].url("/readyz"))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let before: Vec<u64> = watchers.iter().map(|w| w.last_seq).collect();

    let leader_id = ["a", "b", "c"][leader];
    let killed_at = Instant::now();
    kill(&nodes[leader], "KILL");
    let dead = nodes.remove(leader);
    let _ = tokio::time::timeout(Duration::from_secs(5), { dead }.child.wait()).await;
    let survivors: Vec<&ServerProcess> = nodes.iter().collect();
    let new_leader = one_leader(&survivors, LEASE * 6).await;
    let took = killed_at.elapsed();
    eprintln!("failover: a new leader {took:?} after kill -9 (lease {LEASE:?})");
    let new_id = cluster_view(survivors[new_leader]).await.unwrap()["node"].clone();
    assert_ne!(new_id, leader_id);
    // The contract is 2 x lease; the margin absorbs a loaded test machine.
    assert!(
        took <= LEASE * 2 + Duration::from_secs(2),
        "failover took {took:?}"
    );
    // Clients of both survivors stayed connected and see newer batches, seq never back.
    // The new leader's first batch is the first after the gap the failover left (batches are
    // 500 ms apart otherwise; frames of the dead leader may still be unread).
    let mut previous = killed_at;
    loop {
        let seq = watchers[0].last_seq;
        watchers[0].update_after(seq).await;
        let now = Instant::now();
        if now.duration_since(previous) > Duration::from_secs(1) {
            break;
        }
        previous = now;
    }
    eprintln!(
        "failover: the first batch of the new leader reached a follower's client {:?} after kill -9",
        killed_at.elapsed()
    );
    for (w, b) in watchers.iter_mut().zip(before) {
        let seq = w.update_after(b + 2).await;
        assert!(seq > b + 2);
    }
    let view = cluster_view(survivors[0]).await.unwrap();
    assert_eq!(view["leader"], new_id);
    let metrics = get_text(&survivors[1 - new_leader].url("/metrics")).await;
    assert!(
        metrics.contains("market_feed_cluster_role{role=\"follower\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("market_feed_cluster_failovers_total") && !l.ends_with(" 0")),
        "no failover counted"
    );
    cluster.assert_one_poller_at_a_time();
    // The broker's holiday list is read at start-up, when no node holds the lease yet: nobody
    // calls (the leader refreshes it daily at 08:00 IST; the others use the stored copy).
    assert_eq!(cluster.fake.holiday_requests(), 0);
    cluster.stop(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_paused_past_its_lease_never_polls_after_waking() {
    if !services_or_skip().await {
        return;
    }
    let cluster = Cluster::new(mid_session(), 1.0).await;
    let nodes = cluster.three().await;
    let all: Vec<&ServerProcess> = nodes.iter().collect();
    let leader = one_leader(&all, LEASE * 5).await;
    let leader_id = ["a", "b", "c"][leader];
    let mut watcher = Watcher::connect(&nodes[(leader + 1) % 3]).await;
    watcher.update_after(0).await;

    kill(&nodes[leader], "STOP");
    let others: Vec<&ServerProcess> = (0..3).filter(|&i| i != leader).map(|i| &nodes[i]).collect();
    let new_leader = one_leader(&others, LEASE * 6).await;
    let new_id = cluster_view(others[new_leader]).await.unwrap()["node"].clone();
    tokio::time::sleep(LEASE).await;
    let woke = Instant::now();
    kill(&nodes[leader], "CONT");
    // The woken node steps down and follows the new leader.
    let start = Instant::now();
    loop {
        let view = cluster_view(&nodes[leader]).await.unwrap_or(Value::Null);
        if view["role"] == "follower" && view["leader"] == new_id {
            break;
        }
        assert!(
            start.elapsed() < LEASE * 5,
            "the woken node did not follow: {view:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(LEASE).await;
    let late = cluster.calls_by(leader_id, woke, Instant::now());
    assert_eq!(
        late, 0,
        "the paused leader called the broker {late} times after waking"
    );
    cluster.assert_one_poller_at_a_time();
    let seq = watcher.last_seq;
    watcher.update_after(seq + 1).await;
    cluster.stop(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_follows_and_serves_the_latest_values_at_once() {
    if !services_or_skip().await {
        return;
    }
    let cluster = Cluster::new(mid_session(), 1.0).await;
    let mut nodes = vec![
        cluster.start("a", NATS).await,
        cluster.start("b", NATS).await,
    ];
    let leader = one_leader(&nodes.iter().collect::<Vec<_>>(), LEASE * 5).await;
    let leader_id = ["a", "b"][leader];
    let mut w = Watcher::connect(&nodes[1 - leader]).await;
    w.update_after(0).await;
    // The leader restarts (same node id): it must not assume it still holds the lease.
    let killed_at = Instant::now();
    kill(&nodes[leader], "KILL");
    let dead = nodes.remove(leader);
    let _ = tokio::time::timeout(Duration::from_secs(5), { dead }.child.wait()).await;
    let restarted = cluster.start(leader_id, NATS).await;
    let listening = Instant::now();
    // Ready (latest values loaded) within 1 s of listening, with prices.
    loop {
        let r = reqwest::get(restarted.url("/readyz")).await.unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(
            listening.elapsed() < Duration::from_secs(3),
            "not ready {:?} after listening",
            listening.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let indices = get_json(&restarted.url("/api/v1/indices")).await;
    assert!(
        !indices["data"].as_array().unwrap().is_empty(),
        "no values served: {indices}"
    );
    let both = [&nodes[0], &restarted];
    one_leader(&both, LEASE * 6).await;
    // Either node may win the lapsed lease, but the restarted one only once the lease of its
    // previous incarnation (renewed at most a third of a lease before the kill) has lapsed.
    let earliest = killed_at + LEASE * 2 / 3;
    assert_eq!(
        cluster.calls_by(leader_id, killed_at, earliest),
        0,
        "the restarted node polled under its previous incarnation's lease"
    );
    let seq = w.last_seq;
    w.update_after(seq + 1).await;
    cluster.assert_one_poller_at_a_time();
    assert_eq!(restarted.terminate().await, 0);
    cluster.stop(nodes).await;
}

/// A TCP proxy between a node and NATS that the test can cut.
struct Proxy {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    conns: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (c, list) = (cut.clone(), conns.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if c.load(Ordering::SeqCst) {
                    continue; // dropped: refused while cut
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                list.lock().unwrap().push(task);
            }
        });
        Self { addr, cut, conns }
    }

    /// Cuts every connection and refuses new ones.
    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for task in self.conns.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cut_off_from_nats_steps_down_before_another_takes_over() {
    if !services_or_skip().await {
        return;
    }
    let cluster = Cluster::new(mid_session(), 1.0).await;
    let proxy = Proxy::start(NATS).await;
    let via_proxy = proxy.addr.to_string();
    let a = cluster.start("a", &via_proxy).await;
    assert_eq!(one_leader(&[&a], LEASE * 5).await, 0);
    let b = cluster.start("b", NATS).await;
    let c = cluster.start("c", NATS).await;
    assert_eq!(one_leader(&[&a, &b, &c], LEASE * 5).await, 0);
    let mut w = Watcher::connect(&b).await;
    w.update_after(0).await;

    let cut_at = Instant::now();
    proxy.cut();
    let new_leader = one_leader(&[&b, &c], LEASE * 6).await;
    eprintln!(
        "partition: a new leader {:?} after the cut",
        cut_at.elapsed()
    );
    let seq = w.last_seq;
    w.update_after(seq + 2).await;
    // a stepped down (it says so, though it cannot hear who leads now).
    let view = cluster_view(&a).await.unwrap();
    assert_eq!(view["role"], "follower", "{view}");
    cluster.assert_one_poller_at_a_time();

    // Healed: a follows the new leader.
    proxy.heal();
    let all = [&b, &c, &a];
    assert_eq!(one_leader(&all, LEASE * 10).await, new_leader);
    cluster.assert_one_poller_at_a_time();
    cluster.stop([a, b, c]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_options_are_checked() {
    let (code, _, stderr) =
        support::run_to_exit(&["--cluster", "nats://127.0.0.1:4222", "--store", "memory"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--cluster") && stderr.contains("postgres"),
        "{stderr}"
    );
    // NATS unreachable: exit 1 naming the URL, never its password.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("nats://user:s3cret@127.0.0.1:{port}");
    let (code, _, stderr) = support::run_to_exit(&[
        "--listen",
        "127.0.0.1:0",
        "--source",
        "simulated",
        "--cluster",
        &url,
        "--store",
        POSTGRES,
    ])
    .await;
    if code == 1 && stderr.contains("--store") {
        // No PostgreSQL here: the store fails first, which is also exit 1.
        return;
    }
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
}

/// Log lines of `node` received so far that contain every one of `words`.
fn log_lines(node: &mut ServerProcess, words: &[&str]) -> usize {
    let mut n = 0;
    while let Ok(line) = node.log.try_recv() {
        if words.iter().all(|w| line.contains(w)) {
            n += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_close_crossed_during_a_failover_is_stored_once() {
    if !services_or_skip().await {
        return;
    }
    // 15:30:00 IST at 10x: the end-of-day snapshot is due at 15:31 (6 s of real time).
    let cluster = Cluster::new(time::macros::datetime!(2026-01-29 15:30 +05:30), 10.0).await;
    let mut nodes = vec![
        cluster
            .start_with(
                "a",
                &["--indices-interval", "5s", "--prices-interval", "30s"],
            )
            .await,
        cluster
            .start_with(
                "b",
                &["--indices-interval", "5s", "--prices-interval", "30s"],
            )
            .await,
        cluster
            .start_with(
                "c",
                &["--indices-interval", "5s", "--prices-interval", "30s"],
            )
            .await,
    ];
    let leader = one_leader(&nodes.iter().collect::<Vec<_>>(), LEASE * 5).await;
    // Killed at about 15:30:50: the next leader takes over after the snapshot fell due.
    let kill_at = cluster.started + Duration::from_secs(5);
    tokio::time::sleep_until(kill_at.into()).await;
    kill(&nodes[leader], "KILL");
    let mut dead = nodes.remove(leader);
    let _ = tokio::time::timeout(Duration::from_secs(5), dead.child.wait()).await;
    let dead_stored = log_lines(&mut dead, &["end-of-day snapshot stored", "2026-01-29"]);
    assert_eq!(
        dead_stored, 0,
        "the leader was killed after the close snapshot: too late"
    );
    let survivors: Vec<&ServerProcess> = nodes.iter().collect();
    one_leader(&survivors, LEASE * 6).await;
    let day = "/api/v1/closing/2026-01-29?topic=indices";
    let start = Instant::now();
    loop {
        let r = reqwest::get(survivors[0].url(day)).await.unwrap();
        if r.status() == 200 {
            let body: Value = r.json().await.unwrap();
            assert!(!body["data"].as_array().unwrap().is_empty());
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no closing snapshot of 2026-01-29 after the failover"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Once: one "stored" line per topic over the whole cluster, and one row per instrument.
    tokio::time::sleep(LEASE).await;
    let stored: usize = nodes
        .iter_mut()
        .map(|n| log_lines(n, &["end-of-day snapshot stored", "2026-01-29", "indices"]))
        .sum();
    assert_eq!(
        stored, 1,
        "the closing snapshot of indices was stored {stored} times"
    );
    let (client, conn) = tokio_postgres::connect(POSTGRES, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let row = client
        .query_one(
            &format!(
                "SELECT count(*), count(DISTINCT key) FROM {}.closes \
                 WHERE trading_day = '2026-01-29' AND topic = 'indices'",
                cluster.schema
            ),
            &[],
        )
        .await
        .unwrap();
    let (rows, keys): (i64, i64) = (row.get(0), row.get(1));
    assert!(
        rows > 0 && rows == keys,
        "{rows} rows for {keys} instruments"
    );
    cluster.assert_one_poller_at_a_time();
    cluster.stop(nodes).await;
}
