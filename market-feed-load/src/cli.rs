//! The load tool's options and its run: ramp up N connections, warm up, measure for a set
//! duration, stop, and report (a human summary on stderr, one JSON line on stdout).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::client::{self, DONE, Plan, RECORDING, Shared, WARMUP};
use crate::procfs::Usage;
use crate::stats::{ConnStats, aggregate};

/// What can stop a load run before it measures anything.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The symbols file could not be read.
    #[error(
        "cannot read the symbols file {path}: {source}: check the path given to --symbols-file"
    )]
    SymbolsFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The target is not on this machine.
    #[error(
        "--url {0} is not a loopback ws:// URL: the load tool only targets 127.0.0.0/8, localhost or [::1]"
    )]
    NotLoopback(String),
    /// A histogram could not be created.
    #[error("cannot create a latency histogram: {0}")]
    Histogram(#[from] hdrhistogram::CreationError),
    /// An option is out of range.
    #[error("{0}")]
    BadOption(String),
}

/// The wire protocol the load tool speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// market-feed's `/ws` protocol (`docs/protocol.md` §3).
    MarketFeed,
    /// Socket.IO v5 over Engine.IO v4 on a WebSocket transport.
    Socketio,
    /// Socket.IO v5 over Engine.IO v4 on the HTTP long-polling transport (give the server root,
    /// e.g. ws://127.0.0.1:8080; one HTTP/1.1 connection per client).
    SocketioPolling,
}

/// Parses `500ms`, `20s`, `2m` or a plain number of seconds.
///
/// ```
/// use market_feed_load::cli::parse_duration;
/// use std::time::Duration;
/// assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
/// assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
/// assert!(parse_duration("soon").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration: write 500ms, 20s or 2m"))?;
    let secs = match unit {
        "ms" => v / 1000.0,
        "s" => v,
        "m" => v * 60.0,
        _ => return Err(format!("{s:?} has an unknown unit: use ms, s or m")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

/// Command-line options of `market-feed-load`.
///
/// ```
/// use clap::Parser;
/// use market_feed_load::cli::Options;
/// let o = Options::parse_from(["market-feed-load", "--connections", "10", "--duration", "5s"]);
/// assert_eq!(o.connections, 10);
/// assert_eq!(o.url, "ws://127.0.0.1:8080/ws");
/// ```
#[derive(Debug, Clone, Parser)]
#[command(
    name = "market-feed-load",
    version,
    about = "Opens N WebSocket connections to a market-feed (or Socket.IO) server and measures delivery latency, throughput and failures."
)]
pub struct Options {
    /// Server URL (loopback only). For Socket.IO give the server root, e.g. ws://127.0.0.1:3000.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    pub url: String,
    /// Protocol to speak.
    #[arg(long, value_enum, default_value = "market-feed")]
    pub protocol: Protocol,
    /// Number of connections.
    #[arg(long, short = 'n', default_value_t = 100)]
    pub connections: usize,
    /// New connections per second during the ramp.
    #[arg(long, default_value_t = 500.0)]
    pub connect_rate: f64,
    /// Time allowed for connect + upgrade + welcome, per connection.
    #[arg(long, value_parser = parse_duration, default_value = "15s")]
    pub connect_timeout: Duration,
    /// Time after the ramp before measuring (lets snapshots and the ramp's backlog drain).
    #[arg(long, value_parser = parse_duration, default_value = "3s")]
    pub warmup: Duration,
    /// Measuring window.
    #[arg(long, value_parser = parse_duration, default_value = "20s")]
    pub duration: Duration,
    /// Topics to subscribe to.
    #[arg(long, value_delimiter = ',', default_value = "indices,prices")]
    pub topics: Vec<String>,
    /// Symbols every connection subscribes to on `prices` (default: all).
    #[arg(long, value_delimiter = ',', conflicts_with = "symbols_file")]
    pub symbols: Vec<String>,
    /// A file with one comma-separated symbol list per line; connection i uses line i mod lines.
    #[arg(long)]
    pub symbols_file: Option<PathBuf>,
    /// PID of the server process: its CPU seconds and memory over the window are reported too.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// WebSocket read buffer per connection, bytes.
    #[arg(long, default_value_t = 65536)]
    pub read_buffer: usize,
    /// Worker threads of the client (default: the number of cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print only the JSON line (no human summary on stderr).
    #[arg(long)]
    pub json: bool,
    /// Offer permessage-deflate (market-feed protocol only): inflate compressed messages and
    /// report wire bytes next to payload bytes per event.
    #[arg(long)]
    pub deflate: bool,
    /// With --deflate, inflate every copy of every message. By default a connection whose
    /// compressed message is byte for byte one another connection just inflated reuses its
    /// text: the run's clients share the tool's cores with the server, and real clients each
    /// inflate only their own copy.
    #[arg(long, requires = "deflate")]
    pub inflate_each: bool,
    /// Share of connections (0 to 1) that drop in the middle of the window, stay away for
    /// --resume-gap and reconnect asking to resume (market-feed protocol, without --deflate);
    /// the report counts the topics replayed and those that got a snapshot instead.
    #[arg(long, default_value_t = 0.0)]
    pub resume: f64,
    /// How long a --resume connection stays away.
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub resume_gap: Duration,
}

