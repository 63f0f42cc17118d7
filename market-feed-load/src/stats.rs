//! What one connection observed, and how the observations of all connections add up.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

/// The two measured events, in the order of [`EVENTS`].
pub(crate) const EVENTS: [&str; 2] = ["indices_update", "prices_batch"];

/// The index of a measured event name in [`EVENTS`].
pub(crate) fn event_index(name: &[u8]) -> Option<usize> {
    EVENTS.iter().position(|e| e.as_bytes() == name)
}

/// The index of a topic name (`indices`, `prices`) in [`EVENTS`].
pub(crate) fn topic_index(name: &[u8]) -> Option<usize> {
    match name {
        b"indices" => Some(0),
        b"prices" => Some(1),
        _ => None,
    }
}

/// One connection's counts for one event.
#[derive(Debug, Default)]
pub(crate) struct EventStats {
    /// Messages received inside the measuring window.
    pub(crate) msgs: u64,
    /// Payload bytes received inside the measuring window (after inflating).
    pub(crate) bytes: u64,
    /// The same messages' bytes on the wire (compressed with `--deflate`; frame headers
    /// excluded).
    pub(crate) wire_bytes: u64,
    /// Delivery latencies inside the window, microseconds.
    pub(crate) lat_us: Vec<u64>,
    /// Latencies that came out negative (clock offset estimate off); recorded as 0.
    pub(crate) negative: u64,
    /// Messages without a `ts` (an empty batch).
    pub(crate) no_ts: u64,
    /// Batches missed, from gaps in `seq` over the whole connection.
    pub(crate) lost: u64,
    /// Snapshots received after the first one (the server dropped updates for this client).
    pub(crate) resyncs: u64,
    /// The last `seq` seen on this topic.
    pub(crate) last_seq: Option<i64>,
}

impl EventStats {
    /// Accounts for a batch `seq`: a jump of more than 1 counts the batches in between as lost.
    pub(crate) fn see_seq(&mut self, seq: i64) {
        if let Some(last) = self.last_seq {
            if seq > last + 1 {
                self.lost += u64::try_from(seq - last - 1).unwrap_or(0);
            }
        }
        self.last_seq = Some(seq);
    }

    /// A snapshot resets the sequence: later batches continue from its `seq`.
    pub(crate) fn see_snapshot(&mut self, seq: Option<i64>) {
        if self.last_seq.is_some() {
            self.resyncs += 1;
        }
        self.last_seq = seq;
    }
}

/// How a connection ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Never established (connect, upgrade or welcome failed); the reason.
    Failed(String),
    /// Open until the tool stopped it.
    Open,
    /// Closed by the server or by an error before the end; the reason.
    Closed(String),
}

/// Everything one connection observed.
#[derive(Debug)]
pub(crate) struct ConnStats {
    pub(crate) outcome: Outcome,
    /// Connect + upgrade + welcome time, microseconds.
    pub(crate) connect_us: Option<u64>,
    /// `welcome.server_time` minus the local clock at its arrival, microseconds.
    pub(crate) offset_us: Option<i64>,
    pub(crate) events: [EventStats; 2],
    /// Other messages (welcome, snapshots, status...) inside the window.
    pub(crate) other_msgs: u64,
    pub(crate) other_bytes: u64,
    /// `--resume`: times this connection dropped and came back.
    pub(crate) resumes: u64,
    /// Topics whose first frame after coming back was a batch (replayed), and its bytes.
    pub(crate) resume_replays: u64,
    pub(crate) resume_replay_bytes: u64,
    /// Topics that got a snapshot instead, and its bytes.
    pub(crate) resume_snapshots: u64,
    pub(crate) resume_snapshot_bytes: u64,
}

impl ConnStats {
    pub(crate) fn failed(reason: String) -> Self {
        Self {
            outcome: Outcome::Failed(reason),
            connect_us: None,
            offset_us: None,
            events: Default::default(),
            other_msgs: 0,
            other_bytes: 0,
            resumes: 0,
            resume_replays: 0,
            resume_replay_bytes: 0,
            resume_snapshots: 0,
            resume_snapshot_bytes: 0,
        }
    }
}

/// Failure and close reasons, cut short so that the report stays one readable line.
fn reason_key(reason: &str) -> String {
    reason.chars().take(80).collect()
}

/// A latency histogram: 1 µs .. 1 hour at 3 significant digits.
fn hist() -> Result<Histogram<u64>, hdrhistogram::CreationError> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3)
}

fn ms(us: f64) -> f64 {
    (us / 10.0).round() / 100.0
}

