//! [`Relay`]: the bus between the servers of a cluster, as a trait, so the election and the
//! relaying of frames ([`ClusterNode`](crate::cluster::ClusterNode)) do not depend on one bus.
//!
//! A relay offers three things: a **lease** (one key with a TTL, created only if absent and
//! renewed only at the revision this node last wrote), **live channels** (fire-and-forget
//! messages to every node), and **retained channels** (the last message of each channel, kept
//! for nodes that join later). `NatsRelay` (feature `nats`) implements it on NATS JetStream.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use tokio::sync::watch;

use crate::model::Topic;

/// What a node got when it asked for the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This node holds the lease now, at this revision.
    Won(u64),
    /// Another node holds it (its id, when the bus could say).
    Held(Option<String>),
}

/// The channels of a cluster. A relay namespaces them by the cluster's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The batch frames of a topic (live).
    Batch(Topic),
    /// `market_status` frames (live and retained).
    MarketStatus,
    /// The `feed_status` frames of a topic (live and retained).
    FeedStatus(Topic),
    /// The latest values of a topic (retained; also live after a resnapshot).
    Latest(Topic),
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 7] = [
        Channel::Batch(Topic::Indices),
        Channel::Batch(Topic::Prices),
        Channel::MarketStatus,
        Channel::FeedStatus(Topic::Indices),
        Channel::FeedStatus(Topic::Prices),
        Channel::Latest(Topic::Indices),
        Channel::Latest(Topic::Prices),
    ];

    /// The channels whose last message is retained.
    pub const RETAINED: [Channel; 5] = [
        Channel::MarketStatus,
        Channel::FeedStatus(Topic::Indices),
        Channel::FeedStatus(Topic::Prices),
        Channel::Latest(Topic::Indices),
        Channel::Latest(Topic::Prices),
    ];

    /// The channel's name, dot-separated (`batch.prices`, `status`, `feed.indices`,
    /// `latest.prices`); a relay prefixes it with the cluster's name.
    ///
    /// ```
    /// use market_feed::{cluster::Channel, model::Topic};
    /// assert_eq!(Channel::Latest(Topic::Prices).name(), "latest.prices");
    /// assert_eq!(Channel::from_name("batch.indices"), Some(Channel::Batch(Topic::Indices)));
    /// ```
    pub fn name(self) -> String {
        match self {
            Channel::Batch(t) => format!("batch.{t}"),
            Channel::MarketStatus => "status".to_owned(),
            Channel::FeedStatus(t) => format!("feed.{t}"),
            Channel::Latest(t) => format!("latest.{t}"),
        }
    }

    /// The channel named `name` (as [`Channel::name`] writes it).
    ///
    /// See [`Channel::name`] for an example.
    pub fn from_name(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// A failure of the bus.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// The lease was taken by another node, or lapsed, since this node last wrote it.
    #[error("the cluster lease is no longer ours (another node took it, or it lapsed)")]
    LeaseLost,
    /// The bus cannot be reached, or refused a request.
    #[error("the cluster bus failed: {0}; check that it runs and is reachable")]
    Bus(String),
}

/// The bus between the servers of a cluster (see the [`cluster`](crate::cluster) module).
///
/// Implementations must be safe to call from several tasks at once.
#[async_trait]
pub trait Relay: Send + Sync + std::fmt::Debug {
    /// Takes the lease for `node` if nobody holds it (create-if-absent).
    async fn acquire(&self, node: &str) -> Result<Claim, RelayError>;

    /// Renews the lease this node holds at `revision` (compare-and-set), returning the new
    /// revision, or [`RelayError::LeaseLost`].
    async fn renew(&self, node: &str, revision: u64) -> Result<u64, RelayError>;

    /// Gives the lease up (at clean shutdown), so another node takes over at once.
    async fn release(&self, revision: u64) -> Result<(), RelayError>;

    /// Sends a message to every node now (not kept).
    async fn publish(&self, channel: Channel, payload: Bytes) -> Result<(), RelayError>;

    /// Keeps `payload` as the channel's last message, for nodes that join later.
    async fn retain(&self, channel: Channel, payload: Bytes) -> Result<(), RelayError>;

    /// The channel's last retained message, if any.
    async fn retained(&self, channel: Channel) -> Result<Option<Bytes>, RelayError>;

    /// Every live message from now on, of every channel.
    async fn subscribe(&self) -> Result<BoxStream<'static, (Channel, Bytes)>, RelayError>;

    /// Whether the bus is connected now; changes when the connection is lost or comes back
    /// (a node reloads the retained values then).
    fn connected(&self) -> watch::Receiver<bool>;
}
