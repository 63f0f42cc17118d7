//! [`ClusterStats`]: what a node knows about its cluster (its role, the leader, failovers),
//! shared with the server for `GET /api/v1/cluster`, `/readyz` and `/metrics`.

use std::sync::{
    Mutex, PoisonError,
    atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering::Relaxed},
};

use serde::Serialize;

/// A node's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Not in a cluster: the node runs its own feed.
    Standalone,
    /// Holds the lease: runs the feed and publishes to the others.
    Leader,
    /// Serves what the leader publishes.
    Follower,
}

impl Role {
    /// The role's name on the wire (`leader`, `follower`, `standalone`).
    ///
    /// ```
    /// assert_eq!(market_feed::cluster::Role::Leader.as_str(), "leader");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Standalone => "standalone",
            Role::Leader => "leader",
            Role::Follower => "follower",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            1 => Role::Leader,
            2 => Role::Follower,
            _ => Role::Standalone,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Role::Standalone => 0,
            Role::Leader => 1,
            Role::Follower => 2,
        }
    }
}

/// The body of `GET /api/v1/cluster`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterStatus {
    /// The cluster's name.
    pub name: String,
    /// This node's id.
    pub node: String,
    /// This node's role.
    pub role: Role,
    /// The leader's node id (this node's when it leads); `None` while there is none.
    pub leader: Option<String>,
}

/// A node's view of its cluster, updated by [`ClusterNode`](crate::cluster::ClusterNode).
///
/// ```
/// use market_feed::cluster::{ClusterStats, Role};
/// let stats = ClusterStats::new("market-feed", "a");
/// assert_eq!(stats.status().role, Role::Follower);
/// assert!(!stats.is_ready());
/// ```
#[derive(Debug)]
pub struct ClusterStats {
    name: String,
    node: String,
    role: AtomicU8,
    /// The leader now (none while the lease is free) and the last one ever seen.
    leader: Mutex<(Option<String>, Option<String>)>,
    failovers: AtomicU64,
    leaderships: AtomicU64,
    ready: AtomicBool,
}

impl ClusterStats {
    /// A follower that knows no leader yet and has no values.
    ///
    /// See [`ClusterStats`] for an example.
    pub fn new(name: impl Into<String>, node: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            node: node.into(),
            role: AtomicU8::new(Role::Follower.to_u8()),
            leader: Mutex::new((None, None)),
            failovers: AtomicU64::new(0),
            leaderships: AtomicU64::new(0),
            ready: AtomicBool::new(false),
        }
    }

    /// The node's status.
    ///
    /// See [`ClusterStats`] for an example.
    pub fn status(&self) -> ClusterStatus {
        ClusterStatus {
            name: self.name.clone(),
            node: self.node.clone(),
            role: self.role(),
            leader: self.leader(),
        }
    }

    /// This node's role now.
    ///
    /// See [`ClusterStats`] for an example.
    pub fn role(&self) -> Role {
        Role::from_u8(self.role.load(Relaxed))
    }

    /// The leader's id, as last seen.
    ///
    /// ```
    /// # use market_feed::cluster::ClusterStats;
    /// assert_eq!(ClusterStats::new("c", "a").leader(), None);
    /// ```
    pub fn leader(&self) -> Option<String> {
        self.leader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .clone()
    }

    /// Leader changes this node has seen: a node other than the last known leader took over
    /// (this one included).
    ///
    /// ```
    /// # use market_feed::cluster::ClusterStats;
    /// assert_eq!(ClusterStats::new("c", "a").failovers(), 0);
    /// ```
    pub fn failovers(&self) -> u64 {
        self.failovers.load(Relaxed)
    }

    /// How many times this node became leader.
    ///
    /// ```
    /// # use market_feed::cluster::ClusterStats;
    /// assert_eq!(ClusterStats::new("c", "a").leaderships(), 0);
    /// ```
    pub fn leaderships(&self) -> u64 {
        self.leaderships.load(Relaxed)
    }

    /// Whether the node has loaded the cluster's latest values (`/readyz`).
    ///
    /// See [`ClusterStats`] for an example.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Relaxed)
    }

    /// The cluster's name.
    ///
    /// ```
    /// # use market_feed::cluster::ClusterStats;
    /// assert_eq!(ClusterStats::new("c", "a").name(), "c");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This node's id.
    ///
    /// ```
    /// # use market_feed::cluster::ClusterStats;
    /// assert_eq!(ClusterStats::new("c", "a").node(), "a");
    /// ```
    pub fn node(&self) -> &str {
        &self.node
    }

    pub(super) fn set_role(&self, role: Role) {
        self.role.store(role.to_u8(), Relaxed);
    }

    pub(super) fn set_ready(&self) {
        self.ready.store(true, Relaxed);
    }

    pub(super) fn became_leader(&self) {
        self.leaderships.fetch_add(1, Relaxed);
    }

    /// Records the leader now seen; counts a failover when a known leader is replaced by
    /// another node. Returns the previous leader.
    pub(super) fn see_leader(&self, leader: Option<String>) -> Option<String> {
        let mut known = self.leader.lock().unwrap_or_else(PoisonError::into_inner);
        let previous = known.1.clone();
        if let Some(new) = &leader {
            if previous.as_ref().is_some_and(|old| old != new) {
                self.failovers.fetch_add(1, Relaxed);
            }
            known.1 = Some(new.clone());
        }
        known.0 = leader;
        previous
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failover_is_a_known_leader_replaced_by_another() {
        let s = ClusterStats::new("c", "b");
        s.see_leader(Some("a".into()));
        s.see_leader(None);
        s.see_leader(Some("a".into()));
        assert_eq!(s.failovers(), 0);
        s.see_leader(Some("b".into()));
        assert_eq!(s.failovers(), 1);
        assert_eq!(
            serde_json::to_value(s.status()).expect("json")["leader"],
            "b"
        );
    }
}