fn is_loopback(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("ws://") else {
        return false;
    };
    let host_port = rest.split('/').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn subscribe_messages(o: &Options) -> Result<Vec<String>, LoadError> {
    let lists: Vec<Vec<String>> = match &o.symbols_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|source| LoadError::SymbolsFile {
                path: path.clone(),
                source,
            })?
            .lines()
            .map(|l| {
                l.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            })
            .filter(|l| !l.is_empty())
            .collect(),
        None if o.symbols.is_empty() => vec![],
        None => vec![o.symbols.clone()],
    };
    let msg = |symbols: Option<&Vec<String>>| {
        let mut m = json!({"op": "subscribe", "topics": o.topics});
        if let Some(s) = symbols {
            m["symbols"] = json!(s);
        }
        m.to_string()
    };
    Ok(if lists.is_empty() {
        vec![msg(None)]
    } else {
        lists.iter().map(|l| msg(Some(l))).collect()
    })
}

/// Runs the whole measurement and returns the report (the JSON line).
///
/// ```no_run
/// # async fn demo() -> Result<(), market_feed_load::cli::LoadError> {
/// use clap::Parser;
/// let o = market_feed_load::cli::Options::parse_from(["market-feed-load", "-n", "10", "--duration", "5s"]);
/// let report = market_feed_load::cli::run(o).await?;
/// println!("{report}");
/// # Ok(()) }
/// ```
pub async fn run(o: Options) -> Result<Value, LoadError> {
    if !is_loopback(&o.url) {
        return Err(LoadError::NotLoopback(o.url.clone()));
    }
    if o.connections == 0 || o.connect_rate <= 0.0 || o.connections > 100_000 {
        return Err(LoadError::BadOption(
            "--connections must be 1..=100000 and --connect-rate > 0".into(),
        ));
    }
    if o.duration > Duration::from_secs(3600) || o.warmup > Duration::from_secs(600) {
        return Err(LoadError::BadOption(
            "--duration is at most 1h and --warmup at most 10m".into(),
        ));
    }
    if o.deflate && o.protocol != Protocol::MarketFeed {
        return Err(LoadError::BadOption(
            "--deflate speaks the market-feed protocol only: drop --protocol socketio".into(),
        ));
    }
    if !(0.0..=1.0).contains(&o.resume)
        || (o.resume > 0.0 && (o.deflate || o.protocol != Protocol::MarketFeed))
    {
        return Err(LoadError::BadOption(
            "--resume is a share from 0 to 1, for the market-feed protocol without --deflate"
                .into(),
        ));
    }
    let subs = subscribe_messages(&o)?;
    let droppers = (o.resume * o.connections as f64).round() as usize;
    let nofile = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0);
    if nofile < o.connections as u64 + 64 {
        eprintln!(
            "warning: open-file limit is {nofile}, below {} connections: raise it (ulimit -n)",
            o.connections
        );
    }
    let url = match o.protocol {
        Protocol::MarketFeed | Protocol::SocketioPolling => o.url.clone(),
        Protocol::Socketio if o.url.contains("/socket.io/") => o.url.clone(),
        Protocol::Socketio => format!(
            "{}/socket.io/?EIO=4&transport=websocket",
            o.url.trim_end_matches('/')
        ),
    };
    let plan = Arc::new(Plan {
        url,
        socketio: o.protocol == Protocol::Socketio,
        polling: o.protocol == Protocol::SocketioPolling,
        connect_timeout: o.connect_timeout,
        read_buffer: o.read_buffer.max(4096),
        deflate: o.deflate,
        inflated: (o.deflate && !o.inflate_each).then(Default::default),
        resume_gap: o.resume_gap,
    });
    let shared = Arc::new(Shared {
        phase: AtomicU8::new(WARMUP),
        skew_us: AtomicI64::new(i64::MIN),
        settled: AtomicUsize::new(0),
        cancel: CancellationToken::new(),
        drop_now: CancellationToken::new(),
    });
    let me = std::process::id();
    let start = Instant::now();
    let cpu_start = Usage::read(me);

    // Ramp.
    let step = Duration::from_secs_f64(1.0 / o.connect_rate);
    let mut tasks = Vec::with_capacity(o.connections);
    for i in 0..o.connections {
        let sub = subs[i % subs.len()].clone();
        let drops = i < droppers;
        let task = if plan.polling {
            tokio::spawn(crate::polling::run(plan.clone(), sub, shared.clone()))
        } else {
            tokio::spawn(client::run(plan.clone(), sub, shared.clone(), drops))
        };
        tasks.push(task);
        tokio::time::sleep_until((start + step.mul_f64((i + 1) as f64)).into()).await;
    }
    let ramp = start.elapsed();
    let settle_deadline = Instant::now() + o.connect_timeout + Duration::from_secs(1);
    while shared.settled.load(Ordering::Relaxed) < o.connections && Instant::now() < settle_deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let settled_after = start.elapsed();
    tokio::time::sleep(o.warmup).await;

    // Measure.
    let server_before = o.server_pid.and_then(Usage::read);
    let client_before = Usage::read(me);
    shared.phase.store(RECORDING, Ordering::Relaxed);
    let window_start = Instant::now();
    tokio::time::sleep(o.duration / 2).await;
    shared.drop_now.cancel();
    tokio::time::sleep_until((window_start + o.duration).into()).await;
    shared.phase.store(DONE, Ordering::Relaxed);
    let window = window_start.elapsed().as_secs_f64();
    let server_after = o.server_pid.and_then(Usage::read);
    let client_after = Usage::read(me);

    // Stop and collect.
    shared.cancel.cancel();
    let mut conns: Vec<ConnStats> = Vec::with_capacity(tasks.len());
    for t in tasks {
        match tokio::time::timeout(Duration::from_secs(10), t).await {
            Ok(Ok(c)) => conns.push(c),
            Ok(Err(e)) => conns.push(ConnStats::failed(format!("task: {e}"))),
            Err(_) => conns.push(ConnStats::failed("task did not stop within 10 s".into())),
        }
    }
    let mut report = aggregate(&conns, window)?;
    let skew = shared.skew_us.load(Ordering::Relaxed);
    let cpu = |a: Option<Usage>, b: Option<Usage>| match (a, b) {
        (Some(a), Some(b)) => json!(((b.cpu_s - a.cpu_s) * 100.0).round() / 100.0),
        _ => Value::Null,
    };
    report["tool"] = json!("market-feed-load");
    report["protocol"] = json!(match o.protocol {
        Protocol::MarketFeed => "market-feed",
        Protocol::Socketio => "socketio",
        Protocol::SocketioPolling => "socketio-polling",
    });
    report["url"] = json!(plan.url);
    report["duration_s"] = json!((window * 100.0).round() / 100.0);
    report["ramp_s"] = json!((ramp.as_secs_f64() * 100.0).round() / 100.0);
    report["settled_s"] = json!((settled_after.as_secs_f64() * 100.0).round() / 100.0);
    report["clock_offset_ms"] = if skew == i64::MIN {
        Value::Null
    } else {
        json!(skew as f64 / 1000.0)
    };
    report["client"] = json!({
        "cpu_s": cpu(client_before, client_after),
        "cpu_s_total": cpu(cpu_start, client_after),
        "rss_kib": client_after.map(|u| u.rss_kib),
        "threads": o.threads,
    });
    report["server"] = match (o.server_pid, server_before, server_after) {
        (Some(pid), Some(b), Some(a)) => json!({
            "pid": pid,
            "cpu_s": cpu(Some(b), Some(a)),
            "rss_kib": a.rss_kib,
            "hwm_kib": a.hwm_kib,
        }),
        (Some(pid), _, _) => json!({"pid": pid, "error": "process not readable in /proc"}),
        _ => Value::Null,
    };
    if !o.json {
        eprint!("{}", summary(&report));
    }
    Ok(report)
}

