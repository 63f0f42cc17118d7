//! Several servers, one broker client: a cluster of nodes that elect one **leader** through a
//! lease on a shared bus; the leader alone runs the [`Feed`](crate::feed::Feed) (it alone calls
//! the broker) and forwards every frame its hub publishes; **followers** run no feed and publish
//! the leader's frames into their own hubs, with the leader's `seq` and bytes.
//!
//! ```text
//!  leader:   Feed ─> Hub ─tap─> ClusterNode ─publish/retain─> Relay (NATS)
//!  follower:                    ClusterNode <─subscribe/retained── Relay ─> Hub ─> its clients
//! ```
//!
//! The parts:
//!
//! - [`Relay`]: the bus as a trait (a lease with a TTL and compare-and-set, live channels,
//!   retained channels). `NatsRelay` (feature `nats`) implements it on NATS JetStream;
//!   [`MemoryRelay`] inside one process (tests, several hubs in one program).
//! - [`ClusterNode`]: the election and the relaying, over any [`Relay`].
//! - [`LeaseGuard`], [`LeasedSource`], [`LeasedStream`]: no broker call leaves a node whose lease
//!   deadline has passed, even a node that wakes up after being paused.
//! - [`Latest`]: a topic's latest values as retained for nodes that join.
//! - [`ClusterStats`]: role, leader and failovers, for an API and metrics.
//!
//! The lease is a key with a TTL: a leader renews it every third of the TTL with a
//! compare-and-set on the revision it last wrote, and stops its feed a tenth of the TTL before
//! the lease could lapse when renewing fails. A follower tries to create the key every third
//! of the TTL, so it takes over within 1⅓ leases of the leader's last renewal. A new leader
//! loads the retained values first, so its feed continues the cluster's `seq`; a follower
//! refuses a batch whose `seq` is not newer than its own, so `seq` never goes back.

mod latest;
mod lease;
mod leased;
mod memory;
mod naming;
#[cfg(feature = "nats")]
mod nats;
mod node;
mod relay;
mod status;

pub use latest::Latest;
pub use lease::{LeaseGuard, LeaseTiming};
pub use leased::{LeasedCalendar, LeasedSource, LeasedStream};
pub use memory::MemoryRelay;
pub use naming::{redact_url, valid_cluster_name};
#[cfg(feature = "nats")]
pub use nats::{NatsError, NatsRelay};
pub use node::{ClusterConfig, ClusterNode};
pub use relay::{Channel, Claim, Relay, RelayError};
pub use status::{ClusterStats, ClusterStatus, Role};

#[cfg(test)]
mod tests;