/// Adds up all connections into the `events`, `connections` and `failures` parts of the report.
pub(crate) fn aggregate(
    conns: &[ConnStats],
    window_s: f64,
) -> Result<Value, hdrhistogram::CreationError> {
    let mut connected = 0u64;
    let mut open = 0u64;
    let mut fail: BTreeMap<String, u64> = BTreeMap::new();
    let mut closes: BTreeMap<String, u64> = BTreeMap::new();
    let mut connect = hist()?;
    for c in conns {
        match &c.outcome {
            Outcome::Failed(r) => *fail.entry(reason_key(r)).or_default() += 1,
            Outcome::Open => open += 1,
            Outcome::Closed(r) => *closes.entry(reason_key(r)).or_default() += 1,
        }
        if let Some(us) = c.connect_us {
            connected += 1;
            connect.saturating_record(us.max(1));
        }
    }
    let mut events = serde_json::Map::new();
    for (i, name) in EVENTS.iter().enumerate() {
        let mut h = hist()?;
        let (mut msgs, mut bytes, mut lost, mut resyncs, mut negative, mut no_ts) =
            (0, 0, 0, 0, 0, 0);
        let mut wire_bytes = 0u64;
        let mut per_conn_min = u64::MAX;
        let mut per_conn_max = 0u64;
        for c in conns.iter().filter(|c| c.connect_us.is_some()) {
            let e = &c.events[i];
            msgs += e.msgs;
            bytes += e.bytes;
            wire_bytes += e.wire_bytes;
            lost += e.lost;
            resyncs += e.resyncs;
            negative += e.negative;
            no_ts += e.no_ts;
            per_conn_min = per_conn_min.min(e.msgs);
            per_conn_max = per_conn_max.max(e.msgs);
            for &l in &e.lat_us {
                h.saturating_record(l.max(1));
            }
        }
        if per_conn_min == u64::MAX {
            per_conn_min = 0;
        }
        let latency = if h.is_empty() {
            Value::Null
        } else {
            json!({
                "count": h.len(),
                "p50": ms(h.value_at_quantile(0.50) as f64),
                "p90": ms(h.value_at_quantile(0.90) as f64),
                "p99": ms(h.value_at_quantile(0.99) as f64),
                "p999": ms(h.value_at_quantile(0.999) as f64),
                "max": ms(h.max() as f64),
                "mean": ms(h.mean()),
            })
        };
        events.insert(
            (*name).to_string(),
            json!({
                "messages": msgs,
                "bytes": bytes,
                "wire_bytes": wire_bytes,
                "wire_bytes_per_msg": wire_bytes.checked_div(msgs).unwrap_or(0),
                "bytes_per_msg": bytes.checked_div(msgs).unwrap_or(0),
                "mib_per_s": if window_s > 0.0 { ((bytes as f64 / 1048576.0 / window_s) * 100.0).round() / 100.0 } else { 0.0 },
                "per_conn_min": per_conn_min,
                "per_conn_max": per_conn_max,
                "lost": lost,
                "resyncs": resyncs,
                "negative_latency": negative,
                "without_ts": no_ts,
                "latency_ms": latency,
            }),
        );
    }
    let other_msgs: u64 = conns.iter().map(|c| c.other_msgs).sum();
    let offsets: Vec<i64> = conns.iter().filter_map(|c| c.offset_us).collect();
    let spread_ms = match (offsets.iter().min(), offsets.iter().max()) {
        (Some(lo), Some(hi)) => ms((hi - lo) as f64),
        _ => 0.0,
    };
    Ok(json!({
        "connections": {
            "attempted": conns.len(),
            "established": connected,
            "failed": conns.len() as u64 - connected,
            "open_at_end": open,
            "closed_early": connected - open,
            "connect_ms": if connect.is_empty() { Value::Null } else { json!({
                "p50": ms(connect.value_at_quantile(0.5) as f64),
                "p99": ms(connect.value_at_quantile(0.99) as f64),
                "max": ms(connect.max() as f64),
            })},
            "welcome_offset_spread_ms": spread_ms,
        },
        "failures": fail,
        "closes": closes,
        "events": events,
        "other_messages": other_msgs,
        "resume": {
            "reconnects": conns.iter().map(|c| c.resumes).sum::<u64>(),
            "replayed_topics": conns.iter().map(|c| c.resume_replays).sum::<u64>(),
            "first_replayed_frame_bytes": conns.iter().map(|c| c.resume_replay_bytes).sum::<u64>(),
            "snapshotted_topics": conns.iter().map(|c| c.resume_snapshots).sum::<u64>(),
            "snapshot_bytes": conns.iter().map(|c| c.resume_snapshot_bytes).sum::<u64>(),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_gaps_count_the_missing_batches() {
        let mut e = EventStats::default();
        for s in [1, 2, 5, 6, 6, 7] {
            e.see_seq(s);
        }
        assert_eq!(e.lost, 2);
        e.see_snapshot(Some(20));
        e.see_seq(21);
        assert_eq!((e.lost, e.resyncs), (2, 1));
    }

    #[test]
    fn the_first_snapshot_is_not_a_resync() {
        let mut e = EventStats::default();
        e.see_snapshot(Some(4));
        e.see_seq(5);
        assert_eq!((e.lost, e.resyncs), (0, 0));
    }

    #[test]
    fn aggregation_adds_up_connections() {
        let mut a = ConnStats::failed(String::new());
        a.outcome = Outcome::Open;
        a.connect_us = Some(1000);
        a.events[1].msgs = 2;
        a.events[1].bytes = 2 * 1024 * 1024;
        a.events[1].lat_us = vec![10_000, 20_000];
        let mut b = ConnStats::failed(String::new());
        b.outcome = Outcome::Closed("eof".into());
        b.connect_us = Some(2000);
        b.events[1].msgs = 1;
        b.events[1].lat_us = vec![30_000];
        let c = ConnStats::failed("connect: refused".into());
        let v = aggregate(&[a, b, c], 2.0).unwrap();
        assert_eq!(v["connections"]["established"], 2);
        assert_eq!(v["connections"]["failed"], 1);
        assert_eq!(v["connections"]["closed_early"], 1);
        assert_eq!(v["failures"]["connect: refused"], 1);
        let p = &v["events"]["prices_batch"];
        assert_eq!(p["messages"], 3);
        assert_eq!(p["per_conn_min"], 1);
        assert_eq!(p["mib_per_s"], 1.0);
        assert_eq!(p["latency_ms"]["count"], 3);
        // HDR reports the top of the bucket: 3 significant digits.
        let max = p["latency_ms"]["max"].as_f64().unwrap();
        assert!((30.0..30.1).contains(&max), "{max}");
        assert!(v["events"]["indices_update"]["latency_ms"].is_null());
    }
}