/// The human summary of a report.
fn summary(r: &Value) -> String {
    let c = &r["connections"];
    let mut s = format!(
        "market-feed-load: {} {}: {} of {} connections established, {} failed, {} closed early; ramp {} s; window {} s\n",
        r["protocol"].as_str().unwrap_or_default(),
        r["url"].as_str().unwrap_or_default(),
        c["established"],
        c["attempted"],
        c["failed"],
        c["closed_early"],
        r["ramp_s"],
        r["duration_s"],
    );
    for (name, e) in r["events"].as_object().into_iter().flatten() {
        let l = &e["latency_ms"];
        s += &format!(
            "  {name:<15} msgs {:>8} ({}..{}/conn)  {:>8} MiB/s  lost {}  latency ms p50 {} p90 {} p99 {} max {}\n",
            e["messages"],
            e["per_conn_min"],
            e["per_conn_max"],
            e["mib_per_s"],
            e["lost"],
            l["p50"],
            l["p90"],
            l["p99"],
            l["max"],
        );
    }
    s += &format!(
        "  client cpu {} s in the window; clock offset {} ms\n",
        r["client"]["cpu_s"], r["clock_offset_ms"]
    );
    if r["server"].is_object() {
        s += &format!(
            "  server cpu {} s in the window; rss {} KiB, peak {} KiB\n",
            r["server"]["cpu_s"], r["server"]["rss_kib"], r["server"]["hwm_kib"]
        );
    }
    for (k, v) in r["failures"].as_object().into_iter().flatten() {
        s += &format!("  failure x{v}: {k}\n");
    }
    for (k, v) in r["closes"].as_object().into_iter().flatten() {
        s += &format!("  closed x{v}: {k}\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_urls_are_accepted() {
        assert!(is_loopback("ws://127.0.0.1:8080/ws"));
        assert!(is_loopback("ws://127.0.0.2:1/"));
        assert!(is_loopback("ws://localhost:3000"));
        assert!(is_loopback("ws://[::1]:3000/ws"));
        assert!(!is_loopback("ws://10.0.0.1:8080/ws"));
        assert!(!is_loopback("ws://example.com/ws"));
        assert!(!is_loopback("wss://127.0.0.1/ws"));
    }

    #[test]
    fn symbol_lists_become_one_subscribe_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.txt");
        std::fs::write(&p, "RELIANCE,TCS\n\nINFY\n").unwrap();
        let o = Options::parse_from([
            "x",
            "--symbols-file",
            p.to_str().unwrap(),
            "--topics",
            "prices",
        ]);
        let subs = subscribe_messages(&o).unwrap();
        assert_eq!(subs.len(), 2);
        let v: Value = serde_json::from_str(&subs[0]).unwrap();
        assert_eq!(
            v,
            json!({"op":"subscribe","topics":["prices"],"symbols":["RELIANCE","TCS"]})
        );
        let o = Options::parse_from(["x"]);
        assert_eq!(
            subscribe_messages(&o).unwrap(),
            vec![r#"{"op":"subscribe","topics":["indices","prices"]}"#]
        );
    }
}
