//! `--cluster`: joins a cluster of servers over NATS JetStream (see `docs/operations.md`).

use std::sync::Arc;

use market_feed::{
    cluster::{ClusterNode, LeaseGuard},
    feed::Feed,
    hub::Hub,
};

use crate::{config::ClusterSettings, start_error::StartError};

/// Connects to the cluster's NATS server and makes the node that will run `feed` while it
/// leads. NATS unreachable (or without JetStream) is fatal: the message names the URL, never
/// its credentials.
///
/// # Errors
/// [`StartError::Fatal`] when NATS cannot be joined; [`StartError::Config`] in a build
/// without the `nats` feature.
#[cfg(feature = "nats")]
pub(crate) async fn join(
    settings: &ClusterSettings,
    hub: Arc<Hub>,
    feed: Feed,
    guard: LeaseGuard,
) -> Result<ClusterNode, StartError> {
    let relay =
        market_feed::cluster::NatsRelay::connect(&settings.url, &settings.name, settings.lease)
            .await
            .map_err(|e| {
                StartError::Fatal(format!(
                    "error: --cluster: {}",
                    market_feed::Report::new(&e)
                ))
            })?;
    tracing::info!(
        cluster = %settings.name,
        node = %settings.node,
        url = %market_feed::cluster::redact_url(&settings.url),
        lease = ?settings.lease,
        "cluster: joined; following until this node holds the lease"
    );
    let config = market_feed::cluster::ClusterConfig::new(
        settings.name.clone(),
        settings.node.clone(),
        settings.lease,
    );
    Ok(ClusterNode::new(config, Arc::new(relay), hub, feed, guard))
}

/// Without the `nats` feature there is no bus to join.
#[cfg(not(feature = "nats"))]
pub(crate) async fn join(
    _settings: &ClusterSettings,
    _hub: Arc<Hub>,
    _feed: Feed,
    _guard: LeaseGuard,
) -> Result<ClusterNode, StartError> {
    Err(StartError::Config(
        "--cluster: this build has no NATS support; rebuild with the `nats` feature".into(),
    ))
}
