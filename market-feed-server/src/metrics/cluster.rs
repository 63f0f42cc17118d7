//! The cluster's metrics (`--cluster`): this node's role, the failovers it saw, how often it
//! became leader. A standalone server reports the role `standalone` and zero counts.

use market_feed::cluster::Role;
use prometheus_client::encoding::DescriptorEncoder;

use super::families::{Counter, Gauge};
use crate::state::AppState;

/// `market_feed_cluster_role{role}`, `market_feed_cluster_failovers_total`,
/// `market_feed_cluster_leaderships_total`.
pub(super) fn cluster(enc: &mut DescriptorEncoder<'_>, state: &AppState) -> std::fmt::Result {
    let stats = state.cluster();
    let role = stats.map_or(Role::Standalone, |c| c.role());
    Gauge::new(
        "market_feed_cluster_role",
        "1 for this node's role: leader (calls the broker), follower (relays the leader) or standalone.",
    )
    .by(
        enc,
        "role",
        [Role::Leader, Role::Follower, Role::Standalone]
            .map(|r| (r.as_str(), u64::from(r == role))),
    )?;
    Counter::new(
        "market_feed_cluster_failovers_total",
        "Leader changes this node saw: a node other than the last known leader took the lease.",
    )
    .value(enc, stats.map_or(0, |c| c.failovers()))?;
    Counter::new(
        "market_feed_cluster_leaderships_total",
        "Times this node became the leader.",
    )
    .value(enc, stats.map_or(0, |c| c.leaderships()))
}
