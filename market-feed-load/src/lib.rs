//! `market-feed-load`: measures WebSocket fan-out servers on the market-feed workload.
//!
//! The `market-feed-load` binary opens N connections (market-feed protocol or Socket.IO), records
//! per-event delivery latency in HDR histograms, messages, bytes, lost batches, failures and
//! closes, and prints a summary and one JSON line. The `market-feed-floor` binary is the baseline
//! server: it writes one pre-serialized frame to every socket and does nothing else.
//! `benches/compare.sh` runs both against `market-feed-server` and the peers in `benches/peers/`.
#![warn(missing_docs)]

pub mod cli;
mod client;
mod deflate_ws;
mod inflated;
mod polling;
pub mod procfs;
pub mod scan;
mod stats;
pub mod workload;
